"""The alarm engine: on the server's asyncio loop beside the web app and the device gateway.

It turns observations (from the gateway and the HTTP ingest) and the floor's supervision
timers into alarm conditions with the pure rules, and alarm conditions into alarms with the
pure state machine. The database is the truth: open alarms, their escalation deadlines and the
notification outbox live there, so a restart (or kill -9) picks up where things stood.

Detection never waits for a database write to finish before the next observation is looked
at; alarm writes run in order on one dedicated thread.
"""

import asyncio
import functools
import logging
import time
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from asgiref.sync import sync_to_async
from django.db import transaction

from vigil.floor.board import timers_for as floor_timers_for
from vigil.floor.models import CheckResult, Occupancy
from vigil.floor.supervision import Timers, supervise
from vigil.lib import clock
from vigil.lib.dbthread import keep_connection
from vigil.lib.hub import hub
from vigil.monitoring import actions
from vigil.monitoring.alarms import OPEN
from vigil.monitoring.models import (
    PRIORITY_RANK,
    Alarm,
    Device,
    DeviceKind,
    Reading,
    RuleVersion,
)
from vigil.monitoring.rules import (
    ADMINISTRATIVE,
    PRIORITY,
    Condition,
    PlaceMonitor,
    RuleSettings,
    floor_conditions,
)
from vigil.monitoring.vitals import Observation
from vigil.sites.models import Place, Site

log = logging.getLogger("vigil.engine")

TICK_SECONDS = 0.5
TREND = timedelta(minutes=2)
WARM_UP = timedelta(seconds=15)  # after a start, absent data clears nothing for this long


@dataclass
class Watched:
    """What the engine knows about one place."""

    place_id: int
    site_id: int
    kind: str
    monitor: PlaceMonitor
    rule_version: int
    occupied: bool = False
    visit_id: int | None = None
    device_ids: set[int] = field(default_factory=set)
    active: set[str] = field(default_factory=set)
    trend: deque = field(default_factory=lambda: deque(maxlen=240))
    resolved_at: dict[str, datetime] = field(default_factory=dict)
    repeat_after: timedelta = timedelta(minutes=20)
    last: Observation | None = None


class AlarmEngine:
    def __init__(self) -> None:
        self.places: dict[int, Watched] = {}
        self.devices: dict[
            str, tuple[int, int | None, str]
        ] = {}  # device_id -> (pk, place_id, kind)
        self.rules: dict[int, tuple[int, RuleSettings]] = {}  # site_id -> (version, settings)
        # Alarm writes have a thread of their own; the ticker's floor reads another, so an
        # alarm is never queued behind a read of every occupancy.
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigil-alarms")
        self._reads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigil-alarm-reads")
        self._pending: set[asyncio.Future] = set()
        self._reloaded_at = 0.0
        self._started_at: datetime | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.running = False

    # --- lifecycle ------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until cancelled (a companion task of `vigil serve`)."""
        self._loop = asyncio.get_running_loop()
        self._started_at = clock.now()
        await self.run_in_db(self._load)
        self.running = True
        set_engine(self)
        # Occupancy is re-read every tick; device bindings change rarely and are announced.
        devices = hub.subscribe(actions.devices_topic())
        alarms = hub.subscribe(actions.ALL_ALARMS)
        try:
            await asyncio.gather(self._ticker(), self._listen(devices), self._follow_alarms(alarms))
        finally:
            self.running = False
            hub.unsubscribe(devices)
            hub.unsubscribe(alarms)
            self._db.shutdown(wait=False, cancel_futures=True)
            self._reads.shutdown(wait=False, cancel_futures=True)

    async def run_in_db(self, fn, *args):
        loop = asyncio.get_running_loop()

        def call():
            keep_connection()
            return fn(*args)

        return await loop.run_in_executor(self._db, call)

    async def run_read(self, fn, *args):
        """A read-only query off the alarm-write thread."""
        loop = asyncio.get_running_loop()

        def call():
            keep_connection()
            return fn(*args)

        return await loop.run_in_executor(self._reads, call)

    async def _listen(self, subscription) -> None:
        while True:
            await subscription.get()
            await self.run_in_db(self._load)

    async def _follow_alarms(self, subscription) -> None:
        """A person resolved an alarm: if its condition is still there it is raised again at
        once (when in doubt, alarm), except "over the time limit", which repeats only after
        another limit period."""
        while True:
            event = await subscription.get()
            if event.get("change") != "resolved":
                continue
            watched = self.places.get(event.get("place"))
            if watched is not None and event.get("kind") in watched.active:
                watched.active.discard(event["kind"])
                watched.resolved_at[event["kind"]] = clock.now()

    def reload(self, min_interval: float = 2.0) -> None:
        """Re-read devices, places and rules (call on the alarm thread); at most every
        `min_interval` seconds, so a chatty unknown device cannot keep the database busy."""
        moment = time.monotonic()
        if moment - self._reloaded_at < min_interval:
            return
        self._reloaded_at = moment
        self._load()

    def _load(self) -> None:
        """(Re)load places, devices, occupancy and rule settings from the database."""
        versions: dict[int, tuple[int, RuleSettings]] = {}
        for rv in RuleVersion.objects.order_by("site_id", "-version"):
            versions.setdefault(rv.site_id, (rv.version, RuleSettings.from_dict(rv.rules)))
        self.rules = versions
        devices = {}
        by_place: dict[int, set[int]] = defaultdict(set)
        for device in Device.objects.all().only("pk", "device_id", "place_id", "kind"):
            devices[device.device_id] = (device.pk, device.place_id, device.kind)
            if device.place_id:
                by_place[device.place_id].add(device.pk)
        self.devices = devices
        occupied = {
            o.place_id: o.visit_id
            for o in Occupancy.objects.filter(ended_at__isnull=True).only("place_id", "visit_id")
        }
        open_alarms: dict[int, set[str]] = defaultdict(set)
        for place_id, kind in Alarm.objects.filter(
            state__in=list(OPEN), condition_active=True
        ).values_list("place_id", "kind"):
            open_alarms[place_id].add(kind)
        fresh: list[Watched] = []
        for place in Place.objects.filter(in_service=True).select_related("site"):
            version, settings = self.rules.get(place.site_id, (1, RuleSettings()))
            watched = self.places.get(place.pk)
            if watched is None or watched.rule_version != version:
                watched = Watched(
                    place_id=place.pk,
                    site_id=place.site_id,
                    kind=place.kind,
                    monitor=PlaceMonitor(settings),
                    rule_version=version,
                    active=set(open_alarms.get(place.pk, set())),
                )
                self.places[place.pk] = watched
                fresh.append(watched)
            watched.occupied = place.pk in occupied
            watched.visit_id = occupied.get(place.pk)
            watched.device_ids = by_place.get(place.pk, set())
            watched.repeat_after = timedelta(minutes=place.site.occupancy_limit_minutes)
        if fresh:
            self._replay_recent({w.place_id: w for w in fresh})

    def _replay_recent(self, places: dict[int, Watched]) -> None:
        """Rebuild new monitors' memory from the last minute of stored readings (one query)."""
        since = clock.now() - timedelta(seconds=60)
        readings = Reading.objects.filter(place_id__in=list(places), received_at__gte=since)
        for r in readings.order_by("received_at", "pk"):
            assert r.place_id is not None  # filtered on place above
            watched = places[r.place_id]
            obs = Observation(
                device_id=str(r.device_id),
                received_at=r.received_at,
                observed_at=r.observed_at,
                spo2=r.spo2,
                pulse=r.pulse,
                resp=r.resp,
                apnea=r.apnea,
                motion=r.motion,
                occupied=r.occupied,
            )
            at = max(r.received_at, watched.monitor.last_reading_at or r.received_at)
            watched.monitor.observe(obs, at)
            watched.trend.append(obs)
            watched.last = obs

    # --- input ----------------------------------------------------------------------------

    def device(self, candidates: list[str]) -> tuple[int, int | None, str] | None:
        for candidate in candidates:
            if candidate in self.devices:
                return self.devices[candidate]
        return None

    def observe(self, place_id: int | None, obs: Observation) -> None:
        """An observation from a known device; evaluated at once (call on the loop)."""
        if place_id is None or place_id not in self.places:
            return
        watched = self.places[place_id]
        # Two devices (or the gateway and a bridge) can hand over readings a moment out of
        # arrival order; the rule clock never goes backwards.
        at = max(obs.received_at, watched.monitor.last_reading_at or obs.received_at)
        try:
            watched.monitor.observe(obs, at)
        except ValueError:
            log.exception("reading refused by the rules for place %s", place_id)
            return
        watched.trend.append(obs)
        watched.last = obs
        self._evaluate(watched, obs.received_at)

    def observe_threadsafe(self, place_id: int | None, obs: Observation) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.observe, place_id, obs)

    # --- evaluation -----------------------------------------------------------------------

    def _evaluate(self, watched: Watched, now: datetime, floor: set[str] | None = None) -> None:
        conditions = {
            str(c)
            for c in watched.monitor.evaluate(
                now, occupied=watched.occupied, device_bound=bool(watched.device_ids)
            )
        }
        # A device clock that is off is for administrators (the device list), not an alarm.
        conditions -= ADMINISTRATIVE_KINDS
        if not watched.occupied:
            conditions = set()
        if floor is not None:
            conditions |= floor
        else:
            conditions |= {c for c in watched.active if c in FLOOR_KINDS}
        over_limit = str(Condition.OVER_LIMIT)
        resolved = watched.resolved_at.get(over_limit)
        if (
            over_limit in conditions
            and resolved is not None
            and now - resolved < watched.repeat_after
        ):
            conditions.discard(over_limit)
            watched.active.discard(over_limit)
        raised = conditions - watched.active
        cleared = watched.active - conditions
        warming = self._started_at is not None and now - self._started_at < WARM_UP
        if warming:
            cleared = {c for c in cleared if c in FLOOR_KINDS}
        watched.active = (watched.active | raised) - cleared
        if raised:
            # Every condition of one evaluation in one transaction, the most urgent first.
            kinds = sorted(raised, key=lambda k: (-PRIORITY_RANK[PRIORITY[Condition(k)]], k))
            task = asyncio.ensure_future(
                self.run_in_db(
                    self._raise,
                    watched.place_id,
                    kinds,
                    now,
                    watched.visit_id,
                    watched.rule_version,
                )
            )
            self._pending.add(task)
            task.add_done_callback(
                functools.partial(self._raised, watched=watched, kinds=set(kinds))
            )
        for kind in cleared:
            self._spawn(actions.condition_cleared, watched.place_id, kind, now)

    def _spawn(self, fn, *args) -> None:
        """Queue a database write on the alarm thread without waiting for it."""
        task = asyncio.ensure_future(self.run_in_db(fn, *args))
        self._pending.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Future) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("alarm write failed", exc_info=task.exception())

    def _raised(self, task: asyncio.Future, *, watched: Watched, kinds: set[str]) -> None:
        """A failed alarm write is not forgotten: the conditions are taken out of the place's
        active set, so the next evaluation (within a tick) raises them again."""
        self._pending.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        log.error("could not raise %s; trying again", sorted(kinds), exc_info=task.exception())
        watched.active -= kinds

    def _raise(
        self, place_id: int, kinds: list[str], now: datetime, visit_id, rule_version: int
    ) -> None:
        place = Place.objects.select_related("site").get(pk=place_id)
        watched = self.places.get(place_id)
        detail = {}
        if watched and watched.last:
            detail = {
                "spo2": watched.last.spo2,
                "pulse": watched.last.pulse,
                "resp": watched.last.resp,
            }
        device_id = next(iter(watched.device_ids)) if watched and watched.device_ids else None
        with transaction.atomic():
            for kind in kinds:
                actions.raise_alarm(
                    place=place,
                    kind=Condition(kind),
                    at=now,
                    visit_id=visit_id,
                    rule_version=rule_version,
                    detail=detail,
                    device_id=device_id,
                )

    async def _ticker(self) -> None:
        while True:
            now = clock.now()
            try:
                floor, occupied = await self.run_read(self._floor_conditions, now)
                for place_id, watched in self.places.items():
                    watched.occupied = place_id in occupied
                    watched.visit_id = occupied.get(place_id)
                for watched in list(self.places.values()):
                    self._evaluate(watched, now, floor.get(watched.place_id, set()))
                await self.run_in_db(self._due_steps, now)
            except Exception:  # the alarm loop must outlive any one failure
                log.exception("alarm engine tick failed; carrying on")
            await asyncio.sleep(TICK_SECONDS)

    def _floor_conditions(self, now: datetime) -> tuple[dict[int, set[str]], dict[int, int]]:
        """Per occupied place, its supervision conditions; and who is where (place -> visit).
        Read-only: runs on the read thread; the loop applies the occupancy."""
        result: dict[int, set[str]] = {}
        occupied: dict[int, int] = {}
        # Plain rows, not model instances: this runs twice a second over every occupied place.
        sites = {site.pk: site for site in Site.objects.all()}
        timers: dict[tuple[int, str], Timers] = {}
        rows = Occupancy.objects.filter(ended_at__isnull=True).values_list(
            "place_id",
            "visit_id",
            "started_at",
            "last_check_at",
            "last_check_result",
            "place__kind",
            "place__site_id",
        )
        for place_id, visit_id, started_at, last_check_at, last_result, kind, site_id in rows:
            occupied[place_id] = visit_id
            key = (site_id, kind)
            if key not in timers:
                timers[key] = floor_timers_for(sites[site_id], kind)
            state = supervise(
                started_at=started_at,
                last_check_at=last_check_at,
                last_check_concerned=last_result == CheckResult.CONCERNED,
                timers=timers[key],
                now=now,
            )
            result[place_id] = {
                str(c) for c in floor_conditions(state.check_state, state.over_limit)
            }
        return result, occupied

    def _due_steps(self, now: datetime) -> None:
        for alarm_id in Alarm.objects.filter(
            next_deadline_at__lte=now, state__in=list(OPEN)
        ).values_list("pk", flat=True):
            actions.take_due_steps(alarm_id, now)

    # --- for screens ----------------------------------------------------------------------

    def vitals(self, place_id: int) -> tuple[Observation | None, list[Observation]]:
        watched = self.places.get(place_id)
        if watched is None:
            return None, []
        return watched.last, list(watched.trend)


ADMINISTRATIVE_KINDS = {str(c) for c in ADMINISTRATIVE}
FLOOR_KINDS = {
    str(Condition.CHECK_CONCERNED),
    str(Condition.CHECK_OVERDUE),
    str(Condition.OVER_LIMIT),
}
_engine: AlarmEngine | None = None


def set_engine(engine: AlarmEngine | None) -> None:
    global _engine
    _engine = engine


def current_engine() -> AlarmEngine | None:
    return _engine


__all__ = ["AlarmEngine", "DeviceKind", "current_engine", "sync_to_async"]
