from datetime import timedelta

import pytest

from vigil.accounts.roles import Role
from vigil.floor import actions
from vigil.floor.board import build_board
from vigil.floor.models import Check, EndReason, Occupancy, Visit, VisitStatus
from vigil.lib import clock
from vigil.participants import actions as registry
from vigil.sites.models import PlaceKind
from vigil.testing import SiteFactory, StaffFactory, intake, participant

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    return SiteFactory(places={PlaceKind.BOOTH: 2, PlaceKind.AFTERCARE: 1})


@pytest.fixture
def nurse(site):
    return StaffFactory(role=Role.NURSE, sites=[site])


def places(site):
    return {p.label: p for p in site.places.all()}


def test_check_in_to_booth_to_aftercare_to_exit(site, nurse):
    person = participant(site, alias="Kovalu")
    visit = actions.check_in(site=site, participant=person, intake=intake(), by=nurse)
    assert visit.status == VisitStatus.WAITING
    assert [v.pk for v in build_board(site, clock.now()).waiting] == [visit.pk]

    occupancy = actions.assign_place(visit=visit, place=places(site)["B1"], by=nurse)
    visit.refresh_from_db()
    assert visit.status == VisitStatus.IN_PLACE
    actions.record_check(occupancy=occupancy, result="ok", by=nurse)
    assert Check.objects.get().result == "ok"

    actions.move_to_aftercare(visit=visit, seat=places(site)["A1"], by=nurse)
    visit.refresh_from_db()
    assert visit.status == VisitStatus.AFTERCARE
    assert list(
        Occupancy.objects.filter(ended_at__isnull=True).values_list("place__label", flat=True)
    ) == ["A1"]

    actions.end_visit(visit=visit, reason=EndReason.COMPLETED, by=nurse)
    visit.refresh_from_db()
    assert visit.status == VisitStatus.ENDED and visit.end_reason == "completed"
    assert not Occupancy.objects.filter(ended_at__isnull=True).exists()
    board = build_board(site, clock.now())
    assert board.occupied == 0 and board.waiting == []


def test_check_in_straight_to_a_place(site, nurse):
    visit = actions.check_in(
        site=site,
        participant=participant(site),
        intake=intake(),
        by=nurse,
        place=places(site)["B2"],
    )
    visit.refresh_from_db()
    assert visit.status == VisitStatus.IN_PLACE
    assert visit.occupancies.get().place.label == "B2"


def test_a_taken_place_is_refused_and_the_person_stays_waiting(site, nurse):
    first = actions.check_in(site=site, participant=participant(site), intake=intake(), by=nurse)
    second = actions.check_in(site=site, participant=participant(site), intake=intake(), by=nurse)
    actions.assign_place(visit=first, place=places(site)["B1"], by=nurse)
    with pytest.raises(actions.PlaceTaken, match="B1 was just taken"):
        actions.assign_place(visit=second, place=places(site)["B1"], by=nurse)
    second.refresh_from_db()
    assert second.status == VisitStatus.WAITING


def test_refusals_change_nothing(site, nurse):
    person = participant(site)
    other_site = SiteFactory()
    with pytest.raises(actions.FloorError, match="at least one substance"):
        actions.check_in(site=site, participant=person, intake=intake(substances=[]), by=nurse)
    visit = actions.check_in(site=site, participant=person, intake=intake(), by=nurse)
    with pytest.raises(actions.FloorError, match="already checked in"):
        actions.check_in(site=site, participant=person, intake=intake(), by=nurse)
    with pytest.raises(actions.FloorError, match="another site"):
        actions.assign_place(visit=visit, place=other_site.places.first(), by=nurse)
    with pytest.raises(actions.FloorError, match="Aftercare seats"):
        actions.assign_place(visit=visit, place=places(site)["A1"], by=nurse)
    with pytest.raises(actions.FloorError, match="not in a booth"):
        actions.move_to_aftercare(visit=visit, seat=places(site)["A1"], by=nurse)
    assert Visit.objects.count() == 1 and not Occupancy.objects.exists()


def test_restriction_is_shown_and_blocks_check_in_until_it_ends(site, nurse):
    person = participant(site, alias="Bamoto")
    restriction = registry.restrict(
        participant=person, reason="violence", hours=24, by=nurse, site=site
    )
    with pytest.raises(actions.FloorError, match="service restriction"):
        actions.check_in(site=site, participant=person, intake=intake(), by=nurse)
    with clock.frozen(restriction.ends_at + timedelta(seconds=1)):
        actions.check_in(site=site, participant=person, intake=intake(), by=nurse)
    assert Visit.objects.filter(participant=person).count() == 1


def test_checks_on_someone_who_left_are_refused(site, nurse):
    visit = actions.check_in(
        site=site,
        participant=participant(site),
        intake=intake(),
        by=nurse,
        place=places(site)["B1"],
    )
    occupancy = visit.occupancies.get()
    actions.end_visit(visit=visit, reason=EndReason.LEFT_EARLY, by=nurse)
    with pytest.raises(actions.FloorError, match="already moved on"):
        actions.record_check(occupancy=occupancy, result="ok", by=nurse)
    assert not Check.objects.exists()


def test_board_queries_do_not_grow_with_people(site, nurse, django_assert_num_queries):
    for label in ("B1", "B2"):
        actions.check_in(
            site=site,
            participant=participant(site),
            intake=intake(),
            by=nurse,
            place=places(site)[label],
        )
    for _ in range(3):
        actions.check_in(site=site, participant=participant(site), intake=intake(), by=nurse)
    with django_assert_num_queries(5):  # places, occupancies, open alarms, wait list, notices
        board = build_board(site, clock.now())
        assert board.occupied == 2 and len(board.waiting) == 3


def test_check_in_to_a_place_taken_meanwhile_puts_the_person_on_the_wait_list(site, nurse):
    actions.check_in(
        site=site,
        participant=participant(site),
        intake=intake(),
        by=nurse,
        place=places(site)["B1"],
    )
    late = actions.check_in(
        site=site,
        participant=participant(site),
        intake=intake(),
        by=nurse,
        place=places(site)["B1"],
    )
    assert late.status == VisitStatus.WAITING
    assert not late.occupancies.exists()
