"""Floor screens: registered by a site manager, the board and alarms with no personal session,
a PIN for personal actions, "Seen" without one, lock, expiry, revocation; aliases only."""

import pytest
from django.contrib.auth.hashers import check_password
from django.urls import reverse

from vigil.accounts import actions as account_actions
from vigil.accounts.models import FloorScreen
from vigil.accounts.roles import Role
from vigil.accounts.screens import COOKIE
from vigil.floor import actions as floor
from vigil.lib.codes import build_code
from vigil.monitoring import actions as alarm_actions
from vigil.monitoring.models import AlarmEvent
from vigil.monitoring.rules import Condition
from vigil.testing import (
    SiteFactory,
    StaffFactory,
    code_items,
    floor_screen,
    intake,
    with_pin,
)

pytestmark = [pytest.mark.django_db, pytest.mark.db_any]

PIN = "2580"


@pytest.fixture
def site():
    return SiteFactory()


@pytest.fixture
def nurse(site):
    return with_pin(StaffFactory(role=Role.NURSE, sites=[site], first_name="Noor"), PIN)


@pytest.fixture
def floor_now(site, nurse):
    """Someone in B1 with a critical alarm; the code they registered with is known here."""
    from vigil.participants import actions as registry

    items = code_items()
    person = registry.register(
        jurisdiction=site.jurisdiction, items=items, alias="Juniper", site=site, oriented=True
    )
    visit = floor.check_in(
        site=site,
        participant=person,
        intake=intake(),
        by=nurse,
        place=site.places.get(label="B1"),
    )
    alarm, _ = alarm_actions.raise_alarm(
        place=site.places.get(label="B1"), kind=Condition.SPO2_CRITICAL, at=visit.checked_in_at
    )
    return person, build_code(items), visit, alarm


def unlock(client, staff, pin=PIN, next_url="/"):
    return client.post(reverse("screen-unlock"), {"staff": staff.pk, "pin": pin, "next": next_url})


def test_a_site_manager_registers_the_device_it_is_using(client, site):
    manager = StaffFactory(role=Role.SITE_MANAGER, sites=[site])
    client.force_login(manager)
    page = client.get(reverse("screen-register"))
    assert page.status_code == 200
    response = client.post(reverse("screen-register"), {"site": site.pk, "name": "Nurse station"})
    assert response.status_code == 302
    assert response.url == reverse("floor:board", args=[site.pk])
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] and int(cookie["max-age"]) > 365 * 24 * 3600
    screen = FloorScreen.objects.get()
    assert screen.registered_by == manager and screen.site == site
    assert screen.token_hash == FloorScreen.digest(cookie.value)  # only the hash is kept
    assert "_auth_user_id" not in client.session  # the manager is signed out of the screen
    board = client.get(response.url)
    assert board.status_code == 200 and b"Nurse station" in board.content


def test_nurses_cannot_register_screens(client, site, nurse):
    client.force_login(nurse)
    assert client.get(reverse("screen-register")).status_code == 403
    assert client.get(reverse("screens")).status_code == 403


def test_a_locked_screen_shows_board_and_alarms_with_aliases_never_codes(
    client, site, nurse, floor_now
):
    person, code, visit, alarm = floor_now
    floor_screen(client, site)
    pages = [
        client.get(reverse("floor:board", args=[site.pk])),
        client.get(reverse("floor:board-fragment", args=[site.pk])),
        client.get(reverse("monitoring:panel", args=[site.pk])),
    ]
    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert code not in html and person.code_hash not in html
    assert "Juniper" in pages[0].content.decode()
    assert f'data-alarm="{alarm.pk}"' in pages[2].content.decode()
    assert client.get(reverse("floor:events", args=[site.pk])).status_code == 200


def test_the_unlock_page_names_people_not_participants(client, site, nurse, floor_now):
    person, code, *_ = floor_now
    floor_screen(client, site)
    html = client.get(reverse("screen-unlock")).content.decode()
    assert "Noor" in html and "Juniper" not in html and code not in html


def test_seen_needs_no_pin_and_is_put_down_to_the_screen(client, site, nurse, floor_now):
    *_, alarm = floor_now
    floor_screen(client, site, name="Wall screen")
    response = client.post(
        reverse("monitoring:acknowledge", args=[alarm.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 204
    alarm.refresh_from_db()
    assert alarm.state == "acknowledged" and alarm.acknowledged_by is None
    event = AlarmEvent.objects.get(alarm=alarm, kind="acknowledged")
    assert event.by is None and event.detail == {"floor_screen": "Wall screen"}


def test_personal_actions_wait_for_a_pin_then_are_the_persons(client, site, nurse, floor_now):
    person, code, visit, alarm = floor_now
    floor_screen(client, site)
    claim = reverse("monitoring:claim", args=[alarm.pk])
    asked = client.post(claim, HTTP_HX_REQUEST="true")
    assert asked.status_code == 200 and asked["HX-Redirect"].startswith(reverse("screen-unlock"))
    alarm.refresh_from_db()
    assert alarm.state == "active"  # nothing happened
    record = reverse("participants:detail", args=[person.pk])
    assert client.get(record).url.startswith(reverse("screen-unlock"))
    wrong = unlock(client, nurse, pin="9137")
    assert wrong.status_code == 400 and b"Wrong PIN" in wrong.content
    assert unlock(client, nurse, next_url=record).url == record
    assert client.post(claim, HTTP_HX_REQUEST="true").status_code == 204
    alarm.refresh_from_db()
    assert alarm.state == "claimed" and alarm.claimed_by == nurse
    page = client.get(record)
    assert page.status_code == 200 and code not in page.content.decode()
    board = client.get(reverse("floor:board", args=[site.pk])).content.decode()
    assert "unlocked for Noor" in board


def test_an_unlock_runs_out_and_one_tap_locks(client, site, nurse, floor_now, session_clock):
    person, code, visit, alarm = floor_now
    floor_screen(client, site)
    record = reverse("participants:detail", args=[person.pk])
    unlock(client, nurse)
    assert client.get(record).status_code == 200
    session_clock.advance(minutes=5, seconds=1)
    assert client.get(record).url.startswith(reverse("screen-unlock"))
    assert client.get(reverse("floor:board", args=[site.pk])).status_code == 200  # still on
    unlock(client, nurse)
    assert client.get(record).status_code == 200
    locked = client.post(reverse("screen-lock"))
    assert locked.url == reverse("floor:board", args=[site.pk])
    assert client.get(record).url.startswith(reverse("screen-unlock"))


def test_wrong_pins_lock_the_pin(client, site, nurse):
    floor_screen(client, site)
    for _ in range(account_actions.PIN_FAILURES_PER_PERSON):
        assert unlock(client, nurse, pin="9137").status_code == 400
    locked = unlock(client, nurse)  # the right PIN, too late
    assert locked.status_code == 400 and b"locked" in locked.content
    assert FloorScreen.objects.get().unlocked_by is None


def test_a_screen_that_keeps_guessing_is_locked_for_everyone(client, site):
    people = [
        with_pin(StaffFactory(role=Role.NURSE, sites=[site]), PIN)
        for _ in range(account_actions.PIN_FAILURES_PER_SCREEN // 2)
    ]
    floor_screen(client, site)
    for person in people:
        for _ in range(2):
            unlock(client, person, pin="9137")
    assert unlock(client, people[0]).status_code == 400
    assert b"on this screen" in unlock(client, people[0]).content


def test_a_pin_is_set_on_ones_own_account_hashed(client, site):
    desk = StaffFactory(role=Role.FRONT_DESK, sites=[site])
    client.force_login(desk)
    too_easy = client.post(reverse("account-pin"), {"pin": "1234", "again": "1234"})
    assert too_easy.status_code == 400
    response = client.post(reverse("account-pin"), {"pin": "40719", "again": "40719"})
    assert response.url == reverse("account")
    desk.refresh_from_db()
    assert "40719" not in desk.pin_hash and check_password("40719", desk.pin_hash)


def test_only_the_screens_site_and_its_staff(client, site, nurse):
    elsewhere = SiteFactory()
    stranger = with_pin(StaffFactory(role=Role.NURSE, sites=[elsewhere]), PIN)
    floor_screen(client, site)
    assert client.get(reverse("floor:board", args=[elsewhere.pk])).status_code == 404
    assert unlock(client, stranger).status_code == 400
    unlock(client, nurse)
    assert client.get(reverse("floor:desk", args=[elsewhere.pk])).status_code == 404


def test_no_admin_account_or_screen_pages_on_a_screen_even_unlocked(client, site):
    manager = with_pin(StaffFactory(role=Role.SITE_MANAGER, sites=[site]), PIN)
    floor_screen(client, site)
    unlock(client, manager)
    for name in ("account", "screens", "screen-register", "reauth"):
        assert client.get(reverse(name)).status_code == 403, name
    assert client.get(reverse("admin:index")).status_code == 403


def test_a_revoked_screen_shows_nothing(client, site, nurse):
    manager = StaffFactory(role=Role.SITE_MANAGER, sites=[site])
    screen = floor_screen(client, site, by=manager)
    board = reverse("floor:board", args=[site.pk])
    assert client.get(board).status_code == 200
    other = client.__class__()
    other.force_login(manager)
    listed = other.get(reverse("screens"))
    assert b"Nurse station" in listed.content
    assert other.post(reverse("screen-revoke", args=[screen.pk])).status_code == 302
    response = client.get(board)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert client.get(reverse("monitoring:panel", args=[site.pk])).status_code == 302


def test_a_personal_session_on_the_same_browser_wins(client, site, nurse):
    floor_screen(client, site)
    desk = StaffFactory(role=Role.FRONT_DESK, sites=[site], first_name="Dana")
    client.force_login(desk)
    page = client.get(reverse("floor:board", args=[site.pk])).content.decode()
    assert "Dana" in page and "Nurse station" not in page
    client.post(reverse("logout"))
    assert client.cookies[COOKIE].value  # still a screen once the person signs out
    assert b"Nurse station" in client.get(reverse("floor:board", args=[site.pk])).content
