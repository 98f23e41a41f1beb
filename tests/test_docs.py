"""The documentation names real files and tests.

`mkdocs build --strict` checks links between pages; this checks what it cannot: the source files and
tests the pages cite in backticks (`web/auth.py`, `reliability/test_crash.py::test_...`), so a move or
a rename that leaves the Guarantees table pointing at nothing fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
# Where a cited path may start: the repository, the tests, src/, the package, the benchmarks.
BASES = (ROOT, ROOT / "tests", ROOT / "src", ROOT / "src" / "threaddesk", ROOT / "bench")
CITATION = re.compile(r"`((?:[\w.-]+/)*[\w.-]+\.(?:py|js|json|md))((?:::\w+)*)`")


def _citations() -> list[tuple[str, str, str]]:
    found = []
    for page in PAGES:
        for path, names in CITATION.findall(page.read_text(encoding="utf-8")):
            found.append((page.name, path, names))
    return found


def _resolve(path: str) -> Path | None:
    return next((base / path for base in BASES if (base / path).is_file()), None)


def test_the_pages_cite_files() -> None:
    assert len(_citations()) > 30  # the pattern still matches what the pages write


@pytest.mark.parametrize(("page", "path", "names"), _citations())
def test_every_cited_file_and_test_exists(page: str, path: str, names: str) -> None:
    file = _resolve(path)
    assert file is not None, f"{page} cites `{path}`, which is in none of {[str(b) for b in BASES]}"
    for name in filter(None, names.split("::")):
        assert re.search(rf"^\s*(?:async\s+)?(?:def|class)\s+{name}\b", file.read_text(), re.M), (
            f"{page} cites `{path}::{name}`, which {path} does not define"
        )
