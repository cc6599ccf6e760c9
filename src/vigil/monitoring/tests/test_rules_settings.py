"""Rule settings, priorities, labels, floor conditions and clock skew: the tables of the issue."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest

from vigil.floor.supervision import CheckState
from vigil.monitoring.rules import (
    ADMINISTRATIVE,
    DEFAULT_SETTINGS,
    LABELS,
    LIMITS,
    PRIORITY,
    TECHNICAL,
    Condition,
    Priority,
    RuleSettings,
    clock_skew,
    data_loss_window,
    floor_conditions,
    is_clock_skewed,
)
from vigil.monitoring.vitals import Observation

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)

# The issue's table, condition by condition.
ISSUE_PRIORITIES = {
    "spo2_low": "medium",
    "spo2_critical": "high",
    "desaturation": "high",
    "resp_low": "high",
    "apnea": "high",
    "no_breath": "high",
    "pulse_low": "medium",
    "pulse_high": "medium",
    "stillness": "high",
    "check_concerned": "high",
    "monitoring_lost": "medium",
    "check_overdue": "medium",
    "over_limit": "low",
    "clock_skew": "low",
}


def test_every_condition_has_the_issue_priority_and_a_label():
    assert {str(c): str(p) for c, p in PRIORITY.items()} == ISSUE_PRIORITIES
    assert set(LABELS) == set(Condition)
    for label in LABELS.values():
        assert isinstance(label, str) and label and label[0].isupper()
    assert set(Priority) == {Priority.HIGH, Priority.MEDIUM, Priority.LOW}


def test_technical_and_administrative_conditions():
    assert TECHNICAL == {Condition.MONITORING_LOST, Condition.CLOCK_SKEW}
    assert ADMINISTRATIVE == {Condition.CLOCK_SKEW}


def test_defaults_are_the_issue_table():
    s = DEFAULT_SETTINGS
    assert (s.spo2_low, s.spo2_low_delay_s) == (90, 15)
    assert s.spo2_critical == 85
    assert (s.desaturation_drop, s.desaturation_window_s) == (4, 10)
    assert (s.resp_low, s.no_breath_s) == (7, 20)
    assert (s.pulse_low, s.pulse_high, s.pulse_delay_s) == (50, 140, 15)
    assert s.stillness_s == 180
    assert s.data_loss_s == 10
    assert s.clock_skew_s == 30
    assert s.version == 1


def test_settings_round_trip_through_json():
    changed = DEFAULT_SETTINGS.revised(spo2_low=88, pulse_delay_s=20.5)
    stored = json.dumps(changed.to_dict())
    assert RuleSettings.from_dict(json.loads(stored)) == changed
    assert set(changed.to_dict()) == {"version", *LIMITS}


def test_a_stored_version_without_a_newer_field_takes_its_default():
    stored = DEFAULT_SETTINGS.to_dict()
    del stored["resp_max_valid"]
    stored["version"] = 4
    loaded = RuleSettings.from_dict(stored)
    assert loaded.resp_max_valid == DEFAULT_SETTINGS.resp_max_valid
    assert loaded.version == 4


def test_revised_is_the_next_version_and_validated():
    first = RuleSettings()
    second = first.revised(spo2_low=88)
    assert (second.version, second.spo2_low, first.spo2_low) == (2, 88, 90)
    assert second.revised(stillness_s=120).version == 3
    with pytest.raises(ValueError, match="version is set by revised"):
        first.revised(version=7)
    with pytest.raises(ValueError, match="spo2_critical"):
        first.revised(spo2_critical=95)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"spo2_low_delay_s": -1}, r"spo2_low_delay_s must be between 0 and 120, got -1"),
        ({"no_breath_s": -20}, r"no_breath_s must be between 5 and 60"),
        ({"stillness_s": 3600}, r"stillness_s must be between 30 and 1200"),
        ({"spo2_critical": 91}, r"spo2_critical \(91\) must not be above spo2_low \(90\)"),
        ({"spo2_low": 88, "spo2_critical": 89}, r"must not be above spo2_low"),
        ({"spo2_low": 101}, r"spo2_low must be between 80 and 99"),
        ({"spo2_low": 50}, r"spo2_low must be between 80 and 99"),
        ({"pulse_high": 260}, r"pulse_high must be between 100 and 250"),
        ({"pulse_high": 200, "pulse_max_valid": 200}, r"pulse_high \(200\) must be below"),
        ({"resp_low": 0}, r"resp_low must be between 1 and 12"),
        ({"data_loss_s": 0}, r"data_loss_s must be between 1 and 120"),
        ({"clock_skew_s": 0}, r"clock_skew_s must be between 1 and 3600"),
        ({"desaturation_drop": 0}, r"desaturation_drop must be between 1 and 20"),
        ({"spo2_low": "90"}, r"spo2_low must be a number, got '90'"),
        ({"spo2_low": True}, r"spo2_low must be a number, got True"),
        ({"spo2_low": None}, r"spo2_low must be a number, got None"),
        ({"spo2_low": math.nan}, r"spo2_low must be a finite number"),
        ({"pulse_low": math.inf}, r"pulse_low must be a finite number"),
        ({"version": 0}, r"version must be 1 or more, got 0"),
        ({"version": "2"}, r"version must be a whole number"),
        ({"version": 1.5}, r"version must be a whole number"),
        ({"version": True}, r"version must be a whole number"),
        ({"spo2_lw": 88}, r"unknown rule setting\(s\): spo2_lw"),
    ],
)
def test_nonsense_settings_are_refused_with_a_clear_message(data, message):
    with pytest.raises(ValueError, match=message):
        RuleSettings.from_dict(data)


def test_the_edges_of_each_range_are_accepted():
    for name, (low, high) in LIMITS.items():
        for value in (low, high):
            data = {name: value}
            # Keep the cross-field rules satisfied while one field sits on its edge.
            if name == "spo2_low":
                data["spo2_critical"] = min(DEFAULT_SETTINGS.spo2_critical, value)
            if name == "spo2_critical":
                data["spo2_low"] = max(DEFAULT_SETTINGS.spo2_low, value)
            if name == "pulse_max_valid":
                data["pulse_high"] = min(DEFAULT_SETTINGS.pulse_high, value - 1)
            if name == "pulse_high":
                data["pulse_max_valid"] = max(DEFAULT_SETTINGS.pulse_max_valid, value + 1)
            assert getattr(RuleSettings.from_dict(data), name) == value


def test_settings_must_be_a_json_object():
    with pytest.raises(ValueError, match="must be a JSON object, got list"):
        RuleSettings.from_dict([("spo2_low", 88)])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("check_state", "over_limit", "expected"),
    [
        (CheckState.OK, False, set()),
        (CheckState.DUE, False, set()),
        (CheckState.OVERDUE, False, {Condition.CHECK_OVERDUE}),
        (CheckState.CONCERNED, False, {Condition.CHECK_CONCERNED}),
        (CheckState.OK, True, {Condition.OVER_LIMIT}),
        (CheckState.DUE, True, {Condition.OVER_LIMIT}),
        (CheckState.OVERDUE, True, {Condition.CHECK_OVERDUE, Condition.OVER_LIMIT}),
        (CheckState.CONCERNED, True, {Condition.CHECK_CONCERNED, Condition.OVER_LIMIT}),
    ],
)
def test_floor_conditions(check_state, over_limit, expected):
    assert floor_conditions(check_state, over_limit) == expected


def _obs(received: float, observed: float | None) -> Observation:
    return Observation(
        device_id="OX1",
        received_at=T0 + timedelta(seconds=received),
        observed_at=None if observed is None else T0 + timedelta(seconds=observed),
        spo2=97,
    )


@pytest.mark.parametrize(
    ("observed", "skew", "flagged"),
    [
        (None, None, False),
        (0, 0, False),
        (30, 30, False),
        (30.001, 30.001, True),
        (-30, -30, False),
        (-31, -31, True),
        (3600, 3600, True),
    ],
)
def test_clock_skew_is_device_time_minus_arrival(observed, skew, flagged):
    obs = _obs(0, observed)
    expected = None if skew is None else timedelta(seconds=skew)
    assert clock_skew(obs) == expected
    assert is_clock_skewed(obs) is flagged


def test_clock_skew_tolerance_is_a_setting():
    assert is_clock_skewed(_obs(0, 20), RuleSettings(clock_skew_s=10))
    assert not is_clock_skewed(_obs(0, 20), RuleSettings(clock_skew_s=20))


@pytest.mark.parametrize(
    ("cadence_s", "window_s"),
    [(None, 10), (0, 10), (1, 10), (6, 10), (7, 10.5), (60, 90), (300, 450)],
)
def test_the_data_loss_window_adapts_to_slow_cadences(cadence_s, window_s):
    cadence = None if cadence_s is None else timedelta(seconds=cadence_s)
    assert data_loss_window(DEFAULT_SETTINGS, cadence) == timedelta(seconds=window_s)
