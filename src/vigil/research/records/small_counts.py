"""Small-count protection for what evaluators see, through `vigil.reports.suppression`.

Every count table of the records methods is protected with `protect(Table(...), Policy())`:
counts of 1 to 9 are hidden, and so is any printed number from which one of them could be
worked out (complementary suppression, checked by a linear programme). The methods compute raw
figures, then build their printed tables here, so the figures in results.json and the report
are what a reader may see. Zero is printed: nobody is singled out by nobody.

Tables that share a number (the people seen in a period appear in several) are protected one by
one; where a number is hidden in one, `hide_together` hides it in the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from vigil.reports.suppression import MARKER, Policy, ProtectedTable, Table, protect

POLICY = Policy()
NOTE = (
    f"Counts from 1 to {POLICY.threshold - 1} are shown as “{MARKER}”, and so is any other "
    "number from which one of them could be worked out (vigil.reports.suppression); shares, "
    "means and curves are shown only where the counts behind them are."
)


def is_small(value: int | None) -> bool:
    return value is not None and POLICY.sensitive(value)


def count(value: int | None) -> int | None:
    """A count printed on its own (no total beside it)."""
    return None if is_small(value) else value


def enough(n: int) -> bool:
    """Whether a mean, median, rate or curve over `n` people or events may be shown."""
    return n >= POLICY.threshold


def distribution(title: str, cells: Mapping[str, int]) -> tuple[dict[str, int | None], int | None]:
    """A one-column list with its total: (cells as printed, total as printed)."""
    labels = list(cells)
    table = Table(
        title=title,
        row_labels=labels,
        column_labels=["count"],
        counts=[[int(cells[k])] for k in labels],
    )
    shown = protect(table, POLICY)
    return (
        {k: shown.cell(i, 0).value for i, k in enumerate(labels)},
        shown.column_total(0).value,
    )


def split(title: str, part: int, whole: int) -> dict[str, int | float | None]:
    """`part` of `whole` (e.g. came back / eligible): both printed with the rest implied, and the
    share only when both are printed."""
    table = Table(
        title=title,
        row_labels=["yes", "no"],
        column_labels=["count"],
        counts=[[int(part)], [int(whole - part)]],
    )
    shown = protect(table, POLICY)
    part_shown = shown.cell(0, 0).value
    whole_shown = shown.column_total(0).value
    share = shown.percent(0, 0, "grand")
    return {
        "count": part_shown,
        "of": whole_shown,
        "share": None if share is None else share / 100,
    }


def grid(
    title: str, rows: Sequence[str], columns: Sequence[str], counts: Sequence[Sequence[int]]
) -> ProtectedTable:
    table = Table(
        title=title,
        row_labels=list(rows),
        column_labels=list(columns),
        counts=[[int(v) for v in row] for row in counts],
    )
    return protect(table, POLICY)


def cumulative(series: Sequence[int]) -> list[int | None]:
    """A running total (never decreasing): a value is printed only if it is not small and it
    differs from the last printed one by 0 or by at least the threshold, so no difference of
    two printed values (a sum of the increments between them) is a small count."""
    shown: list[int | None] = []
    last = 0
    for value in series:
        step = value - last
        if is_small(value) or is_small(step):
            shown.append(None)
        else:
            shown.append(value)
            last = value
    return shown


def hide_together(*values: int | None) -> bool:
    """True when any of several printings of one number is hidden (hide them all)."""
    return any(v is None for v in values)
