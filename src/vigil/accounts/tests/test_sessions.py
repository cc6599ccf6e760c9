"""Personal sessions: 15 minutes idle, 12 hours in all; the live stream is not activity;
re-authentication before administrative changes and exports."""

import asyncio
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from vigil.accounts.reauth import recent_auth
from vigil.accounts.roles import Role
from vigil.accounts.sessions import SIGNED_OUT_EVENT, SessionTimes, guard_stream
from vigil.testing import PASSWORD, SiteFactory, StaffFactory, totp_code

pytestmark = [pytest.mark.django_db, pytest.mark.db_any]


@pytest.fixture
def site():
    return SiteFactory()


@pytest.fixture
def nurse(site):
    return StaffFactory(role=Role.NURSE, sites=[site])


def signed_in(client) -> bool:
    return get_user(client).is_authenticated


def test_session_times_end_at_idle_or_absolute_whichever_comes_first(session_clock):
    start = session_clock.now
    idle, absolute = timedelta(minutes=15), timedelta(hours=12)
    times = SessionTimes(signed_in_at=start, seen_at=start + timedelta(hours=2))
    assert times.why_ended(start + timedelta(hours=2, minutes=14), idle, absolute) == ""
    assert times.why_ended(start + timedelta(hours=2, minutes=15), idle, absolute) == "idle"
    late = SessionTimes(signed_in_at=start, seen_at=start + timedelta(hours=11, minutes=59))
    assert late.why_ended(start + timedelta(hours=12), idle, absolute) == "absolute"
    assert late.ends_at(idle, absolute) == start + absolute


def test_fifteen_minutes_without_activity_sign_a_person_out(client, site, nurse, session_clock):
    client.force_login(nurse)
    board = reverse("floor:board", args=[site.pk])
    for _ in range(3):  # activity keeps the session alive, well past 15 minutes in all
        session_clock.advance(minutes=14)
        assert client.get(board).status_code == 200
    session_clock.advance(minutes=15)
    response = client.get(board)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert not signed_in(client)
    assert b"15 minutes without activity" in client.get(response.url).content


def test_the_live_stream_is_not_activity(client, site, nurse, session_clock):
    client.force_login(nurse)
    board = reverse("floor:board", args=[site.pk])
    assert client.get(board).status_code == 200
    session_clock.advance(minutes=10)
    # What an EventSource asks (here of a page that answers at once: the test client cannot
    # hold a stream open; the stream itself is in tests/e2e).
    live = client.get(reverse("monitoring:panel", args=[site.pk]), HTTP_ACCEPT="text/event-stream")
    assert live.status_code == 200
    session_clock.advance(minutes=6)  # 16 minutes after the last tap
    assert client.get(board).status_code == 302
    assert not signed_in(client)


def test_a_tap_after_the_session_ended_sends_the_page_to_sign_in(
    client, site, nurse, session_clock
):
    client.force_login(nurse)
    board = "http://testserver" + reverse("floor:board", args=[site.pk])
    session_clock.advance(minutes=16)
    response = client.post(
        reverse("floor:check", args=[site.pk]),
        {"occupancy": 1, "result": "ok"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=board,
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("login") + "?next=" + reverse(
        "floor:board", args=[site.pk]
    )


def test_twelve_hours_end_a_session_however_active(client, site, nurse, session_clock):
    client.force_login(nurse)
    page = reverse("account")
    for _ in range(11 * 6 + 5):  # a request every 10 minutes for 11 h 50 min
        session_clock.advance(minutes=10)
        assert client.get(page).status_code == 200
    session_clock.advance(minutes=10)
    response = client.get(page)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert b"after 12 hours" in client.get(response.url).content


def test_a_stream_outliving_its_session_says_so_and_ends():
    async def forever():
        while True:
            await asyncio.sleep(0.01)
            yield "event: board\ndata: x\n\n"

    async def collect():
        guarded = guard_stream(forever(), SIGNED_OUT_EVENT, seconds=0.1)
        return [chunk async for chunk in guarded]

    chunks = asyncio.run(collect())
    assert chunks[-1] == SIGNED_OUT_EVENT
    # Until then the stream's own events pass through unchanged.
    assert chunks[:-1] and set(chunks[:-1]) == {"event: board\ndata: x\n\n"}


def test_a_guarded_stream_ends_when_no_longer_valid_without_losing_a_slow_event():
    """A check between two slow events does not cancel the event on its way."""
    state = {"valid": True, "checks": 0}

    async def slow():
        for n in range(3):
            await asyncio.sleep(0.05)
            yield f"event {n}"
        state["valid"] = False
        while True:
            await asyncio.sleep(0.05)
            yield "after"

    async def still_valid():
        state["checks"] += 1
        return state["valid"]

    async def collect():
        guarded = guard_stream(slow(), "bye", still_valid=still_valid, every=0.02)
        return [chunk async for chunk in guarded]

    chunks = asyncio.run(collect())
    assert chunks[:3] == ["event 0", "event 1", "event 2"] and chunks[-1] == "bye"
    assert state["checks"] >= 3


def test_a_live_request_of_an_ended_session_is_refused(client, site, nurse, session_clock):
    client.force_login(nurse)
    session_clock.advance(minutes=20)
    response = client.get(
        reverse("monitoring:panel", args=[site.pk]), HTTP_ACCEPT="text/event-stream"
    )
    assert response.status_code == 302 and not signed_in(client)


# --- re-authentication --------------------------------------------------------------------


@pytest.fixture
def administrator():
    return StaffFactory(role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True)


def test_admin_changes_need_password_and_code_again_after_five_minutes(
    client, administrator, session_clock
):
    client.force_login(administrator)
    change = reverse("admin:accounts_staff_change", args=[administrator.pk])
    assert client.get(change).status_code == 200  # just signed in: recent enough
    session_clock.advance(minutes=6)
    assert client.get(reverse("admin:index")).status_code == 200  # reading is not a change
    response = client.get(change)
    assert response.status_code == 302 and response.url.startswith(reverse("reauth"))
    wrong = client.post(response.url, {"password": "not it", "code": totp_code(administrator)})
    assert wrong.status_code == 400
    done = client.post(response.url, {"password": PASSWORD, "code": totp_code(administrator)})
    assert done.status_code == 302 and done.url == change
    assert client.get(change).status_code == 200


def test_recent_auth_guards_a_view(rf_session, nurse, session_clock):
    """The decorator other apps put on their exports."""

    @recent_auth
    def export(request):
        return HttpResponse("csv")

    request = rf_session(nurse, "/reports/export.csv")
    assert export(request).status_code == 200
    session_clock.advance(minutes=5, seconds=1)
    response = export(request)
    assert response.status_code == 302
    assert response.url == reverse("reauth") + "?next=%2Freports%2Fexport.csv"


def test_a_posted_change_goes_back_to_its_form_after_reauthentication(client, nurse, session_clock):
    client.force_login(nurse)
    session_clock.advance(minutes=6)
    account = "http://testserver" + reverse("account")
    response = client.post(
        reverse("account-pin"), {"pin": "4826", "again": "4826"}, HTTP_REFERER=account
    )
    assert response.url == reverse("reauth") + "?next=" + re.sub(
        r"[:/]", lambda m: {":": "%3A", "/": "%2F"}[m.group()], account
    )
    nurse.refresh_from_db()
    assert not nurse.pin_hash  # nothing changed


def test_the_evaluator_reauthenticates_with_a_password(client, session_clock):
    evaluator = StaffFactory(role=Role.EVALUATOR)
    client.force_login(evaluator)
    page = client.get(reverse("reauth"))
    assert page.status_code == 200 and b'name="code"' not in page.content
    assert client.post(reverse("reauth"), {"password": PASSWORD}).status_code == 302


@pytest.fixture
def rf_session(db):
    from importlib import import_module

    from django.conf import settings

    from vigil.accounts.sessions import wall_clock
    from vigil.accounts.twofactor import VERIFIED_AT

    def make(user, path):
        request = RequestFactory().get(path)
        request.user = user
        request.session = import_module(settings.SESSION_ENGINE).SessionStore()
        request.session[VERIFIED_AT] = wall_clock().timestamp()
        return request

    return make
