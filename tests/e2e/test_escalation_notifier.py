"""An unclaimed alarm reaches the fallback contact's webhook exactly once, even when the
receiver is down at first and the server is killed with SIGKILL meanwhile.

A real `vigil serve` and a real HTTP receiver on 127.0.0.1 that the test starts only after the
server has failed to deliver, been killed and been started again. The escalation steps are in
the alarm's timeline with their times.
"""

import json
import signal
import socket
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.e2e.server import VigilServer
from tests.e2e.test_gateway_durability import rows

pytestmark = pytest.mark.db_any

SITE = "Escalation CHEL"
ACK_ESCALATION, CLAIM_ESCALATION = 1, 3  # seconds; 15 and 45 on a real floor
CONTACT = "On-call nurse"

SETTINGS = """
from vigil.monitoring.models import AlarmSettings
from vigil.sites.models import Site
AlarmSettings.objects.update_or_create(
    site=Site.objects.get(name={site!r}),
    defaults={{
        "ack_escalation_seconds": {ack},
        "claim_escalation_seconds": {claim},
        "fallback_contacts": [{{"name": {contact!r}, "notifier": "webhook", "target": {url!r}}}],
    }},
)
"""

# The nurse checks on the person in B1 and is concerned; nobody claims the alarm that follows.
CONCERN = """
from vigil.accounts.models import Staff
from vigil.floor.actions import Intake, check_in, record_check
from vigil.floor.models import Occupancy
from vigil.participants.actions import register
from vigil.sites.models import Site
from vigil.testing import code_items
site = Site.objects.get(name={site!r})
nurse = Staff.objects.get(username="nurse")
person = register(jurisdiction=site.jurisdiction, items=code_items(1), alias="Kestrel")
check_in(site=site, participant=person, by=nurse, place=site.places.get(label="B1"),
         intake=Intake(substances=["fentanyl"], route="inject", otherwise_location="public"))
record_check(occupancy=Occupancy.objects.get(ended_at__isnull=True), result="concerned", by=nurse)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Receiver:
    """The fallback contact's SMS gateway: counts POSTs, says 200 to each."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.posts: list[tuple[str | None, dict]] = []
        self._httpd: HTTPServer | None = None

    def start(self) -> None:
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                posts.append((self.headers.get("Idempotency-Key"), json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self._httpd = HTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()


def wait_for(what: str, check, timeout: float):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.1)
    return result


def moment(value) -> datetime:
    """A timestamp column as read: a datetime from PostgreSQL, ISO text from SQLite."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


@pytest.fixture
def receiver():
    receiver = Receiver(free_port())  # nothing listens there yet: the receiver is down
    yield receiver
    receiver.stop()


@pytest.fixture
def server(tmp_path, receiver):
    server = VigilServer(tmp_path / "data")
    server.vigil("migrate", "--no-input", "-v", "0")
    server.vigil("site", "add", SITE, "--jurisdiction", "E2E County")
    server.vigil("site", "places", SITE, "--booth", "B1-B2")
    server.vigil(
        "staff", "add", "nurse", "--role", "nurse", "--site", SITE, "--password-stdin",
        stdin="e2e-pass-phrase-2026\n",
    )  # fmt: skip
    url = f"http://127.0.0.1:{receiver.port}/"
    settings = SETTINGS.format(
        site=SITE, ack=ACK_ESCALATION, claim=CLAIM_ESCALATION, contact=CONTACT, url=url
    )
    server.vigil("shell", "-c", settings)
    server.start()
    yield server
    server.stop()


def notifications(server: VigilServer) -> list[tuple]:
    return rows(
        server,
        "SELECT alarm_id, status, attempts, last_error, idempotency_key, delivered_at"
        " FROM monitoring_notification",
    )


def test_an_unclaimed_alarm_reaches_the_webhook_once_across_a_kill(server, receiver):
    server.vigil("shell", "-c", CONCERN.format(site=SITE))

    # Escalated and tried while the receiver is down: the failure is recorded on the row.
    [(alarm_id, status, attempts, error, _, _)] = wait_for(
        "a failed delivery attempt",
        lambda: [n for n in notifications(server) if n[2] >= 1],
        timeout=30,
    )
    assert status == "pending" and error

    server.stop(signal.SIGKILL)
    server.start(server.port, server.mllp_port)
    receiver.start()

    # The outbox backs off (2, 4, 8 ... s) and the backoff survives the restart, so allow for
    # a full minute's wait.
    wait_for("a POST to the receiver", lambda: receiver.posts, timeout=90)
    [(_, status, attempts, _, key, delivered_at)] = wait_for(
        "the notification marked delivered",
        lambda: [n for n in notifications(server) if n[1] == "delivered"],
        timeout=15,
    )
    assert attempts >= 2 and delivered_at is not None
    # Proving that nothing more comes needs a wait: a few of the outbox's one-second polls.
    time.sleep(3)
    [(header_key, body)] = receiver.posts
    assert header_key == key and len(key) == 64
    assert body["alarm"] == alarm_id and body["kind"] == "check_concerned"
    assert body["contact"] == CONTACT and body["priority"] == "high"
    assert len(notifications(server)) == 1

    timeline = [
        (kind, at)
        for alarm, kind, at in rows(
            server, "SELECT alarm_id, kind, at FROM monitoring_alarmevent ORDER BY at, id"
        )
        if alarm == alarm_id
    ]
    kinds = [kind for kind, _ in timeline]
    assert kinds[:3] == ["raised", "reannounce", "notify"], kinds
    at = {kind: moment(value) for kind, value in reversed(timeline)}
    assert at["reannounce"] - at["raised"] >= timedelta(seconds=ACK_ESCALATION)
    assert at["notify"] - at["raised"] >= timedelta(seconds=CLAIM_ESCALATION)
