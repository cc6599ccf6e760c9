"""Small-count protection on hand-built tables, the right answer worked out in each test."""

from dataclasses import FrozenInstanceError
from itertools import combinations

import pytest

from vigil.reports.suppression import (
    MARKER,
    PRIMARY,
    SECONDARY,
    Cell,
    Policy,
    ProtectedTable,
    Ref,
    Table,
    protect,
    unstable,
)
from vigil.reports.suppression_audit import audit


def table(counts, **flags) -> Table:
    rows = [f"r{i}" for i in range(len(counts))]
    cols = [f"c{j}" for j in range(len(counts[0]))]
    return Table("Visits", rows, cols, counts, **flags)


def shown(p: ProtectedTable) -> list[list[str]]:
    """The table as printed, totals included: the last column and the last row."""
    rows, cols = p.table.shape
    out = [
        [p.cell(r, c).display() for c in range(cols)] + [p.row_total(r).display()]
        for r in range(rows)
    ]
    out.append([p.column_total(c).display() for c in range(cols)] + [p.grand().display()])
    return out


def test_a_table_with_nothing_small_is_returned_unchanged():
    t = table([[12, 40, 0], [20, 30, 60]])
    p = protect(t)
    assert p.hidden_count() == 0 and p.hidden_refs() == {}
    assert shown(p) == [
        ["12", "40", "0", "52"],
        ["20", "30", "60", "110"],
        ["32", "70", "60", "162"],
    ]
    assert p.cell(0, 2) == Cell(0, False, "")
    assert audit(p) == []


def test_a_single_small_cell_in_a_row_is_protected_by_a_rectangle():
    t = table([[3, 40, 50], [20, 30, 60]])
    # Hiding only the 3 gives it away: row total 93 − 40 − 50, or column total 23 − 20.
    alone = ProtectedTable(t, Policy(), {Ref.cell(0, 0): PRIMARY})
    assert audit(alone) == [
        "Visits: hidden cell 'r0' × 'c0' (3) can be worked out to within 3..3, narrower than "
        "the threshold 10"
    ]
    # Its row and its column each need another hidden cell, and those two share a fourth: the
    # cheapest rectangle is 3, 40, 20, 30 (40 + 20 + 30 = 90 given up, against 50 + 20 + 60 =
    # 130 for the other column, or any total). A reader can move 3+t, 40−t, 20−t, 30+t with
    # every cell at least 1: t from −2 to 19, so the 3 could be anything from 1 to 22.
    p = protect(t)
    assert p.hidden_refs() == {
        Ref.cell(0, 0): PRIMARY,
        Ref.cell(0, 1): SECONDARY,
        Ref.cell(1, 0): SECONDARY,
        Ref.cell(1, 1): SECONDARY,
    }
    assert shown(p) == [["x", "x", "50", "93"], ["x", "x", "60", "110"], ["23", "70", "110", "203"]]
    assert p.hidden_count() == 4
    assert audit(p) == []


def test_a_2x2_with_one_small_cell_hides_all_four():
    t = table([[4, 30], [25, 40]])
    p = protect(t)
    assert shown(p) == [["x", "x", "34"], ["x", "x", "65"], ["29", "70", "99"]]
    assert audit(p) == []
    # With all totals printed, any three hidden cells leave the fourth shown, which fixes its
    # row's and column's hidden partner, and so the 4 (e.g. 40 shown: 70 − 40 = 30, 34 − 30 = 4).
    cells = [Ref.cell(r, c) for r in range(2) for c in range(2)]
    for three in combinations(cells, 3):
        if Ref.cell(0, 0) in three:
            hand_made = ProtectedTable(t, Policy(), dict.fromkeys(three, SECONDARY))
            assert audit(hand_made), three


def test_small_totals_are_hidden_and_protected_too():
    t = table([[2, 3, 0], [40, 50, 60]])
    p = protect(t)
    # The row total 5 is small, like 2 and 3. With the grand total 155 and the other row's
    # total 150 printed, 5 = 155 − 150: one of them must go. Hiding the grand total is not
    # enough: the column totals 42 and 53 and the row total 150 (minus the shown 60) still say
    # x10 + x11 = 90, so x00 = 42 − x10 and x01 = x10 − 37 ≥ 1 pin x00 to 1..4. Hiding the row
    # total 150 and the cells 40 and 50 leaves 2 + 40 = 42 and 3 + 50 = 53 only: 1..41, 1..52.
    assert shown(p) == [["x", "x", "0", "x"], ["x", "x", "60", "x"], ["42", "53", "60", "155"]]
    assert p.row_total(0) == Cell(None, True, PRIMARY)
    assert p.row_total(1) == Cell(None, True, SECONDARY)
    assert p.cell(0, 2) == Cell(0, False, "")  # zeros are not sensitive by default
    assert audit(p) == []


def test_a_table_of_small_counts_hides_every_number():
    t = table([[1, 2], [3, 1]])
    p = protect(t)
    # Totals 3, 4 / 4, 3 / 7 are all small too: nothing is printed but the markers, and a
    # reader knows only that each cell is at least 1.
    assert shown(p) == [["x", "x", "x"], ["x", "x", "x"], ["x", "x", "x"]]
    assert set(p.hidden_refs().values()) == {PRIMARY}
    assert p.hidden_count() == 9
    assert audit(p) == []


def test_zeros_are_hidden_only_when_sensitive():
    t = table([[0, 30], [25, 40]])
    assert protect(t).hidden_count() == 0
    p = protect(t, Policy(zero_sensitive=True))
    assert p.cell(0, 0) == Cell(None, True, PRIMARY)
    assert shown(p) == [["x", "x", "30"], ["x", "x", "65"], ["25", "70", "95"]]
    # A reader now knows a hidden cell only to be at least 0: 0+t, 30−t, 25−t, 40+t, t from 0
    # to 25.
    assert audit(p) == []


def test_a_zero_is_never_given_up_as_a_complement_when_zeros_are_not_sensitive():
    # The cheapest rectangle for the 3 would use the 0 (0 + 0 + 20 given up); it may not be
    # hidden, so the rectangle of 3, 40, 20, 30 is taken.
    t = table([[3, 0, 40], [20, 0, 30]])
    p = protect(t)
    assert p.cell(0, 1).value == 0 and p.cell(1, 1).value == 0
    assert shown(p) == [["x", "0", "x", "43"], ["x", "0", "x", "50"], ["23", "0", "70", "93"]]
    assert audit(p) == []


def test_the_threshold_is_configurable():
    t = table([[12, 30], [25, 40]])
    assert protect(t).hidden_count() == 0
    p = protect(t, Policy(threshold=15))  # counts 1..14 hidden
    assert shown(p) == [["x", "x", "42"], ["x", "x", "65"], ["37", "70", "107"]]
    assert p.cell(0, 0).reason == PRIMARY
    assert audit(p) == []
    # Threshold 5: the 4 goes, and its range must be at least 5 wide; 30 and 25 allow it.
    small = table([[4, 30], [25, 40]])
    assert protect(small, Policy(threshold=4)).hidden_count() == 0
    assert protect(small, Policy(threshold=5)).hidden_count() == 4
    assert protect(small, Policy(threshold=5)).note().startswith("Counts from 1 to 4 ")


def test_complements_must_be_big_enough_for_the_threshold():
    t = table([[3, 6, 50], [6, 40, 60]])
    p = protect(t, Policy(threshold=12))
    # At 12 the 3, both 6s and the column total 9 are small. The rectangle 3, 6, 6, 40 alone
    # would leave a+b = 9 (59 − 50) and a+d = 9: the 3 within 1..8, too narrow, so the 50 goes
    # and then the column total 110 (else 110 − 60 gives the 50 back). What is left printed:
    # rows 59 and 106, column 46, 60 and the grand total. A reader has a+b+c = 59, d+e = 46,
    # b+e = 46 (so b = d): a and c anywhere in 1..57, b, d and e in 1..45.
    assert shown(p) == [["x", "x", "x", "59"], ["x", "x", "60", "106"], ["x", "46", "x", "165"]]
    assert p.column_total(0).reason == PRIMARY and p.column_total(2).reason == SECONDARY
    assert audit(p) == []


def test_a_one_column_list_gives_up_the_smallest_count_that_is_enough():
    names = ["fentanyl", "heroin", "methamphetamine", "cocaine", "other"]
    t = Table("Substances", names, ["visits"], [[3], [0], [25], [40], [12]])
    p = protect(t)
    # The total 80 fixes a lone hidden 3 (80 − 77), so a second count goes: the smallest, 12
    # (the 0 may not be hidden). A reader knows 3 + 12 = 15, each at least 1: 1..14.
    assert [p.cell(r, 0).display() for r in range(5)] == ["x", "0", "25", "40", "x"]
    assert p.column_total(0) == p.grand() == Cell(80, False, "")
    assert p.hidden_count() == 2
    assert p.percent(2, 0, "column") == pytest.approx(100 * 25 / 80)
    assert audit(p) == []


def test_a_one_column_list_takes_a_bigger_count_when_the_smallest_is_not_enough():
    t = Table("Substances", list("abcde"), ["visits"], [[3], [0], [25], [40], [6]])
    p = protect(t)
    # 3 and 6 are both small; together they are 9 (80 − 71): 3 could only be 1..8. The
    # smallest count that widens that to 10 or more is the 25: 3 + 6 + 25 = 34, 3 in 1..32.
    assert [p.cell(r, 0).display() for r in range(5)] == ["x", "0", "x", "40", "x"]
    assert p.cell(2, 0).reason == SECONDARY
    assert audit(p) == []


def test_a_one_column_list_with_a_small_total_hides_the_total():
    t = Table("Naloxone given", ["nasal", "injectable", "other"], ["kits"], [[3], [0], [2]])
    p = protect(t)
    assert [p.cell(r, 0).display() for r in range(3)] == ["x", "0", "x"]
    assert p.grand() == p.column_total(0) == Cell(None, True, PRIMARY)
    assert p.hidden_count() == 3  # 3, 2 and the total printed once (column total = grand)
    assert audit(p) == []


def test_a_one_row_table():
    t = Table("Overdoses", ["October"], ["fentanyl", "other", "unknown"], [[30, 4, 25]])
    p = protect(t)
    # One row: the column totals are the cells, the row total is the grand total (59).
    assert [p.cell(0, c).display() for c in range(3)] == ["30", "x", "x"]  # 4 + 25 = 29: 1..28
    assert p.row_total(0) == p.grand() == Cell(59, False, "")
    assert p.column_total(1) == p.cell(0, 1)
    assert audit(p) == []


def test_totals_not_printed_are_not_constraints_and_not_leaks():
    t = table([[3, 40, 50], [20, 30, 60]], row_totals=False, grand_total=False)
    p = protect(t)
    # Only column totals are printed (23, 70, 110): the 3 needs just a partner in its column.
    assert shown(p) == [["x", "40", "50", "x"], ["x", "30", "60", "x"], ["23", "70", "110", "x"]]
    # A row total that is not printed is given only when the printed cells add up to it.
    assert p.row_total(0).hidden and p.grand().hidden
    assert p.percent(0, 1, "row") is None
    assert p.percent(0, 1, "column") == pytest.approx(100 * 40 / 70)
    whole = protect(table([[30, 40], [20, 30]], row_totals=False))
    assert whole.row_total(0) == Cell(70, False, "")
    assert whole.percent(0, 0, "row") == pytest.approx(100 * 30 / 70)
    assert audit(p) == [] and audit(whole) == []


def test_percentages_come_only_from_printed_numbers():
    p = protect(table([[3, 40, 50], [20, 30, 60]]))
    assert p.percent(0, 0, "row") is None  # the 3 is hidden
    assert p.percent(0, 1, "grand") is None  # the 40 is hidden
    assert p.percent(0, 2, "row") == pytest.approx(100 * 50 / 93)
    assert p.percent(1, 2, "column") == pytest.approx(100 * 60 / 110)
    assert p.percent(1, 2, "grand") == pytest.approx(100 * 60 / 203)
    zero = protect(table([[0, 0], [20, 30]]))
    assert zero.percent(0, 0, "row") is None  # 0 of 0
    with pytest.raises(ValueError, match="percent of"):
        p.percent(0, 2, "total")  # type: ignore[arg-type]


def test_the_same_table_gives_the_same_suppression():
    # Ties everywhere (many equal counts): the choice must still not depend on anything but
    # the table.
    counts = [[5, 20, 20, 20], [20, 5, 20, 20], [20, 20, 20, 20]]
    first = protect(table(counts))
    for _ in range(3):
        again = protect(table([row[:] for row in counts]))
        assert again.hidden_refs() == first.hidden_refs()
        assert shown(again) == shown(first)
    assert audit(first) == []


def test_display_uses_one_marker_for_every_hidden_number():
    assert Cell(None, True, PRIMARY).display() == MARKER == "x"
    assert Cell(None, True, SECONDARY).display() == "x"
    assert Cell(120, False, "").display() == "120"


def test_rates_from_fewer_than_20_events_are_unstable():
    assert unstable(19) and not unstable(20) and not unstable(500)
    assert unstable(0)
    assert unstable(49, Policy(unstable_below=50)) and not unstable(50, Policy(unstable_below=50))


def test_the_note_states_the_rule():
    t = table([[3, 40], [20, 30]])
    assert protect(t).note() == (
        "Counts from 1 to 9 are shown as “x”, and so is any other number from which one of "
        "them could be worked out."
    )
    assert protect(t, Policy(zero_sensitive=True)).note().startswith("Counts from 0 to 9 ")
    assert protect(t, Policy(threshold=1)).note() == "No counts are suppressed."
    assert protect(t, Policy(threshold=1, zero_sensitive=True)).note().startswith("Counts of 0 ")
    # Translated by the caller's gettext before the numbers are put in.
    french = {
        "Counts from %(low)d to %(high)d are shown as “%(marker)s”, and so is any other "
        "number from which one of them could be worked out.": "De %(low)d à %(high)d : « %(marker)s »."
    }
    assert protect(t).note(lambda s: french.get(s, s)) == "De 1 à 9 : « x »."


def test_bad_tables_and_policies_are_refused():
    with pytest.raises(ValueError, match="whole numbers"):
        table([[1, -2]])
    with pytest.raises(ValueError, match="row 0 has 2 counts for 3 columns"):
        Table("T", ["a"], ["x", "y", "z"], [[1, 2]])
    with pytest.raises(ValueError, match="1 rows of counts for 2 labels"):
        Table("T", ["a", "b"], ["x"], [[1]])
    with pytest.raises(ValueError):
        table([[True, 2]])
    with pytest.raises(ValueError, match="threshold"):
        Policy(threshold=0)
    with pytest.raises(ValueError, match="not printed"):
        ProtectedTable(table([[1, 2], [3, 4]], row_totals=False), Policy(), {Ref.row(0): PRIMARY})
    with pytest.raises(ValueError, match="reason"):
        ProtectedTable(table([[1, 2]]), Policy(), {Ref.cell(0, 0): "small"})


def test_an_empty_table_has_nothing_to_hide():
    t = Table("Referrals", [], ["count"], [])
    p = protect(t, Policy(zero_sensitive=True))
    assert p.hidden_count() == 0 and p.grand() == Cell(0, False, "")
    assert audit(p) == []


def test_the_result_is_immutable():
    counts = [[3, 40], [20, 30]]
    p = protect(table(counts))
    counts[0][0] = 300  # the caller reuses its lists
    assert p.table.counts[0][0] == 3 and p.cell(0, 0).hidden and audit(p) == []
    with pytest.raises(FrozenInstanceError):
        p.policy = Policy(threshold=2)  # type: ignore[misc]
    with pytest.raises(IndexError):
        p.cell(2, 0)
