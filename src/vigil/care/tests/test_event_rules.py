"""The rules an event record must keep (pure logic, no database): times, doses, oxygen, EMS,
outcome, sign-off; what an alarm suggests; the vitals shown around an event."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from vigil.care import events
from vigil.care.events import Record, Sample, Step, problems

T0 = datetime(2026, 3, 14, 22, 0, tzinfo=UTC)
NOW = T0 + timedelta(minutes=30)


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def record(**overrides) -> Record:
    values: dict = {"kind": "overdose", "started_at": T0, "signs": ["no_breathing"]}
    values.update(overrides)
    return Record(**values)


def naloxone(at=None, mg="0.4", route="IM", key="n0") -> Step:
    return Step(key=key, kind="naloxone", at=at or m(2), dose_mg=Decimal(mg), route=route)


def test_a_complete_record_passes():
    full = record(
        steps=[
            Step("n0", "stimulation", m(1)),
            Step("n1", "oxygen", m(2), litres_per_minute=Decimal("10")),
            naloxone(at=m(3), key="n2"),
            naloxone(at=m(6), key="n3", mg="4", route="IN"),
        ],
        ems_called_at=m(4),
        ems_arrived_at=m(12),
        transported_at=m(20),
        outcome="transported",
    )
    assert problems(full, NOW, signing=True) == {}


def test_a_naloxone_dose_before_the_event_started_is_refused_with_the_fix():
    found = problems(record(steps=[naloxone(at=m(-1))]), NOW)
    assert list(found) == ["n0-at"]
    assert "before the event started" in found["n0-at"][0]
    assert "change the start time" in found["n0-at"][0]


def test_at_the_start_minute_is_allowed():
    assert problems(record(steps=[naloxone(at=T0)]), NOW) == {}


@pytest.mark.parametrize(
    ("mg", "message"),
    [
        ("0", "more than 0"),
        ("-0.4", "more than 0"),
        ("10.01", "at most 10"),
    ],
)
def test_naloxone_doses_out_of_range(mg, message):
    found = problems(record(steps=[naloxone(mg=mg)]), NOW)
    assert message in found["n0-dose_mg"][0]


def test_naloxone_needs_a_dose_and_a_route():
    step = Step("n0", "naloxone", m(2))
    found = problems(record(steps=[step]), NOW)
    assert set(found) == {"n0-dose_mg", "n0-route"}


@pytest.mark.parametrize("lpm", ["0", "0.5", "15.5", "-2"])
def test_oxygen_flow_outside_1_to_15(lpm):
    step = Step("n0", "oxygen", m(2), litres_per_minute=Decimal(lpm))
    assert "between 1 and 15" in problems(record(steps=[step]), NOW)["n0-litres_per_minute"][0]


def test_oxygen_needs_a_flow():
    assert "n0-litres_per_minute" in problems(record(steps=[Step("n0", "oxygen", m(2))]), NOW)


def test_nothing_may_be_in_the_future():
    found = problems(
        record(steps=[naloxone(at=NOW + timedelta(minutes=1))], ems_called_at=NOW + timedelta(1)),
        NOW,
    )
    assert set(found) == {"n0-at", "ems_called_at"}
    assert "future" in problems(record(started_at=NOW + timedelta(minutes=1)), NOW)["started_at"][0]


def test_an_intervention_needs_a_known_kind_and_a_time():
    found = problems(record(steps=[Step("n0", "", m(1)), Step("n1", "stimulation", None)]), NOW)
    assert set(found) == {"n0-kind", "n1-at"}


def test_ems_arrived_before_called_is_refused():
    found = problems(record(ems_called_at=m(10), ems_arrived_at=m(5)), NOW)
    assert "before they were called" in found["ems_arrived_at"][0]


def test_ems_arrived_without_being_called_is_refused():
    assert "ems_called_at" in problems(record(ems_arrived_at=m(5)), NOW)


def test_ems_before_the_event_started_is_refused():
    assert "ems_called_at" in problems(record(ems_called_at=m(-3)), NOW)


def test_transport_goes_only_with_the_outcome_transported():
    found = problems(
        record(ems_called_at=m(1), transported_at=m(9), outcome="recovered_on_site"), NOW
    )
    assert list(found) == ["transported_at"]
    assert problems(record(transported_at=m(9), outcome="transported"), NOW) == {}


def test_transported_before_ems_arrived_is_refused():
    late = record(
        ems_called_at=m(1), ems_arrived_at=m(9), transported_at=m(8), outcome="transported"
    )
    assert "before EMS arrived" in problems(late, NOW)["transported_at"][0]


def test_minutes_to_recovery_must_be_a_sensible_count():
    assert "negative" in problems(record(minutes_to_recovery=-1), NOW)["minutes_to_recovery"][0]
    assert "minutes_to_recovery" in problems(record(minutes_to_recovery=24 * 60 + 1), NOW)
    assert problems(record(minutes_to_recovery=0), NOW) == {}


def test_death_needs_confirmation_once():
    death = record(outcome="death")
    assert list(problems(death, NOW)) == ["death_confirmed"]
    assert problems(death, NOW, death_confirmed=True) == {}
    # Already recorded as a death: an unrelated change does not ask again.
    assert problems(death, NOW, outcome_before="death") == {}


def test_no_recovery_time_after_a_death():
    found = problems(record(outcome="death", minutes_to_recovery=5), NOW, death_confirmed=True)
    assert list(found) == ["minutes_to_recovery"]


def test_sign_off_needs_an_outcome_and_a_sign():
    found = problems(record(signs=[]), NOW, signing=True)
    assert set(found) == {"outcome", "signs"}
    assert problems(record(signs=[]), NOW) == {}  # a draft may be incomplete


def test_unknown_signs_and_kinds_are_refused():
    found = problems(record(kind="bruise", signs=["sneezing"]), NOW)
    assert set(found) == {"kind", "signs"}


def test_a_record_opened_live_must_be_recent_otherwise_it_is_a_late_entry():
    old = record(started_at=NOW - timedelta(hours=13))
    assert "late entry" in problems(old, NOW, opening_live=True)["started_at"][0]
    assert problems(old, NOW) == {}


@pytest.mark.parametrize(
    ("kinds", "signs"),
    [
        (["no_breath"], ["no_breathing"]),
        (["apnea", "spo2_critical"], ["no_breathing", "cyanosis"]),
        (["resp_low"], ["slow_breathing"]),
        (["spo2_low"], ["cyanosis"]),
        (["desaturation"], ["cyanosis"]),
        (["check_overdue", "monitoring_lost"], []),
    ],
)
def test_signs_suggested_by_alarms(kinds, signs):
    assert events.signs_for_alarm(kinds) == signs


def test_vitals_by_minute_keep_the_lowest_oxygen_and_breathing():
    samples = [
        Sample(T0 + timedelta(seconds=s), spo2=97 - s / 10, pulse=80, resp=14 - s / 10)
        for s in range(0, 120, 10)
    ]
    rows = events.by_minute(samples, T0, T0 + timedelta(minutes=5), mark=T0 + timedelta(seconds=70))
    assert [r.at for r in rows] == [T0, m(1)]
    assert rows[0].spo2 == 92 and rows[1].resp == pytest.approx(3)
    assert [r.marked for r in rows] == [False, True]


def test_the_sparkline_grid_leaves_gaps_where_nothing_was_sent():
    samples = [Sample(T0, 97, 80, 14), Sample(m(2), 80, 70, 4)]
    grid = events.evenly(samples, T0, m(3), timedelta(minutes=1), "spo2")
    assert grid == [97, None, 80]


def test_differences_list_what_an_amendment_changed():
    before = {
        "kind": "overdose",
        "started_at": T0.isoformat(),
        "minutes_to_recovery": 6,
        "signs": ["no_breathing"],
        "interventions": [
            {"id": 1, "kind": "naloxone", "at": m(2).isoformat(), "dose_mg": "0.40", "route": "IM"}
        ],
    }
    after = {
        **before,
        "minutes_to_recovery": 9,
        "interventions": [
            {**before["interventions"][0], "removed_at": m(20).isoformat()},
            {"id": 2, "kind": "naloxone", "at": m(2).isoformat(), "dose_mg": "4.00", "route": "IN"},
        ],
    }
    changes = events.differences(before, after)
    assert [c.label for c in changes] == ["Minutes to recovery", "Intervention", "Intervention"]
    assert (changes[0].before, changes[0].after) == ("6", "9")
    assert "struck out" in changes[1].after and "0.4 mg IM" in changes[1].before
    assert changes[2].before == "" and "4 mg IN" in changes[2].after
