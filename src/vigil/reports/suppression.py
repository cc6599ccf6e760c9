"""Small-count protection for every table that leaves the site manager (docs/small-counts.md).

Pure logic: no Django, no database. `protect()` hides every printed number that is a small count
(primary suppression), then hides further numbers (secondary, or complementary, suppression)
until no hidden number can be worked out, from what is printed, to within a range narrower than
the threshold. What a reader is assumed to know, and what this does not protect against, is
written in docs/small-counts.md; `suppression_audit.audit()` checks a result independently.

A table is seen as its "extended" form, (rows + 1) x (columns + 1): the cells, a row total at the
end of each row, a column total under each column and the grand total in the corner. Every
printed number is the sum of a set of cells; numbers with the same set (in a one-column list the
row total *is* the cell, and the column total *is* the grand total) are one number and are hidden
together.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, NamedTuple

import numpy as np
from scipy.optimize import linprog

# One marker for every hidden number, small or not: a marker that told the small ones apart
# ("<10") would itself tell the reader that the count is 1 to 9. "x" is Statistics Canada's
# sign for "suppressed to meet confidentiality", the same in every language.
MARKER = "x"

PRIMARY = "primary"
SECONDARY = "secondary"

Kind = Literal["cell", "row", "column", "grand"]
Of = Literal["row", "column", "grand"]

# Ranges computed by the LP solver are compared with this slack (they are whole numbers).
_EPS = 1e-6
# Candidate complements tried, cheapest first, for one exposed number before taking the best.
_TRIES = 12


class Ref(NamedTuple):
    """One printed number: a cell, a row total, a column total or the grand total."""

    kind: Kind
    r: int = -1
    c: int = -1

    @classmethod
    def cell(cls, r: int, c: int) -> Ref:
        return cls("cell", r, c)

    @classmethod
    def row(cls, r: int) -> Ref:
        return cls("row", r, -1)

    @classmethod
    def column(cls, c: int) -> Ref:
        return cls("column", -1, c)

    @classmethod
    def grand(cls) -> Ref:
        return cls("grand", -1, -1)


@dataclass(frozen=True)
class Policy:
    threshold: int = 10  # counts 1..threshold-1 are hidden (default: 1–9)
    zero_sensitive: bool = False  # True: zeros are hidden too
    unstable_below: int = 20  # rates from fewer events are flagged unstable

    def __post_init__(self) -> None:
        if isinstance(self.threshold, bool) or operator.index(self.threshold) < 1:
            raise ValueError("threshold must be a whole number of at least 1")
        if isinstance(self.unstable_below, bool) or operator.index(self.unstable_below) < 0:
            raise ValueError("unstable_below must be a whole number of at least 0")

    def sensitive(self, count: int) -> bool:
        """A count that may not be printed: 1..threshold-1, and 0 when zeros are sensitive."""
        return 1 <= count < self.threshold or (count == 0 and self.zero_sensitive)

    @property
    def floor(self) -> int:
        """The least a reader knows a hidden cell to be.

        When zeros are not sensitive they are always printed (a zero is never hidden, not even
        as a complement), so a hidden cell is at least 1; otherwise it may be 0.
        """
        return 0 if self.zero_sensitive else 1


@dataclass(frozen=True)
class Table:
    title: str
    row_labels: list[str]
    column_labels: list[str]  # a one-column table is a simple list with a total
    counts: list[list[int]]  # rows x columns, non-negative ints
    row_totals: bool = True  # print a total per row (only meaningful with >1 column)
    column_totals: bool = True  # print a total per column
    grand_total: bool = True

    def __post_init__(self) -> None:
        if len(self.counts) != len(self.row_labels):
            raise ValueError(
                f"{self.title}: {len(self.counts)} rows of counts for {len(self.row_labels)} labels"
            )
        for r, row in enumerate(self.counts):
            if len(row) != len(self.column_labels):
                raise ValueError(
                    f"{self.title}: row {r} has {len(row)} counts for "
                    f"{len(self.column_labels)} columns"
                )
            for value in row:
                if isinstance(value, bool) or operator.index(value) < 0:
                    raise ValueError(f"{self.title}: counts are whole numbers ≥ 0, not {value!r}")

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.row_labels), len(self.column_labels)


@dataclass(frozen=True)
class Cell:
    value: int | None  # None when hidden
    hidden: bool
    reason: str  # "" | "primary" (small count) | "secondary" (protects another)

    # `reason` is for the site manager's own screen and for tests, never for print: shown next
    # to the marker (a tooltip, a CSV note), it tells a reader which hidden numbers are the
    # small ones, 1 to 9, and undoes the protection (docs/small-counts.md, rule 4).

    def display(self) -> str:
        """The value, or the one marker used for every hidden number."""
        return MARKER if self.hidden else str(self.value)


def _untranslated(text: str) -> str:
    return text


class _Layout:
    """The printed numbers of a table as sets of cells (cell index = r * columns + c)."""

    def __init__(self, table: Table) -> None:
        rows, cols = table.shape
        self.rows, self.cols = rows, cols
        self.values = [int(v) for row in table.counts for v in row]
        self.members: dict[Ref, frozenset[int]] = {}
        for r in range(rows):
            for c in range(cols):
                self.members[Ref.cell(r, c)] = frozenset([r * cols + c])
        for r in range(rows):
            self.members[Ref.row(r)] = frozenset(r * cols + c for c in range(cols))
        for c in range(cols):
            self.members[Ref.column(c)] = frozenset(r * cols + c for r in range(rows))
        self.members[Ref.grand()] = frozenset(range(rows * cols))

        printed = [Ref.cell(r, c) for r in range(rows) for c in range(cols)]
        if table.row_totals:
            printed += [Ref.row(r) for r in range(rows)]
        if table.column_totals:
            printed += [Ref.column(c) for c in range(cols)]
        if table.grand_total:
            printed.append(Ref.grand())
        self.printed = printed
        # Printed numbers, one per distinct set of cells, in reading order.
        self.groups: list[frozenset[int]] = list(dict.fromkeys(self.members[p] for p in printed))
        self.group_of: dict[frozenset[int], int] = {g: i for i, g in enumerate(self.groups)}
        self.group_values = [sum(self.values[i] for i in g) for g in self.groups]

    def value(self, ref: Ref) -> int:
        return sum(self.values[i] for i in self.members[ref])

    def printed_group(self, ref: Ref) -> int | None:
        """The printed number `ref` is (itself or a duplicate), or None when it is not printed."""
        return self.group_of.get(self.members[ref])

    def extended(self, a: int, b: int) -> Ref:
        """The number at row a, column b of the extended table (totals in the last row/column)."""
        if a < self.rows and b < self.cols:
            return Ref.cell(a, b)
        if a < self.rows:
            return Ref.row(a)
        if b < self.cols:
            return Ref.column(b)
        return Ref.grand()

    def positions(self, group: int) -> Iterator[tuple[int, int]]:
        """Where a printed number stands in the extended table (more than once if duplicated)."""
        for a in range(self.rows + 1):
            for b in range(self.cols + 1):
                if self.members[self.extended(a, b)] == self.groups[group]:
                    yield a, b


@dataclass(frozen=True, eq=False)
class ProtectedTable:
    """A table as it may be printed; the result of `protect()`, immutable.

    `hidden` names the hidden numbers and why; a number printed twice (a one-column list's
    column total and grand total) is hidden under either name. Build one by hand only to test
    an auditor: `protect()` is the way to get a safe one.
    """

    table: Table
    policy: Policy
    hidden: Mapping[Ref, str] = field(default_factory=dict)
    _layout: _Layout = field(init=False, repr=False)
    _reasons: Mapping[int, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        layout = _Layout(self.table)
        reasons: dict[int, str] = {}
        for ref, reason in self.hidden.items():
            if reason not in (PRIMARY, SECONDARY):
                raise ValueError(f"reason must be {PRIMARY!r} or {SECONDARY!r}, not {reason!r}")
            group = layout.printed_group(ref)
            if group is None:
                raise ValueError(f"{ref} is not printed in {self.table.title!r}")
            reasons[group] = min(reasons.get(group, reason), reason)  # "primary" wins
        # A copy, so that changing the caller's lists later changes nothing printed.
        t = self.table
        copy = Table(
            t.title,
            list(t.row_labels),
            list(t.column_labels),
            [list(row) for row in t.counts],
            t.row_totals,
            t.column_totals,
            t.grand_total,
        )
        object.__setattr__(self, "table", copy)
        object.__setattr__(self, "_layout", layout)
        object.__setattr__(self, "_reasons", MappingProxyType(reasons))
        object.__setattr__(self, "hidden", MappingProxyType(dict(self.hidden)))

    def _number(self, ref: Ref) -> Cell:
        layout = self._layout
        if ref not in layout.members:
            raise IndexError(f"{ref} is not in a {layout.rows} x {layout.cols} table")
        value = layout.value(ref)
        group = layout.printed_group(ref)
        if group is not None:
            reason = self._reasons.get(group, "")
        elif all(layout.group_of[frozenset([i])] not in self._reasons for i in layout.members[ref]):
            # Not printed, but the sum of printed cells: saying it tells nothing new.
            reason = ""
        else:
            reason = PRIMARY if self.policy.sensitive(value) else SECONDARY
        if reason:
            return Cell(None, True, reason)
        return Cell(value, False, "")

    def cell(self, r: int, c: int) -> Cell:
        return self._number(Ref.cell(r, c))

    def row_total(self, r: int) -> Cell:
        return self._number(Ref.row(r))

    def column_total(self, c: int) -> Cell:
        return self._number(Ref.column(c))

    def grand(self) -> Cell:
        return self._number(Ref.grand())

    def number(self, ref: Ref) -> Cell:
        return self._number(ref)

    def percent(self, r: int, c: int, of: Of) -> float | None:
        """100 × cell / its row, column or grand total; None if either part is hidden (or 0).

        Both parts are printed numbers, so a percentage tells nothing the counts do not.
        """
        part = self.cell(r, c)
        if of == "row":
            whole = self.row_total(r)
        elif of == "column":
            whole = self.column_total(c)
        elif of == "grand":
            whole = self.grand()
        else:
            raise ValueError(f"percent of 'row', 'column' or 'grand', not {of!r}")
        if part.value is None or whole.value is None or whole.value == 0:
            return None
        return 100 * part.value / whole.value

    def hidden_count(self) -> int:
        """How many distinct printed numbers are hidden (a duplicate counts once)."""
        return len(self._reasons)

    def hidden_refs(self) -> dict[Ref, str]:
        """Every printed name of a hidden number, with its reason, in reading order."""
        layout = self._layout
        out: dict[Ref, str] = {}
        for ref in layout.printed:
            group = layout.printed_group(ref)
            if group is not None and group in self._reasons:
                out[ref] = self._reasons[group]
        return out

    def note(self, gettext: Callable[[str], str] = _untranslated) -> str:
        """One sentence for a report's footer. Pass Django's `gettext` to translate it."""
        low = 0 if self.policy.zero_sensitive else 1
        high = self.policy.threshold - 1
        if high < low:
            return gettext("No counts are suppressed.")
        if low == high:
            return gettext(
                "Counts of %(low)d are shown as “%(marker)s”, and so is any other number "
                "from which one of them could be worked out."
            ) % {"low": low, "marker": MARKER}
        return gettext(
            "Counts from %(low)d to %(high)d are shown as “%(marker)s”, and so is any other "
            "number from which one of them could be worked out."
        ) % {"low": low, "high": high, "marker": MARKER}


def unstable(events: int, policy: Policy = Policy()) -> bool:  # noqa: B008 (frozen, shared)
    """A rate from fewer than `unstable_below` events is unstable (flag it, as NCHS does)."""
    return events < policy.unstable_below


class _Reader:
    """What a reader can work out from the printed numbers: the range of a hidden one.

    Every cell is a variable; a printed cell is fixed at its value, a hidden cell is at least
    `policy.floor`; every printed total is an equation. The range of a hidden number is the
    minimum and maximum of its sum under these (a linear programme; the constraint matrix comes
    from two laminar families of sets, rows with the grand total and columns, so it is totally
    unimodular and the LP's bounds are whole numbers a reader could actually reach).
    """

    def __init__(self, layout: _Layout, policy: Policy) -> None:
        self.layout = layout
        self.policy = policy
        n = len(layout.values)
        self.matrix = np.zeros((len(layout.groups), n))
        for g, cells in enumerate(layout.groups):
            self.matrix[g, list(cells)] = 1.0

    def safe(self, group: int, hidden: set[int]) -> bool:
        return self.width(group, hidden) >= self.policy.threshold - _EPS

    def width(self, group: int, hidden: set[int]) -> float:
        layout = self.layout
        hidden_cells = {i for g in hidden for i in layout.groups[g] if len(layout.groups[g]) == 1}
        bounds = [
            (self.policy.floor, None) if i in hidden_cells else (v, v)
            for i, v in enumerate(layout.values)
        ]
        equations = [
            g
            for g, cells in enumerate(layout.groups)
            if g not in hidden and len(cells) > 1 and cells & hidden_cells
        ]
        a_eq = self.matrix[equations] if equations else None
        b_eq = [layout.group_values[g] for g in equations] if equations else None
        objective = self.matrix[group]
        high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if high.status == 3:  # unbounded above
            return float("inf")
        low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if low.status != 0 or high.status != 0:
            raise RuntimeError(f"range of a hidden number: {low.message} / {high.message}")
        return float(-high.fun - low.fun)


def _hideable(layout: _Layout, policy: Policy, group: int) -> bool:
    """Secondary suppression never hides a zero that is not sensitive (see Policy.floor)."""
    cells = layout.groups[group]
    return bool(cells) and (policy.zero_sensitive or layout.group_values[group] > 0)


def _complements(layout: _Layout, policy: Policy, group: int, hidden: set[int]) -> list[set[int]]:
    """Numbers to hide with `group`, cheapest first: the other corners of a rectangle.

    Hiding the four corners of a rectangle of the extended table lets the reader's guess move
    round it (+t, -t, +t, -t, with a total's sign flipped), which is the classic complement.
    A corner that is not printed costs nothing; a corner that is a zero that may not be hidden
    rules the rectangle out. Cost: the sum of the counts newly hidden, then how many, then
    reading order, so the smallest counts are given up first and the choice is deterministic.
    """
    options: dict[frozenset[int], tuple[int, int, tuple[int, ...]]] = {}
    for a, b in layout.positions(group):
        for a2 in range(layout.rows + 1):
            for b2 in range(layout.cols + 1):
                if a2 == a or b2 == b:
                    continue
                corners = [layout.extended(x, y) for x, y in ((a, b2), (a2, b), (a2, b2))]
                new: set[int] = set()
                blocked = False
                for ref in corners:
                    g = layout.printed_group(ref)
                    if g is None or g in hidden or g == group:
                        continue
                    if not _hideable(layout, policy, g):
                        blocked = True
                        break
                    new.add(g)
                if blocked or not new:
                    continue
                key = frozenset(new)
                cost = (sum(layout.group_values[g] for g in new), len(new), tuple(sorted(new)))
                options[key] = min(options.get(key, cost), cost)
    return [set(k) for k, _ in sorted(options.items(), key=lambda item: item[1])]


def protect(table: Table, policy: Policy = Policy()) -> ProtectedTable:  # noqa: B008
    """Hide small counts and whatever would give them away; see docs/small-counts.md."""
    layout = _Layout(table)
    reasons: dict[int, str] = {
        g: PRIMARY
        for g, cells in enumerate(layout.groups)
        if cells and policy.sensitive(layout.group_values[g])
    }
    if reasons:
        _add_complements(layout, policy, reasons)
    hidden: dict[Ref, str] = {}
    for ref in layout.printed:
        group = layout.printed_group(ref)
        if group is not None and group in reasons:
            hidden[ref] = reasons[group]
    return ProtectedTable(table, policy, hidden)


def _add_complements(layout: _Layout, policy: Policy, reasons: dict[int, str]) -> None:
    """Hide more until every hidden number's range is at least the threshold wide.

    Hiding more never narrows a range (it only drops equations and frees fixed cells), so a
    number once found safe stays safe, and hiding everything hideable is always safe: the loop
    ends, at worst there.
    """
    reader = _Reader(layout, policy)
    safe: set[int] = set()
    while True:
        order = sorted(reasons, key=lambda g: (reasons[g] != PRIMARY, g))
        exposed = None
        for g in order:
            if g in safe:
                continue
            if reader.safe(g, set(reasons)):
                safe.add(g)
            else:
                exposed = g
                break
        if exposed is None:
            return
        hidden = set(reasons)
        best: tuple[float, int] | None = None
        chosen: set[int] | None = None
        for i, extra in enumerate(_complements(layout, policy, exposed, hidden)[:_TRIES]):
            width = reader.width(exposed, hidden | extra)
            if width >= policy.threshold - _EPS:
                chosen = extra
                break
            if best is None or width > best[0] + _EPS:
                best, chosen = (width, i), extra
        if chosen is None:  # no rectangle left: hide everything that may be hidden
            chosen = {g for g in range(len(layout.groups)) if _hideable(layout, policy, g)} - hidden
        if not chosen:
            raise RuntimeError(f"cannot protect {layout.groups[exposed]}")
        for g in chosen:
            reasons[g] = SECONDARY
