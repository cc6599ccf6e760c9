"""Every write to overdose and medical event records.

Each call runs in one transaction and checks the whole record as it would stand afterwards
(`events.problems`), so a refusal changes nothing. Nothing is deleted: an intervention taken
back is struck out (`removed_at`), and once a record is signed off every change is an
amendment that keeps the earlier version (`EventAmendment`), who made it, when and why.

Two people may have the same record open (one at the tablet recording doses, one at the station
recording EMS). A change carries what the person saw (`expected`); only the fields they changed
are written, and a field someone else changed meanwhile is refused rather than overwritten.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from vigil.accounts.roles import FLOOR_STAFF
from vigil.audit import record
from vigil.care import events
from vigil.care.events import Problems, Record, Step, to_minute
from vigil.care.models import EventAmendment, Intervention, InterventionKind, MedicalEvent
from vigil.floor.models import Visit
from vigil.lib import clock

HEADER = [
    "kind",
    "started_at",
    "place",
    "participant",
    "signs",
    "notes",
    "ems_called_at",
    "ems_arrived_at",
    "transported_at",
    "outcome",
    "minutes_to_recovery",
    "staff_involved",
]
ROW = ["kind", "at", "dose_mg", "route", "litres_per_minute"]
TIMES = {"started_at", "ems_called_at", "ems_arrived_at", "transported_at", "at"}


class EventRefused(Exception):
    """The change was refused and nothing was written. `problems` says why, by field."""

    def __init__(self, problems: Problems):
        self.problems = problems
        super().__init__(" ".join(m for messages in problems.values() for m in messages))


class AlreadyOpened(EventRefused):
    """This record was opened a moment ago (a double tap, or a colleague from the same alarm);
    `event` is the one to carry on with."""

    def __init__(self, event: MedicalEvent):
        self.event = event
        super().__init__({"": [_("This record was already opened; here it is.")]})


# Two openings of the same visit's record by the same person this close together are one tap
# landing twice, not two overdoses.
DOUBLE_TAP = timedelta(minutes=2)


@dataclass
class RowEdit:
    """A change to one intervention. `key` is its row in the form (for messages); `pk` is None
    for a new intervention; `expected` holds what the person saw of the fields they changed."""

    key: str
    pk: int | None = None
    changes: dict = field(default_factory=dict)
    expected: dict = field(default_factory=dict)
    remove: bool = False
    # For a one-tap add: the newest intervention the person's page showed. If they have added
    # one of this kind since, this is the same tap arriving twice and is not added again.
    unless_added_after: int | None = None


def _norm(name: str, value):
    """A value in a form that compares equal whatever path it came by (form, database)."""
    if value is None or value == "":
        return None
    if name in TIMES:
        return to_minute(value)
    if name in ("place", "participant"):
        return getattr(value, "pk", value)
    if name == "staff_involved":
        return frozenset(getattr(s, "pk", s) for s in value) or None
    if name == "signs":
        return tuple(sorted(value)) or None
    if name in ("dose_mg", "litres_per_minute"):
        return Decimal(value).normalize()
    return value


def _current(event: MedicalEvent, name: str):
    if name == "staff_involved":
        return list(event.staff_involved.all())
    if name in ("place", "participant"):
        return getattr(event, f"{name}_id")
    return getattr(event, name)


def _record(values: dict, steps: list[Step]) -> Record:
    return Record(
        kind=values["kind"],
        started_at=values["started_at"],
        signs=list(values.get("signs") or []),
        ems_called_at=values.get("ems_called_at"),
        ems_arrived_at=values.get("ems_arrived_at"),
        transported_at=values.get("transported_at"),
        outcome=values.get("outcome") or "",
        minutes_to_recovery=values.get("minutes_to_recovery"),
        steps=steps,
    )


def _step(key: str, values: dict) -> Step:
    kind = values.get("kind") or ""
    return Step(
        key=key,
        kind=kind,
        at=values.get("at"),
        dose_mg=values.get("dose_mg") if kind == InterventionKind.NALOXONE else None,
        route=(values.get("route") or "") if kind == InterventionKind.NALOXONE else "",
        litres_per_minute=(
            values.get("litres_per_minute") if kind == InterventionKind.OXYGEN else None
        ),
    )


def _check_belongings(found: Problems, site, values: dict) -> None:
    place = values.get("place")
    if place is not None and place.site_id != site.pk:
        found.setdefault("place", []).append(_("That place belongs to another site."))
    participant = values.get("participant")
    if participant is not None and participant.jurisdiction_id != site.jurisdiction_id:
        found.setdefault("participant", []).append(
            _("This participant is registered with another jurisdiction.")
        )
    for member in values.get("staff_involved") or []:
        if member.role not in FLOOR_STAFF or not member.sites.filter(pk=site.pk).exists():
            found.setdefault("staff_involved", []).append(
                _("%(name)s does not work on this site's floor.") % {"name": member}
            )


def _time(values: dict, name: str) -> None:
    if values.get(name) is not None:
        values[name] = to_minute(values[name])


def _visit_at(participant, site, moment: datetime) -> Visit | None:
    """The person's visit at this site that covers `moment`, if Vigil knows of one."""
    if participant is None:
        return None
    visits = Visit.objects.filter(site=site, participant=participant, checked_in_at__lte=moment)
    for visit in visits.order_by("-checked_in_at")[:1]:
        if visit.ended_at is None or visit.ended_at >= moment:
            return visit
    return None


def open_event(
    *,
    site,
    by,
    values: dict,
    rows: Iterable[RowEdit] = (),
    alarm=None,
    visit: Visit | None = None,
    entered_late: bool = False,
    sign: bool = False,
    death_confirmed: bool = False,
) -> MedicalEvent:
    """Open a record (from an alarm, a tile, a participant, or late from paper).

    `values` holds the header fields (see HEADER); `rows` are new interventions."""
    now = clock.now()
    values = {name: values.get(name) for name in HEADER}
    values["signs"] = list(values["signs"] or [])
    values["notes"] = values["notes"] or ""
    values["outcome"] = values["outcome"] or ""
    for name in TIMES - {"at"}:
        _time(values, name)
    rows = [r for r in rows if not r.remove]
    for row in rows:
        _time(row.changes, "at")
    if visit is not None:
        values["participant"] = visit.participant
    found = events.problems(
        _record(values, [_step(r.key, r.changes) for r in rows]),
        now,
        signing=sign,
        death_confirmed=death_confirmed,
        opening_live=not entered_late,
    )
    _check_belongings(found, site, values)
    if alarm is not None and alarm.site_id != site.pk:
        found.setdefault("", []).append(_("That alarm belongs to another site."))
    if visit is not None and visit.site_id != site.pk:
        found.setdefault("", []).append(_("That visit belongs to another site."))
    if found:
        raise EventRefused(found)
    if visit is None and values["started_at"] is not None:
        visit = _visit_at(values["participant"], site, values["started_at"])
    staff = values.pop("staff_involved") or []
    try:
        with transaction.atomic():
            if alarm is not None:
                existing = MedicalEvent.objects.filter(alarm=alarm).first()
                if existing is not None:
                    raise AlreadyOpened(existing)
            if visit is not None:
                Visit.objects.select_for_update().filter(pk=visit.pk).first()  # one at a time
                twice = MedicalEvent.objects.filter(
                    visit=visit,
                    created_by=by,
                    created_at__gte=now - DOUBLE_TAP,
                    started_at=values["started_at"],
                    entered_late=entered_late,
                ).first()
                if twice is not None:
                    raise AlreadyOpened(twice)
            event = MedicalEvent.objects.create(
                site=site,
                alarm=alarm,
                visit=visit,
                entered_late=entered_late,
                created_at=now,
                created_by=by,
                **values,
            )
            event.staff_involved.set(staff)
            for row in rows:
                _new_intervention(event, row, by)
            if sign:
                event.signed_off_at = now
                event.signed_off_by = by
                event.save(update_fields=["signed_off_at", "signed_off_by"])
            record(
                "event.create",
                actor=by,
                subject=event,
                detail={
                    "alarm": event.alarm_id,
                    "interventions": len(rows),
                    "entered_late": entered_late,
                    "signed": sign,
                },
            )
    except IntegrityError as exc:
        # The only unique field is the alarm: two people opened its record at the same moment.
        existing = MedicalEvent.objects.filter(alarm=alarm).first()
        if existing is None:
            raise
        raise AlreadyOpened(existing) from exc
    return event


def _new_intervention(event: MedicalEvent, row: RowEdit, by) -> Intervention:
    step = _step(row.key, row.changes)
    assert step.at is not None, "checked by events.problems"
    return Intervention.objects.create(
        event=event,
        kind=step.kind,
        at=step.at,
        dose_mg=step.dose_mg,
        route=step.route,
        litres_per_minute=step.litres_per_minute,
        by=by,
    )


def _conflict(found: Problems, key: str, name: str, current, expected, wanted) -> None:
    if name not in expected:
        return
    now_value, saw = _norm(name, current), _norm(name, expected[name])
    if now_value != saw and now_value != _norm(name, wanted):
        found.setdefault(key, []).append(
            _(
                "Someone else changed this while you were editing. Check what it says now and "
                "save again."
            )
        )


def change_event(
    event: MedicalEvent,
    *,
    by,
    changes: dict,
    expected: dict | None = None,
    rows: Iterable[RowEdit] = (),
    sign: bool = False,
    reason: str = "",
    death_confirmed: bool = False,
) -> MedicalEvent:
    """Change a record: the header fields in `changes`, the interventions in `rows`, then sign
    it off if asked. After sign-off every change is an amendment and needs a `reason`."""
    expected = expected or {}
    rows = list(rows)
    reason = reason.strip()
    now = clock.now()
    with transaction.atomic():
        event = MedicalEvent.objects.select_for_update().get(pk=event.pk)
        found: Problems = {}
        amending = event.signed_off_at is not None
        if amending and sign:
            found.setdefault("", []).append(_("This record is already signed off."))
        if amending and not reason:
            found.setdefault("reason", []).append(_("Say why you are changing a signed record."))
        if "participant" in changes and event.visit_id is not None:
            if _norm("participant", changes["participant"]) != event.participant_id:
                found.setdefault("participant", []).append(
                    _("This record belongs to a visit; its participant cannot be changed.")
                )
        values = {name: _current(event, name) for name in HEADER}
        for name, wanted in changes.items():
            if name not in values:
                raise ValueError(f"not a field of an event: {name}")
            _conflict(found, name, name, values[name], expected, wanted)
            if _norm(name, wanted) != _norm(name, values[name]):
                values[name] = wanted
        for name in TIMES - {"at"}:
            _time(values, name)
        values["signs"] = list(values["signs"] or [])
        values["notes"] = values["notes"] or ""
        values["outcome"] = values["outcome"] or ""

        existing = {i.pk: i for i in event.interventions.all()}
        steps: dict[str, Step] = {}
        planned: list[tuple[RowEdit, Intervention | None, dict]] = []
        for intervention in existing.values():
            if intervention.removed_at is None:
                steps[f"i{intervention.pk}"] = _step(
                    f"i{intervention.pk}", {n: getattr(intervention, n) for n in ROW}
                )
        for row in rows:
            _time(row.changes, "at")
            if row.pk is None:
                if row.remove or _added_since(event, row, by):
                    continue
                steps[row.key] = _step(row.key, row.changes)
                planned.append((row, None, row.changes))
                continue
            known = existing.get(row.pk)
            if known is None:
                raise EventRefused({"": [_("That intervention is not part of this record.")]})
            if known.removed_at is not None:
                continue  # struck out already; it stays as it was
            merged = {n: getattr(known, n) for n in ROW}
            for name, wanted in row.changes.items():
                _conflict(found, f"{row.key}-{name}", name, merged[name], row.expected, wanted)
                merged[name] = wanted
            merged["kind"] = known.kind  # what was done is not edited, only struck out
            if row.remove:
                steps.pop(f"i{known.pk}", None)
            else:
                steps[f"i{known.pk}"] = _step(row.key, merged)
            planned.append((row, known, merged))

        outcome_before = event.outcome
        found_rules = events.problems(
            _record(values, list(steps.values())),
            now,
            signing=sign,
            death_confirmed=death_confirmed,
            outcome_before=outcome_before,
        )
        for key, messages in found_rules.items():
            found.setdefault(key, []).extend(messages)
        # Only what this change adds is checked: someone who has since left the site stays
        # named on the records they were part of.
        before_staff = {s.pk for s in event.staff_involved.all()}
        added = {
            name: _object(event, name, values[name])
            for name in ("place", "participant")
            if _norm(name, values[name]) != _norm(name, _current(event, name))
        }
        added["staff_involved"] = [
            s for s in values["staff_involved"] or [] if getattr(s, "pk", s) not in before_staff
        ]
        _check_belongings(found, event.site, added)
        if found:
            raise EventRefused(found)

        header_changed = [n for n in HEADER if _norm(n, values[n]) != _norm(n, _current(event, n))]
        rows_changed = [
            (row, intervention, merged)
            for row, intervention, merged in planned
            if intervention is None
            or row.remove
            or any(_norm(n, merged[n]) != _norm(n, getattr(intervention, n)) for n in ROW)
        ]
        if amending:
            if not header_changed and not rows_changed:
                raise EventRefused({"": [_("Nothing was changed, so there is nothing to amend.")]})
            EventAmendment.objects.create(
                event=event,
                version=event.version,
                snapshot=snapshot(event),
                reason=reason,
                amended_at=now,
                amended_by=by,
            )
            event.version += 1

        for name in header_changed:
            if name == "staff_involved":
                event.staff_involved.set(values[name] or [])
            elif name in ("place", "participant"):
                setattr(event, f"{name}_id", _norm(name, values[name]))
            else:
                setattr(event, name, values[name])
        for row, changing, merged in rows_changed:
            if changing is None:
                _new_intervention(event, row, by)
                continue
            if row.remove:
                changing.removed_at = now
            else:
                step = _step(row.key, merged)
                assert step.at is not None, "checked by events.problems"
                changing.at = step.at
                changing.dose_mg = step.dose_mg
                changing.route = step.route
                changing.litres_per_minute = step.litres_per_minute
            changing.save()
        if sign:
            event.signed_off_at = now
            event.signed_off_by = by
        event.save()
        if header_changed or rows_changed or sign:
            record(
                "event.amend"
                if amending
                else (
                    "event.sign_off"
                    if sign and not (header_changed or rows_changed)
                    else "event.change"
                ),
                actor=by,
                subject=event,
                detail={
                    "fields": header_changed,
                    "interventions": len(rows_changed),
                    "signed": sign,
                    "version": event.version,
                },
            )
    return event


def _added_since(event: MedicalEvent, row: RowEdit, by) -> bool:
    if row.unless_added_after is None:
        return False
    return Intervention.objects.filter(
        event=event, kind=row.changes.get("kind"), by=by, pk__gt=row.unless_added_after
    ).exists()


def _object(event: MedicalEvent, name: str, value):
    """The place or participant a value names, to check where it belongs."""
    if value is None or hasattr(value, "pk"):
        return value
    if value == getattr(event, f"{name}_id"):
        return getattr(event, name)
    model = MedicalEvent._meta.get_field(name).related_model
    return model._default_manager.filter(pk=value).first()  # type: ignore[union-attr]


def sign_off(event: MedicalEvent, *, by) -> MedicalEvent:
    return change_event(event, by=by, changes={}, sign=True)


# --- the record as it stood ---------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _decimal(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def snapshot(event: MedicalEvent) -> dict:
    """The whole record, struck-out interventions included, as JSON that outlives later edits
    (names of places and staff are copied, not only their ids)."""
    return {
        "version": event.version,
        "kind": event.kind,
        "started_at": _iso(event.started_at),
        "place": {"id": event.place_id, "label": event.place.label} if event.place else None,
        "participant": (
            {"id": event.participant_id, "label": event.participant.alias}
            if event.participant
            else None
        ),
        "signs": list(event.signs),
        "ems_called_at": _iso(event.ems_called_at),
        "ems_arrived_at": _iso(event.ems_arrived_at),
        "transported_at": _iso(event.transported_at),
        "outcome": event.outcome,
        "minutes_to_recovery": event.minutes_to_recovery,
        "notes": event.notes,
        "entered_late": event.entered_late,
        "staff_involved": [
            {"id": s.pk, "name": str(s)} for s in event.staff_involved.order_by("pk")
        ],
        "signed_off_at": _iso(event.signed_off_at),
        "signed_off_by": (
            {"id": event.signed_off_by_id, "name": str(event.signed_off_by)}
            if event.signed_off_by
            else None
        ),
        "interventions": [
            {
                "id": i.pk,
                "kind": i.kind,
                "at": _iso(i.at),
                "dose_mg": _decimal(i.dose_mg),
                "route": i.route,
                "litres_per_minute": _decimal(i.litres_per_minute),
                "by": str(i.by) if i.by else None,
                "removed_at": _iso(i.removed_at),
            }
            for i in event.interventions.select_related("by").order_by("at", "pk")
        ],
    }
