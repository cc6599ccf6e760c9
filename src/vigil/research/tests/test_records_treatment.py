"""`treatment_entry` on hand-made records (see records_world.py), worked out by hand."""

from datetime import date

import pytest

from vigil.research.records import treatment_entry
from vigil.research.tests.records_world import build_visits, referral

pytestmark = [pytest.mark.django_db, pytest.mark.db_any]


@pytest.fixture
def world():
    world = build_visits()
    # P2 (first visit 3 Jan 10:00): detox, accepted, entered on 20 Jan 10:00: 17 days.
    referral(
        world,
        "P2",
        "detox",
        [
            ("referred", "2026-01-03 10:30"),
            ("accepted", "2026-01-05"),
            ("entered_treatment", "2026-01-20 10:00"),
        ],
    )
    # P4 (first visit 1 Feb 09:00): straight from the room into buprenorphine at 09:30.
    referral(
        world,
        "P4",
        "buprenorphine",
        [("referred", "2026-02-01 09:30"), ("entered_treatment", "2026-02-01 09:30")],
        direct_from_room=True,
    )
    # P3: methadone, declined. P5: housing (not treatment). P1 is not in the cohort (first
    # seen in December) but their detox referral was made in the period.
    referral(
        world, "P3", "methadone", [("referred", "2026-01-10 11:00"), ("declined", "2026-01-12")]
    )
    referral(world, "P5", "housing", [("referred", "2026-03-20 11:00")])
    referral(
        world,
        "P1",
        "detox",
        [("referred", "2026-01-05 13:00"), ("entered_treatment", "2026-01-06")],
    )
    return world


def test_cohort_entries_and_windows(world):
    raw = treatment_entry.compute(world.scope())
    assert raw["cohort"] == 4  # P2, P3, P4, P5
    assert raw["entered_treatment"] == 2  # P2, P4
    assert raw["within"]["30"] == {"eligible": 4, "entered": 2}
    assert raw["within"]["90"] == {"eligible": 4, "entered": 2}
    assert raw["direct_from_room"] == 1
    assert raw["detox"] == 1  # P2 only: P1 is not in the cohort


def test_kaplan_meier_by_hand(world):
    raw = treatment_entry.compute(world.scope())
    km = raw["km"]
    # Events at 0.0208 days (P4: 30 minutes) and 17 days (P2); P3 and P5 censored at the end
    # of the data. S = 3/4 after the first, 3/4 x 2/3 = 1/2 after the second.
    assert km["days"] == pytest.approx([30 / 1440, 17.0])
    assert km["entered"] == pytest.approx([0.25, 0.5])
    assert km["at_risk"] == [4, 3]
    assert raw["km_entered_by"] == {"30": pytest.approx(0.5), "90": pytest.approx(0.5)}


def test_censoring_at_the_end_of_the_data(world):
    # Data ending on 15 January: P2's entry on the 20th is not yet known; only P2 and P3 are
    # in the cohort, and nobody has entered treatment.
    raw = treatment_entry.compute(world.scope(last=date(2026, 1, 15)))
    assert raw["cohort"] == 2
    assert raw["entered_treatment"] == 0
    assert raw["within"]["30"]["eligible"] == 0
    assert raw["km"]["days"] == []


def test_funnel_counts_treatment_referrals_made_in_the_period(world):
    raw = treatment_entry.compute(world.scope())
    assert raw["funnel"] == {
        "referred": 4,
        "accepted": 1,
        "attended": 0,
        "entered_treatment": 3,
        "declined": 1,
        "lost": 0,
    }
    assert raw["treatment_referrals"] == 4
    assert raw["people_referred"] == 4
    assert [p["share"] for p in raw["published"]] == [0.10, 0.18]


def test_an_evaluator_sees_no_curve_of_a_few_people(world):
    shown = treatment_entry.run(world.scope(), {})
    assert shown["km"] is None
    assert shown["cohort"] is None and shown["entered_treatment"] is None
    assert shown["direct_from_room_share"] is None
    assert shown["funnel"]["attended"] == 0
    assert shown["funnel"]["referred"] is None
