"""The simulated people of `vigil simulate`, checked without sockets: resting vitals stay normal
and raise nothing, an overdose unfolds as opioids do (breathing first, oxygen after, pulse up
then down) and the detection rules see it in that order, naloxone brings everything back, and
the HL7 frames say what the model says."""

from datetime import UTC, datetime, timedelta

import pytest

from vigil.monitoring.hl7in import build_ack, parse_oru
from vigil.monitoring.rules import Condition, PlaceMonitor
from vigil.monitoring.simulator import (
    APNEA_AFTER,
    RECOVERY_SECONDS,
    Ack,
    SimulatedPerson,
    Vitals,
    build_oru,
    event_times,
    parse_ack,
    person_for,
)
from vigil.monitoring.vitals import Observation

START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
VITAL_ALARMS = {
    Condition.SPO2_LOW,
    Condition.SPO2_CRITICAL,
    Condition.DESATURATION,
    Condition.RESP_LOW,
    Condition.APNEA,
    Condition.NO_BREATH,
    Condition.PULSE_LOW,
    Condition.PULSE_HIGH,
}


def observation(vitals: Vitals, t: float) -> Observation:
    """What the gateway makes of a frame: SpO2 0 and pulse 0 mean "no signal" and arrive as no
    value (`test_frames_read_back_as_the_model_says` checks this against the parser)."""
    return Observation(
        device_id="SIMTESTB1",
        received_at=START + timedelta(seconds=t),
        spo2=vitals.spo2 or None,
        pulse=vitals.pulse or None,
        resp=vitals.resp,
        apnea=vitals.apnea,
    )


def watch(person: SimulatedPerson, seconds: int) -> dict[Condition, list[float]]:
    """Feed the rules one reading a second, as the engine does; when each condition held."""
    monitor = PlaceMonitor()
    held: dict[Condition, list[float]] = {}
    for t in range(seconds):
        at = START + timedelta(seconds=t)
        monitor.observe(observation(person.vitals(t), t), at)
        for condition in monitor.evaluate(at, occupied=True, device_bound=True):
            held.setdefault(condition, []).append(t)
    return held


def first_time(person: SimulatedPerson, start: int, test) -> int | None:
    return next((t for t in range(start, start + 1200) if test(person.vitals(t))), None)


def test_a_seed_gives_the_same_person_whatever_order_moments_are_asked_in():
    one, two = SimulatedPerson(7), SimulatedPerson(7)
    forward = [one.vitals(t) for t in range(300)]
    backward = [two.vitals(t) for t in reversed(range(300))][::-1]
    assert forward == backward
    assert forward != [SimulatedPerson(8).vitals(t) for t in range(300)]


@pytest.mark.parametrize("seed", range(12))
def test_a_resting_person_has_believable_vitals_that_raise_no_alarm(seed):
    person = person_for(seed, 0, "calm")
    assert 95 <= person.baseline.spo2 <= 99
    assert 60 <= person.baseline.pulse <= 100
    assert 12 <= person.baseline.resp <= 18
    readings = [person.vitals(t) for t in range(1800)]
    usable = [v for v in readings if v.spo2 and v.pulse < 250 and v.resp < 120]
    assert len(usable) > 0.95 * len(readings)
    assert all(92 <= v.spo2 <= 100 and 50 < v.pulse < 115 and 8 <= v.resp <= 22 for v in usable)
    assert not any(v.apnea for v in readings)
    assert len({v.pulse for v in usable}) > 10, "a flat line is not a person"
    held = watch(person, 1800)
    assert not VITAL_ALARMS & held.keys(), held.keys()


def test_an_overdose_slows_breathing_first_then_oxygen_falls_then_naloxone_brings_both_back():
    person = SimulatedPerson(3, artefacts_per_hour=0)
    onset, naloxone = 100, 180
    person.overdose(onset, recover_after=naloxone)

    slow_breathing = first_time(person, onset, lambda v: v.resp <= 7)
    no_breath = first_time(person, onset, lambda v: v.resp == 0)
    low_oxygen = first_time(person, onset, lambda v: v.spo2 < 90)
    critical_oxygen = first_time(person, onset, lambda v: v.spo2 < 85)
    assert slow_breathing is not None and no_breath is not None
    assert low_oxygen is not None and critical_oxygen is not None
    assert slow_breathing < low_oxygen, "oximetry lags behind breathing"
    assert slow_breathing - onset <= 40
    assert no_breath - onset <= 75
    assert critical_oxygen - onset <= 120
    assert 70 <= person.vitals(onset + 90).spo2 <= 80

    pulses = [person.vitals(t).pulse for t in range(onset, onset + naloxone)]
    peak = max(range(len(pulses)), key=pulses.__getitem__)
    assert pulses[peak] >= person.vitals(onset - 1).pulse + 10, "the pulse rises first"
    assert pulses[-1] < pulses[peak] - 30 and pulses[-1] < 55, "then falls with hypoxia"

    apnea = [t for t in range(onset, onset + naloxone + 60) if person.vitals(t).apnea]
    assert apnea and apnea[0] - no_breath >= APNEA_AFTER - 1

    back = onset + naloxone + int(RECOVERY_SECONDS)
    breathing_again = first_time(person, onset + naloxone, lambda v: v.resp >= 10)
    assert breathing_again is not None and breathing_again - (onset + naloxone) <= 60
    for t in range(back, back + 120):
        v = person.vitals(t)
        assert v.spo2 >= 92 and 50 < v.pulse < 115 and v.resp >= 9 and not v.apnea
    assert not person.in_overdose(back)


def test_the_rules_see_an_overdose_in_its_order_and_see_it_end():
    person = SimulatedPerson(11, artefacts_per_hour=0)
    person.overdose(60)
    held = watch(person, 60 + 180 + int(RECOVERY_SECONDS) + 60)
    first = {condition: times[0] for condition, times in held.items()}
    assert not VITAL_ALARMS & {c for c, t in first.items() if t < 60}
    assert first[Condition.RESP_LOW] < first[Condition.SPO2_CRITICAL]
    assert first[Condition.NO_BREATH] < first[Condition.SPO2_CRITICAL] + 30
    assert Condition.APNEA in first
    assert first[Condition.SPO2_CRITICAL] - 60 <= 120
    end = 60 + 180 + int(RECOVERY_SECONDS)
    still = {c for c, times in held.items() if times[-1] >= end and c in VITAL_ALARMS}
    assert not still, f"still alarming after recovery: {still}"


def test_naloxone_before_breathing_stops_means_no_apnea_and_a_recovery():
    person = SimulatedPerson(5, artefacts_per_hour=0)
    person.overdose(0, recover_after=35)
    assert not any(person.vitals(t).apnea for t in range(0, 400))
    assert min(person.vitals(t).resp for t in range(0, 400)) >= 1
    assert person.vitals(35 + RECOVERY_SECONDS + 10).spo2 >= 92


def test_a_restless_person_sends_artefacts_and_probe_off_but_no_vital_sign_alarm():
    person = person_for(2, 0, "noisy")
    readings = [person.vitals(t) for t in range(3600)]
    assert sum(1 for v in readings if v.pulse > 250) >= 5
    assert sum(1 for v in readings if v.resp > 120) >= 5
    probe_off = sum(1 for v in readings if v.spo2 == 0)
    assert probe_off >= 30
    assert all(v.resp <= 150 for v in readings), "the gateway would refuse the frame"
    held = watch(person, 3600)
    assert not VITAL_ALARMS & held.keys(), held.keys()
    assert Condition.MONITORING_LOST in held, "long probe-off stretches are data loss"


def test_frames_read_back_as_the_model_says():
    sent = {
        "ok": Vitals(97, 72, 15, False),
        "probe off": Vitals(0, 0, 14, False),
        "apnea": Vitals(78, 52, 0, True),
    }
    for name, vitals in sent.items():
        frame = build_oru("SIM-SEATTLE-CHEL-B3", f"C{name[:2]}1", START, vitals, facility="SEA")
        assert "PID" not in frame, "participants are anonymous"
        parsed = parse_oru(frame.encode("latin-1").decode("latin-1"), START)
        assert parsed.device_ids[0] == "SIMSEATTLECHELB3", name
        assert parsed.version == "2.6" and parsed.message_type == "ORU^R01^ORU_R01"
        assert parsed.observation == Observation(
            device_id="SIMSEATTLECHELB3",
            received_at=START,
            observed_at=START,
            spo2=vitals.spo2 or None,
            pulse=vitals.pulse or None,
            resp=vitals.resp,
            apnea=vitals.apnea,
        ), name


def test_acks_are_read_with_their_code_control_id_and_reason():
    frame = build_oru("SIM-X-B1", "MSG42", START, Vitals(97, 72, 15, False))
    parsed = parse_oru(frame, START)
    assert parse_ack(build_ack(parsed, "AA")) == Ack("AA", "MSG42", "")
    refused = parse_ack(build_ack(parsed, "AE", "unknown device SIMXB1: bind it | now"))
    assert refused.code == "AE" and refused.control_id == "MSG42"
    assert refused.reason == "unknown device SIMXB1: bind it | now"
    assert parse_ack("garbage").code == ""


def test_scenarios_strike_at_onset_and_then_every_period():
    assert list(event_times(60, 600, 1900)) == [60, 660, 1260, 1860]
    assert list(event_times(5, 10, 5)) == []
    assert len(list(event_times(0, 1))) == 100_000, "bounded even without an end"
