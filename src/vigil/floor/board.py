"""What the floor board shows: every place as a tile, and the wait list.

A fixed number of queries whatever the site's history: the places, the open occupancies with
their visit and participant, and the wait list.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.translation import gettext_lazy as _

from vigil.floor.models import CheckResult, Occupancy, Visit, VisitStatus
from vigil.floor.supervision import Supervision, Timers, supervise
from vigil.sites.models import Place, PlaceKind, Site

GROUPS = [
    (PlaceKind.BOOTH, _("Booths")),
    (PlaceKind.INHALATION, _("Inhalation room")),
    (PlaceKind.OBSERVATION, _("Observation")),
    (PlaceKind.WASHROOM, _("Washrooms")),
    (PlaceKind.AFTERCARE, _("Aftercare")),
]


@dataclass
class Tile:
    place: Place
    occupancy: Occupancy | None
    supervision: Supervision | None
    now: datetime

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
        if not self.place.in_service:
            return "out"
        return self.supervision.colour.value if self.supervision else "free"


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
        return self.free_places(aftercare=True)

    @property
    def occupied(self) -> int:
        return sum(1 for g in self.groups for t in g.tiles if t.occupancy is not None)


def timers_for(site: Site, place: Place) -> Timers:
    if place.kind == PlaceKind.AFTERCARE:
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


def build_board(site: Site, now: datetime) -> Board:
    places = list(Place.objects.filter(site=site).order_by("position", "label"))
    occupancies = {
        o.place_id: o
        for o in Occupancy.objects.filter(place__site=site, ended_at__isnull=True).select_related(
            "visit__participant"
        )
    }
    waiting = list(
        Visit.objects.filter(site=site, status=VisitStatus.WAITING)
        .select_related("participant")
        .order_by("checked_in_at", "pk")
    )
    by_kind: dict[str, list[Tile]] = {kind: [] for kind, _ in GROUPS}
    for place in places:
        occupancy = occupancies.get(place.pk)
        state = None
        if occupancy is not None:
            state = supervise(
                started_at=occupancy.started_at,
                last_check_at=occupancy.last_check_at,
                last_check_concerned=occupancy.last_check_result == CheckResult.CONCERNED,
                timers=timers_for(site, place),
                now=now,
            )
        by_kind[place.kind].append(
            Tile(place=place, occupancy=occupancy, supervision=state, now=now)
        )
    groups = [TileGroup(kind, title, by_kind[kind]) for kind, title in GROUPS if by_kind[kind]]
    return Board(site=site, now=now, groups=groups, waiting=waiting)
