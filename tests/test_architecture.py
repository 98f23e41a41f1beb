"""Imports point inward: the core knows nothing of the web or the terminal."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "threaddesk"
OUTER_LAYERS = {"cli", "web"}
FRAMEWORKS = {"fastapi", "starlette", "uvicorn", "typer", "click", "rich", "sse_starlette"}


def _imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_core_modules_import_no_web_or_cli_framework() -> None:
    core = [p for p in SRC.rglob("*.py") if p.relative_to(SRC).parts[0] not in OUTER_LAYERS]
    assert len(core) > 10
    for path in core:
        for module in _imported_modules(path):
            top = module.split(".")[0]
            assert top not in FRAMEWORKS, f"{path.relative_to(SRC)} imports {module}"
            assert not module.startswith(("threaddesk.cli", "threaddesk.web")), (
                f"{path.relative_to(SRC)} imports the outer layer {module}"
            )
