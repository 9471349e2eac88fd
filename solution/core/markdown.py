"""Markdown tables, built in one place: every report the kit writes (EDA, blends, results, bench, scale, sweep)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def cell(value: object) -> str:
    """A value as one table cell: a `|` in it would end the cell, a line break the row."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(header: Sequence[str], rows: Iterable[Sequence[object]], numeric: Sequence[int] = ()) -> str:
    """A GitHub markdown table ending in a newline; the columns at the indices in `numeric` are right-aligned."""
    rule = ["---:" if index in numeric else "---" for index in range(len(header))]
    lines = [header, rule, *([cell(value) for value in row] for row in rows)]
    return "".join(f"| {' | '.join(line)} |\n" for line in lines)
