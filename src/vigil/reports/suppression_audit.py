"""An auditor for small-count protection: what could a reader work out from a printed table?

Written apart from `suppression.protect()` (it reads only what a table prints, through the
public methods of `ProtectedTable`, and builds its own linear programmes), so the report tests
can audit every table they print: `assert audit(protected) == []`.

The reader knows (docs/small-counts.md, "What a reader knows"): every printed number; that
cells are whole numbers ≥ 0 and that totals are their sums; the rule, and so that a hidden cell
is at least 1 when zeros are not sensitive (zeros are then always printed). For every hidden
number the auditor asks scipy's `linprog` for the least and the greatest value consistent with
all of that; the range must be at least the threshold wide (or unbounded). The constraints are
rows with the grand total and columns, two laminar families, so the matrix is totally
unimodular and the LP's bounds are whole numbers: the LP range is exactly the range a reader
could reach with whole numbers.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from vigil.reports.suppression import MARKER, Cell, ProtectedTable

_EPS = 1e-6


def audit(protected: ProtectedTable) -> list[str]:
    """Problems found in a printed table; empty when it is safe."""
    table, policy = protected.table, protected.policy
    rows, cols = len(table.row_labels), len(table.column_labels)
    n = rows * cols
    floor = 0 if policy.zero_sensitive else 1
    problems: list[str] = []

    # What is printed: (name, cells it adds up, what is shown for it, its true value).
    printed: list[tuple[str, list[int], Cell, int]] = []
    for r in range(rows):
        for c in range(cols):
            name = f"cell {table.row_labels[r]!r} × {table.column_labels[c]!r}"
            printed.append((name, [r * cols + c], protected.cell(r, c), table.counts[r][c]))
    if table.row_totals:
        for r in range(rows):
            cells = [r * cols + c for c in range(cols)]
            total = sum(table.counts[r])
            printed.append(
                (f"row total {table.row_labels[r]!r}", cells, protected.row_total(r), total)
            )
    if table.column_totals:
        for c in range(cols):
            cells = [r * cols + c for r in range(rows)]
            total = sum(table.counts[r][c] for r in range(rows))
            printed.append(
                (
                    f"column total {table.column_labels[c]!r}",
                    cells,
                    protected.column_total(c),
                    total,
                )
            )
    if table.grand_total:
        total = sum(map(sum, table.counts))
        printed.append(("grand total", list(range(n)), protected.grand(), total))

    # The publication must say what the rule says, or the reader's model below is wrong. (A
    # number printed twice, as a one-column list's row totals are its cells, is named once.)
    named: set[tuple[int, ...]] = set()
    for name, cells, shown, true in printed:
        if shown.hidden != (shown.value is None) or shown.display() != (
            MARKER if shown.hidden else str(true)
        ):
            problems.append(f"{table.title}: {name} is printed as {shown.display()!r}, not {true}")
            continue
        if tuple(cells) in named:
            continue
        named.add(tuple(cells))
        if not shown.hidden and cells and policy.sensitive(true):
            problems.append(f"{table.title}: {name} is a small count ({true}) and is printed")
        elif shown.hidden and len(cells) == 1 and true < floor:
            problems.append(
                f"{table.title}: {name} is a hidden zero although zeros are not sensitive "
                "(a reader takes every hidden cell to be at least 1)"
            )
    if problems:
        return problems

    bounds: list[tuple[float, float | None]] = [(floor, None)] * n
    equations: list[np.ndarray] = []
    values: list[int] = []
    for _name, cells, shown, _true in printed:
        if shown.value is None:
            continue
        if len(cells) == 1:
            bounds[cells[0]] = (shown.value, shown.value)
        else:
            row = np.zeros(n)
            row[cells] = 1.0
            equations.append(row)
            values.append(shown.value)
    a_eq = np.array(equations) if equations else None
    b_eq = values if equations else None

    seen: set[tuple[int, ...]] = set()
    for name, cells, shown, true in printed:
        if not shown.hidden or not cells or tuple(cells) in seen:
            continue
        seen.add(tuple(cells))
        objective = np.zeros(n)
        objective[cells] = 1.0
        high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if high.status == 3:  # unbounded above: as safe as can be
            continue
        low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if low.status != 0 or high.status != 0:
            problems.append(f"{table.title}: the printed numbers do not add up ({low.message})")
            break
        least, most = low.fun, -high.fun
        if most - least < policy.threshold - _EPS:
            problems.append(
                f"{table.title}: hidden {name} ({true}) can be worked out to within "
                f"{least:.0f}..{most:.0f}, narrower than the threshold {policy.threshold}"
            )
    return problems
