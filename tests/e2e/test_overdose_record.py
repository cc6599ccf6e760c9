"""A nurse on a tablet: an alarm resolved as an overdose opens the event record prefilled from
the alarm, two naloxone doses and oxygen are added with one tap each, EMS called "now", the
outcome recorded and signed off, and the event is on the participant's timeline."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import complete_sign_in

pytestmark = pytest.mark.e2e
LIVE = 15_000

# Robin has been in B1 for five minutes; the oximeter's readings (kept, like every reading)
# show breathing stopping three minutes ago, and the alarm engine raised "no breathing". The
# device is not bound to the place, so the running engine does not raise alarms of its own.
SETUP = """
from datetime import timedelta
from vigil.lib import clock
from vigil.floor.actions import check_in, Intake
from vigil.sites.models import Site
from vigil.testing import code_items
from vigil.participants.actions import register
from vigil.accounts.models import Staff
from vigil.monitoring.models import Device, Reading
from vigil.monitoring import actions as alarms

site = Site.objects.get()
booth = site.places.get(label="B1")
now = clock.now()
with clock.frozen(now - timedelta(minutes=5)):
    person = register(jurisdiction=site.jurisdiction, items=code_items(301), alias="Robin")
    visit = check_in(site=site, participant=person, by=Staff.objects.get(username="desk"),
                     place=booth, intake=Intake(substances=["fentanyl"], route="inject",
                                                otherwise_location="public"))
device = Device.objects.create(device_id="E2EOXIMETERB1", label="B1 oximeter")
onset = now - timedelta(minutes=3)
readings, t = [], now - timedelta(minutes=9)
while t < now - timedelta(seconds=20):
    x = (t - onset).total_seconds()
    readings.append(Reading(device=device, place=booth, received_at=t,
                            spo2=97 if x < 0 else max(97 - x / 3, 70), pulse=80,
                            resp=14 if x < 0 else max(14 - x / 5, 0), apnea=x > 70))
    t += timedelta(seconds=5)
Reading.objects.bulk_create(readings)
first_abnormal = onset + timedelta(seconds=15)
alarms.raise_alarm(place=booth, kind="no_breath", at=onset + timedelta(seconds=75),
                   first_abnormal_at=first_abnormal, visit_id=visit.pk)
print(person.pk, first_abnormal.astimezone(site.tz).strftime("%Y-%m-%dT%H:%M"))
"""


def test_overdose_alarm_to_a_signed_record_on_the_timeline(browser, vigil_server):
    server = vigil_server
    person, started = server.vigil("shell", "-c", SETUP).split()[-2:]

    tablet = browser.new_context(viewport={"width": 820, "height": 1180}, has_touch=True)
    nurse = tablet.new_page()
    complete_sign_in(nurse, server, "nurse")

    alarm = nurse.locator("#alarms .alarm[data-place=B1]").first
    expect(alarm).to_contain_text("No breathing", timeout=LIVE)
    alarm.locator("button.claim").click()
    expect(alarm).to_contain_text("Responding · nurse", timeout=LIVE)
    alarm.locator("select[name=outcome]").select_option("overdose")
    alarm.locator("button.resolve").click()

    # The record opens prefilled from the alarm: place, person, start, sign, timeline, vitals.
    nurse.wait_for_url(re.compile(r"/alarms/\d+/event$"), timeout=LIVE)
    expect(nurse.locator("h1")).to_contain_text("B1")
    expect(nurse.locator("h1")).to_contain_text("Robin")
    expect(nurse.locator("#id_started_at")).to_have_value(started)
    expect(nurse.locator("input[name=signs][value=no_breathing]")).to_be_checked()
    expect(nurse.locator("input[name=signs][value=seizure]")).not_to_be_checked()
    around = nurse.locator("#around")
    expect(around).to_contain_text("No breathing: first abnormal reading")
    expect(around).to_contain_text("No breathing: responding")
    expect(around.locator("path.spo2")).to_have_attribute("d", re.compile(r"^M"))

    # Two naloxone doses and oxygen, one tap each; EMS called now.
    nurse.get_by_role("button", name="+ Naloxone 0.4 mg IM").tap()
    nurse.wait_for_url(re.compile(r"/events/\d+/#interventions$"))
    expect(nurse.locator(".message")).to_contain_text("Recorded: ")
    nurse.get_by_role("button", name="+ Naloxone 0.4 mg IM").tap()
    expect(nurse.locator("li.step[data-kind=naloxone]")).to_have_count(2)
    nurse.get_by_role("button", name="+ Oxygen 10 L/min").tap()
    expect(nurse.locator("li.step[data-kind=oxygen]")).to_have_count(1)
    expect(nurse.locator("li.step[data-kind=naloxone]").nth(1)).to_contain_text("dose 2")
    nurse.locator("#ems button.now").first.tap()
    expect(nurse.locator("#id_ems_called_at")).not_to_have_value("")

    # A mistaken dose is refused with the reason, and nothing is saved.
    nurse.locator("li.step[data-kind=naloxone] input[name$=-dose_mg]").first.fill("-0.4")
    nurse.get_by_role("button", name="Save", exact=True).tap()
    expect(nurse.locator("#problems")).to_contain_text("A naloxone dose must be more than 0 mg.")
    nurse.locator("li.step[data-kind=naloxone] input[name$=-dose_mg]").first.fill("0.4")

    # Outcome, then sign-off.
    nurse.locator("label.choice", has_text="Recovered on site").tap()
    nurse.fill("#id_minutes_to_recovery", "7")
    nurse.get_by_role("button", name="Save and sign off").tap()
    summary = nurse.locator("#summary")
    expect(summary.locator(".badge.signed")).to_be_visible()
    expect(summary).to_contain_text("2 doses, 0.8 mg in all")
    expect(summary).to_contain_text("Recovered on site · 7 minutes to recovery")
    expect(summary).to_contain_text("EMS called")
    expect(summary).to_contain_text("Signed off by nurse")

    # It is on Robin's timeline.
    nurse.goto(server.url(f"/participants/{person}/timeline"))
    expect(nurse.locator("main")).to_contain_text("Overdose / drug poisoning")
    expect(nurse.locator("main")).to_contain_text("Naloxone")
    expect(nurse.locator("main")).to_contain_text("Recovered on site")
    tablet.close()
