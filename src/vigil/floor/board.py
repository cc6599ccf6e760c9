"""What the floor board shows: every place as a tile, the open alarms, and the wait list.

A fixed number of queries whatever the site's history: the places, the open occupancies with
their visit and participant, the open alarms, the wait list, and the floor notices. Live vitals
come from the alarm engine's memory, not the database.
"""

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils.translation import gettext_lazy as _

from vigil.floor.models import CheckResult, Occupancy, Visit, VisitStatus
from vigil.floor.supervision import Supervision, Timers, supervise
from vigil.monitoring.models import PRIORITY_RANK, open_alarms_by_urgency
from vigil.sites.models import Place, PlaceKind, Site

GROUPS = [
    (PlaceKind.BOOTH, _("Booths")),
    (PlaceKind.INHALATION, _("Inhalation room")),
    (PlaceKind.OBSERVATION, _("Observation")),
    (PlaceKind.WASHROOM, _("Washrooms")),
    (PlaceKind.AFTERCARE, _("Aftercare")),
]


TREND_SECONDS = 120


@dataclass
class Vitals:
    spo2: float | None
    pulse: float | None
    resp: float | None
    spo2_path: str
    resp_path: str
    stale: bool


@dataclass
class Tile:
    place: Place
    occupancy: Occupancy | None
    supervision: Supervision | None
    now: datetime
    alarms: list = field(default_factory=list)
    vitals: Vitals | None = None

    @property
    def elapsed_minutes(self) -> int:
        return int(self.supervision.elapsed.total_seconds() // 60) if self.supervision else 0

    @property
    def checked_minutes_ago(self) -> int | None:
        if not self.occupancy or not self.occupancy.last_check_at:
            return None
        return max(int((self.now - self.occupancy.last_check_at).total_seconds() // 60), 0)

    @property
    def visit(self) -> Visit | None:
        return self.occupancy.visit if self.occupancy else None

    @property
    def colour(self) -> str:
        """The most urgent of the tile's alarms and its supervision state."""
        if not self.place.in_service:
            return "out"
        colours = [a.priority for a in self.alarms]
        if self.supervision and self.supervision.colour.value != "none":
            colours.append(self.supervision.colour.value)
        if colours:
            return max(colours, key=lambda c: PRIORITY_RANK.get(c, 0))
        return "none" if self.occupancy else "free"

    @property
    def alarm_kinds(self) -> set[str]:
        """Kinds with an open alarm: the tile shows those as alarms, not again as timers."""
        return {a.kind for a in self.alarms}

    @property
    def flashing(self) -> bool:
        return any(a.state == "active" for a in self.alarms)


@dataclass
class TileGroup:
    kind: str
    title: object
    tiles: list[Tile]

    @property
    def free(self) -> int:
        return sum(1 for t in self.tiles if t.occupancy is None and t.place.in_service)


@dataclass
class Board:
    site: Site
    now: datetime
    groups: list[TileGroup]
    waiting: list[Visit]
    alarms: list = field(default_factory=list)
    notices: list = field(default_factory=list)
    # A partial board (`build_board(only=...)`) holds some tiles only; it brings the free
    # aftercare seats along, as its own tiles cannot tell them.
    partial_free_aftercare: list[Place] | None = None

    @property
    def next_waiting(self) -> Visit | None:
        return self.waiting[0] if self.waiting else None

    def free_places(self, aftercare: bool) -> list[Place]:
        return [
            t.place
            for g in self.groups
            for t in g.tiles
            if t.occupancy is None
            and t.place.in_service
            and (g.kind == PlaceKind.AFTERCARE) == aftercare
        ]

    @property
    def free_use_places(self) -> list[Place]:
        return self.free_places(aftercare=False)

    @property
    def free_aftercare(self) -> list[Place]:
        if self.partial_free_aftercare is not None:
            return self.partial_free_aftercare
        return self.free_places(aftercare=True)

    @property
    def occupied(self) -> int:
        return sum(1 for g in self.groups for t in g.tiles if t.occupancy is not None)


def timers_for(site: Site, kind: str) -> Timers:
    """The supervision timers of a place of `kind` at `site`."""
    if kind == PlaceKind.AFTERCARE:
        return Timers(
            check_interval=timedelta(minutes=site.check_interval_aftercare_minutes),
            grace=timedelta(minutes=site.check_grace_minutes),
            occupancy_limit=None,
        )
    return Timers(
        check_interval=timedelta(minutes=site.check_interval_place_minutes),
        grace=timedelta(minutes=site.check_grace_minutes),
        occupancy_limit=timedelta(minutes=site.occupancy_limit_minutes),
    )


def build_board(site: Site, now: datetime, only: Collection[int] | None = None) -> Board:
    """The board of `site` at `now`.

    With `only`, a partial board for re-sending those places' tiles when their alarms changed:
    just their tiles (with live vitals), the first of the wait list and the free aftercare
    seats, which is all a tile shows. Building every place's tile and trend lines for one
    changed tile would put hundreds of milliseconds on the alarm path's CPU."""
    place_rows = Place.objects.filter(site=site)
    occupancy_rows = Occupancy.objects.filter(place__site=site, ended_at__isnull=True)
    waiting_rows = (
        Visit.objects.filter(site=site, status=VisitStatus.WAITING)
        .exclude(status=VisitStatus.ENDED)  # lets the planner use the open-visits index
        .select_related("participant")
        .order_by("checked_in_at", "pk")
    )
    free_aftercare = None
    if only is not None:
        place_rows = place_rows.filter(pk__in=only)
        occupancy_rows = occupancy_rows.filter(place_id__in=only)
        waiting_rows = waiting_rows[:1]
        free_aftercare = list(
            Place.objects.filter(site=site, kind=PlaceKind.AFTERCARE, in_service=True)
            .exclude(pk__in=Occupancy.objects.filter(ended_at__isnull=True).values("place_id"))
            .order_by("position", "label")
        )
    places = list(place_rows.order_by("position", "label"))
    occupancies = {o.place_id: o for o in occupancy_rows.select_related("visit__participant")}
    waiting = list(waiting_rows)
    open_alarms = open_alarms_by_urgency(site, now)
    alarms_by_place: dict[int, list] = {}
    for alarm in open_alarms:
        alarms_by_place.setdefault(alarm.place_id, []).append(alarm)
    by_kind: dict[str, list[Tile]] = {kind: [] for kind, _ in GROUPS}
    for place in places:
        occupancy = occupancies.get(place.pk)
        state = None
        if occupancy is not None:
            state = supervise(
                started_at=occupancy.started_at,
                last_check_at=occupancy.last_check_at,
                last_check_concerned=occupancy.last_check_result == CheckResult.CONCERNED,
                timers=timers_for(site, place.kind),
                now=now,
            )
        by_kind[place.kind].append(
            Tile(
                place=place,
                occupancy=occupancy,
                supervision=state,
                now=now,
                alarms=alarms_by_place.get(place.pk, []),
                vitals=_vitals(place.pk, now),
            )
        )
    groups = [TileGroup(kind, title, by_kind[kind]) for kind, title in GROUPS if by_kind[kind]]
    if only is not None:
        return Board(
            site=site,
            now=now,
            groups=groups,
            waiting=waiting,
            alarms=open_alarms,
            partial_free_aftercare=free_aftercare,
        )
    from vigil.care.models import FloorNotice

    # Notices for all staff (e.g. fentanyl found where heroin was expected), newest first.
    notices = list(
        FloorNotice.objects.filter(
            site=site, dismissed_at__isnull=True, expires_at__gt=now
        ).order_by("-posted_at")[:3]
    )
    return Board(
        site=site, now=now, groups=groups, waiting=waiting, alarms=open_alarms, notices=notices
    )


def _vitals(place_id: int, now: datetime) -> Vitals | None:
    """The latest values and a two-minute trend, from the engine's memory (None without it)."""
    from vigil.lib.charts import sparkline
    from vigil.monitoring.engine import current_engine

    engine = current_engine()
    if engine is None:
        return None
    last, trend = engine.vitals(place_id)
    if last is None:
        return None
    since = now - timedelta(seconds=TREND_SECONDS)
    recent = [o for o in trend if o.received_at >= since]
    return Vitals(
        spo2=last.spo2,
        pulse=last.pulse,
        resp=last.resp,
        spo2_path=sparkline([o.spo2 for o in recent], low=70, high=100),
        resp_path=sparkline([o.resp for o in recent], low=0, high=30),
        stale=(now - last.received_at).total_seconds() > 10,
    )


def live_vitals(site: Site, now: datetime) -> dict[str, dict]:
    """Every occupied place's latest vitals and trend, keyed by place label, for the screens'
    small per-second `vitals` event (the whole board is not re-sent for them). A place the
    engine has nothing for is listed with `"none": True` so its screen hides old figures."""
    from vigil.monitoring.templatetags.alarms import vital

    labels = Occupancy.objects.filter(place__site=site, ended_at__isnull=True).values_list(
        "place_id", "place__label"
    )
    payload: dict[str, dict] = {}
    for place_id, label in labels:
        vitals = _vitals(place_id, now)
        if vitals is None:
            payload[label] = {"none": True}
            continue
        payload[label] = {
            "spo2": vital(vitals.spo2),
            "resp": vital(vitals.resp),
            "pulse": vital(vitals.pulse),
            "spo2_path": vitals.spo2_path,
            "resp_path": vitals.resp_path,
            "stale": vitals.stale,
        }
    return payload
