"""Overdose and medical event pages: the list, the record (built for a tablet), sign-off,
amendments, the printable summary and the paper downtime sheets.

Nurses and site managers record, amend and sign; case managers read the list and summaries;
front desk, evaluators and administrators see none of it. Times are shown and typed in the
site's own time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib import messages
from django.db.models import Count, Max, Q, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from vigil.accounts.middleware import allow
from vigil.accounts.roles import CLINICAL, FLOOR_STAFF, Role
from vigil.audit import record
from vigil.care import events
from vigil.care.event_actions import (
    AlreadyOpened,
    EventRefused,
    RowEdit,
    change_event,
    open_event,
    snapshot,
)
from vigil.care.event_forms import RecordForms, preset_row
from vigil.care.models import (
    EventKind,
    EventOutcome,
    InterventionKind,
    MedicalEvent,
    NaloxoneRoute,
    Sign,
)
from vigil.floor.models import Occupancy, Visit, VisitStatus
from vigil.lib import clock
from vigil.lib.charts import sparkline
from vigil.monitoring.alarms import OPENS_CARE_RECORD, Outcome
from vigil.monitoring.labels import KIND as ALARM_KIND
from vigil.monitoring.labels import OUTCOME as ALARM_OUTCOME
from vigil.monitoring.models import Alarm, AlarmEvent, Reading
from vigil.participants.models import Participant
from vigil.sites.access import site_for, sites_for
from vigil.sites.models import Place, PlaceKind

READERS = CLINICAL | {Role.CASE_MANAGER}

# Alarms shown beside a record: those raised at its place from 5 minutes before it started to
# 15 minutes after (an apnea alarm and the SpO2 alarm that follows it are one overdose).
ALARMS_BEFORE = timedelta(minutes=5)
ALARMS_AFTER = timedelta(minutes=15)
SPARK_STEP = timedelta(seconds=10)
SPARK_WIDTH = 300

ALARM_STEPS = {
    "raised": gettext_lazy("alarm raised"),
    "acknowledged": gettext_lazy("seen"),
    "claimed": gettext_lazy("responding"),
    "resolved": gettext_lazy("resolved"),
    "reannounce": gettext_lazy("announced again (not seen)"),
    "notify": gettext_lazy("fallback contacts notified"),
    "resound": gettext_lazy("sounded again"),
    "condition_cleared": gettext_lazy("readings back to normal"),
    "condition_returned": gettext_lazy("abnormal again"),
    "cleared": gettext_lazy("cleared"),
}
SECTION_OF = {
    "started_at": "what",
    "ems_called_at": "ems",
    "ems_arrived_at": "ems",
    "transported_at": "ems",
}


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _event_for(user, pk: int) -> MedicalEvent:
    return get_object_or_404(
        MedicalEvent.objects.select_related(
            "site__jurisdiction", "place", "participant", "visit", "alarm", "created_by"
        ),
        pk=pk,
        site__in=sites_for(user),
    )


# --- what surrounds a record: alarms, their timeline, vitals ------------------------------


@dataclass
class Moment:
    at: datetime
    text: str
    by: str = ""
    struck: bool = False
    kind: str = ""
    offset: str = ""


@dataclass
class Around:
    alarms: list[Alarm] = field(default_factory=list)
    timeline: list[Moment] = field(default_factory=list)
    minutes: list[events.MinuteRow] = field(default_factory=list)
    spo2_path: str = ""
    resp_path: str = ""
    start_x: float = 0
    window: tuple[datetime, datetime] | None = None


def _around(place, start: datetime | None, alarm: Alarm | None) -> Around:
    found = Around()
    if start is None and alarm is not None:
        start = alarm.first_abnormal_at or alarm.raised_at
    if start is None:
        return found
    query = Q(pk=alarm.pk) if alarm is not None else Q(pk__in=[])
    if place is not None:
        query |= Q(
            place=place,
            raised_at__gte=start - ALARMS_BEFORE,
            raised_at__lte=start + ALARMS_AFTER,
        )
    found.alarms = list(
        Alarm.objects.filter(query).select_related("place").order_by("raised_at", "pk")
    )
    for each in found.alarms:
        kind = str(ALARM_KIND.get(each.kind, each.kind))
        if each.first_abnormal_at:
            found.timeline.append(
                Moment(
                    each.first_abnormal_at,
                    _("%(kind)s: first abnormal reading") % {"kind": kind},
                    kind="alarm",
                )
            )
    steps = AlarmEvent.objects.filter(alarm__in=found.alarms).select_related("by", "alarm")
    for step in steps.order_by("at", "pk"):
        kind = str(ALARM_KIND.get(step.alarm.kind, step.alarm.kind))
        text = f"{kind}: {ALARM_STEPS.get(step.kind, step.kind)}"
        if step.kind == "resolved" and step.alarm.outcome:
            text += f" ({dict(ALARM_OUTCOME).get(step.alarm.outcome, step.alarm.outcome)})"
        found.timeline.append(
            Moment(step.at, text, by=step.by.display_name if step.by else "", kind="alarm")
        )
    found.timeline.sort(key=lambda m: m.at)

    where = place if place is not None else (alarm.place if alarm is not None else None)
    if where is None:
        return found
    begin, end = start - events.VITALS_BEFORE, start + events.VITALS_AFTER
    found.window = (begin, end)
    readings = Reading.objects.filter(
        place=where, received_at__gte=begin, received_at__lt=end
    ).order_by("received_at")[:5000]
    samples = [events.Sample(r.received_at, r.spo2, r.pulse, r.resp, r.apnea) for r in readings]
    if not samples:
        return found
    found.minutes = events.by_minute(samples, begin, end, mark=start)
    spo2 = events.evenly(samples, begin, end, SPARK_STEP, "spo2")
    resp = events.evenly(samples, begin, end, SPARK_STEP, "resp")
    found.spo2_path = sparkline(spo2, width=SPARK_WIDTH, height=60, low=60, high=100)
    found.resp_path = sparkline(resp, width=SPARK_WIDTH, height=60, low=0, high=30)
    found.start_x = round(SPARK_WIDTH * (start - begin) / (end - begin), 1)
    return found


# --- the list -----------------------------------------------------------------------------


def _month(request, site) -> tuple[datetime, datetime]:
    today = timezone.localtime(clock.now(), site.tz).date()
    text = request.GET.get("month", "")
    try:
        year, month = (int(p) for p in text.split("-", 1))
        first = today.replace(year=year, month=month, day=1)
    except ValueError:
        first = today.replace(day=1)
    after = (first + timedelta(days=32)).replace(day=1)
    start = datetime.combine(first, datetime.min.time(), tzinfo=site.tz)
    end = datetime.combine(after, datetime.min.time(), tzinfo=site.tz)
    return start, end


@allow(READERS)
@require_GET
def event_list(request, site_id: int):
    site = site_for(request.user, site_id)
    with timezone.override(site.tz):
        start, end = _month(request, site)
        naloxone = Q(
            interventions__kind=InterventionKind.NALOXONE, interventions__removed_at__isnull=True
        )
        records = (
            MedicalEvent.objects.filter(site=site, started_at__gte=start, started_at__lt=end)
            .select_related("place", "participant", "signed_off_by")
            .annotate(
                doses=Count("interventions", filter=naloxone),
                mg=Sum("interventions__dose_mg", filter=naloxone),
            )
            .order_by("-started_at")
        )
        unsigned = request.GET.get("unsigned") == "1"
        if unsigned:
            records = records.filter(signed_off_at__isnull=True)
        rows = [(record, events.amount(record.mg)) for record in records]
        waiting = []
        clinical = request.user.has_role(CLINICAL)
        if clinical:
            waiting = list(
                Alarm.objects.filter(
                    site=site,
                    state="resolved",
                    outcome__in=sorted(OPENS_CARE_RECORD),
                    medical_event__isnull=True,
                    resolved_at__gte=clock.now() - timedelta(days=7),
                )
                .select_related("place", "visit__participant", "resolved_by")
                .order_by("-resolved_at")
            )
        previous = (start - timedelta(days=1)).strftime("%Y-%m")
        following = end.strftime("%Y-%m") if end <= clock.now() else ""
        return render(
            request,
            "care/events/list.html",
            {
                "site": site,
                "records": rows,
                "month": start,
                "previous": previous,
                "following": following,
                "unsigned": unsigned,
                "waiting": waiting,
                "clinical": clinical,
            },
        )


# --- opening a record ---------------------------------------------------------------------


@dataclass
class Start:
    alarm: Alarm | None = None
    visit: Visit | None = None
    place: Place | None = None
    participant: Participant | None = None
    late: bool = False


def _start(site, request, alarm: Alarm | None = None) -> Start:
    """Where a new record comes from: an alarm, a tile (visit and place), a participant's
    page, or paper (late entry). Anything not of this site is not found."""
    query = request.GET
    start = Start(late=query.get("late") == "1")
    if alarm is None and _int(query.get("alarm")):
        alarm = get_object_or_404(Alarm, pk=_int(query.get("alarm")), site=site)
    if alarm is not None:
        start.alarm = alarm
        start.place = alarm.place
        start.visit = alarm.visit
        if start.visit is None:
            at = alarm.raised_at
            occupancy = (
                Occupancy.objects.filter(place=alarm.place, started_at__lte=at)
                .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=at))
                .select_related("visit")
                .order_by("-started_at")
                .first()
            )
            start.visit = occupancy.visit if occupancy else None
    if start.visit is None and _int(query.get("visit")):
        start.visit = get_object_or_404(Visit, pk=_int(query.get("visit")), site=site)
    if _int(query.get("place")) and start.place is None:
        start.place = get_object_or_404(Place, pk=_int(query.get("place")), site=site)
    if start.visit is None and _int(query.get("participant")):
        person = get_object_or_404(
            Participant, pk=_int(query.get("participant")), jurisdiction=site.jurisdiction
        )
        start.participant = person.merged_into or person
        if not start.late:
            start.visit = (
                Visit.objects.filter(site=site, participant=start.participant)
                .exclude(status=VisitStatus.ENDED)
                .first()
            )
    if start.visit is not None:
        start.participant = start.visit.participant
        if start.place is None:
            occupancy = start.visit.occupancies.filter(ended_at__isnull=True).first()
            start.place = occupancy.place if occupancy else None
    return start


def _started(start: Start) -> datetime | None:
    """When a new record starts: the alarm's first abnormal reading, now, or (late) typed."""
    if start.alarm is not None:
        return events.to_minute(start.alarm.first_abnormal_at or start.alarm.raised_at)
    return None if start.late else events.to_minute(clock.now())


def _initial(site, start: Start, user, around: Around) -> dict:
    initial: dict = {
        "kind": EventKind.OVERDOSE,
        "place": start.place,
        "started_at": _started(start),
        # Every alarm at the place around then counts: apnea, then low SpO2, is one overdose.
        "signs": events.signs_for_alarm(a.kind for a in around.alarms),
    }
    if start.participant is not None:
        initial["alias"] = start.participant.alias
    staff = [user]
    if start.alarm is not None:
        if start.alarm.outcome == Outcome.OTHER_MEDICAL:
            initial["kind"] = EventKind.OTHER_MEDICAL
        staff += [start.alarm.claimed_by, start.alarm.acknowledged_by]
    on_site = set(site.staff.values_list("pk", flat=True))
    initial["staff_involved"] = list(dict.fromkeys(m.pk for m in staff if m and m.pk in on_site))
    return initial


def _similar(site, start: Start, started_at: datetime | None) -> list[MedicalEvent]:
    """Records that may be this same event (a second alarm of one overdose)."""
    if started_at is None or start.place is None:
        return []
    return list(
        MedicalEvent.objects.filter(
            site=site,
            place=start.place,
            started_at__gte=started_at - ALARMS_AFTER,
            started_at__lte=started_at + ALARMS_AFTER,
        ).select_related("participant")
    )


def _action(post) -> tuple[str, str]:
    """Which button was pressed: ("save"|"sign"|"add"|"now"|"more", its value)."""
    for name in ("sign", "add", "now", "more"):
        if name in post:
            return name, post.get(name, "")
    return "save", ""


def _quick_row(key: str, value: str, at: datetime | None) -> RowEdit | None:
    """What an add button stands for: "naloxone:<preset>", "oxygen", "stimulation"..."""
    kind, _sep, preset = value.partition(":")
    if kind not in InterventionKind.values:
        return None
    changes: dict = {
        "kind": kind,
        "at": at,
        "dose_mg": None,
        "route": "",
        "litres_per_minute": None,
    }
    if kind == InterventionKind.NALOXONE:
        presets = events.naloxone_presets()
        index = _int(preset) or 0
        if not 0 <= index < len(presets):
            return None
        changes["dose_mg"], changes["route"] = presets[index]
    if kind == InterventionKind.OXYGEN:
        changes["litres_per_minute"] = events.oxygen_default()
    return RowEdit(key=key, changes=changes)


def _typed_add(request, forms: RecordForms, value: str, more: bool):
    """In typed mode (late entry, amendment) an add button only adds a row to fill in."""
    data = request.POST.copy()
    index = forms.new_rows
    data["new_rows"] = str(index + 1)
    if not more:
        row = _quick_row(f"n{index}", value, None)
        if row is not None:
            preset_row(
                data,
                index,
                row.changes["kind"],
                row.changes["dose_mg"],
                row.changes["route"],
                row.changes["litres_per_minute"],
            )
    return data


def _page(request, template: str, context: dict, status: int = 200):
    return render(request, template, context, status=status)


def _record_context(site, forms: RecordForms, **extra) -> dict:
    presets = [
        (f"naloxone:{i}", f"{mg.normalize():f}", NaloxoneRoute(route).value)
        for i, (mg, route) in enumerate(events.naloxone_presets())
    ]
    return {
        "site": site,
        "forms": forms,
        "form": forms.event,
        "presets": presets,
        "oxygen_lpm": f"{events.oxygen_default().normalize():f}",
        "event": None,
        "start": None,
        "similar": [],
        "history": [],
        **extra,
    }


def _new(request, site, start: Start):
    now = events.to_minute(clock.now())
    live = not start.late
    fixed = start.visit is not None or (start.participant is not None and not start.late)
    around = _around(start.place, _started(start), start.alarm)
    initial = _initial(site, start, request.user, around)
    data = request.POST if request.method == "POST" else None
    forms = RecordForms(
        site=site,
        data=data,
        initial=initial,
        new_rows=0 if live else 1,
        fixed_participant=fixed,
    )
    context = {
        "start": start,
        "creating": True,
        "live": live,
        "late": start.late,
        "around": around,
        "similar": _similar(site, start, initial.get("started_at")),
        "action_url": request.get_full_path(),
        "head_place": start.place,
        "head_person": start.participant,
    }
    if data is None:
        return _page(request, "care/events/record.html", _record_context(site, forms, **context))
    action, value = _action(request.POST)
    if action in ("add", "more") and not live:
        forms = RecordForms(
            site=site,
            data=_typed_add(request, forms, value, action == "more"),
            initial=initial,
            fixed_participant=fixed,
        )
        return _page(request, "care/events/record.html", _record_context(site, forms, **context))
    if not forms.is_valid():
        return _page(
            request, "care/events/record.html", _record_context(site, forms, **context), 400
        )
    values = forms.event.values()
    if fixed:
        values["participant"] = start.participant
    rows = forms.edits()
    if action == "add":
        row = _quick_row(f"n{forms.new_rows}", value, now)
        if row is not None:
            rows.append(row)
    try:
        event = open_event(
            site=site,
            by=request.user,
            values=values,
            rows=rows,
            alarm=start.alarm,
            visit=start.visit,
            entered_late=start.late,
            sign=action == "sign",
            death_confirmed=bool(forms.event.cleaned_data.get("death_confirmed")),
        )
    except AlreadyOpened as opened:
        messages.info(request, str(opened))
        return redirect("care:event-detail", pk=opened.event.pk)
    except EventRefused as refused:
        forms.add_problems(refused.problems)
        return _page(
            request, "care/events/record.html", _record_context(site, forms, **context), 400
        )
    messages.success(request, _saved_message(action, event))
    return redirect(_after(event, action, value))


def _saved_message(action: str, event: MedicalEvent) -> str:
    if action == "sign":
        return _("Signed off.")
    if action == "add":
        latest = event.interventions.order_by("-pk").first()
        if latest is not None:
            return _("Recorded: %(what)s at %(at)s.") % {
                "what": _what(latest),
                "at": timezone.localtime(latest.at).strftime("%H:%M"),
            }
    return _("Saved.")


def _what(intervention) -> str:
    given = events.step_amount(
        intervention.kind, intervention.dose_mg, intervention.route, intervention.litres_per_minute
    )
    label = str(intervention.get_kind_display())
    return f"{label} · {given}" if given else label


def _after(event: MedicalEvent, action: str, value: str) -> str:
    url = reverse("care:event-detail", args=[event.pk])
    if action == "add":
        return url + "#interventions"
    if action == "now":
        return url + "#" + SECTION_OF.get(value, "interventions")
    return url


@allow(CLINICAL)
def event_new(request, site_id: int):
    site = site_for(request.user, site_id)
    with timezone.override(site.tz):
        start = _start(site, request)
        if start.alarm is not None and hasattr(start.alarm, "medical_event"):
            return redirect("care:event-detail", pk=start.alarm.medical_event.pk)
        return _new(request, site, start)


@allow(CLINICAL)
def event_from_alarm(request, pk: int):
    alarm = get_object_or_404(
        Alarm.objects.select_related("site__jurisdiction", "place", "visit__participant"),
        pk=pk,
        site__in=sites_for(request.user),
    )
    existing = MedicalEvent.objects.filter(alarm=alarm).first()
    if existing is not None:
        return redirect("care:event-detail", pk=existing.pk)
    site = alarm.site
    with timezone.override(site.tz):
        return _new(request, site, _start(site, request, alarm=alarm))


# --- the record ---------------------------------------------------------------------------


def _interventions(event: MedicalEvent) -> list:
    found = list(event.interventions.select_related("by").order_by("at", "pk"))
    for item in found:
        item.amount = events.step_amount(  # type: ignore[attr-defined]
            item.kind, item.dose_mg, item.route, item.litres_per_minute
        )
    return found


def _edit_forms(event: MedicalEvent, data, new_rows: int) -> RecordForms:
    initial = {
        "kind": event.kind,
        "started_at": event.started_at,
        "place": event.place,
        "alias": event.participant.alias if event.participant else "",
        "signs": list(event.signs),
        "ems_called_at": event.ems_called_at,
        "ems_arrived_at": event.ems_arrived_at,
        "transported_at": event.transported_at,
        "outcome": event.outcome,
        "minutes_to_recovery": event.minutes_to_recovery,
        "staff_involved": [s.pk for s in event.staff_involved.all()],
        "notes": event.notes,
    }
    return RecordForms(
        site=event.site,
        data=data,
        initial=initial,
        interventions=_interventions(event),
        new_rows=new_rows,
        fixed_participant=event.visit_id is not None,
    )


def _edit(request, event: MedicalEvent, amending: bool):
    site = event.site
    live = not amending and not event.entered_late
    data = request.POST if request.method == "POST" else None
    forms = _edit_forms(event, data, new_rows=0 if live else 1)
    context = {
        "event": event,
        "creating": False,
        "live": live,
        "late": event.entered_late,
        "amending": amending,
        "around": _around(event.place, event.started_at, event.alarm),
        "action_url": reverse(
            "care:event-amend" if amending else "care:event-detail", args=[event.pk]
        ),
        "history": _history(event),
        "seen_upto": event.interventions.aggregate(newest=Max("pk"))["newest"] or 0,
        "head_place": event.place,
        "head_person": event.participant,
    }
    if data is None:
        return _page(request, "care/events/record.html", _record_context(site, forms, **context))
    action, value = _action(request.POST)
    if action in ("add", "more") and not live:
        forms = _edit_forms(event, _typed_add(request, forms, value, action == "more"), 0)
        return _page(request, "care/events/record.html", _record_context(site, forms, **context))
    if not forms.is_valid():
        return _page(
            request, "care/events/record.html", _record_context(site, forms, **context), 400
        )
    changes, expected = forms.event.changes()
    rows = forms.edits()
    now = events.to_minute(clock.now())
    if action == "add":
        row = _quick_row(f"n{forms.new_rows}", value, now)
        if row is not None:
            row.unless_added_after = _int(request.POST.get("seen_upto"))
            rows.append(row)
    if action == "now" and live:
        _now(forms, value, now, changes, expected, rows)
    try:
        event = change_event(
            event,
            by=request.user,
            changes=changes,
            expected=expected,
            rows=rows,
            sign=action == "sign",
            reason=forms.event.cleaned_data.get("reason") or "",
            death_confirmed=bool(forms.event.cleaned_data.get("death_confirmed")),
        )
    except EventRefused as refused:
        forms.add_problems(refused.problems)
        return _page(
            request, "care/events/record.html", _record_context(site, forms, **context), 400
        )
    if amending:
        messages.success(
            request,
            _("Amended: this is version %(v)d; the earlier one is kept below.")
            % {"v": event.version},
        )
        return redirect("care:event-detail", pk=event.pk)
    messages.success(request, _saved_message(action, event))
    return redirect(_after(event, action, value))


def _now(forms: RecordForms, name: str, now: datetime, changes, expected, rows) -> None:
    """A "Now" button: that time becomes the current minute, with the rest of the form."""
    if name in ("started_at", "ems_called_at", "ems_arrived_at", "transported_at"):
        expected.setdefault(name, forms.event.seen(name))
        changes[name] = now
        return
    prefix, _sep, field_name = name.partition("-")
    if field_name != "at":
        return
    for row in rows:
        if row.key == prefix and row.pk is not None:
            row.changes["at"] = now
            form = next(f for f in forms.rows if f.prefix == prefix)
            row.expected.setdefault("at", form.seen("at"))
            return


@allow(CLINICAL)
def event_detail(request, pk: int):
    event = _event_for(request.user, pk)
    if request.method == "GET":
        record("event.open", request=request, subject=event)
    with timezone.override(event.site.tz):
        if event.signed_off_at is not None:
            if request.method == "POST":
                messages.error(
                    request, _("This record is signed off; changes are made as an amendment.")
                )
                return redirect("care:event-amend", pk=event.pk)
            return _page(request, "care/events/signed.html", _summary_context(event))
        return _edit(request, event, amending=False)


@allow(CLINICAL)
def event_amend(request, pk: int):
    event = _event_for(request.user, pk)
    if request.method == "GET":
        record("event.open", request=request, subject=event, detail={"page": "amend"})
    if event.signed_off_at is None:
        return redirect("care:event-detail", pk=event.pk)
    with timezone.override(event.site.tz):
        return _edit(request, event, amending=True)


# --- reading a record ---------------------------------------------------------------------


@dataclass
class Version:
    number: int
    amended_at: datetime
    amended_by: str
    reason: str
    changes: list[events.Difference]
    before: list[tuple[str, str]]
    before_steps: list[str]


def _history(event: MedicalEvent) -> list[Version]:
    """Each amendment, newest first, with what it changed and the version it replaced."""
    amendments = list(event.amendments.select_related("amended_by").order_by("version"))
    if not amendments:
        return []
    current = snapshot(event)
    versions = []
    for index, amendment in enumerate(amendments):
        after = amendments[index + 1].snapshot if index + 1 < len(amendments) else current
        versions.append(
            Version(
                number=amendment.version,
                amended_at=amendment.amended_at,
                amended_by=str(amendment.amended_by),
                reason=amendment.reason,
                changes=events.differences(amendment.snapshot, after),
                before=[
                    (str(events.SNAPSHOT_LABELS[key]), text)
                    for key, text in events.describe(amendment.snapshot).items()
                ],
                before_steps=[
                    events.describe_step(s) for s in amendment.snapshot.get("interventions", [])
                ],
            )
        )
    return list(reversed(versions))


def _timeline(event: MedicalEvent, around: Around, interventions) -> list[Moment]:
    moments = list(around.timeline)
    moments.append(Moment(event.started_at, _("Event started"), kind="event"))
    for item in interventions:
        moments.append(
            Moment(
                item.at,
                _what(item),
                by=item.by.display_name if item.by else "",
                struck=item.removed_at is not None,
                kind="intervention",
            )
        )
    for name, text in (
        ("ems_called_at", _("EMS called")),
        ("ems_arrived_at", _("EMS arrived")),
        ("transported_at", _("Transported to hospital")),
    ):
        if getattr(event, name):
            moments.append(Moment(getattr(event, name), text, kind="ems"))
    moments.sort(key=lambda m: (m.at, m.kind != "event"))
    for moment in moments:
        seconds = int((moment.at - event.started_at).total_seconds())
        sign = "−" if seconds < 0 else "+"
        moment.offset = f"{sign}{abs(seconds) // 60}:{abs(seconds) % 60:02d}"
    return moments


def _summary_context(event: MedicalEvent) -> dict:
    interventions = _interventions(event)
    around = _around(event.place, event.started_at, event.alarm)
    doses = [
        i
        for i in interventions
        if i.kind == InterventionKind.NALOXONE and i.removed_at is None and i.dose_mg
    ]
    return {
        "site": event.site,
        "event": event,
        "interventions": interventions,
        "around": around,
        "timeline": _timeline(event, around, interventions),
        "naloxone_doses": len(doses),
        "naloxone_mg": events.amount(sum((i.dose_mg for i in doses), start=Decimal(0))),
        "staff": list(event.staff_involved.order_by("first_name", "username")),
        "signs": [Sign(s).label for s in event.signs if s in Sign.values],
        "history": _history(event),
    }


@allow(READERS)
@require_GET
def event_print(request, pk: int):
    event = _event_for(request.user, pk)
    record("event.print", request=request, subject=event)
    with timezone.override(event.site.tz):
        context = _summary_context(event)
        context["printed_at"] = clock.now()
        return render(request, "care/events/print.html", context)


# --- paper, for when the system is down ---------------------------------------------------


@allow(FLOOR_STAFF)
@require_GET
def downtime_floor(request, site_id: int):
    site = site_for(request.user, site_id)
    places = list(Place.objects.filter(site=site, in_service=True).order_by("position", "label"))
    lines = max(1, min(_int(request.GET.get("lines")) or 3, 10))
    rows = [(p, n) for p in places for n in range(lines)]
    return render(
        request,
        "care/events/downtime_floor.html",
        {
            "site": site,
            "rows": rows,
            "lines": lines,
            "checks": range(6),
            "aftercare": PlaceKind.AFTERCARE,
        },
    )


@allow(FLOOR_STAFF)
@require_GET
def downtime_overdose(request, site_id: int):
    site = site_for(request.user, site_id)
    return render(
        request,
        "care/events/downtime_overdose.html",
        {
            "site": site,
            "places": Place.objects.filter(site=site).order_by("position", "label"),
            "signs": Sign.choices,
            "outcomes": EventOutcome.choices,
            "routes": NaloxoneRoute.choices,
            "kinds": EventKind.choices,
            "dose_rows": range(5),
            "other_rows": range(4),
            "presets": events.naloxone_presets(),
        },
    )
