"""The JSON API (django-ninja): device ingest, the floor's places and open alarms,
acknowledge and claim. The schema is served at /api/openapi.json and docs at /api/docs.

Every operation needs a token: the API is closed by default (`auth=StaffToken()`), and
session cookies are not accepted, so the browser's signed-in state cannot be used against it.
"""

from datetime import UTC, datetime
from typing import Annotated

from django.db import transaction
from django.shortcuts import get_object_or_404
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, StrictBool, StrictFloat

from vigil.api.auth import DeviceToken, StaffToken
from vigil.floor.board import build_board
from vigil.lib import clock
from vigil.monitoring import actions
from vigil.monitoring.alarms import OPEN, AlarmError
from vigil.monitoring.engine import current_engine
from vigil.monitoring.hl7in import PULSE, RESP, SPO2, usable_value
from vigil.monitoring.models import Alarm, Device, Reading
from vigil.monitoring.vitals import Observation
from vigil.sites.access import sites_for

api = NinjaAPI(
    title="Vigil API",
    version="1",
    urls_namespace="api",
    auth=StaffToken(),
    docs_url="/docs",
    openapi_url="/openapi.json",
    description="Device ingest for bridges, the live floor and its alarms for integrations.",
)


def _time_as_text(value):
    """A time is an RFC 3339 string with its offset, as the schema says: a bare number is
    refused rather than read as seconds since 1970."""
    if value is not None and not isinstance(value, str | datetime):
        raise ValueError("give the time as text, e.g. 2026-11-25T16:20:00Z")
    return value


def _in_utc(value):
    """Stored in UTC. Any offset a clock can send is accepted (PostgreSQL refuses offsets past
    ±15:59 as given, found by schemathesis); a device whose clock is far off still has its
    reading stored and raises the "device clock is off" alarm (monitoring/rules.py)."""
    if value is None:
        return None
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("the time is out of range") from exc


class IngestIn(Schema):
    # Strict types: `true` is not a pulse of 1 and "yes" is not a boolean (found by schemathesis).
    observed_at: Annotated[
        AwareDatetime | None, BeforeValidator(_time_as_text), AfterValidator(_in_utc)
    ] = None
    spo2: StrictFloat | None = None
    pulse: StrictFloat | None = None
    resp: StrictFloat | None = None
    apnea: StrictBool = False
    motion: StrictBool | None = None
    occupied: StrictBool | None = None


class IngestOut(Schema):
    accepted: bool
    reading: int
    place: str | None


class AlarmOut(Schema):
    id: int
    site: str
    place: str
    kind: str
    priority: str
    state: str
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    claimed_at: datetime | None
    claimed_by: str | None
    escalation_level: int


class PlaceOut(Schema):
    place: str
    kind: str
    in_service: bool
    occupied: bool
    seconds_in_place: int | None
    check_state: str | None
    over_limit: bool
    alarm_priority: str | None


class Error(Schema):
    detail: str


class Problem(Schema):
    """One thing wrong with a request, as django-ninja reports it."""

    type: str
    loc: list[str | int]
    msg: str


class Invalid(Schema):
    """422: the request's shape is wrong (a list of problems), or its values are unusable (a
    sentence saying why)."""

    detail: str | list[Problem]


@api.post(
    "/ingest",
    auth=DeviceToken(),
    response={200: IngestOut, 400: Error, 401: Error, 422: Invalid},
    tags=["devices"],
)
def ingest(request, data: IngestIn):
    """A bridge (Bluetooth oximeter, washroom motion or door sensor) posts one observation.
    Answered once the reading is stored."""
    device: Device = request.device
    now = clock.now()
    obs = Observation(
        device_id=device.device_id,
        received_at=now,
        observed_at=data.observed_at,
        spo2=usable_value(SPO2, data.spo2),
        pulse=usable_value(PULSE, data.pulse),
        resp=usable_value(RESP, data.resp),
        apnea=data.apnea,
        motion=data.motion,
        occupied=data.occupied,
    )
    if (
        obs.spo2 is None
        and obs.pulse is None
        and obs.resp is None
        and not obs.apnea
        and obs.motion is None
        and obs.occupied is None
    ):
        raise HttpError(422, "no usable value: send spo2, pulse, resp, apnea, motion or occupied")
    with transaction.atomic():
        reading = Reading.objects.create(
            device=device,
            place=device.place,
            received_at=now,
            observed_at=data.observed_at,
            spo2=obs.spo2,
            pulse=obs.pulse,
            resp=obs.resp,
            apnea=obs.apnea,
            motion=obs.motion,
            occupied=obs.occupied,
        )
        Device.objects.filter(pk=device.pk).update(last_seen_at=now)
    engine = current_engine()
    if engine is not None:
        engine.observe_threadsafe(device.place_id, obs)
    return {
        "accepted": True,
        "reading": reading.pk,
        "place": device.place.label if device.place else None,
    }


def _site(request, site_id: int):
    site = sites_for(request.staff).filter(pk=site_id).first()
    if site is None:
        raise HttpError(404, "No such site.")
    return site


def alarm_out(alarm: Alarm) -> dict:
    return {
        "id": alarm.pk,
        "site": alarm.site.name,
        "place": alarm.place.label,
        "kind": alarm.kind,
        "priority": alarm.priority,
        "state": alarm.state,
        "raised_at": alarm.raised_at,
        "acknowledged_at": alarm.acknowledged_at,
        "acknowledged_by": alarm.acknowledged_by.username if alarm.acknowledged_by else None,
        "claimed_at": alarm.claimed_at,
        "claimed_by": alarm.claimed_by.username if alarm.claimed_by else None,
        "escalation_level": alarm.escalation_level,
    }


@api.get(
    "/sites/{site_id}/places",
    response={200: list[PlaceOut], 401: Error, 404: Error, 422: Invalid},
    tags=["floor"],
)
def places(request, site_id: int):
    """Every place of a site with its state. No participant data: integrations see places."""
    board = build_board(_site(request, site_id), clock.now())
    out = []
    for group in board.groups:
        for tile in group.tiles:
            sup = tile.supervision
            priorities = [a.priority for a in tile.alarms]
            out.append(
                {
                    "place": tile.place.label,
                    "kind": tile.place.kind,
                    "in_service": tile.place.in_service,
                    "occupied": tile.occupancy is not None,
                    "seconds_in_place": int(sup.elapsed.total_seconds()) if sup else None,
                    "check_state": sup.check_state.value if sup else None,
                    "over_limit": bool(sup and sup.over_limit),
                    "alarm_priority": tile.colour if priorities else None,
                }
            )
    return out


def open_alarms(sites) -> list[Alarm]:
    return list(
        Alarm.objects.filter(site__in=sites, state__in=list(OPEN))
        .select_related("site", "place", "acknowledged_by", "claimed_by")
        .order_by("raised_at")
    )


@api.get(
    "/sites/{site_id}/alarms",
    response={200: list[AlarmOut], 401: Error, 404: Error, 422: Invalid},
    tags=["alarms"],
)
def alarms(request, site_id: int):
    return [alarm_out(a) for a in open_alarms([_site(request, site_id)])]


def _alarm(request, alarm_id: int) -> Alarm:
    return get_object_or_404(
        Alarm.objects.select_related("site", "place", "acknowledged_by", "claimed_by"),
        pk=alarm_id,
        site__in=sites_for(request.staff),
    )


@api.post(
    "/alarms/{alarm_id}/acknowledge",
    response={200: AlarmOut, 401: Error, 404: Error, 409: Error, 422: Invalid},
    tags=["alarms"],
)
def acknowledge(request, alarm_id: int):
    try:
        alarm = actions.acknowledge(_alarm(request, alarm_id), request.staff)
    except AlarmError as exc:
        raise HttpError(409, str(exc)) from exc
    return alarm_out(_alarm(request, alarm.pk))


@api.post(
    "/alarms/{alarm_id}/claim",
    response={200: AlarmOut, 401: Error, 404: Error, 409: Error, 422: Invalid},
    tags=["alarms"],
)
def claim(request, alarm_id: int):
    try:
        alarm = actions.claim(_alarm(request, alarm_id), request.staff)
    except AlarmError as exc:
        raise HttpError(409, str(exc)) from exc
    return alarm_out(_alarm(request, alarm.pk))
