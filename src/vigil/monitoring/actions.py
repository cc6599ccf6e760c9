"""Every write about devices and alarms. Live screens hear of a change only after it commits.

The alarm engine calls these from its own database thread; views call them from request
threads. Each alarm change locks the alarm row, applies the pure state machine
(`alarms.py`), writes the timeline, and recomputes when the engine must look again.
"""

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from vigil.lib import clock
from vigil.lib.hub import hub
from vigil.monitoring import alarms as machine
from vigil.monitoring.alarms import OPEN, AlarmError, AlarmState, Step, Timers
from vigil.monitoring.models import (
    Alarm,
    AlarmEvent,
    AlarmSettings,
    Device,
    DeviceKind,
    Notification,
)
from vigil.monitoring.rules import PRIORITY, Condition
from vigil.monitoring.vitals import normalise_device_id

log = logging.getLogger("vigil.alarms")

ALARM_FIELDS = [
    "state",
    "condition_active",
    "acknowledged_at",
    "claimed_at",
    "silenced_until",
    "resounded_at",
    "resolved_at",
    "cleared_at",
    "outcome",
    "escalation_level",
]


class DeviceError(Exception):
    pass


ALL_ALARMS = "alarms"


def alarm_topic(site_id: int) -> str:
    return f"alarms:{site_id}"


def _announce(alarm: Alarm, change: str) -> None:
    event = {
        "type": "alarm",
        "alarm": alarm.pk,
        "change": change,
        "priority": alarm.priority,
        "place": alarm.place_id,
        "kind": alarm.kind,
    }
    site_id = alarm.site_id

    def publish() -> None:
        hub.publish(alarm_topic(site_id), event)
        hub.publish(ALL_ALARMS, event)

    transaction.on_commit(publish)


def timers_for(site_id: int) -> Timers:
    settings = AlarmSettings.objects.filter(site_id=site_id).first()
    if settings is None:
        return Timers()
    return Timers(
        ack_escalation=timedelta(seconds=settings.ack_escalation_seconds),
        claim_escalation=timedelta(seconds=settings.claim_escalation_seconds),
        resound_after=timedelta(seconds=settings.resound_after_seconds),
    )


def raise_alarm(
    *,
    place,
    kind: Condition,
    at: datetime,
    first_abnormal_at: datetime | None = None,
    device_id: int | None = None,
    visit_id: int | None = None,
    rule_version: int = 1,
    detail: dict | None = None,
) -> tuple[Alarm, bool]:
    """Open an alarm, or return the open one of that kind at that place (condition back).
    Returns (alarm, created)."""
    timers = timers_for(place.site_id)
    with transaction.atomic():
        existing = (
            Alarm.objects.select_for_update()
            .filter(place=place, kind=kind, state__in=list(OPEN))
            .first()
        )
        if existing is not None:
            _change(existing, lambda s: machine.condition_returned(s, at), at, timers)
            return existing, False
        priority = PRIORITY[kind]
        alarm = Alarm(
            site_id=place.site_id,
            place=place,
            device_id=device_id,
            visit_id=visit_id,
            kind=kind,
            priority=priority,
            raised_at=at,
            first_abnormal_at=first_abnormal_at,
            rule_version=rule_version,
            detail=detail or {},
        )
        alarm.next_deadline_at = machine.next_deadline(alarm.machine_state(), timers)
        try:
            with transaction.atomic():
                alarm.save()
        except IntegrityError:
            # Raised by someone else a moment ago; treat as the condition returning.
            existing = Alarm.objects.get(place=place, kind=kind, state__in=list(OPEN))
            return existing, False
        AlarmEvent.objects.create(alarm=alarm, at=at, kind="raised", detail=detail or {})
        _announce(alarm, "raised")
    log.warning("alarm raised: %s %s at %s", priority, kind, place)
    return alarm, True


def _change(
    alarm: Alarm, apply: Callable[[AlarmState], None], at: datetime, timers: Timers, by=None
) -> list[str]:
    state = alarm.machine_state()
    apply(state)
    if not state.changes:
        return []
    for name in ALARM_FIELDS:
        setattr(alarm, name, getattr(state, name))
    if "acknowledged" in state.changes and by is not None and alarm.acknowledged_by_id is None:
        alarm.acknowledged_by = by
    if "claimed" in state.changes:
        alarm.claimed_by = by
        if alarm.acknowledged_by_id is None:
            alarm.acknowledged_by = by
    if "resolved" in state.changes:
        alarm.resolved_by = by
    alarm.next_deadline_at = machine.next_deadline(state, timers)
    alarm.save(
        update_fields=[
            *ALARM_FIELDS,
            "acknowledged_by",
            "claimed_by",
            "resolved_by",
            "next_deadline_at",
        ]
    )
    AlarmEvent.objects.bulk_create(
        [AlarmEvent(alarm=alarm, at=at, kind=change, by=by) for change in state.changes]
    )
    _announce(alarm, state.changes[-1])
    return state.changes


def _staff_change(alarm: Alarm, apply, by) -> Alarm:
    now = clock.now()
    timers = timers_for(alarm.site_id)
    with transaction.atomic():
        locked = Alarm.objects.select_for_update().get(pk=alarm.pk)
        _change(locked, lambda s: apply(s, now, timers), now, timers, by=by)
    return locked


def acknowledge(alarm: Alarm, by) -> Alarm:
    return _staff_change(alarm, lambda s, now, t: machine.acknowledge(s, now, t), by)


def claim(alarm: Alarm, by) -> Alarm:
    return _staff_change(alarm, lambda s, now, t: machine.claim(s, now, t), by)


def resolve(alarm: Alarm, outcome: str, by) -> Alarm:
    return _staff_change(alarm, lambda s, now, t: machine.resolve(s, outcome, now), by)


def condition_cleared(place_id: int, kind: str, at: datetime) -> Alarm | None:
    with transaction.atomic():
        alarm = (
            Alarm.objects.select_for_update()
            .filter(place_id=place_id, kind=kind, state__in=list(OPEN))
            .first()
        )
        if alarm is None:
            return None
        _change(alarm, lambda s: machine.condition_cleared(s, at), at, timers_for(alarm.site_id))
        return alarm


def take_due_steps(alarm_id: int, now: datetime) -> list[Step]:
    """Carry out the escalation steps that have fallen due (called by the engine)."""
    with transaction.atomic():
        alarm = Alarm.objects.select_for_update().select_related("place", "site").get(pk=alarm_id)
        timers = timers_for(alarm.site_id)
        steps = machine.due_steps(alarm.machine_state(), now, timers)
        if not steps:
            alarm.next_deadline_at = machine.next_deadline(alarm.machine_state(), timers)
            alarm.save(update_fields=["next_deadline_at"])
            return []

        def apply(state: AlarmState) -> None:
            for step in steps:
                machine.take_step(state, step, now)

        _change(alarm, apply, now, timers)
        if Step.NOTIFY in steps:
            _queue_notifications(alarm, now)
    return steps


def _queue_notifications(alarm: Alarm, now: datetime) -> None:
    settings = AlarmSettings.objects.filter(site_id=alarm.site_id).first()
    contacts = (settings.fallback_contacts if settings else None) or [
        {"name": "Log", "notifier": "log"}
    ]
    payload = {
        "alarm": alarm.pk,
        "site": alarm.site.name,
        "place": alarm.place.label,
        "kind": alarm.kind,
        "priority": alarm.priority,
        "raised_at": alarm.raised_at.isoformat(),
        "message": f"{alarm.priority.upper()} alarm at {alarm.site.name} {alarm.place.label}: not answered after escalation.",
    }
    for index, contact in enumerate(contacts):
        key = hashlib.sha256(
            f"{alarm.pk}:notify:{index}:{contact.get('name', '')}".encode()
        ).hexdigest()
        Notification.objects.get_or_create(
            idempotency_key=key,
            defaults={
                "alarm": alarm,
                "contact": str(contact.get("name", "contact")),
                "notifier": str(contact.get("notifier", "log")),
                "target": str(contact.get("target", "")),
                "payload": payload,
                "next_attempt_at": now,
            },
        )


# --- devices ------------------------------------------------------------------------------


def devices_topic() -> str:
    return "devices"


def add_device(
    *,
    device_id: str,
    place=None,
    kind: str = DeviceKind.MONITOR,
    label: str = "",
    with_token: bool = False,
    simulated: bool = False,
) -> tuple[Device, str | None]:
    normalised = normalise_device_id(device_id)
    if not normalised:
        raise DeviceError(_("A device id needs letters or digits."))
    if kind not in DeviceKind.values:
        raise DeviceError(_("Unknown device kind."))
    token = None
    with transaction.atomic():
        device, created = Device.objects.get_or_create(
            device_id=normalised,
            defaults={"label": label or device_id, "kind": kind, "simulated": simulated},
        )
        if not created and device.place_id and place and device.place_id != place.pk:
            raise DeviceError(
                _("%(device)s is already bound to %(place)s.")
                % {"device": device, "place": device.place}
            )
        device.place = place or device.place
        device.kind = kind
        if label:
            device.label = label
        if with_token:
            token = device.new_token()
        device.save()
        transaction.on_commit(lambda: hub.publish(devices_topic(), {"type": "devices"}))
    return device, token


def bind_device(device: Device, place) -> Device:
    device.place = place
    device.save(update_fields=["place"])
    transaction.on_commit(lambda: hub.publish(devices_topic(), {"type": "devices"}))
    return device


def note_unknown_device(device_id: str, at: datetime) -> Device:
    """An unknown device spoke: list it, unbound, for an administrator to bind."""
    device, _ = Device.objects.get_or_create(
        device_id=device_id, defaults={"label": device_id, "first_seen_at": at}
    )
    Device.objects.filter(pk=device.pk).update(last_seen_at=at)
    return device


__all__ = ["AlarmError", "DeviceError"]
