"""Every generated table, once protected, passes the LP audit (hypothesis).

Tables up to 5 x 5 with small counts common, every mix of printed totals, thresholds and zero
policies. The auditor is suppression_audit.audit (its own linear programmes over what is
printed); test_suppression_audit.py shows it catches unsafe publications.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from vigil.reports.suppression import PRIMARY, Policy, ProtectedTable, Ref, Table, protect
from vigil.reports.suppression_audit import audit

EXAMPLES = settings(max_examples=200, deadline=None)

# A third of the counts are 0..12, so most tables have several small cells and small totals.
counts = st.one_of(st.integers(0, 12), st.integers(8, 60), st.integers(0, 400))


@st.composite
def tables(draw) -> Table:
    rows, cols = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    return Table(
        "Generated",
        [f"r{r}" for r in range(rows)],
        [f"c{c}" for c in range(cols)],
        [[draw(counts) for _ in range(cols)] for _ in range(rows)],
        row_totals=draw(st.booleans()),
        column_totals=draw(st.booleans()),
        grand_total=draw(st.booleans()),
    )


policies = st.builds(
    Policy,
    threshold=st.sampled_from([10, 10, 10, 5, 11, 20, 2]),
    zero_sensitive=st.booleans(),
)


def printed(p: ProtectedTable) -> list[tuple[Ref, int]]:
    """Every printed number with its true value."""
    t = p.table
    rows, cols = t.shape
    out = [(Ref.cell(r, c), t.counts[r][c]) for r in range(rows) for c in range(cols)]
    if t.row_totals:
        out += [(Ref.row(r), sum(t.counts[r])) for r in range(rows)]
    if t.column_totals:
        out += [(Ref.column(c), sum(t.counts[r][c] for r in range(rows))) for c in range(cols)]
    if t.grand_total:
        out.append((Ref.grand(), sum(map(sum, t.counts))))
    return out


@EXAMPLES
@given(tables(), policies)
def test_every_protected_table_passes_the_audit(t, policy):
    p = protect(t, policy)
    assert audit(p) == []
    hidden = p.hidden_refs()
    for ref, value in printed(p):
        number = p.number(ref)
        # Primary suppression: exactly the small printed numbers are hidden as small.
        assert (hidden.get(ref) == PRIMARY) == policy.sensitive(value), (ref, value)
        assert number.hidden == (ref in hidden)
        assert number.value == (None if number.hidden else value)
        if value == 0 and not policy.zero_sensitive:
            assert not number.hidden  # what lets a reader take hidden cells to be ≥ 1
    if not any(policy.sensitive(value) for _, value in printed(p)):
        assert p.hidden_count() == 0
    # Determinism: the same table (a fresh copy) gives the same suppression.
    again = Table(
        t.title,
        list(t.row_labels),
        list(t.column_labels),
        [r[:] for r in t.counts],
        t.row_totals,
        t.column_totals,
        t.grand_total,
    )
    assert protect(again, policy).hidden_refs() == hidden


def another_table_printed_the_same(p: ProtectedTable) -> Table | None:
    """A different table whose printed numbers (with p's pattern) are all the same as p's."""
    t, policy = p.table, p.policy
    rows, cols = t.shape
    values = [v for row in t.counts for v in row]
    hidden = [r * cols + c for r in range(rows) for c in range(cols) if p.cell(r, c).hidden]
    if not hidden:
        return None
    floor = 0 if policy.zero_sensitive else 1
    bounds = [
        (floor, v + policy.threshold + 10) if i in hidden else (v, v) for i, v in enumerate(values)
    ]
    equations, sums = [], []
    for ref, value in printed(p)[rows * cols :]:
        if p.number(ref).hidden:
            continue
        row = np.zeros(rows * cols)
        for r in range(rows):
            for c in range(cols):
                if (
                    ref.kind == "grand"
                    or (ref.kind, ref.r) == ("row", r)
                    or (ref.kind, ref.c) == ("column", c)
                ):
                    row[r * cols + c] = 1
        equations.append(row)
        sums.append(value)
    for sign in (-1, 1):  # push the first hidden cell up, else down
        objective = np.zeros(rows * cols)
        objective[hidden[0]] = sign
        result = linprog(
            objective,
            A_eq=np.array(equations) if equations else None,
            b_eq=sums or None,
            bounds=bounds,
            method="highs",
        )
        assert result.status == 0
        solution = [round(x) for x in result.x]
        assert np.allclose(solution, result.x)  # a vertex of a totally unimodular system
        if solution != values:
            return Table(
                t.title,
                t.row_labels,
                t.column_labels,
                [solution[r * cols : (r + 1) * cols] for r in range(rows)],
                t.row_totals,
                t.column_totals,
                t.grand_total,
            )
    raise AssertionError("a hidden cell that could only be one value")


@EXAMPLES
@given(tables(), policies)
def test_percentages_tell_nothing_beyond_the_printed_counts(t, policy):
    p = protect(t, policy)
    rows, cols = t.shape
    kinds = ("row", "column", "grand")
    for r in range(rows):
        for c in range(cols):
            part = p.cell(r, c)
            for of, whole in zip(
                kinds, (p.row_total(r), p.column_total(c), p.grand()), strict=True
            ):
                percent = p.percent(r, c, of)
                if part.hidden or whole.hidden or whole.value == 0:
                    assert percent is None
                else:
                    assert percent == 100 * part.value / whole.value
    # Another table that prints the very same numbers (its hidden cells different) prints the
    # very same percentages: they are a function of what is printed, and so leak nothing more.
    other = another_table_printed_the_same(p)
    if other is None:
        return
    q = ProtectedTable(other, policy, p.hidden_refs())
    assert other.counts != t.counts
    for ref, _ in printed(p):
        assert q.number(ref).display() == p.number(ref).display()
    for r in range(rows):
        for c in range(cols):
            for of in kinds:
                assert q.percent(r, c, of) == p.percent(r, c, of)
