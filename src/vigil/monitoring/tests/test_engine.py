"""The engine end to end inside one process: observations in, alarms in the database out,
escalation steps taken when due, and a resolved alarm whose condition persists raised again."""

import asyncio
from datetime import timedelta

import pytest

from vigil.accounts.roles import Role
from vigil.floor import actions as floor
from vigil.lib import clock
from vigil.monitoring import actions
from vigil.monitoring.engine import AlarmEngine
from vigil.monitoring.models import Alarm, AlarmEvent, Notification
from vigil.monitoring.vitals import Observation
from vigil.sites.models import PlaceKind
from vigil.testing import SiteFactory, StaffFactory, intake, participant

pytestmark = pytest.mark.django_db(transaction=True)


def setup_booth(occupied=True):
    site = SiteFactory(places={PlaceKind.BOOTH: 2})
    nurse = StaffFactory(role=Role.NURSE, sites=[site])
    booth = site.places.get(label="B1")
    device, _ = actions.add_device(device_id="00-09-fb-ff-ff-9b-42-b3", place=booth)
    if occupied:
        floor.check_in(
            site=site, participant=participant(site), intake=intake(), by=nurse, place=booth
        )
    return site, nurse, booth, device


async def run_engine(scenario):
    engine = AlarmEngine()
    task = asyncio.create_task(engine.run())
    while not engine.running:
        await asyncio.sleep(0.01)
    try:
        return await scenario(engine)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def settle(engine, seconds=0.3):
    await asyncio.sleep(seconds)
    await engine.run_in_db(lambda: None)  # everything queued on the alarm thread is written


async def wait_until(predicate, timeout=10.0):
    """Poll a condition the engine reaches asynchronously (never a fixed sleep to pass a test)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the engine never got there")
        await asyncio.sleep(0.02)


def obs(device, at, **values):
    return Observation(device_id=device.device_id, received_at=at, **values)


def test_critical_spo2_raises_a_high_alarm_at_once():
    site, nurse, booth, device = setup_booth()

    async def scenario(engine):
        now = clock.now()
        engine.observe(booth.pk, obs(device, now, spo2=97, pulse=80, resp=14))
        engine.observe(
            booth.pk, obs(device, now + timedelta(seconds=1), spo2=82, pulse=80, resp=14)
        )
        await settle(engine)

    asyncio.run(run_engine(scenario))
    kinds = set(Alarm.objects.values_list("kind", "priority"))
    assert ("spo2_critical", "high") in kinds
    alarm = Alarm.objects.get(kind="spo2_critical")
    assert alarm.visit is not None and alarm.device == device and alarm.state == "active"
    assert alarm.detail["spo2"] == 82
    assert AlarmEvent.objects.filter(alarm=alarm, kind="raised").exists()


def test_an_empty_place_raises_no_patient_alarm():
    site, nurse, booth, device = setup_booth(occupied=False)

    async def scenario(engine):
        now = clock.now()
        for n in range(3):
            engine.observe(
                booth.pk, obs(device, now + timedelta(seconds=n), spo2=70, pulse=30, resp=0)
            )
        await settle(engine)

    asyncio.run(run_engine(scenario))
    assert not Alarm.objects.exists()


def test_escalation_steps_are_taken_when_due_and_notify_fallback_contacts():
    site, nurse, booth, device = setup_booth()
    raised_at = clock.now() - timedelta(seconds=50)
    alarm, created = actions.raise_alarm(place=booth, kind="spo2_critical", at=raised_at)
    assert created

    async def scenario(engine):
        for _ in range(500):
            if await engine.run_in_db(Notification.objects.filter(alarm=alarm).exists):
                break
            await asyncio.sleep(0.02)
        await settle(engine)

    asyncio.run(run_engine(scenario))
    alarm.refresh_from_db()
    assert alarm.escalation_level == 2
    kinds = list(AlarmEvent.objects.filter(alarm=alarm).values_list("kind", flat=True))
    assert kinds[:1] == ["raised"] and "reannounce" in kinds and "notify" in kinds
    assert Notification.objects.filter(alarm=alarm).count() == 1  # the default log contact
    assert alarm.next_deadline_at is None


def test_a_resolved_alarm_whose_condition_persists_is_raised_again():
    site, nurse, booth, device = setup_booth()

    async def scenario(engine):
        now = clock.now()
        engine.observe(booth.pk, obs(device, now, spo2=80, pulse=80, resp=14))
        await settle(engine)
        first = await engine.run_in_db(lambda: Alarm.objects.get(kind="spo2_critical"))
        await engine.run_in_db(actions.resolve, first, "false_alarm", nurse)
        await wait_until(lambda: "spo2_critical" not in engine.places[booth.pk].active)
        engine.observe(
            booth.pk, obs(device, now + timedelta(seconds=1), spo2=80, pulse=80, resp=14)
        )
        await settle(engine)

    asyncio.run(run_engine(scenario))
    states = sorted(Alarm.objects.filter(kind="spo2_critical").values_list("state", flat=True))
    assert states == ["active", "resolved"]


def test_a_device_clock_that_is_off_raises_no_alarm():
    site, nurse, booth, device = setup_booth()

    async def scenario(engine):
        now = clock.now()
        for n in range(3):
            engine.observe(
                booth.pk,
                Observation(
                    device_id=device.device_id,
                    received_at=now + timedelta(seconds=n),
                    observed_at=now - timedelta(days=300),
                    spo2=97,
                    pulse=80,
                    resp=14,
                ),
            )
        await settle(engine)

    asyncio.run(run_engine(scenario))
    assert not Alarm.objects.exists()


def test_a_restarted_engine_remembers_the_last_minute_of_readings():
    site, nurse, booth, device = setup_booth()
    from vigil.monitoring.models import Reading

    now = clock.now()
    for n, spo2 in enumerate((97, 96, 95)):
        Reading.objects.create(
            device=device,
            place=booth,
            received_at=now - timedelta(seconds=30 - n),
            spo2=spo2,
            pulse=80,
            resp=14,
        )
    Reading.objects.create(
        device=device, place=booth, received_at=now - timedelta(minutes=5), spo2=60
    )

    async def scenario(engine):
        return engine.vitals(booth.pk)

    last, trend = asyncio.run(run_engine(scenario))
    assert [o.spo2 for o in trend] == [97, 96, 95]  # the five-minute-old one is not replayed
    assert last.spo2 == 95


def test_conditions_of_one_reading_are_raised_together_and_a_failed_write_is_tried_again(
    monkeypatch,
):
    """SpO2 82 after 97 is both critical and a fall: one transaction raises both. When that
    write fails (a locked database, a lost connection), the alarms are not forgotten: the
    next evaluation raises them."""
    from django.db import OperationalError

    site, nurse, booth, device = setup_booth()
    real_raise = actions.raise_alarm
    failures = []

    def flaky_raise(**kwargs):
        if not failures:
            failures.append(kwargs["kind"])
            raise OperationalError("database is locked")
        return real_raise(**kwargs)

    monkeypatch.setattr(actions, "raise_alarm", flaky_raise)

    async def scenario(engine):
        now = clock.now()
        engine.observe(booth.pk, obs(device, now, spo2=97, pulse=80, resp=14))
        engine.observe(
            booth.pk, obs(device, now + timedelta(seconds=1), spo2=82, pulse=80, resp=14)
        )
        await wait_until(lambda: not engine._pending)  # the failed write has come back
        for n in range(2, 4):  # the monitor keeps sending: the next evaluations
            engine.observe(
                booth.pk, obs(device, now + timedelta(seconds=n), spo2=82, pulse=80, resp=14)
            )
        await settle(engine)

    asyncio.run(run_engine(scenario))
    assert failures == ["desaturation"]  # high before medium; among equals, by name
    raised = AlarmEvent.objects.filter(kind="raised")
    assert set(raised.values_list("alarm__kind", flat=True)) >= {"spo2_critical", "desaturation"}
    assert Alarm.objects.filter(kind="spo2_critical").count() == 1
