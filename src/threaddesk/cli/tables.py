"""Tables that fit the width they are printed at, one line per row, never a word cut across lines.

rich shrinks a too-wide table by wrapping cells, which at 80 columns (the width
of a pipe) splits words mid-way (`Damage`/`d`), or by dropping whole columns.
Here the widths are decided up front instead: columns that identify a row
(thread ids, counts, times) keep their full width, and the free-text columns
share what is left, each cut with an ellipsis where it does not fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

GAP = 2  # spaces between columns
MIN_FLEXIBLE_WIDTH = 6  # `abcd…`: enough to recognise a word


@dataclass(frozen=True, slots=True)
class Column:
    """`flexible` columns hold free text and may be cut (with `…`) to fit; the others never are."""

    header: str
    flexible: bool = False
    justify: Literal["left", "right"] = "left"


def one_line(text: str) -> str:
    """The cell text on one line: runs of whitespace (newlines, tabs) become one space."""
    return " ".join(text.split())


def share_width(wanted: Sequence[int], available: int, floor: int = MIN_FLEXIBLE_WIDTH) -> list[int]:
    """Widths for columns wanting `wanted` cells in `available` cells, shared fairly.

    A column that wants little gets what it wants; the rest split the remainder
    evenly. No column drops below min(wanted, floor), even when that overflows.
    """
    widths = [min(want, floor) for want in wanted]
    left = available - sum(widths)
    hungry = [i for i, want in enumerate(wanted) if want > widths[i]]
    while left > 0 and hungry:
        share = max(1, left // len(hungry))
        for i in list(hungry):
            grant = min(share, wanted[i] - widths[i], left)
            widths[i] += grant
            left -= grant
            if widths[i] == wanted[i]:
                hungry.remove(i)
            if left == 0:
                break
    return widths


def fit_table(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> Table:
    """A borderless table of `rows` at most `width` cells wide (unless even its fixed columns are wider).

    Print it with `print_table`: a table wider than the console is then shown
    whole (the terminal wraps the line) rather than cropped.
    """
    cells = [[one_line(cell) for cell in row] for row in rows]
    natural = [
        max([cell_len(column.header), *(cell_len(row[i]) for row in cells)])
        for i, column in enumerate(columns)
    ]
    flexible = [i for i, column in enumerate(columns) if column.flexible]
    fixed = sum(natural[i] for i in range(len(columns)) if i not in flexible)
    available = width - fixed - GAP * (len(columns) - 1)
    widths = list(natural)
    for i, shared in zip(flexible, share_width([natural[i] for i in flexible], available), strict=True):
        widths[i] = shared
    # An exact width: rich then never re-divides it (it would cut the fixed columns first).
    total = sum(widths) + GAP * (len(columns) - 1)
    table = Table(box=None, pad_edge=False, header_style="bold", padding=(0, GAP // 2), width=total)
    for column, column_width in zip(columns, widths, strict=True):
        table.add_column(
            column.header,
            width=column_width,
            no_wrap=True,
            overflow="ellipsis" if column.flexible else "crop",
            justify=column.justify,
        )
    for row in cells:
        table.add_row(*(Text(cell) for cell in row))
    return table


def print_table(out: Console, table: Table) -> None:
    out.print(table, crop=False)
