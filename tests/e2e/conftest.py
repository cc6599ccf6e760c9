import pytest

from tests.e2e.server import VigilServer

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PASSWORD = "e2e-pass-phrase-2026"  # noqa: S105 - throw-away test server


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def vigil_server(tmp_path):
    """A migrated server with one site, a front-desk worker and a nurse."""
    server = VigilServer(tmp_path / "data")
    server.vigil("migrate", "--no-input", "-v", "0")
    server.vigil("site", "add", "E2E CHEL", "--jurisdiction", "E2E County")
    server.vigil("site", "places", "E2E CHEL", "--booth", "B1-B3", "--aftercare", "A1-A2")
    for username, role in (("desk", "front_desk"), ("nurse", "nurse")):
        server.vigil(
            "staff",
            "add",
            username,
            "--role",
            role,
            "--site",
            "E2E CHEL",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
    server.start()
    yield server
    server.stop()


def sign_in(browser, server, username, **context_options):
    """A new browser context signed in as `username`: password, then the second factor
    (enrolling the authenticator on the first sign-in, as a person would)."""
    options = {"viewport": {"width": 1280, "height": 900}, **context_options}
    page = browser.new_context(**options).new_page()
    complete_sign_in(page, server, username)
    return page


def complete_sign_in(page, server, username, password=PASSWORD):
    page.goto(server.url("/login/"))
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    second_factor(page, server, username)


def second_factor(page, server, username):
    """The second step, from the code page or the enrolment page, whichever the server shows:
    the code is what an authenticator app with the secret from the enrolment page shows."""
    page.wait_for_url(
        lambda url: "/login/" not in url or "/login/code" in url or "/login/enrol" in url
    )
    if "/login/enrol" in page.url:
        server.totp_secrets[username] = page.inner_text("#totp-secret").strip()
        page.fill("#id_code", server.totp_code(username))
        page.click("form button.primary")
        page.click("text=I have kept them")  # the backup codes, shown once
    elif "/login/code" in page.url:
        page.fill("#id_code", server.totp_code(username))
        page.click("form button.primary")
    page.wait_for_url(lambda url: "/login/" not in url)
    wait_for_live_board(page)


def wait_for_live_board(page):
    """On a floor board, wait until the stream's first board has replaced the page's own (a
    tap during that swap would be lost); elsewhere, return at once."""
    if page.locator("#board-slot").count():
        page.locator("#board-slot[data-synced=live]").wait_for(state="attached")
