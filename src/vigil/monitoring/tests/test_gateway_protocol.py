"""The device gateway as a monitor meets it: real TCP on 127.0.0.1, python-hl7's MLLP client,
the alarm engine and the group-commit writer running beside it, and the real database.

AA only once the reading is committed (never while the commit is held up); AE with the reason
for an unknown device or a message with no usable value; AR for a frame that is not HL7;
answers in order on a long-lived connection; fifty devices at once; a device that connects
while the server is still starting is not refused as unknown; and nothing typed into the
monitor about the person (PID, PV1) is stored, logged or echoed. The helpers here are shared by
the other gateway tests.
"""

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, connections, transaction
from hl7.mllp import open_hl7_connection

from vigil.accounts.roles import Role
from vigil.floor import actions as floor
from vigil.lib.server import bind
from vigil.monitoring import actions
from vigil.monitoring.engine import AlarmEngine
from vigil.monitoring.gateway import Gateway, ReadingWriter, start_gateway
from vigil.monitoring.models import Alarm, AlarmEvent, Device, Reading
from vigil.monitoring.tests.hl7_samples import (
    BEATS,
    PERCENT,
    PULSE_CODE,
    SPO2_CODE,
    obx,
    oru,
)
from vigil.sites.models import Place, PlaceKind, Site
from vigil.testing import SiteFactory, StaffFactory, intake, participant

pytestmark = pytest.mark.django_db(transaction=True)

EUI = "0009FBFFFF9B42B3"
START, END = b"\x0b", b"\x1c\r"
# Distinctive enough that finding them anywhere can only mean they leaked from PID or PV1.
NAME, SURNAME, RECORD = "Ysoldewyn", "Quarrendale", "MRN-55120-QX"
PATIENT = f"PID|1||{RECORD}^^^General^MR||{SURNAME}^{NAME}^^^^^L||19800101|F"
VISIT = f"PV1||I|B1^^^Vigil||||{SURNAME}^{NAME}^Dr"


# --- helpers shared by the gateway tests ---------------------------------------------------


@dataclass
class Running:
    gateway: Gateway
    engine: AlarmEngine
    port: int

    def db(self, fn: Callable[..., Any], *args: Any):
        """Run ORM code off the loop (Django refuses it on the loop's own thread)."""
        return self.engine.run_in_db(fn, *args)


@contextlib.asynccontextmanager
async def running_gateway(
    socket_buffer: int | None = None, **options: Any
) -> AsyncIterator[Running]:
    """The gateway as `vigil serve` runs it, on the test's own event loop. `socket_buffer`
    shrinks the kernel's buffers of the accepted connections, so that back-pressure shows after
    kilobytes rather than the megabytes Linux would otherwise queue on loopback."""
    engine = AlarmEngine()
    writer = ReadingWriter()
    tasks = [asyncio.create_task(engine.run()), asyncio.create_task(writer.run())]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while not engine.running:
        for task in tasks:
            if task.done():
                task.result()  # an engine that failed to start says why
        assert loop.time() < deadline, "the alarm engine never started"
        await asyncio.sleep(0.01)
    gateway = Gateway(engine, writer, **options)
    sock = bind("127.0.0.1", 0)
    if socket_buffer:
        # Accepted sockets inherit these from the listening one.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, socket_buffer)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, socket_buffer)
    server = await start_gateway(gateway, sock)
    try:
        yield Running(gateway, engine, sock.getsockname()[1])
    finally:
        server.close()
        # The engine thread's connection would outlive the test and hold the test database open.
        await engine.run_in_db(connections.close_all)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def bound_booths(count: int = 1) -> list[str]:
    """A site with `count` booths, each with a monitor bound to it; returns the device ids."""
    site = SiteFactory(places={PlaceKind.BOOTH: count})
    devices = []
    for n, booth in enumerate(site.places.order_by("position")):
        device_id = EUI if n == 0 else f"0009FBFFFF{n:06X}"
        actions.add_device(device_id=device_id, place=booth)
        devices.append(device_id)
    return devices


def vitals(
    control_id: str, device: str = EUI, spo2: str = "97", pulse: str = "80", **options: Any
) -> bytes:
    """An ORU^R01 with SpO2 and pulse from `device`, carrying a named person in PID and PV1."""
    text = oru(
        [obx(SPO2_CODE, spo2, PERCENT, set_id="1"), obx(PULSE_CODE, pulse, BEATS, set_id="2")],
        application=f"VIGIL_SIM^{device}^EUI-64",
        control_id=control_id,
        patient=PATIENT + "\r" + VISIT,
        **options,
    )
    return text.encode("utf-8")


def framed(message: bytes) -> bytes:
    return START + message + END


def msa(ack: bytes) -> tuple[str, str, str]:
    """(code, control id, reason) from an ACK's MSA segment."""
    text = ack.decode("latin-1")
    assert text.startswith("MSH") and len(text) > 3, f"not an ACK: {ack!r}"
    for segment in text.split("\r"):
        fields = segment.split(text[3])  # the field separator the message came with
        if fields[0] == "MSA":
            return fields[1], fields[2], fields[3] if len(fields) > 3 else ""
    raise AssertionError(f"no MSA segment in {ack!r}")


async def send_raw(port: int, *messages: bytes) -> list[bytes]:
    """One connection, every message sent before any answer is read (as a busy monitor does)."""
    reader, writer = await open_hl7_connection("127.0.0.1", port)
    try:
        for message in messages:
            writer.writeblock(message)
        await writer.drain()
        return [await asyncio.wait_for(reader.readblock(), 20) for _ in messages]
    finally:
        writer.close()


async def send(port: int, *messages: bytes) -> list[tuple[str, str, str]]:
    return [msa(ack) for ack in await send_raw(port, *messages)]


async def good_message_still_gets_aa(running: Running, control_id: str) -> None:
    """The check after every kind of bad input: the gateway is still up and still storing."""
    [(code, echoed, reason)] = await send(running.port, vitals(control_id))
    assert (code, echoed) == ("AA", control_id), reason
    stored = await running.db(Reading.objects.filter(control_id=control_id).exists)
    assert stored


async def wait_for_rows(running: Running, queryset, timeout: float = 10.0) -> None:
    """Poll until the engine's asynchronous writes have produced a row."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await running.db(queryset.exists):
        assert loop.time() < deadline, f"nothing in {queryset.model.__name__} after {timeout} s"
        await asyncio.sleep(0.05)


def run(scenario: Callable[[Running], Any], **options: Any) -> Any:
    async def main():
        async with running_gateway(**options) as running:
            return await scenario(running)

    return asyncio.run(main())


# --- the tests ------------------------------------------------------------------------------


def test_a_bound_device_gets_aa_once_its_reading_is_stored():
    [device_id] = bound_booths()

    async def scenario(running):
        answers = await send(running.port, vitals("CTRL-1", spo2="96", pulse="72"))
        # AA means durable: the row is there the moment the answer is.
        stored = await running.db(lambda: list(Reading.objects.filter(control_id="CTRL-1")))
        return answers, stored

    answers, stored = run(scenario)
    assert answers == [("AA", "CTRL-1", "")]
    [reading] = stored
    device = Device.objects.get(device_id=device_id)
    assert reading.device == device and reading.place == device.place
    assert (reading.spo2, reading.pulse) == (96.0, 72.0)
    assert device.last_seen_at == reading.received_at


def hold_reading_table(held: threading.Event, release: threading.Event) -> None:
    """Keep new readings from committing until `release` (another writer holding the lock)."""
    try:
        with transaction.atomic():  # on SQLite, BEGIN IMMEDIATE: the database's write lock
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("LOCK TABLE monitoring_reading IN SHARE MODE")
            held.set()
            release.wait(20)
    finally:
        connection.close()


def test_no_aa_is_sent_while_the_reading_cannot_be_committed():
    bound_booths()
    held, release = threading.Event(), threading.Event()

    async def scenario(running):
        locker = threading.Thread(target=hold_reading_table, args=(held, release))
        locker.start()
        try:
            assert await asyncio.to_thread(held.wait, 10)
            reader, writer = await open_hl7_connection("127.0.0.1", running.port)
            writer.writeblock(vitals("HELD"))
            await writer.drain()
            # Showing that no answer comes needs a wait; a second is plenty on loopback.
            early = None
            with contextlib.suppress(TimeoutError):
                early = await asyncio.wait_for(reader.readblock(), 1.0)
            assert early is None, f"answered before the commit: {early!r}"
            release.set()
            answer = msa(await asyncio.wait_for(reader.readblock(), 20))
            writer.close()
            return answer
        finally:
            release.set()
            await asyncio.to_thread(locker.join)

    assert run(scenario) == ("AA", "HELD", "")
    assert Reading.objects.filter(control_id="HELD").exists()


def test_an_unknown_device_gets_ae_with_the_reason_and_is_listed_unbound():
    bound_booths()
    stranger = "00A0370098FF0001"

    answers = run(lambda running: send(running.port, vitals("CTRL-2", device=stranger)))

    [(code, control_id, reason)] = answers
    assert (code, control_id) == ("AE", "CTRL-2")
    assert f"unknown device {stranger}" in reason
    unbound = Device.objects.get(device_id=stranger)
    assert unbound.place is None and unbound.last_seen_at is not None
    assert not Reading.objects.exists()


def test_a_message_with_no_usable_value_gets_ae_and_stores_nothing():
    bound_booths()
    empty = oru(
        [obx(SPO2_CODE, "", PERCENT), obx(PULSE_CODE, "80", BEATS, set_id="2", status="X")],
        application=f"VIGIL_SIM^{EUI}^EUI-64",
        control_id="CTRL-3",
    ).encode()

    [(code, control_id, reason)] = run(lambda running: send(running.port, empty))

    assert (code, control_id) == ("AE", "CTRL-3")
    assert "no usable" in reason
    assert not Reading.objects.exists()


@pytest.mark.parametrize(
    "frame",
    [
        b"this is not HL7 at all",
        b"MSH|^~\\&|TRUNCATED",
        b"PID|1||someone\rOBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||97",
        b"MSH|ab|c|d",
    ],
    ids=["text", "truncated-header", "no-msh", "bad-delimiters"],
)
def test_a_frame_that_is_not_hl7_gets_ar_and_the_connection_carries_on(frame):
    bound_booths()

    answers = run(lambda running: send(running.port, frame, vitals("CTRL-4")))

    assert [code for code, _, _ in answers] == ["AR", "AA"]
    assert answers[1][1] == "CTRL-4"
    assert list(Reading.objects.values_list("control_id", flat=True)) == ["CTRL-4"]


def test_a_long_lived_connection_is_answered_message_by_message_in_order():
    [device_id] = bound_booths()
    stranger = "00A0370098FF0002"
    messages, expected = [], []
    for n in range(300):
        if n % 50 == 7:
            messages.append(vitals(f"LONG-{n}", device=stranger))
            expected.append(("AE", f"LONG-{n}"))
        else:
            messages.append(vitals(f"LONG-{n}", spo2=str(90 + n % 10)))
            expected.append(("AA", f"LONG-{n}"))

    answers = run(lambda running: send(running.port, *messages))

    assert [(code, control_id) for code, control_id, _ in answers] == expected
    stored = dict(Reading.objects.values_list("control_id", "spo2"))
    accepted = [control_id for code, control_id in expected if code == "AA"]
    assert sorted(stored) == sorted(accepted)
    assert stored["LONG-13"] == 93.0


def test_fifty_devices_at_once_each_get_their_own_answers_and_rows():
    devices = bound_booths(50)
    per_device = 10

    async def scenario(running):
        async def monitor(device_id):
            answers = []
            # Round trips one at a time, as most monitors do, all fifty interleaved.
            reader, writer = await open_hl7_connection("127.0.0.1", running.port)
            try:
                for n in range(per_device):
                    writer.writeblock(vitals(f"{device_id}-{n}", device=device_id))
                    await writer.drain()
                    answers.append(msa(await asyncio.wait_for(reader.readblock(), 30)))
            finally:
                writer.close()
            return answers

        return await asyncio.gather(*(monitor(device_id) for device_id in devices))

    answers = run(scenario)

    for device_id, replies in zip(devices, answers, strict=True):
        assert [(code, cid) for code, cid, _ in replies] == [
            ("AA", f"{device_id}-{n}") for n in range(per_device)
        ]
    rows = Reading.objects.values_list("device__device_id", "control_id", "place__label")
    assert len(rows) == 50 * per_device
    booth_of = dict(Device.objects.values_list("device_id", "place__label"))
    for device_id, control_id, place in rows:
        assert control_id.startswith(device_id) and place == booth_of[device_id]


def every_text_value() -> list[str]:
    """Every value of every column of every table, as text (JSON and all)."""
    values = []
    tables = {model._meta.db_table for model in apps.get_models(include_auto_created=True)}
    with connection.cursor() as cursor:
        for table in sorted(tables & set(connection.introspection.table_names(cursor))):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                values.extend(str(value) for value in row if value is not None)
    return values


def test_names_in_patient_segments_are_never_stored_logged_or_echoed(caplog):
    bound_booths()
    site = Site.objects.get()
    nurse = StaffFactory(role=Role.NURSE, sites=[site])
    booth = site.places.get(label="B1")
    floor.check_in(site=site, participant=participant(site), intake=intake(), by=nurse, place=booth)
    caplog.set_level(logging.DEBUG)
    messages = [
        vitals("PRIV-1"),
        vitals("PRIV-2", spo2="79"),  # an alarm, with the vitals in its detail
        vitals("PRIV-3", device="00A0370098FF0003"),  # unknown: logged and listed
        vitals("PRIV-4", spo2="", pulse=""),  # no usable value: logged with its reason
        b"MSH|^~\\&|X\r" + PATIENT.encode(),  # refused as unreadable
    ]

    async def scenario(running):
        acks = await send_raw(running.port, *messages)
        await wait_for_rows(running, Alarm.objects.filter(kind="spo2_critical"))
        return acks

    acks = run(scenario)

    answers = [msa(ack) for ack in acks]
    assert [code for code, _, _ in answers] == ["AA", "AA", "AE", "AE", "AR"]
    assert Reading.objects.count() == 2
    assert AlarmEvent.objects.filter(kind="raised").exists()
    secrets = [NAME, SURNAME, RECORD]
    stored = "\n".join(every_text_value())
    assert "PRIV-1" in stored  # the search does see what was stored
    logged = "\n".join(
        f"{record.getMessage()} {record.exc_text or ''}" for record in caplog.records
    )
    assert "AE" in logged and "AR" in logged  # the rejections were logged
    for secret in secrets:
        assert secret.lower() not in stored.lower()
        assert secret.lower() not in logged.lower()
        assert all(secret.lower().encode() not in ack.lower() for ack in acks)


def test_a_device_that_connects_while_the_server_starts_is_not_refused_as_unknown():
    bound_booths()

    async def main():
        engine, writer = AlarmEngine(), ReadingWriter()
        # A slow database at start (a PostgreSQL server still warming up, a busy disk): the
        # engine's first load of the device bindings queues behind this on its thread.
        slow_start = asyncio.ensure_future(engine.run_in_db(time.sleep, 0.5))
        tasks = [asyncio.create_task(engine.run()), asyncio.create_task(writer.run())]
        sock = bind("127.0.0.1", 0)
        # As `vigil serve` does: the gateway starts beside the engine, not after it.
        starting = asyncio.create_task(start_gateway(Gateway(engine, writer), sock))
        try:
            answers = await send(sock.getsockname()[1], vitals("EARLY"))
            assert engine.running
        finally:
            server = await starting
            server.close()
            await slow_start
            await engine.run_in_db(connections.close_all)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return answers

    assert asyncio.run(main()) == [("AA", "EARLY", "")]
    assert Reading.objects.filter(control_id="EARLY").exists()


def test_a_device_bound_by_another_process_is_accepted_without_a_restart():
    """`vigil devices add` runs in its own process; the server hears of it only through the
    database. The first message after the binding is accepted, not refused as unknown."""
    bound_booths()
    newcomer = "00A0370098FF0002"

    async def scenario(running):
        [(first, _, _)] = await send(running.port, vitals("LATE-1", device=newcomer))
        await running.db(
            lambda: Device.objects.filter(device_id=newcomer).update(
                place=Place.objects.order_by("pk").first()
            )
        )
        running.engine._reloaded_at = 0.0  # the reload throttle is per burst, not per test
        [(second, _, reason)] = await send(running.port, vitals("LATE-2", device=newcomer))
        return first, second, reason

    first, second, reason = run(scenario)
    assert first == "AE"
    assert second == "AA", reason
    assert Reading.objects.filter(control_id="LATE-2", device__device_id=newcomer).exists()
