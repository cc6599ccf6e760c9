"""The Content Security Policy in a real browser: the floor board, its live SSE updates, an htmx
post and the alarm panel run without a single policy violation, and htmx injects no style."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD

pytestmark = pytest.mark.e2e
LIVE = 10_000

# Runs before any page script (Playwright injects it outside the page's policy) and keeps every
# violation the browser reports.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sample || ""));
});
"""

CHECK_IN = (
    "from vigil.floor.actions import check_in, Intake; from vigil.sites.models import Site; "
    "from vigil.testing import code_items; from vigil.participants.actions import register; "
    "from vigil.accounts.models import Staff; s = Site.objects.get(); "
    "p = register(jurisdiction=s.jurisdiction, items=code_items({n}), alias='{alias}'); "
    "check_in(site=s, participant=p, by=Staff.objects.get(username='desk'), "
    "place=s.places.get(label='{place}'), "
    "intake=Intake(substances=['fentanyl'], route='inject', otherwise_location='public'))"
)


def sign_in_watched(browser, server, username):
    """Sign in with the policy watched from the first page on, setting up two-factor sign-in
    (the sign-in pages are under the policy too)."""
    import base64

    from django_otp.oath import totp

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    page.goto(server.url("/login/"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    if "/login/enrol" in page.url:
        assert page.evaluate("window.__csp") == [], page.evaluate("window.__csp")
        secret = page.inner_text("#totp-secret").strip().replace(" ", "")
        page.fill("#id_code", f"{totp(base64.b32decode(secret + '=' * (-len(secret) % 8))):06d}")
        page.click("button.primary")
        page.click("text=I have kept them")  # the backup codes, shown once
    page.wait_for_url(lambda url: "/login/" not in url)
    return page


def test_the_live_board_runs_under_the_policy_without_a_violation(browser, vigil_server):
    console_errors: list[str] = []
    nurse = sign_in_watched(browser, vigil_server, "nurse")
    nurse.on(
        "console",
        lambda message: console_errors.append(message.text) if message.type == "error" else None,
    )
    nurse.goto(vigil_server.url("/"))
    expect(nurse.locator("#connection")).to_have_attribute("data-state", "live", timeout=LIVE)
    header = nurse.evaluate(
        "fetch(location.href).then(r => r.headers.get('content-security-policy'))"
    )
    assert "default-src 'self'" in header and "'unsafe-eval'" not in header, header

    # Board updates pushed over SSE, an htmx post (a check), and an alarm (a concern).
    vigil_server.vigil("shell", "-c", CHECK_IN.format(n=501, alias="Linnet", place="B1"))
    tile = nurse.locator("#tile-B1")
    expect(tile).to_contain_text("Linnet", timeout=LIVE)
    tile.locator("button.ok").click()
    expect(tile).to_contain_text("Checked 0 min ago", timeout=LIVE)
    tile.locator("button.concern").click()
    expect(nurse.locator("#alarms .alarm[data-place=B1]")).to_contain_text(
        "Staff concerned", timeout=LIVE
    )
    vigil_server.vigil("shell", "-c", CHECK_IN.format(n=502, alias="Plover", place="B2"))
    expect(nurse.locator("#tile-B2")).to_contain_text("Plover", timeout=LIVE)

    # The desk too.
    nurse.click("text=Check-in desk")
    expect(nurse.locator("h1").first).to_contain_text("Find a participant")

    violations = nurse.evaluate("window.__csp")
    assert violations == [], violations
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
    # htmx was told not to inject its indicator styles (includeIndicatorStyles: false).
    assert nurse.evaluate("document.querySelectorAll('style').length") == 0
    # The evaluation is not vacuous: an inline script is refused and reported on this origin.
    nurse.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
        " document.body.appendChild(s); }"
    )
    nurse.wait_for_function("window.__csp.length > 0", timeout=LIVE)
    assert nurse.evaluate("window.__ran === undefined")
