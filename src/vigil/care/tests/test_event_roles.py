"""Who may open event records beyond the URL × role table: writes refused to everyone but
nurses and site managers, staff of another site, and what each role is shown."""

from datetime import timedelta

import pytest
from django.urls import reverse

from vigil.accounts.roles import Role
from vigil.care.event_actions import open_event
from vigil.care.models import MedicalEvent
from vigil.floor import actions as floor
from vigil.lib import clock
from vigil.monitoring.models import Alarm
from vigil.testing import SiteFactory, StaffFactory, intake, participant

pytestmark = pytest.mark.django_db


def event_args(site, staff) -> dict:
    """URL arguments for the event rows of the URL × role table (accounts/tests/
    test_url_roles.py): a signed record (so its amendment page opens) and the site's alarm."""
    nurse = staff[Role.NURSE]
    alarm = Alarm.objects.filter(site=site).order_by("pk").first()
    assert alarm is not None, "the URL table's world raises an alarm"
    event = open_event(
        site=site,
        by=nurse,
        values={
            "kind": "overdose",
            "started_at": clock.now() - timedelta(minutes=20),
            "place": site.places.get(label="B2"),
            "signs": ["no_breathing"],
            "outcome": "recovered_on_site",
        },
        sign=True,
    )
    site_only = {"site_id": site.pk}
    return {
        "care:event-list": (site_only, {}),
        "care:event-new": (site_only, {}),
        "care:event-from-alarm": ({"pk": alarm.pk}, {}),
        "care:event-detail": ({"pk": event.pk}, {}),
        "care:event-amend": ({"pk": event.pk}, {}),
        "care:event-print": ({"pk": event.pk}, {}),
        "care:downtime-floor": (site_only, {}),
        "care:downtime-overdose": (site_only, {}),
    }


@pytest.fixture
def world():
    site = SiteFactory()
    staff = {role: StaffFactory(role=role, sites=[site]) for role in Role}
    staff[Role.ADMINISTRATOR].is_superuser = True
    staff[Role.ADMINISTRATOR].save()
    nurse = staff[Role.NURSE]
    visit = floor.check_in(
        site=site,
        participant=participant(site, alias="Robin"),
        intake=intake(),
        by=nurse,
        place=site.places.get(label="B1"),
    )
    event = open_event(
        site=site,
        by=nurse,
        values={
            "kind": "overdose",
            "started_at": clock.now() - timedelta(minutes=5),
            "signs": ["no_breathing"],
            "notes": "Responded to stimulation",
        },
        visit=visit,
    )
    return site, staff, visit, event


def _post_all(client, site, event, visit):
    now = clock.now().astimezone(site.tz).strftime("%Y-%m-%dT%H:%M")
    new = {"kind": "overdose", "started_at": now, "signs": ["no_breathing"], "new_rows": "0"}
    return [
        client.post(reverse("care:event-new", args=[site.pk]) + f"?visit={visit.pk}", new),
        client.post(reverse("care:event-new", args=[site.pk]) + "?late=1", new),
        client.post(reverse("care:event-detail", args=[event.pk]), {**new, "sign": "1"}),
        client.post(reverse("care:event-amend", args=[event.pk]), {**new, "reason": "x"}),
    ]


@pytest.mark.parametrize(
    "role", [Role.FRONT_DESK, Role.CASE_MANAGER, Role.EVALUATOR, Role.ADMINISTRATOR]
)
def test_only_nurses_and_site_managers_write_records(client, world, role):
    site, staff, visit, event = world
    client.force_login(staff[role])
    assert [r.status_code for r in _post_all(client, site, event, visit)] == [403] * 4
    event.refresh_from_db()
    assert MedicalEvent.objects.count() == 1 and event.signed_off_at is None


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.EVALUATOR, Role.ADMINISTRATOR])
def test_no_event_page_shows_an_alias_to_those_who_may_not_see_it(client, world, role):
    site, staff, visit, event = world
    client.force_login(staff[role])
    pages = [
        reverse("care:event-list", args=[site.pk]),
        reverse("care:event-detail", args=[event.pk]),
        reverse("care:event-print", args=[event.pk]),
        reverse("care:event-from-alarm", args=[1]),
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code in (403, 404), page
        assert b"Robin" not in response.content


def test_case_managers_read_summaries_but_not_the_record_form(client, world):
    site, staff, visit, event = world
    client.force_login(staff[Role.CASE_MANAGER])
    listing = client.get(reverse("care:event-list", args=[site.pk]))
    assert b"Robin" in listing.content
    assert reverse("care:event-print", args=[event.pk]).encode() in listing.content
    assert b"Record an event" not in listing.content
    summary = client.get(reverse("care:event-print", args=[event.pk]))
    assert summary.status_code == 200 and b"Responded to stimulation" in summary.content
    assert client.get(reverse("care:event-detail", args=[event.pk])).status_code == 403


def test_staff_of_another_site_see_nothing(client, world):
    site, staff, visit, event = world
    neighbour = StaffFactory(role=Role.NURSE, sites=[SiteFactory()])
    client.force_login(neighbour)
    for page in (
        reverse("care:event-list", args=[site.pk]),
        reverse("care:event-new", args=[site.pk]),
        reverse("care:event-detail", args=[event.pk]),
        reverse("care:event-print", args=[event.pk]),
        reverse("care:downtime-floor", args=[site.pk]),
    ):
        assert client.get(page).status_code == 404, page
    mine = neighbour.sites.get()
    # Someone else's visit cannot be smuggled into a record of one's own site.
    assert (
        client.get(reverse("care:event-new", args=[mine.pk]) + f"?visit={visit.pk}").status_code
        == 404
    )


def test_the_record_event_link_is_shown_to_those_who_may_record(client, world):
    site, staff, visit, event = world
    record = reverse("care:event-new", args=[site.pk])
    for role, shown in ((Role.NURSE, True), (Role.SITE_MANAGER, True), (Role.FRONT_DESK, False)):
        client.force_login(staff[role])
        board = client.get(reverse("floor:board", args=[site.pk])).content.decode()
        person = client.get(reverse("participants:detail", args=[visit.participant_id])).content
        assert (f"{record}?visit={visit.pk}" in board) is shown, role
        assert (f"{record}?participant={visit.participant_id}".encode() in person) is shown, role
    client.force_login(staff[Role.CASE_MANAGER])
    board = client.get(reverse("floor:board", args=[site.pk])).content.decode()
    assert record not in board and reverse("care:event-list", args=[site.pk]) in board
