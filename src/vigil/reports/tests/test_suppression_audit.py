"""The auditor finds unsafe publications: it can fail, so its silence means something."""

from vigil.reports.suppression import (
    PRIMARY,
    SECONDARY,
    Policy,
    ProtectedTable,
    Ref,
    Table,
    protect,
)
from vigil.reports.suppression_audit import audit

AGES = Table(
    "Participants by age and gender",
    ["under 20", "20-29", "30-39"],
    ["woman", "man", "other"],
    [[2, 14, 0], [21, 35, 12], [18, 40, 11]],
)


def test_primary_suppression_alone_is_reported():
    # Only the small cell hidden: 2 = row total 16 − 14 − 0 = column total 41 − 21 − 18.
    unsafe = ProtectedTable(AGES, Policy(), {Ref.cell(0, 0): PRIMARY})
    assert audit(unsafe) == [
        "Participants by age and gender: hidden cell 'under 20' × 'woman' (2) can be worked out "
        "to within 2..2, narrower than the threshold 10"
    ]
    assert audit(protect(AGES)) == []


def test_complements_too_small_for_the_threshold_are_reported():
    t = Table("Visits", ["a", "b", "c"], ["x", "y", "z"], [[1, 10, 40], [12, 50, 60], [30, 40, 50]])
    # The rectangle 1, 10, 12, 50 lets a reader move 1+t, 10−t, 12−t, 50+t with every cell at
    # least 1: t from 0 to 9, so the 1 is known to be 1..10, only 9 wide.
    hidden = {Ref.cell(0, 0): PRIMARY} | dict.fromkeys(
        [Ref.cell(0, 1), Ref.cell(1, 0), Ref.cell(1, 1)], SECONDARY
    )
    problems = audit(ProtectedTable(t, Policy(), hidden))
    assert problems[0] == (
        "Visits: hidden cell 'a' × 'x' (1) can be worked out to within 1..10, narrower than the "
        "threshold 10"
    )
    assert audit(ProtectedTable(t, Policy(threshold=9), hidden)) == []
    assert audit(protect(t)) == []


def test_a_recoverable_small_total_is_reported():
    t = Table("Overdoses", ["October", "November"], ["fentanyl", "other"], [[2, 3], [40, 50]])
    # The row total 5 and its cells hidden, and the second row's cells too, but 5 is still
    # the grand total 95 − the row total 90.
    hidden = dict.fromkeys([Ref.cell(0, 0), Ref.cell(0, 1), Ref.row(0)], PRIMARY) | dict.fromkeys(
        [Ref.cell(1, 0), Ref.cell(1, 1)], SECONDARY
    )
    problems = audit(ProtectedTable(t, Policy(), hidden))
    assert any("row total 'October' (5) can be worked out to within 5..5" in p for p in problems)


def test_a_printed_small_count_is_reported():
    t = Table("Referrals", ["housing", "detox"], ["n"], [[4], [30]])
    nothing_hidden = ProtectedTable(t, Policy(), {})
    assert audit(nothing_hidden) == [
        "Referrals: cell 'housing' × 'n' is a small count (4) and is printed"
    ]


def test_a_hidden_zero_that_is_not_sensitive_is_reported():
    # The reader takes a hidden cell to be at least 1 when zeros are printed; a publication that
    # hides a zero anyway breaks that promise.
    t = Table("Referrals", ["housing", "detox", "other"], ["n"], [[4], [0], [30]])
    hidden = {Ref.cell(0, 0): PRIMARY, Ref.cell(1, 0): SECONDARY}
    assert audit(ProtectedTable(t, Policy(), hidden)) == [
        "Referrals: cell 'detox' × 'n' is a hidden zero although zeros are not sensitive "
        "(a reader takes every hidden cell to be at least 1)"
    ]
    assert audit(ProtectedTable(t, Policy(zero_sensitive=True), hidden)) != []  # 30 = 34 − 4 − 0
