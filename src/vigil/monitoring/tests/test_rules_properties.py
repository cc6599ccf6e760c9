"""Properties of the rules over generated reading sequences (hypothesis)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.monitoring.rules import Condition, PlaceMonitor
from vigil.monitoring.vitals import Observation

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
VITALS = {
    Condition.SPO2_LOW,
    Condition.SPO2_CRITICAL,
    Condition.DESATURATION,
    Condition.RESP_LOW,
    Condition.APNEA,
    Condition.NO_BREATH,
    Condition.PULSE_LOW,
    Condition.PULSE_HIGH,
    Condition.STILLNESS,
}


def watched(cadence_s: float | None = None) -> PlaceMonitor:
    cadence = None if cadence_s is None else timedelta(seconds=cadence_s)
    monitor = PlaceMonitor(cadence=cadence)
    monitor.evaluate(T0, occupied=True, device_bound=True)
    return monitor


def reading(t: float, **values) -> Observation:
    moment = T0 + timedelta(seconds=t)
    return Observation(device_id="OX1", received_at=moment, observed_at=moment, **values)


def run(monitor: PlaceMonitor, steps: list[tuple[float, dict]]) -> list[set[Condition]]:
    results, t = [], 0.0
    for gap, values in steps:
        t += gap
        obs = reading(t, **values)
        monitor.observe(obs, obs.received_at)
        results.append(monitor.evaluate(obs.received_at, occupied=True, device_bound=True))
    return results


def normal_steps(
    gaps: st.SearchStrategy[float], spo2: st.SearchStrategy[float]
) -> st.SearchStrategy[list[tuple[float, dict]]]:
    """Readings normal in every vital; with a motion sensor reporting movement in every one,
    or in none (a sensor that reports once and falls silent is rightly "monitoring lost")."""
    values = st.fixed_dictionaries(
        {"spo2": spo2, "pulse": st.floats(50, 140), "resp": st.floats(7.01, 40)}
    )
    steps = st.lists(st.tuples(gaps, values), min_size=1, max_size=80)
    return st.tuples(steps, st.booleans()).map(
        lambda pair: [(gap, {**v, "motion": True} if pair[1] else v) for gap, v in pair[0]]
    )


@settings(deadline=None)
@given(normal_steps(st.floats(0.1, 9.9), st.floats(96, 99.9)))
def test_normal_readings_raise_nothing_live(steps):
    # SpO2 within a 4-point band, so no fall can be a rapid desaturation
    assert all(result == set() for result in run(watched(), steps))


@settings(deadline=None)
@given(normal_steps(st.floats(10.01, 44.9), st.floats(90, 100)))
def test_normal_readings_raise_nothing_at_a_slow_cadence(steps):
    # readings more than 10 s apart: no fall counts as rapid; a 30 s cadence allows 45 s gaps
    assert all(result == set() for result in run(watched(30), steps))


def _anything() -> st.SearchStrategy[float | None]:
    return st.one_of(
        st.none(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([0.0, -100.0, 8388607.0, 7.0, 85.0, 90.0, 140.0, 277.0]),
    )


ANY_READING = st.fixed_dictionaries(
    {"spo2": _anything(), "pulse": _anything(), "resp": _anything()},
    optional={"apnea": st.booleans(), "motion": st.one_of(st.none(), st.booleans())},
)
ANY_STEPS = st.lists(st.tuples(st.floats(0, 120), ANY_READING), min_size=1, max_size=60)


@settings(deadline=None)
@given(ANY_STEPS)
def test_any_readings_give_known_conditions_and_one_normal_reading_clears_them(steps):
    monitor = watched()
    for result in run(monitor, steps):
        assert result <= set(Condition) - {Condition.CLOCK_SKEW}
    # "Conditions clear when the data says so": a reading normal in every vital says so.
    last = sum(gap for gap, _ in steps)
    final = reading(last + 1, spo2=97.0, pulse=70.0, resp=14.0, motion=True)
    monitor.observe(final, final.received_at)
    assert monitor.evaluate(final.received_at, occupied=True, device_bound=True) == set()


@settings(deadline=None)
@given(ANY_STEPS)
def test_evaluate_is_deterministic_and_extra_questions_change_nothing(steps):
    first, second, asked_often = watched(), watched(), watched()
    expected = run(first, steps)
    assert run(second, steps) == expected
    results, t = [], 0.0
    for gap, values in steps:
        for fraction in (0.25, 0.5, 0.75):  # ask in between readings too
            asked_often.evaluate(
                T0 + timedelta(seconds=t + gap * fraction), occupied=True, device_bound=True
            )
        t += gap
        obs = reading(t, **values)
        asked_often.observe(obs, obs.received_at)
        now = obs.received_at
        results.append(asked_often.evaluate(now, occupied=True, device_bound=True))
        assert asked_often.evaluate(now, occupied=True, device_bound=True) == results[-1]
    assert results == expected


NO_SIGNAL = st.sampled_from([None, 0.0, -100.0, 8388607.0, math.nan, math.inf, -math.inf])
NO_SIGNAL_RESP = st.sampled_from([None, -100.0, 8388607.0, math.nan, 1e6])


@settings(deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0, 30),
            st.fixed_dictionaries({"spo2": NO_SIGNAL, "pulse": NO_SIGNAL, "resp": NO_SIGNAL_RESP}),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_no_data_is_never_a_vital_sign_alarm(steps):
    for result in run(watched(), steps):
        assert not result & VITALS
        assert result <= {Condition.MONITORING_LOST}


@settings(deadline=None)
@given(
    # whole milliseconds: datetimes keep microseconds, so closer floats would collapse
    st.lists(st.integers(0, 10_000_000), min_size=2, max_size=40, unique=True).map(
        lambda ms: [m / 1000 for m in sorted(ms)]
    ),
    st.data(),
)
def test_shuffled_time_is_refused_and_changes_nothing(times, data):
    i = data.draw(st.integers(0, len(times) - 2), label="swap from")
    j = data.draw(st.integers(i + 1, len(times) - 1), label="swap with")
    shuffled = list(times)
    shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
    values = {"spo2": 88.0, "pulse": 150.0, "resp": 0.0}
    monitor, reference = watched(), watched()
    accepted = 0
    with pytest.raises(ValueError, match="earlier than the previous one"):
        for t in shuffled:
            obs = reading(t, **values)
            monitor.observe(obs, obs.received_at)
            accepted += 1
    assert shuffled[accepted] < shuffled[accepted - 1]
    for t in shuffled[:accepted]:
        obs = reading(t, **values)
        reference.observe(obs, obs.received_at)
    now = T0 + timedelta(seconds=shuffled[accepted - 1])
    assert monitor.evaluate(now, occupied=True, device_bound=True) == reference.evaluate(
        now, occupied=True, device_bound=True
    )
