"""`onsite_outcomes` on hand-made records (see records_world.py), worked out by hand."""

import pytest
from scipy import stats

from vigil.research.records import onsite_outcomes
from vigil.research.tests.records_world import alarm, build_visits, naloxone, overdose

pytestmark = [pytest.mark.django_db, pytest.mark.db_any]


@pytest.fixture
def world():
    world = build_visits()
    # E1: P2, two doses of naloxone (a third struck out as entered in error), recovered.
    e1 = overdose(world, "P2", "2026-01-03 10:20", outcome="recovered_on_site")
    naloxone(world, e1, 2)
    naloxone(world, e1, 5)
    naloxone(world, e1, 6, removed=True)
    # E2: P4, no naloxone, EMS called, taken to hospital.
    overdose(
        world,
        "P4",
        "2026-02-01 09:20",
        outcome="transported",
        ems_called_at=None,
        transported_at=None,
    )
    e2 = world.site.medical_events.get(participant=world.people["P4"])
    e2.ems_called_at = e2.started_at
    e2.save()
    # E3: P5, stimulation only, recovered: not potentially fatal.
    overdose(world, "P5", "2026-03-20 10:15", outcome="recovered_on_site")
    # Not counted: another kind of event, and an overdose before the period.
    overdose(world, "P3", "2026-01-10 10:30", kind="other_medical", outcome="recovered_on_site")
    overdose(world, "P1", "2025-12-15 12:10", outcome="recovered_on_site")
    # Alarms: two high (acknowledged after 10 s and 30 s, one claimed after 25 s), one medium
    # never acknowledged, and one high before the period.
    alarm(world, "spo2_critical", "high", "2026-01-03 10:19", ack=10, claim=25)
    alarm(world, "apnea", "high", "2026-02-01 09:19", ack=30)
    alarm(world, "check_overdue", "medium", "2026-03-20 10:30")
    alarm(world, "apnea", "high", "2025-12-15 12:09", ack=300)
    return world


def test_overdoses_outcomes_and_naloxone(world):
    raw = onsite_outcomes.compute(world.scope(), {})
    assert raw["visits"] == 11
    assert raw["overdoses"] == 3
    assert raw["overdoses_per_1000_visits"] == pytest.approx(3 / 11 * 1000)
    low, high = raw["overdoses_per_1000_visits_ci"]
    assert low == pytest.approx(stats.chi2.ppf(0.025, 6) / 2 / 11 * 1000)
    assert high == pytest.approx(stats.chi2.ppf(0.975, 8) / 2 / 11 * 1000)
    assert raw["outcomes"] == {
        "recovered_on_site": 2,
        "transported": 1,
        "left": 0,
        "death": 0,
        "not recorded": 0,
    }
    assert raw["naloxone_doses"] == 2
    assert raw["overdoses_with_naloxone"] == 1
    assert raw["naloxone_doses_per_overdose"] == pytest.approx(2 / 3)
    assert raw["naloxone_doses_per_naloxone_overdose"] == 2
    assert raw["ems_called"] == 1
    assert raw["monthly"]["overdoses"] == [1, 1, 1, 0, 0, 0]


def test_alarm_response_by_priority(world):
    raw = onsite_outcomes.compute(world.scope(), {})
    high = raw["alarm_response"]["high"]
    assert high["alarms"] == 2 and high["never_acknowledged"] == 0
    assert high["to_acknowledge_seconds"] == {"n": 2, "median": 20.0, "p90": 28.0}
    assert high["to_claim_seconds"] == {"n": 1, "median": 25.0, "p90": 25.0}
    medium = raw["alarm_response"]["medium"]
    assert medium["alarms"] == 1 and medium["never_acknowledged"] == 1
    assert medium["to_acknowledge_seconds"]["n"] == 0


def test_deaths_averted_states_its_assumptions_and_range(world):
    raw = onsite_outcomes.compute(world.scope(), {})
    a = raw["deaths_averted"]
    # Potentially fatal: E1 (naloxone) and E2 (EMS, transported); not E3.
    assert a["potentially_fatal_overdoses"] == 2
    assert a["deaths_on_site"] == 0
    assert a["expected_deaths_without_site"] == pytest.approx(2 * 0.05)
    assert a["expected_deaths_range"] == pytest.approx([2 * 0.01, 2 * 0.10])
    assert a["deaths_averted_range"] == pytest.approx([0.02, 0.2])
    assert "Milloy" in a["source"] and len(a["assumptions"]) >= 3
    own = onsite_outcomes.compute(
        world.scope(), {"fatal_share": 0.1, "fatal_share_low": 0.02, "fatal_share_high": 0.2}
    )["deaths_averted"]
    assert own["deaths_averted"] == pytest.approx(0.2)
    assert "10%" in own["assumptions"][0]


def test_inconsistent_shares_are_refused(world):
    with pytest.raises(ValueError, match="fatal_share_low"):
        onsite_outcomes.compute(world.scope(), {"fatal_share": 0.2, "fatal_share_high": 0.1})


def test_an_evaluator_sees_no_small_count_nor_what_gives_it_away(world):
    shown = onsite_outcomes.run(world.scope(), {})
    assert shown["overdoses"] is None
    assert shown["overdoses_per_1000_visits"] is None
    assert shown["overdoses_per_1000_visits_ci"] is None
    assert shown["outcomes"]["death"] == 0  # "no death on site" may be said
    assert shown["outcomes"]["recovered_on_site"] is None
    assert shown["naloxone_doses_per_overdose"] is None
    assert shown["alarm_response"]["high"]["to_acknowledge_seconds"] is None
    assert shown["deaths_averted"]["deaths_averted"] is None
    assert shown["deaths_averted"]["assumptions"]  # the assumptions are always shown
