"""Two staff tap the same booth at the same moment: exactly one wins, the other is told.

Real threads with their own database connections, released together by a barrier; run on the
SQLite leg and on the PostgreSQL leg of `make test`.
"""

import threading

import pytest
from django.db import connection

from vigil.accounts.roles import Role
from vigil.floor import actions
from vigil.floor.models import Occupancy, VisitStatus
from vigil.sites.models import PlaceKind
from vigil.testing import SiteFactory, StaffFactory, intake, participant

RUNS = 50


def _race(work: list) -> list[str]:
    barrier = threading.Barrier(len(work))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(call):
        try:
            barrier.wait(timeout=10)
            call()
            result = "won"
        except actions.PlaceTaken:
            result = "place taken"
        except actions.FloorError:
            result = "refused"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(call,)) for call in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


@pytest.mark.django_db(transaction=True)
def test_two_staff_assigning_the_same_booth_exactly_one_wins():
    site = SiteFactory(places={PlaceKind.BOOTH: 1})
    nurse, desk = (StaffFactory(role=r, sites=[site]) for r in (Role.NURSE, Role.FRONT_DESK))
    booth = site.places.get()
    for _ in range(RUNS):
        a = actions.check_in(site=site, participant=participant(site), intake=intake(), by=nurse)
        b = actions.check_in(site=site, participant=participant(site), intake=intake(), by=desk)
        outcomes = _race(
            [
                lambda a=a: actions.assign_place(visit=a, place=booth, by=nurse),
                lambda b=b: actions.assign_place(visit=b, place=booth, by=desk),
            ]
        )
        assert outcomes == ["place taken", "won"]
        seated = Occupancy.objects.get(place=booth, ended_at__isnull=True).visit
        loser = b if seated.pk == a.pk else a
        loser.refresh_from_db()
        assert loser.status == VisitStatus.WAITING
        actions.end_visit(visit=seated, reason="completed", by=nurse)
        actions.end_visit(visit=loser, reason="left_waiting", by=nurse)


@pytest.mark.django_db(transaction=True)
def test_one_person_sent_to_two_booths_at_once_lands_in_one():
    site = SiteFactory(places={PlaceKind.BOOTH: 2})
    nurse, desk = (StaffFactory(role=r, sites=[site]) for r in (Role.NURSE, Role.FRONT_DESK))
    b1, b2 = site.places.order_by("label")
    for _ in range(RUNS):
        visit = actions.check_in(
            site=site, participant=participant(site), intake=intake(), by=nurse
        )
        outcomes = _race(
            [
                lambda visit=visit: actions.assign_place(visit=visit, place=b1, by=nurse),
                lambda visit=visit: actions.assign_place(visit=visit, place=b2, by=desk),
            ]
        )
        assert outcomes[1] == "won" and outcomes[0] in {"refused", "place taken"}
        assert Occupancy.objects.filter(visit=visit, ended_at__isnull=True).count() == 1
        actions.end_visit(visit=visit, reason="completed", by=nurse)
