"""`vigil simulate --scenario overdose` against a real `vigil serve`: real MLLP, the real
gateway, engine and database. The person checked into B1 stops breathing and a high alarm is
raised there; the monitor in the empty B2 sends all along and raises nothing."""

import json
import signal
import subprocess
import time

import pytest
from tests.e2e.server import VIGIL, VigilServer

pytestmark = pytest.mark.db_any
HIGH_VITAL_ALARMS = {"resp_low", "no_breath", "apnea", "spo2_critical"}


def open_alarms(server: VigilServer) -> list[dict]:
    return json.loads(server.vigil("alarms", "--json"))


def test_an_overdose_in_b1_raises_a_high_alarm_there_and_nothing_in_empty_b2(tmp_path):
    server = VigilServer(tmp_path / "data")
    server.vigil("migrate", "--no-input", "-v", "0")
    server.vigil("site", "add", "Sim CHEL", "--jurisdiction", "Sim County")
    server.vigil("site", "places", "Sim CHEL", "--booth", "B1-B2", "--aftercare", "A1")
    server.vigil(
        "shell",
        "-c",
        "from vigil.floor.actions import check_in; from vigil.sites.models import Site; "
        "from vigil.testing import code_items, intake; "
        "from vigil.participants.actions import register; "
        "from vigil.accounts.models import Staff; s = Site.objects.get(); "
        "desk = Staff.objects.create(username='desk', role='front_desk'); "
        "p = register(jurisdiction=s.jurisdiction, items=code_items(1), alias='Wren'); "
        "check_in(site=s, participant=p, by=desk, intake=intake(), "
        "place=s.places.get(label='B1'))",
    )
    server.start()
    # The simulator registers and binds its monitors itself, with the server already running.
    try:
        simulator = subprocess.Popen(
            [*VIGIL, "simulate", "--site", "Sim CHEL", "--scenario", "overdose"]
            + ["--onset", "2", "--speed", "5", "--duration", "40", "--booths", "2"]
            + ["--gateway", f"127.0.0.1:{server.mllp_port}"],
            env=server.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            alarms: list[dict] = []
            while time.monotonic() < deadline and simulator.poll() is None:
                alarms = open_alarms(server)
                if any(a["place"] == "B1" and a["priority"] == "high" for a in alarms):
                    break
                time.sleep(0.5)
            time.sleep(2)  # B2's monitor keeps sending meanwhile
            simulator.send_signal(signal.SIGINT)  # Ctrl-C: stops cleanly, with its summary
            out, err = simulator.communicate(timeout=20)
        finally:
            if simulator.poll() is None:
                simulator.kill()
                simulator.wait()
        assert simulator.returncode == 0, err
        assert "B1: overdose begins" in err
        assert "Simulating 2 monitors at Sim CHEL (B1, B2)" in out
        assert " 0 AE, 0 AR" in out, out + err
        alarms = open_alarms(server)
    finally:
        server.stop()
    high_at_b1 = {a["kind"] for a in alarms if a["place"] == "B1" and a["priority"] == "high"}
    assert high_at_b1 & HIGH_VITAL_ALARMS, alarms
    assert [a for a in alarms if a["place"] == "B2"] == []
    # Binding again (another run, or --register-only to prepare a demo) changes nothing.
    again = server.vigil("simulate", "--site", "Sim CHEL", "--booths", "2", "--register-only")
    assert "2 simulated monitors bound at Sim CHEL: B1, B2." in again
