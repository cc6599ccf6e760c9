"""No message acknowledged with AA is ever lost, kill -9 included.

A real `vigil serve` with its own database; monitors bound to occupied booths through the CLI
stream messages over MLLP, several in flight on each connection; the server is killed with
SIGKILL mid-stream and started again on the same ports; every control id that got AA must be
in `monitoring_reading`, read straight from the database file (or PostgreSQL database) the
server wrote.
"""

import asyncio
import contextlib
import signal
import sqlite3
from collections import deque
from dataclasses import dataclass, field

import pytest
from hl7.mllp import open_hl7_connection

from tests.e2e.server import VigilServer, run_async
from vigil.monitoring.tests.hl7_samples import BEATS, PERCENT, PULSE_CODE, SPO2_CODE, obx, oru

pytestmark = pytest.mark.db_any

SITE = "Durable CHEL"
DEVICES = [f"0009FBFFFF00000{n}" for n in range(1, 5)]
TOTAL = 600  # messages offered across all monitors
KILL_AFTER = 200  # AAs before the kill
WINDOW = 8  # messages a monitor keeps in flight on its connection
PATIENCE = 30.0  # bound on any one wait (reconnecting, an answer)

CHECK_IN = """
from vigil.accounts.models import Staff
from vigil.floor.actions import Intake, check_in
from vigil.participants.actions import register
from vigil.sites.models import Site
from vigil.testing import code_items
site = Site.objects.get(name={site!r})
nurse = Staff.objects.get(username="nurse")
for n, place in enumerate(site.places.order_by("position")):
    person = register(jurisdiction=site.jurisdiction, items=code_items(n + 1), alias=f"P{{n}}")
    check_in(site=site, participant=person, by=nurse, place=place,
             intake=Intake(substances=["fentanyl"], route="inject", otherwise_location="public"))
"""


@pytest.fixture
def server(tmp_path):
    server = VigilServer(tmp_path / "data")
    server.vigil("migrate", "--no-input", "-v", "0")
    server.vigil("site", "add", SITE, "--jurisdiction", "E2E County")
    server.vigil("site", "places", SITE, "--booth", f"B1-B{len(DEVICES)}")
    server.vigil(
        "staff", "add", "nurse", "--role", "nurse", "--site", SITE, "--password-stdin",
        stdin="e2e-pass-phrase-2026\n",
    )  # fmt: skip
    # Bound before the server starts: a running server hears of bindings only from its own
    # process, so one made by the CLI meanwhile would be refused as unknown until a restart.
    for n, device in enumerate(DEVICES, 1):
        server.vigil("devices", "add", "--place", f"{SITE}/B{n}", "--device-id", device)
    server.vigil("shell", "-c", CHECK_IN.format(site=SITE))
    server.start()
    yield server
    server.stop()


def message(device: str, control_id: str, n: int) -> bytes:
    rows = [
        obx(SPO2_CODE, str(94 + n % 5), PERCENT, set_id="1"),
        obx(PULSE_CODE, str(70 + n % 20), BEATS, set_id="2"),
    ]
    return oru(rows, application=f"MON^{device}^EUI-64", control_id=control_id).encode()


def msa(ack: bytes) -> tuple[str, str]:
    for segment in ack.decode("latin-1").split("\r"):
        fields = segment.split("|")
        if fields[0] == "MSA":
            return fields[1], fields[2]
    raise AssertionError(f"no MSA in {ack!r}")


@dataclass
class Tally:
    offered: int = 0
    acked: set[str] = field(default_factory=set)
    in_flight: dict[str, deque] = field(default_factory=dict)
    in_flight_at_kill: int = 0
    acked_at_kill: int = 0
    reconnects: int = 0


async def monitor(server: VigilServer, device: str, tally: Tally) -> None:
    """Send until the shared budget is spent, WINDOW at a time; on a lost connection, whatever
    was in flight has no answer (the device would resend it) and the monitor reconnects."""
    loop = asyncio.get_running_loop()
    while tally.offered < TOTAL:
        deadline = loop.time() + PATIENCE
        while True:
            try:
                reader, writer = await open_hl7_connection("127.0.0.1", server.mllp_port)
                break
            except OSError:
                assert loop.time() < deadline, "the gateway never came back"
                await asyncio.sleep(0.05)
        pending: deque[str] = deque()
        tally.in_flight[device] = pending
        try:
            while tally.offered < TOTAL or pending:
                while len(pending) < WINDOW and tally.offered < TOTAL:
                    n = tally.offered
                    tally.offered += 1
                    control_id = f"{device[-1]}-{n:05d}"
                    writer.writeblock(message(device, control_id, n))
                    pending.append(control_id)
                await writer.drain()
                code, control_id = msa(await asyncio.wait_for(reader.readblock(), PATIENCE))
                assert control_id == pending.popleft(), "answers out of order"
                assert code == "AA", f"{code} for {control_id}"
                tally.acked.add(control_id)
        except (ConnectionError, asyncio.IncompleteReadError):
            tally.reconnects += 1
        finally:
            pending.clear()
            writer.close()


async def kill_and_restart(server: VigilServer, tally: Tally) -> None:
    while len(tally.acked) < KILL_AFTER:
        await asyncio.sleep(0.005)
    tally.in_flight_at_kill = sum(len(pending) for pending in tally.in_flight.values())
    tally.acked_at_kill = len(tally.acked)
    server.stop(signal.SIGKILL)  # on the loop's own thread: no answer is read meanwhile
    await asyncio.to_thread(server.start, server.port, server.mllp_port)


def rows(server: VigilServer, sql: str) -> list[tuple]:
    """Read the server's own database directly, whichever leg this is (no parameters: the two
    drivers spell placeholders differently)."""
    url = server.env.get("DATABASE_URL")
    if url:
        import psycopg

        with psycopg.connect(url) as conn:
            return conn.execute(sql).fetchall()  # type: ignore[arg-type]
    with contextlib.closing(sqlite3.connect(server.data_dir / "vigil.sqlite3")) as conn:
        return conn.execute(sql).fetchall()


def stored_control_ids(server: VigilServer) -> set[str]:
    return {
        control_id for (control_id,) in rows(server, "SELECT control_id FROM monitoring_reading")
    }


def test_no_acknowledged_message_is_lost_when_the_server_is_killed(server):
    tally = Tally()

    async def drive():
        await asyncio.gather(
            kill_and_restart(server, tally), *(monitor(server, d, tally) for d in DEVICES)
        )

    run_async(drive())

    assert tally.in_flight_at_kill > 0, "nothing was in flight when the server died"
    assert tally.reconnects >= len(DEVICES)
    assert tally.acked_at_kill >= KILL_AFTER and len(tally.acked) > tally.acked_at_kill
    lost = tally.acked - stored_control_ids(server)
    assert not lost, f"{len(lost)} acknowledged messages are not stored: {sorted(lost)[:10]}"
