"""Every write on the floor: check-in, places, checks, aftercare, exit.

Each action runs in one transaction and tells live screens only after it commits, so a screen
never shows a change that was rolled back.
"""

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from vigil.audit import record
from vigil.floor.models import Check, CheckResult, EndReason, Occupancy, Visit, VisitStatus
from vigil.lib import clock
from vigil.lib.hub import hub
from vigil.participants.actions import active_restrictions
from vigil.sites.models import Place, PlaceKind


class FloorError(Exception):
    """A floor action that was refused; the message is for staff."""


class PlaceTaken(FloorError):
    pass


def floor_topic(site_id: int) -> str:
    return f"floor:{site_id}"


def _announce(site_id: int) -> None:
    transaction.on_commit(lambda: hub.publish(floor_topic(site_id), {"type": "floor"}))


@dataclass
class Intake:
    substances: list[str]
    route: str
    otherwise_location: str
    otherwise_alone: bool | None = None
    drug_checked: bool = False
    extra: dict = field(default_factory=dict)


def check_in(*, site, participant, intake: Intake, by, place: Place | None = None) -> Visit:
    """Open a visit; the person goes to `place` if given and still free, else onto the wait
    list (the returned visit's status says which)."""
    if participant.merged_into_id:
        participant = participant.merged_into
    if participant.jurisdiction_id != site.jurisdiction_id:
        raise FloorError(_("This participant is registered with another jurisdiction."))
    if not intake.substances:
        raise FloorError(_("Choose at least one substance."))
    now = clock.now()
    restrictions = active_restrictions(participant, site, now)
    if restrictions:
        raise FloorError(
            _("%(alias)s has a service restriction until %(until)s (%(reason)s).")
            % {
                "alias": participant.alias,
                "until": restrictions[0].ends_at.astimezone(site.tz).strftime("%Y-%m-%d %H:%M"),
                "reason": restrictions[0].get_reason_display(),
            }
        )
    with transaction.atomic():
        open_visit = Visit.objects.filter(participant=participant).exclude(status=VisitStatus.ENDED)
        if open_visit.exists():
            raise FloorError(_("%(alias)s is already checked in.") % {"alias": participant.alias})
        visit = Visit.objects.create(
            site=site,
            participant=participant,
            checked_in_at=now,
            checked_in_by=by,
            substances=list(intake.substances),
            route=intake.route,
            otherwise_location=intake.otherwise_location,
            otherwise_alone=intake.otherwise_alone,
            drug_checked=intake.drug_checked,
            status=VisitStatus.WAITING,
        )
        record("visit.check_in", actor=by, subject=visit)
        _announce(site.pk)
    if place is not None:
        try:
            assign_place(visit=visit, place=place, by=by)
        except PlaceTaken:
            pass  # the person is checked in and waits; the caller sees status WAITING
        visit.refresh_from_db()
    return visit


def _occupy(visit: Visit, place: Place, now) -> Occupancy:
    try:
        with transaction.atomic():
            return Occupancy.objects.create(visit=visit, place=place, started_at=now)
    except IntegrityError as exc:
        raise PlaceTaken(
            _("%(place)s was just taken by someone else. Choose another place.")
            % {"place": place.label}
        ) from exc


def _locked_visit(visit: Visit) -> Visit:
    return Visit.objects.select_for_update().select_related("participant").get(pk=visit.pk)


def assign_place(*, visit: Visit, place: Place, by) -> Occupancy:
    """Seat a waiting person in a booth or seat. Exactly one of two simultaneous assignments
    of the same place wins; the other gets PlaceTaken."""
    if place.site_id != visit.site_id:
        raise FloorError(_("That place belongs to another site."))
    if not place.in_service:
        raise FloorError(_("%(place)s is out of service.") % {"place": place.label})
    if place.kind == PlaceKind.AFTERCARE:
        raise FloorError(_("Aftercare seats are for after use; choose a booth or seat."))
    with transaction.atomic():
        visit = _locked_visit(visit)
        if visit.status != VisitStatus.WAITING:
            raise FloorError(
                _("%(alias)s is not on the wait list.") % {"alias": visit.participant.alias}
            )
        occupancy = _occupy(visit, place, clock.now())
        visit.status = VisitStatus.IN_PLACE
        visit.save(update_fields=["status"])
        record("visit.assign_place", actor=by, subject=visit, detail={"place": place.pk})
        _announce(visit.site_id)
    return occupancy


def _open_occupancy(visit: Visit) -> Occupancy | None:
    return (
        Occupancy.objects.filter(visit=visit, ended_at__isnull=True).select_related("place").first()
    )


def record_check(*, occupancy: Occupancy, result: str, by) -> Check:
    if result not in CheckResult.values:
        raise FloorError(_("Unknown check result."))
    now = clock.now()
    with transaction.atomic():
        updated = Occupancy.objects.filter(pk=occupancy.pk, ended_at__isnull=True).update(
            last_check_at=now, last_check_result=result
        )
        if not updated:
            raise FloorError(_("That person has already moved on; the board is up to date now."))
        check = Check.objects.create(
            occupancy=occupancy, checked_at=now, checked_by=by, result=result
        )
        record(
            "visit.check",
            actor=by,
            subject=("floor.visit", occupancy.visit_id),
            site=occupancy.place.site_id,
            detail={"occupancy": occupancy.pk},
        )
        _announce(occupancy.place.site_id)
    return check


def move_to_aftercare(*, visit: Visit, seat: Place, by) -> Occupancy:
    if seat.site_id != visit.site_id or seat.kind != PlaceKind.AFTERCARE:
        raise FloorError(_("Choose an aftercare seat at this site."))
    if not seat.in_service:
        raise FloorError(_("%(place)s is out of service.") % {"place": seat.label})
    now = clock.now()
    with transaction.atomic():
        visit = _locked_visit(visit)
        if visit.status != VisitStatus.IN_PLACE:
            raise FloorError(
                _("%(alias)s is not in a booth or seat.") % {"alias": visit.participant.alias}
            )
        Occupancy.objects.filter(visit=visit, ended_at__isnull=True).update(ended_at=now)
        occupancy = _occupy(visit, seat, now)
        visit.status = VisitStatus.AFTERCARE
        visit.save(update_fields=["status"])
        record("visit.aftercare", actor=by, subject=visit, detail={"place": seat.pk})
        _announce(visit.site_id)
    return occupancy


def end_visit(*, visit: Visit, reason: str, by) -> Visit:
    if reason not in EndReason.values:
        raise FloorError(_("Choose how the visit ended."))
    now = clock.now()
    with transaction.atomic():
        visit = _locked_visit(visit)
        if visit.status == VisitStatus.ENDED:
            raise FloorError(_("%(alias)s has already left.") % {"alias": visit.participant.alias})
        Occupancy.objects.filter(visit=visit, ended_at__isnull=True).update(ended_at=now)
        visit.status = VisitStatus.ENDED
        visit.ended_at = now
        visit.end_reason = reason
        visit.save(update_fields=["status", "ended_at", "end_reason"])
        record("visit.end", actor=by, subject=visit)
        _announce(visit.site_id)
    return visit
