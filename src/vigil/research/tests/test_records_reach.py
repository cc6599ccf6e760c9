"""`reach` on hand-made records (see records_world.py), figures worked out by hand."""

import pytest

from vigil.research.records import reach
from vigil.research.records.small_counts import POLICY
from vigil.research.tests.records_world import build_visits

pytestmark = [pytest.mark.django_db, pytest.mark.db_any]


@pytest.fixture
def raw():
    return reach.compute(build_visits().scope())


def test_months_visits_people_new_and_returning(raw):
    assert raw["months"] == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    m = raw["monthly"]
    # January: P1 once, P2 three times (two on the 3rd), P3 once.
    assert m["visits"] == [5, 2, 3, 1, 0, 0]
    assert m["unique_participants"] == [3, 2, 2, 1, 0, 0]
    # New: first visit ever at the site. P1 is not new in January (December 2025).
    assert m["new"] == [2, 1, 1, 0, 0, 0]
    assert m["returning"] == [1, 1, 1, 1, 0, 0]
    assert m["cumulative_unique"] == [3, 4, 5, 5, 5, 5]
    assert raw["visits"] == 11
    assert raw["people"] == 5
    assert raw["new_people"] == 4


def test_retention_counts_only_people_whose_window_has_passed(raw):
    # The data end on 30 June. Within 30 days: P2 (the 20th, 17 days) and P5 (5 days) came
    # back; P3 never did; P4 came back after 73 days. A same-day return (P2 at 15:00) is not
    # a return.
    assert raw["retention"]["30"] == {"eligible": 4, "returned": 2}
    assert raw["retention"]["90"] == {"eligible": 4, "returned": 3}
    # P2's 180 days (from 3 January) end on 2 July: nobody's window has passed.
    assert raw["retention"]["180"] == {"eligible": 0, "returned": 0}


def test_visits_per_participant_and_demographics(raw):
    vpp = raw["visits_per_participant"]
    assert vpp["mean"] == pytest.approx(11 / 5)
    assert vpp["median"] == 2
    assert vpp["bands"] == {"1": 1, "2-4": 4, "5-9": 0, "10-24": 0, "25+": 0}
    d = raw["demographics"]
    assert d["age_band"]["30-39"] == 2 and d["age_band"]["not recorded"] == 1
    assert d["gender"] == {
        "woman": 1,
        "man": 3,
        "trans_nonbinary": 1,
        "not_said": 0,
        "not recorded": 0,
    }
    assert d["housing"]["unsheltered"] == 2 and d["housing"]["not recorded"] == 1


def test_the_period_limits_what_is_counted():
    world = build_visits()
    from datetime import date

    raw = reach.compute(world.scope(first=date(2026, 2, 1), last=date(2026, 2, 28)))
    assert raw["months"] == ["2026-02"]
    assert raw["monthly"]["visits"] == [2]
    assert raw["people"] == 2  # P1 and P4
    assert raw["new_people"] == 1  # P4


def test_what_an_evaluator_sees_hides_small_counts(raw):
    shown = reach.protect(raw)
    m = shown["monthly"]
    # Every count here is 1 to 9: hidden. Zero is shown.
    assert m["visits"] == [None, None, None, None, 0, 0]
    assert m["unique_participants"][:4] == [None] * 4
    assert m["new"][4:] == [0, 0]
    assert m["cumulative_unique"] == [None] * 6
    assert shown["people"] is None and shown["visits"] is None
    assert shown["retention"]["30"] == {"eligible": None, "returned": None, "share": None}
    assert shown["visits_per_participant"]["mean"] is None
    assert shown["demographics"]["gender"]["not_said"] == 0
    assert all(
        v is None or v == 0 or v >= POLICY.threshold
        for cells in shown["demographics"].values()
        for v in cells.values()
    )
