"""`fit_table`: one line per row at the given width, fixed columns whole, free text cut only with `…`."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from threaddesk.cli.tables import MIN_FLEXIBLE_WIDTH, Column, fit_table, print_table, share_width

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzÉé0123456789#=-", min_size=1, max_size=30)
CELLS = st.lists(WORDS, min_size=0, max_size=8).map(" ".join)
COLUMNS = [
    Column("id"),
    Column("owner", flexible=True),
    Column("n", justify="right"),
    Column("notes", flexible=True),
]


def _render(rows: list[list[str]], width: int) -> list[str]:
    out = Console(file=io.StringIO(), width=width, color_system=None)
    print_table(out, fit_table(COLUMNS, rows, width))
    return out.file.getvalue().splitlines()


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.from_regex(r"[a-z0-9-]{1,36}", fullmatch=True), CELLS, st.integers(0, 9999), CELLS),
        min_size=1,
        max_size=6,
    ),
    width=st.integers(60, 200),
)
def test_every_row_is_one_line_within_the_width_and_words_are_whole_or_ellipsized(rows, width) -> None:
    cells = [[thread_id, owner, str(n), notes] for thread_id, owner, n, notes in rows]
    lines = _render(cells, width)
    assert len(lines) == 1 + len(rows)
    assert all(len(line.rstrip()) <= width for line in lines)
    for line, (thread_id, owner, n, notes) in zip(lines[1:], cells, strict=True):
        assert line.split()[0] == thread_id and n in line.split()  # fixed columns are never cut
        words = {*owner.split(), *notes.split(), thread_id, n}
        for token in line.split():
            cut = token.removesuffix("…")
            assert token in words or (token.endswith("…") and any(w.startswith(cut) for w in words))


@given(wanted=st.lists(st.integers(0, 300), min_size=1, max_size=5), available=st.integers(0, 400))
def test_share_width_is_fair_and_never_more_than_wanted(wanted, available) -> None:
    widths = share_width(wanted, available)
    assert all(min(w, MIN_FLEXIBLE_WIDTH) <= got <= w for got, w in zip(widths, wanted, strict=True))
    if sum(wanted) <= available:
        assert widths == wanted
    elif sum(min(w, MIN_FLEXIBLE_WIDTH) for w in wanted) <= available:
        assert sum(widths) == available
