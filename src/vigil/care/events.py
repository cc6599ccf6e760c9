"""What an overdose or medical event record must say to be accepted, what an alarm suggests for
it, and how the vitals around it are shown. Plain Python (no database), so every rule is tested
fast and the actions and forms share one set of messages.

Decisions written down here because they shape what staff can enter:

- Times are kept to the minute. Staff read a clock and type minutes; seconds would only make a
  typed record look less exact than one tapped with "Now", and a page that shows minutes must
  compare equal to what is stored to tell what a person changed (see event_forms).
- An intervention may not come before the event started: no grace period. Prefilled from an
  alarm, the start is the first abnormal reading, which is before anyone could respond; typed by
  hand, a dose "before the start" means the start is wrong, and the message says to move it
  rather than letting two contradicting times stand in a clinical record.
- Nothing may be in the future (the server's clock, which is also what "Now" uses).
- A record opened normally must start within `LIVE_ENTRY_WINDOW` of now; older events are
  entered as late entries, so a record typed long afterwards is always marked as such.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import median

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vigil.care.models import EventKind, EventOutcome, InterventionKind, NaloxoneRoute, Sign

NALOXONE_MAX_MG = Decimal("10")
OXYGEN_MIN_LPM = Decimal("1")
OXYGEN_MAX_LPM = Decimal("15")
RECOVERY_MAX_MINUTES = 24 * 60
LIVE_ENTRY_WINDOW = timedelta(hours=12)

# What an alarm suggests staff will have seen; a suggestion only, the nurse confirms it.
SIGNS_FROM_ALARM = {
    "no_breath": Sign.NO_BREATHING,
    "apnea": Sign.NO_BREATHING,
    "resp_low": Sign.SLOW_BREATHING,
    "spo2_low": Sign.CYANOSIS,
    "spo2_critical": Sign.CYANOSIS,
    "desaturation": Sign.CYANOSIS,
    "stillness": Sign.UNRESPONSIVE,
}

# The one-tap naloxone buttons. 0.4 mg is the injectable ampoule (IM/IV); nasal sprays are
# 4 mg. A site changes them with the VIGIL_NALOXONE_PRESETS setting, e.g. [("2", "IN")].
DEFAULT_NALOXONE_PRESETS = [("0.4", NaloxoneRoute.IM.value), ("4", NaloxoneRoute.IN.value)]
DEFAULT_OXYGEN_LPM = "10"

# Vitals shown around an event: from 5 minutes before it started to 10 minutes after.
VITALS_BEFORE = timedelta(minutes=5)
VITALS_AFTER = timedelta(minutes=10)


def naloxone_presets() -> list[tuple[Decimal, str]]:
    presets = getattr(settings, "VIGIL_NALOXONE_PRESETS", None) or DEFAULT_NALOXONE_PRESETS
    return [(Decimal(str(mg)), str(route)) for mg, route in presets]


def oxygen_default() -> Decimal:
    return Decimal(str(getattr(settings, "VIGIL_OXYGEN_DEFAULT_LPM", DEFAULT_OXYGEN_LPM)))


def amount(value) -> str:
    """A dose or flow as staff write it: 0.4, 4, 10 (not 0.40, 4.00, 1E+1)."""
    return "" if value is None else f"{Decimal(value).normalize():f}"


def step_amount(kind: str, dose_mg, route: str, litres_per_minute) -> str:
    if kind == InterventionKind.NALOXONE and dose_mg is not None:
        return f"{amount(dose_mg)} mg {route}".strip()
    if kind == InterventionKind.OXYGEN and litres_per_minute is not None:
        return f"{amount(litres_per_minute)} L/min"
    return ""


def to_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def signs_for_alarm(kinds: Iterable[str]) -> list[str]:
    suggested = {SIGNS_FROM_ALARM[k] for k in kinds if k in SIGNS_FROM_ALARM}
    return [s.value for s in Sign if s in suggested]


def _at(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


# --- validation ---------------------------------------------------------------------------


@dataclass
class Step:
    """One intervention as it would stand after a change. `key` names its row in the form so a
    message lands beside the field it is about."""

    key: str
    kind: str
    at: datetime | None
    dose_mg: Decimal | None = None
    route: str = ""
    litres_per_minute: Decimal | None = None


@dataclass
class Record:
    """An event as it would stand after a change (removed interventions left out)."""

    kind: str
    started_at: datetime | None
    signs: list[str] = field(default_factory=list)
    ems_called_at: datetime | None = None
    ems_arrived_at: datetime | None = None
    transported_at: datetime | None = None
    outcome: str = ""
    minutes_to_recovery: int | None = None
    steps: list[Step] = field(default_factory=list)


Problems = dict[str, list[str]]


def _add(problems: Problems, key: str, message: str) -> None:
    problems.setdefault(key, []).append(message)


def problems(
    record: Record,
    now: datetime,
    *,
    signing: bool = False,
    death_confirmed: bool = False,
    outcome_before: str = "",
    opening_live: bool = False,
) -> Problems:
    """Every reason to refuse `record`, by field ("" for the record as a whole). Empty: accept."""
    found: Problems = {}
    start = record.started_at
    if record.kind not in EventKind.values:
        _add(found, "kind", _("Choose overdose or other medical event."))
    if start is None:
        _add(found, "started_at", _("Say when the event started."))
    elif start > now:
        _add(found, "started_at", _("The start (%(at)s) is in the future.") % {"at": _at(start)})
    elif opening_live and start < now - LIVE_ENTRY_WINDOW:
        _add(
            found,
            "started_at",
            _(
                "This started more than %(hours)d hours ago: record it as a late entry, so the "
                "record says it was entered afterwards."
            )
            % {"hours": LIVE_ENTRY_WINDOW.total_seconds() // 3600},
        )
    unknown = [s for s in record.signs if s not in Sign.values]
    if unknown:
        _add(found, "signs", _("Unknown sign: %(sign)s.") % {"sign": ", ".join(unknown)})

    for step in record.steps:
        _check_step(found, step, start, now)

    _check_ems(found, record, start, now)

    if record.outcome and record.outcome not in EventOutcome.values:
        _add(found, "outcome", _("Choose one of the outcomes."))
    if (
        record.outcome == EventOutcome.DEATH
        and outcome_before != EventOutcome.DEATH
        and not death_confirmed
    ):
        _add(
            found,
            "death_confirmed",
            _("Recording a death needs the confirmation box ticked."),
        )
    minutes = record.minutes_to_recovery
    if minutes is not None:
        if minutes < 0:
            _add(found, "minutes_to_recovery", _("Minutes to recovery cannot be negative."))
        elif minutes > RECOVERY_MAX_MINUTES:
            _add(
                found,
                "minutes_to_recovery",
                _("Minutes to recovery must be at most %(max)d (24 hours).")
                % {"max": RECOVERY_MAX_MINUTES},
            )
        elif record.outcome == EventOutcome.DEATH:
            _add(found, "minutes_to_recovery", _("There is no recovery time after a death."))

    if signing:
        if not record.outcome:
            _add(found, "outcome", _("Choose the outcome before signing off."))
        if not record.signs:
            _add(found, "signs", _("Tick at least one sign before signing off."))
    return found


def _check_step(found: Problems, step: Step, start: datetime | None, now: datetime) -> None:
    key = step.key
    if step.kind not in InterventionKind.values:
        _add(found, f"{key}-kind", _("Choose what was done."))
        return
    label = InterventionKind(step.kind).label
    if step.at is None:
        _add(found, f"{key}-at", _("Say when (%(what)s).") % {"what": label})
    elif step.at > now:
        _add(found, f"{key}-at", _("%(what)s at %(at)s is in the future.") % _w(label, step.at))
    elif start is not None and step.at < start:
        _add(
            found,
            f"{key}-at",
            _(
                "%(what)s at %(at)s is before the event started (%(start)s). If it was given "
                "then, the event started earlier: change the start time."
            )
            % {**_w(label, step.at), "start": _at(start)},
        )
    if step.kind == InterventionKind.NALOXONE:
        if step.dose_mg is None:
            _add(found, f"{key}-dose_mg", _("Give the naloxone dose in mg."))
        elif step.dose_mg <= 0:
            _add(found, f"{key}-dose_mg", _("A naloxone dose must be more than 0 mg."))
        elif step.dose_mg > NALOXONE_MAX_MG:
            _add(
                found,
                f"{key}-dose_mg",
                _("A single naloxone dose must be at most %(max)s mg; record each dose on its row.")
                % {"max": NALOXONE_MAX_MG},
            )
        if step.route not in NaloxoneRoute.values:
            _add(found, f"{key}-route", _("Choose the naloxone route: IN, IM or IV."))
    if step.kind == InterventionKind.OXYGEN:
        lpm = step.litres_per_minute
        if lpm is None:
            _add(found, f"{key}-litres_per_minute", _("Give the oxygen flow in L/min."))
        elif not OXYGEN_MIN_LPM <= lpm <= OXYGEN_MAX_LPM:
            _add(
                found,
                f"{key}-litres_per_minute",
                _("Oxygen flow must be between %(low)s and %(high)s L/min.")
                % {"low": OXYGEN_MIN_LPM, "high": OXYGEN_MAX_LPM},
            )


def _w(label, at: datetime) -> dict:
    return {"what": label, "at": _at(at)}


def _check_ems(found: Problems, record: Record, start: datetime | None, now: datetime) -> None:
    called, arrived, transported = (
        record.ems_called_at,
        record.ems_arrived_at,
        record.transported_at,
    )
    names = {
        "ems_called_at": _("EMS called"),
        "ems_arrived_at": _("EMS arrived"),
        "transported_at": _("Transported"),
    }
    for name, moment in (
        ("ems_called_at", called),
        ("ems_arrived_at", arrived),
        ("transported_at", transported),
    ):
        if moment is None:
            continue
        if moment > now:
            _add(found, name, _("%(what)s at %(at)s is in the future.") % _w(names[name], moment))
        elif start is not None and moment < start:
            _add(
                found,
                name,
                _("%(what)s at %(at)s is before the event started (%(start)s).")
                % {**_w(names[name], moment), "start": _at(start)},
            )
    if arrived is not None:
        if called is None:
            _add(found, "ems_called_at", _("EMS arrived, so say when they were called."))
        elif arrived < called:
            _add(
                found,
                "ems_arrived_at",
                _("EMS arrived (%(arrived)s) before they were called (%(called)s).")
                % {"arrived": _at(arrived), "called": _at(called)},
            )
    if transported is not None:
        if record.outcome != EventOutcome.TRANSPORTED:
            _add(
                found,
                "transported_at",
                _("A transport time goes with the outcome “Transported to hospital”."),
            )
        if arrived is not None and transported < arrived:
            _add(
                found,
                "transported_at",
                _("Transported (%(transported)s) before EMS arrived (%(arrived)s).")
                % {"transported": _at(transported), "arrived": _at(arrived)},
            )


# --- the earlier versions -----------------------------------------------------------------

SNAPSHOT_LABELS = {
    "kind": gettext_lazy("Kind"),
    "started_at": gettext_lazy("Started"),
    "place": gettext_lazy("Place"),
    "participant": gettext_lazy("Participant"),
    "signs": gettext_lazy("Signs"),
    "ems_called_at": gettext_lazy("EMS called"),
    "ems_arrived_at": gettext_lazy("EMS arrived"),
    "transported_at": gettext_lazy("Transported"),
    "outcome": gettext_lazy("Outcome"),
    "minutes_to_recovery": gettext_lazy("Minutes to recovery"),
    "staff_involved": gettext_lazy("Staff involved"),
    "notes": gettext_lazy("Notes"),
}


def describe(snapshot: dict) -> dict[str, str]:
    """A snapshot's fields as staff read them (labels of choices, local times)."""
    kinds: dict[str, object] = dict(EventKind.choices)
    outcomes: dict[str, object] = dict(EventOutcome.choices)
    signs = dict(Sign.choices)
    out: dict[str, str] = {}
    for key in SNAPSHOT_LABELS:
        value = snapshot.get(key)
        if key == "kind":
            text = str(kinds.get(str(value), value or ""))
        elif key == "outcome":
            text = str(outcomes.get(str(value), value or ""))
        elif key == "signs":
            text = ", ".join(str(signs.get(s, s)) for s in value or [])
        elif key.endswith("_at"):
            text = _at(datetime.fromisoformat(value)) if value else ""
        elif key in ("place", "participant"):
            text = (value or {}).get("label", "") if isinstance(value, dict) else ""
        elif key == "staff_involved":
            text = ", ".join(s.get("name", "") for s in value or [])
        else:
            text = "" if value is None else str(value)
        out[key] = text
    return out


def describe_step(step: dict) -> str:
    kinds = dict(InterventionKind.choices)
    parts = [_at(datetime.fromisoformat(step["at"])), str(kinds.get(step["kind"], step["kind"]))]
    given = step_amount(
        step["kind"], step.get("dose_mg"), step.get("route", ""), step.get("litres_per_minute")
    )
    if given:
        parts.append(given)
    text = " · ".join(parts)
    if step.get("removed_at"):
        text += " " + _("(struck out)")
    return text


@dataclass
class Difference:
    label: str
    before: str
    after: str


def differences(before: dict, after: dict) -> list[Difference]:
    """What an amendment changed, field by field and intervention by intervention."""
    old, new = describe(before), describe(after)
    changed = [
        Difference(str(SNAPSHOT_LABELS[k]), old[k], new[k])
        for k in SNAPSHOT_LABELS
        if old[k] != new[k]
    ]
    old_steps = {s["id"]: describe_step(s) for s in before.get("interventions", [])}
    new_steps = {s["id"]: describe_step(s) for s in after.get("interventions", [])}
    label = str(_("Intervention"))
    for pk in sorted(set(old_steps) | set(new_steps)):
        if old_steps.get(pk) != new_steps.get(pk):
            changed.append(Difference(label, old_steps.get(pk, ""), new_steps.get(pk, "")))
    return changed


# --- vitals around an event ---------------------------------------------------------------


@dataclass
class Sample:
    at: datetime
    spo2: float | None
    pulse: float | None
    resp: float | None
    apnea: bool = False


@dataclass
class MinuteRow:
    at: datetime
    spo2: float | None
    resp: float | None
    pulse: float | None
    apnea: bool
    marked: bool = False


def by_minute(
    samples: Sequence[Sample], start: datetime, end: datetime, mark: datetime | None = None
) -> list[MinuteRow]:
    """One row a minute: the lowest SpO2 and breathing rate (what matters in an overdose), the
    middle pulse, and whether apnea was reported. Minutes without data are left out."""
    buckets: dict[datetime, list[Sample]] = {}
    for sample in samples:
        if start <= sample.at < end:
            buckets.setdefault(to_minute(sample.at), []).append(sample)
    rows = []
    for minute in sorted(buckets):
        group = buckets[minute]
        spo2 = [s.spo2 for s in group if s.spo2 is not None]
        resp = [s.resp for s in group if s.resp is not None]
        pulse = [s.pulse for s in group if s.pulse is not None]
        rows.append(
            MinuteRow(
                at=minute,
                spo2=min(spo2) if spo2 else None,
                resp=min(resp) if resp else None,
                pulse=median(pulse) if pulse else None,
                apnea=any(s.apnea for s in group),
                marked=mark is not None and to_minute(mark) == minute,
            )
        )
    return rows


def evenly(
    samples: Sequence[Sample], start: datetime, end: datetime, step: timedelta, attribute: str
) -> list[float | None]:
    """Values on an even time grid for a sparkline: the lowest in each step, None where the
    monitor sent nothing (a gap in the line, never a made-up value)."""
    count = max(int((end - start) / step), 1)
    slots: list[float | None] = [None] * count
    for sample in samples:
        value = getattr(sample, attribute)
        if value is None or not start <= sample.at < end:
            continue
        index = min(int((sample.at - start) / step), count - 1)
        current = slots[index]
        slots[index] = value if current is None else min(current, value)
    return slots
