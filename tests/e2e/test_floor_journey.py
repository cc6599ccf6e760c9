"""Front desk and nurse in two browsers: check-in, booth, live board over SSE, server restart,
check, aftercare, exit."""

import re
import signal

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e
LIVE = 10_000  # ms a pushed change may take to show: generous for a loaded CI machine


def register_and_check_in(desk, alias, place_label, code):
    desk.click("text=Check-in desk") if "/desk/" not in desk.url else None
    desk.click("text=Register a new participant")
    desk.fill("#id_mother_first_name", code["mother"])
    desk.fill("#id_birth_day", code["day"])
    desk.fill("#id_birth_year", code["year"])
    desk.check(f"input[name=code_gender][value={code['gender']}]")
    desk.fill("#id_birthplace", code["place"])
    desk.fill("#id_alias", alias)
    desk.check("#id_oriented")
    desk.click("text=Register and continue to check-in")
    expect(desk.locator("h1")).to_contain_text(f"Check in {alias}")
    desk.check("input[name=substances][value=fentanyl]")
    desk.check("input[name=route][value=inject]")
    desk.check("input[name=otherwise_location][value=public]")
    desk.select_option("select[name=place]", label=place_label)
    desk.click("button:has-text('Check in')")
    expect(desk.locator(".message")).to_contain_text(f"{alias} checked in → {place_label}")


def test_check_in_to_exit_with_a_live_board_that_survives_a_restart(browser, vigil_server):
    desk = sign_in(browser, vigil_server, "desk")
    nurse = sign_in(browser, vigil_server, "nurse")
    expect(nurse.locator("h2.group-title").first).to_contain_text("Booths")
    expect(nurse.locator("#connection")).to_have_attribute("data-state", "live")

    # From here on the nurse's page must not ask the server for anything: every change arrives
    # on the event stream it already holds open.
    requests_after_load: list[str] = []
    nurse.on("request", lambda request: requests_after_load.append(request.url))

    register_and_check_in(
        desk,
        "Wren",
        "B2",
        {"mother": "Ma", "day": "4", "year": "1985", "gender": "W", "place": "S"},
    )
    tile = nurse.locator("#tile-B2")
    expect(tile).to_contain_text("Wren", timeout=LIVE)
    expect(tile).to_contain_text("Fentanyl · Inject")
    expect(tile).to_contain_text("Not checked yet")
    assert requests_after_load == [], f"the board polled: {requests_after_load}"

    # Restart the server; while it is down, someone is checked in by another route. The board
    # says plainly that it is disconnected, reconnects by itself, and shows what it missed.
    vigil_server.stop(signal.SIGKILL)
    expect(nurse.locator("#connection")).to_have_attribute("data-state", "lost", timeout=LIVE)
    expect(nurse.locator("body")).to_have_class(re.compile("disconnected"))
    vigil_server.vigil(
        "shell",
        "-c",
        "from vigil.floor.actions import check_in, Intake; from vigil.sites.models import Site; "
        "from vigil.testing import code_items; from vigil.participants.actions import register; "
        "from vigil.accounts.models import Staff; s = Site.objects.get(); "
        "p = register(jurisdiction=s.jurisdiction, items=code_items(99), alias='Heron'); "
        "check_in(site=s, participant=p, by=Staff.objects.get(username='desk'), "
        "intake=Intake(substances=['heroin'], route='smoke', otherwise_location='private'))",
    )
    vigil_server.start(vigil_server.port)
    expect(nurse.locator("#connection")).to_have_attribute("data-state", "live", timeout=30_000)
    expect(nurse.locator(".waitlist")).to_contain_text("Heron", timeout=LIVE)
    expect(nurse.locator("#tile-B2")).to_contain_text("Wren")

    # The nurse records a check; the desk's own board sees it too.
    desk.goto(vigil_server.url(nurse.url.split(str(vigil_server.port), 1)[1]))
    tile = nurse.locator("#tile-B2")
    tile.locator("button.ok").click()
    expect(tile).to_contain_text(re.compile(r"Checked 0 min ago"), timeout=LIVE)
    expect(desk.locator("#tile-B2")).to_contain_text("Checked 0 min ago", timeout=LIVE)

    # A concern is a high alarm on every screen; it latches until someone resolves it.
    tile.locator("button.concern").click()
    expect(desk.locator("#tile-B2")).to_have_attribute("data-colour", "high", timeout=LIVE)
    alarm = desk.locator("#alarms .alarm[data-place=B2]")
    expect(alarm).to_contain_text("Staff concerned", timeout=LIVE)
    tile.locator("button.ok").click()
    expect(nurse.locator("#tile-B2")).to_contain_text("Checked 0 min ago", timeout=LIVE)
    expect(desk.locator("#tile-B2")).to_have_attribute("data-colour", "high")
    nurse.locator("#alarms .alarm[data-place=B2] button.claim").click()
    expect(alarm).to_contain_text("Responding · nurse", timeout=LIVE)
    nurse.locator("#alarms .alarm[data-place=B2] select[name=outcome]").select_option("person_okay")
    nurse.locator("#alarms .alarm[data-place=B2] button.resolve").click()
    expect(alarm).to_have_count(0, timeout=LIVE)
    expect(desk.locator("#tile-B2")).to_have_attribute("data-colour", "none", timeout=LIVE)

    # To aftercare, then out.
    tile.locator("select[name=place]").select_option(label="A1")
    tile.locator("button.move").click()
    expect(nurse.locator("#tile-A1")).to_contain_text("Wren", timeout=LIVE)
    expect(nurse.locator("#tile-B2")).to_contain_text("Free")
    expect(desk.locator("#tile-A1")).to_contain_text("Wren", timeout=LIVE)
    nurse.locator("#tile-A1 button.exit").click()
    expect(nurse.locator("#tile-A1")).to_contain_text("Free", timeout=LIVE)
    expect(desk.locator("#tile-A1")).to_contain_text("Free", timeout=LIVE)

    # The next person waiting is seated with one tap from a free tile.
    nurse.locator("#tile-B1 button.seat").click()
    expect(desk.locator("#tile-B1")).to_contain_text("Heron", timeout=LIVE)
    expect(desk.locator(".waitlist")).to_contain_text("Nobody waiting.")
