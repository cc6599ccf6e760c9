"""A case manager on a tablet: records a referral from the floor, follows it to "accepted" and
"entered treatment" with the follow-up list and the timeline, gives supplies from a tile (a
negative quantity is refused and nothing is recorded), and records with one tap that someone
went directly from the room into treatment."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, sign_in, wait_for_live_board

pytestmark = pytest.mark.e2e
TABLET = {"width": 820, "height": 1180}
LIVE = 10_000

CHECK_IN = (
    "from vigil.floor.actions import check_in, Intake; from vigil.sites.models import Site; "
    "from vigil.testing import code_items; from vigil.participants.actions import register; "
    "from vigil.accounts.models import Staff; s = Site.objects.get(); "
    "desk = Staff.objects.get(username='desk'); "
    "[check_in(site=s, participant=register(jurisdiction=s.jurisdiction, items=code_items(n), "
    "alias=alias, site=s, oriented=True), by=desk, place=s.places.get(label=label), "
    "intake=Intake(substances=['fentanyl'], route='inject', otherwise_location='public')) "
    "for n, alias, label in ((71, 'Heron', 'B1'), (72, 'Wren', 'B2'))]"
)


def sign_in_on_a_tablet(browser, server, username):
    return sign_in(browser, server, username, viewport=TABLET)


def test_a_case_manager_records_a_referral_and_its_entry_into_treatment(browser, vigil_server):
    vigil_server.vigil(
        "staff",
        "add",
        "casey",
        "--role",
        "case_manager",
        "--site",
        "E2E CHEL",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    vigil_server.vigil("shell", "-c", CHECK_IN)
    page = sign_in_on_a_tablet(browser, vigil_server, "casey")
    board_url = page.url
    expect(page.locator("#tile-B1")).to_contain_text("Heron", timeout=LIVE)

    # Supplies from the tile: a negative quantity is explained and nothing is recorded.
    page.locator("#tile-B1 .care-add a").click()
    expect(page.locator("h1")).to_have_text("Services and supplies for Heron")
    page.fill("input[name=supply_syringe_1ml]", "-10")
    page.fill("input[name=supply_cooker]", "2")
    page.click("button:has-text('Record')")
    expect(page.locator(".supply.invalid")).to_contain_text("A quantity cannot be negative.")
    expect(page.locator(".today")).to_contain_text("Nothing recorded yet today.")
    page.fill("input[name=supply_syringe_1ml]", "10")
    page.check("input[name=services][value=wound_care]")
    page.click("button:has-text('Record')")
    page.wait_for_url(board_url)
    expect(page.locator(".message")).to_contain_text("Recorded for Heron.")

    # A referral, from the participant's page.
    page.locator("#tile-B1 .alias a").click()
    page.click("a.button:has-text('Referrals')")
    expect(page.locator("h1")).to_have_text("Referrals for Heron")
    page.click("text=New referral")
    page.check("input[name=kind][value=methadone]")
    page.check("input[name=where][value=partner_on_site]")
    page.fill("input[name=partner]", "Opioid treatment programme")
    page.click("button:has-text('Record the referral')")
    expect(page.locator(".message")).to_contain_text("Referral to Methadone (MOUD) recorded")
    expect(page.locator(".referral-status")).to_have_text("Referred")
    detail_url = page.url

    # It is on the follow-up list, due in a week.
    page.click("header >> text=Follow-ups")
    row = page.locator("table.follow-ups tr", has_text="Heron")
    expect(row).to_contain_text("Methadone (MOUD)")
    expect(row).to_contain_text("Referred")

    # Accepted, then entered treatment, each with its date.
    row.locator("a", has_text="Methadone").click()
    page.wait_for_url(detail_url)
    page.check("input[name=to][value=accepted]")
    page.click(".advance button:has-text('Record')")
    expect(page.locator(".referral-status").first).to_have_text("Accepted")
    page.goto(vigil_server.url("/follow-ups/"))
    expect(page.locator("table.follow-ups tr", has_text="Heron")).to_contain_text("Accepted")
    page.goto(detail_url)
    page.check("input[name=to][value=entered_treatment]")
    page.click(".advance button:has-text('Record')")
    expect(page.locator(".referral-status").first).to_have_text("Entered treatment")
    expect(page.locator("table.referral-steps tr")).to_have_count(3)
    expect(page.locator("body")).to_contain_text("nothing left to follow up")
    page.goto(vigil_server.url("/follow-ups/"))
    expect(page.locator("table.follow-ups")).not_to_contain_text("Heron")

    # The timeline tells the story, newest first.
    page.goto(detail_url)
    page.click("header >> text=Timeline")
    entries = page.locator(".entry strong")
    expect(entries.nth(0)).to_have_text("Methadone (MOUD) — Entered treatment")
    expect(entries.nth(1)).to_have_text("Methadone (MOUD) — Accepted")
    expect(entries.nth(2)).to_have_text("Methadone (MOUD) — Referred")
    expect(page.locator(".entry.kind-given")).to_contain_text("10 × Syringe 1 ml")
    expect(page.locator(".entry.kind-given")).to_contain_text("Wound care")
    expect(page.locator(".entry.kind-visit")).to_contain_text("Fentanyl · Inject")

    # One tap from Wren's tile: went directly from the room into detox.
    page.goto(board_url)
    wait_for_live_board(page)
    page.locator("#tile-B2 .care-add a").click()
    page.click("button.treatment:has-text('Detox / withdrawal management')")
    page.wait_for_url(board_url)
    expect(page.locator(".message")).to_contain_text(
        "Recorded: Wren went directly from the room into Detox / withdrawal management."
    )
    page.locator("#tile-B2 .alias a").click()
    page.click("a.button:has-text('Timeline')")
    expect(page.locator(".entry.kind-referral").first).to_contain_text(
        re.compile("Went directly from the room into treatment: Detox")
    )


def test_an_unexpected_fentanyl_result_warns_every_floor_screen(browser, vigil_server):
    vigil_server.vigil("shell", "-c", CHECK_IN)
    desk = sign_in_on_a_tablet(browser, vigil_server, "desk")
    nurse = sign_in_on_a_tablet(browser, vigil_server, "nurse")
    board_url = nurse.url
    expect(desk.locator("#connection")).to_have_attribute("data-state", "live", timeout=LIVE)

    nurse.click("header >> text=Drug checks")
    nurse.click("text=New sample")
    nurse.select_option("select[name=visit]", label="Heron")
    nurse.check("input[name=method][value=ftir]")
    nurse.check("input[name=expected][value=heroin]")
    nurse.check("input[name=found][value=fentanyl]")
    nurse.check("input[name=found][value=xylazine]")
    nurse.click("button:has-text('Record the check')")
    expect(nurse.locator(".message").last).to_contain_text("A notice went to every floor screen.")

    # The desk's board, open all along, shows it without being reloaded.
    notice = desk.locator(".floor-notice")
    expect(notice).to_contain_text(
        "Fentanyl, Xylazine found in a sample sold as Heroin", timeout=LIVE
    )
    nurse.goto(board_url)
    wait_for_live_board(nurse)
    nurse.locator(".floor-notice button.dismiss").click()
    expect(nurse.locator(".floor-notice")).to_have_count(0, timeout=LIVE)
    expect(notice).to_have_count(0, timeout=LIVE)
