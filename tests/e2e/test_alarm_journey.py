"""The nurse station and a second screen while the simulator drives an overdose: the alarm in
its colour on both, sound that starts, an audio pause that a higher-priority alarm breaks
through, and the alarm claimed and resolved with every screen following each step."""

import re
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from hl7.mllp import open_hl7_connection
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.server import run_async
from vigil.monitoring.tests.hl7_samples import (
    BEATS,
    BREATHS,
    PERCENT,
    PULSE_CODE,
    RESP_CODE,
    SPO2_CODE,
    obx,
    oru,
)

pytestmark = pytest.mark.e2e
LIVE = 15_000


def send_one_reading(port: int, device_id: str) -> str:
    """One normal reading from a monitor, then silence (the probe falls off)."""
    import asyncio

    async def go() -> str:
        reader, writer = await open_hl7_connection("127.0.0.1", port, encoding="latin-1")
        rows = [
            obx(SPO2_CODE, "97", PERCENT, equipment=device_id),
            obx(PULSE_CODE, "78", BEATS, set_id="2"),
            obx(RESP_CODE, "14", BREATHS, set_id="3"),
        ]
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
        writer.writemessage(
            oru(rows, application=f"E2E^{device_id}^EUI-64", control_id="E2E-1", stamp=stamp)
        )
        await writer.drain()
        ack = await asyncio.wait_for(reader.readmessage(), 10)
        writer.close()
        return str(ack.segment("MSA")[1])

    return run_async(go(), timeout=30)


def test_overdose_alarm_reaches_every_screen_with_sound(browser, vigil_server):
    server = vigil_server
    server.vigil("site", "places", "E2E CHEL", "--washroom", "W1")
    server.vigil(
        "shell",
        "-c",
        "from vigil.floor.actions import check_in, Intake; from vigil.sites.models import Site; "
        "from vigil.testing import code_items; from vigil.participants.actions import register; "
        "from vigil.accounts.models import Staff; s = Site.objects.get(); d = Staff.objects.get(username='desk'); "
        "[check_in(site=s, participant=register(jurisdiction=s.jurisdiction, items=code_items(n), alias=a), by=d, "
        "place=s.places.get(label=l), intake=Intake(substances=['fentanyl'], route='inject', otherwise_location='public')) "
        "for n, a, l in ((201, 'Robin', 'B1'), (202, 'Sparrow', 'B2'))]",
    )
    server.vigil(
        "devices", "add", "--place", "E2E CHEL/B2", "--device-id", "00-09-FB-FF-FF-00-00-B2"
    )

    nurse = sign_in(browser, server, "nurse")
    screen = sign_in(browser, server, "desk")
    for page in (nurse, screen):
        expect(page.locator("#connection")).to_have_attribute("data-state", "live")
        page.click("#enable-sound")
        expect(page.locator("body")).not_to_have_class(re.compile("sound-off"))

    # Live vitals come as a small `vitals` event each second, written into the tile in place.
    nurse.evaluate(
        "window.vitalsEvents = 0; document.getElementById('vitals-feed')"
        ".addEventListener('htmx:sseBeforeMessage', () => window.vitalsEvents++)"
    )
    # B2's monitor sends once, then nothing: "monitoring lost", a medium (technical) alarm.
    assert send_one_reading(server.mllp_port, "0009FBFFFF0000B2") == "AA"
    expect(nurse.locator("#tile-B2 .vitals b.spo2")).to_have_text("97", timeout=LIVE)
    expect(nurse.locator("#tile-B2 .vitals b.pulse")).to_have_text("78")
    assert nurse.evaluate("window.vitalsEvents") > 0
    lost = nurse.locator("#alarms .alarm[data-place=B2]")
    expect(lost).to_contain_text("Monitoring lost", timeout=LIVE)
    expect(lost).to_have_attribute("data-priority", "medium")
    nurse.wait_for_function(
        "window.vigilAudio.playing === 'medium' && window.vigilAudio.beeps > 0", timeout=LIVE
    )

    # The nurse pauses audio on this screen: silence, for up to two minutes...
    nurse.click("#pause-audio")
    nurse.wait_for_function(
        "window.vigilAudio.paused && window.vigilAudio.playing === null", timeout=LIVE
    )

    # ...but the simulator's overdose at B1 is high priority and sounds through the pause.
    simulator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vigil",
            "simulate",
            "--site",
            "E2E CHEL",
            "--booths",
            "1",
            "--scenario",
            "overdose",
            "--onset",
            "1",
            "--speed",
            "5",
            "--duration",
            "120",
            "--gateway",
            f"127.0.0.1:{server.mllp_port}",
        ],
        env=server.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        overdose = nurse.locator("#alarms .alarm[data-place=B1][data-priority=high]").first
        expect(overdose).to_be_visible(timeout=60_000)
        expect(nurse.locator("#tile-B1")).to_have_attribute("data-colour", "high", timeout=LIVE)
        expect(nurse.locator("#tile-B1")).to_have_class(re.compile("flashing"))
        nurse.wait_for_function(
            "window.vigilAudio.paused && window.vigilAudio.playing === 'high'", timeout=LIVE
        )
        expect(
            screen.locator("#alarms .alarm[data-place=B1][data-priority=high]").first
        ).to_be_visible(timeout=LIVE)
        screen.wait_for_function("window.vigilAudio.playing === 'high'", timeout=LIVE)

        # The nurse claims it; the other screen sees who is responding, then the resolution.
        kind = overdose.get_attribute("data-alarm")
        overdose.locator("button.claim").click()
        claimed = screen.locator(f"#alarms .alarm[data-alarm='{kind}']")
        expect(claimed).to_contain_text("Responding · nurse", timeout=LIVE)
        overdose.locator("select[name=outcome]").select_option("overdose")
        overdose.locator("button.resolve").click()
        expect(claimed).to_have_count(0, timeout=LIVE)
        expect(nurse.locator(f"#alarms .alarm[data-alarm='{kind}']")).to_have_count(0, timeout=LIVE)
    finally:
        simulator.terminate()
        simulator.wait(timeout=15)

    # A screen that loses its connection sounds its own alarm (the second screen was never paused).
    server.stop()
    expect(screen.locator("#connection")).to_have_attribute("data-state", "lost", timeout=LIVE)
    screen.wait_for_function(
        "window.vigilAudio.disconnected === true && window.vigilAudio.playing !== null",
        timeout=LIVE,
    )
