"""A wall screen at the nurse station: registered by the site manager from the device itself,
it shows the floor and sounds an alarm with nobody signed in; "Seen" needs no PIN; the nurse
unlocks with her PIN to claim the alarm, and one tap locks the screen again."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.e2e
LIVE = 15_000
PIN = "4826"

SETUP = """
from vigil.floor.actions import check_in, Intake
from vigil.participants.actions import register
from vigil.sites.models import Site
from vigil.accounts.models import Staff
from vigil.testing import code_items
from vigil.lib.codes import build_code
s = Site.objects.get()
items = code_items(4242)
p = register(jurisdiction=s.jurisdiction, items=items, alias='Juniper')
check_in(site=s, participant=p, by=Staff.objects.get(username='desk'),
         place=s.places.get(label='B1'),
         intake=Intake(substances=['fentanyl'], route='inject', otherwise_location='public'))
print(build_code(items))
"""

ALARM = """
from vigil.monitoring.actions import raise_alarm
from vigil.monitoring.rules import Condition
from vigil.sites.models import Site
from vigil.lib import clock
raise_alarm(place=Site.objects.get().places.get(label='B1'), kind=Condition.SPO2_CRITICAL, at=clock.now())
"""


def test_a_floor_screen_sounds_the_alarm_and_a_pin_lets_the_nurse_claim_it(browser, vigil_server):
    server = vigil_server
    server.vigil(
        "staff", "add", "manager", "--role", "site_manager", "--site", "E2E CHEL",
        "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    code = server.vigil("shell", "-c", SETUP).split()[-1]

    # The nurse sets her floor-screen PIN on her own account page.
    nurse = sign_in(browser, server, "nurse")
    nurse.goto(server.url("/account/"))
    nurse.fill("#id_pin", PIN)
    nurse.fill("#id_again", PIN)
    nurse.click("button:has-text('Set PIN')")
    expect(nurse.locator(".messages")).to_contain_text("PIN is set")
    nurse.context.close()

    # The site manager registers the wall screen from the screen itself, and is signed out.
    screen = sign_in(browser, server, "manager", viewport={"width": 1920, "height": 1080})
    screen.goto(server.url("/screens/register"))
    screen.fill("#id_name", "Nurse station")
    screen.click("form button.primary")
    screen.wait_for_url(re.compile(r"/sites/\d+/floor/$"))
    bar = screen.locator(".screen-bar")
    expect(bar).to_contain_text("Nurse station")
    expect(screen.locator(".topbar")).not_to_contain_text("manager")
    expect(screen.locator("#connection")).to_have_attribute("data-state", "live", timeout=LIVE)
    screen.click("#enable-sound")

    # Aliases only, never the participant's code.
    expect(screen.locator("#tile-B1")).to_contain_text("Juniper")
    assert code not in screen.content()

    # An overdose alarm reaches the screen and sounds, with no one signed in.
    server.vigil("shell", "-c", ALARM)
    alarm = screen.locator("#alarms .alarm[data-place=B1]").first
    expect(alarm).to_be_visible(timeout=LIVE)
    screen.wait_for_function("window.vigilAudio.playing === 'high'", timeout=LIVE)

    # "Seen" needs no PIN: a silence must never wait behind a PIN screen.
    alarm.locator("button.ack").click()
    expect(alarm).to_have_attribute("data-sounding", "0", timeout=LIVE)

    # "I'm responding" is a person's act: the screen asks who, and the PIN.
    alarm.locator("button.claim").click()
    screen.wait_for_url(re.compile(r"/screen/unlock"))
    screen.select_option("#id_staff", label="nurse")
    screen.fill("#id_pin", PIN)
    screen.click("form button.primary")
    screen.wait_for_url(re.compile(r"/sites/\d+/floor/$"))
    expect(bar).to_contain_text("unlocked for nurse")
    alarm = screen.locator("#alarms .alarm[data-place=B1]").first
    alarm.locator("button.claim").click()
    expect(alarm).to_contain_text("Responding · nurse", timeout=LIVE)
    assert code not in screen.content()

    # One tap locks it; the board and the alarm stay on.
    screen.click(".screen-bar button.lock")
    expect(screen.locator(".screen-bar a.unlock")).to_be_visible()
    expect(screen.locator("#alarms .alarm[data-place=B1]").first).to_contain_text("Responding")
    expect(screen.locator("#connection")).to_have_attribute("data-state", "live", timeout=LIVE)
