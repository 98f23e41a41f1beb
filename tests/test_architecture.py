"""Imports point inward and downward: the layers of the package, and the doors between them.

    cli/ web/          the surfaces: through `SupportDesk` only
    sync demo          blocking twins and the demo, over the service
    service            SupportDesk: the one door
    storage/           the backends, implementing the core's interfaces
    agent/ threads/ users/ runs/ items graph_info    the core
    config errors ids durations values ratelimit metrics tracing     the ground floor

A module may import its own layer and those below it, never above, and the
packages' import graph has no cycle (lazy imports inside functions count too).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "threaddesk"
OUTER_LAYERS = {"cli", "web"}
FRAMEWORKS = {"fastapi", "starlette", "uvicorn", "typer", "click", "rich", "sse_starlette"}

# The layer of each top-level module or package of threaddesk ("" is the package root).
LAYERS: dict[str, int] = {
    **dict.fromkeys(["config", "errors", "ids", "durations", "values", "ratelimit", "metrics", "tracing"], 0),
    **dict.fromkeys(
        ["agent", "assistants", "threads", "users", "runs", "items", "graph_info", "graphs", "handoff"], 1
    ),
    "storage": 2,
    "service": 3,
    "sync": 4,
    "demo": 5,
    **dict.fromkeys(["cli", "web", ""], 6),
}
# What the surfaces must reach only through SupportDesk.
BEHIND_THE_DOOR = {"agent", "registry", "checkpointer"}


def _module_name(path: Path) -> str:
    parts = ["threaddesk", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, anywhere in it, relative imports resolved."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            # `from threaddesk.storage import sqlite` imports a module too.
            found |= {
                f"{base}.{alias.name}"
                for alias in node.names
                if (SRC.parent / f"{base}.{alias.name}".replace(".", "/")).exists()
            }
    return found


def _top(module: str) -> str | None:
    """The top-level part of threaddesk that `module` belongs to ("" for the root), or None if outside."""
    parts = module.split(".")
    if parts[0] != "threaddesk":
        return None
    return parts[1] if len(parts) > 1 else ""


def _sources() -> Iterator[tuple[Path, str]]:
    for path in sorted(SRC.rglob("*.py")):
        yield path, _top(_module_name(path)) or ""


def test_every_top_level_part_has_a_layer() -> None:
    tops = {top for _, top in _sources()}
    assert tops - {"__main__"} <= set(LAYERS), f"give these a layer: {tops - set(LAYERS)}"


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


def test_imports_point_down_the_layers() -> None:
    for path, top in _sources():
        for module in _imported_modules(path):
            target = _top(module)
            if target is None or target == top:
                continue
            assert LAYERS[target] <= LAYERS[top], (
                f"{path.relative_to(SRC)} (layer {LAYERS[top]}) imports {module} (layer {LAYERS[target]})"
            )


def _package_graph() -> dict[str, set[str]]:
    """Edges between threaddesk's packages (every package, nested ones too), from any import."""
    graph: dict[str, set[str]] = {}
    for path, _ in _sources():
        here = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
        for module in _imported_modules(path):
            if _top(module) is None:
                continue
            target = module if (SRC.parent / module.replace(".", "/")).is_dir() else module.rpartition(".")[0]
            if target != here and not here.startswith(target + ".") and not target.startswith(here + "."):
                graph.setdefault(here, set()).add(target)
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_packages_import_each_other_without_a_cycle() -> None:
    graph = _package_graph()
    assert any(t.startswith("threaddesk.threads") for t in graph["threaddesk.storage"])  # it sees imports
    assert _find_cycle(graph) is None, " -> ".join(_find_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": {"c"}}) is None


def test_backends_know_nothing_of_each_other() -> None:
    for backend, other in (("sqlite", "postgres"), ("postgres", "sqlite")):
        for path in (SRC / "storage" / backend).rglob("*.py"):
            for module in _imported_modules(path):
                assert not module.startswith(f"threaddesk.storage.{other}"), (
                    f"{path.relative_to(SRC)}: {module}"
                )


def test_cli_and_web_go_through_the_support_desk() -> None:
    surfaces = [p for p in SRC.rglob("*.py") if p.relative_to(SRC).parts[0] in OUTER_LAYERS]
    assert len(surfaces) > 10
    for path in surfaces:
        for module in _imported_modules(path):
            assert not module.startswith("threaddesk.storage"), f"{path.relative_to(SRC)} imports {module}"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute):
                assert node.attr not in BEHIND_THE_DOOR, (
                    f"{path.relative_to(SRC)}:{node.lineno} reaches around SupportDesk for .{node.attr}"
                )
