"""Bad input never takes the device gateway down: garbage, bytes outside an MLLP block, frames
cut off by a hang-up, frames over the size limit, connections that go quiet or trickle, and a
device flooding frames without reading its answers; random bytes (hypothesis); and the
writer's database connection dropped under it. After each, a good message on a new connection
still gets AA and is stored.

Real TCP on 127.0.0.1, the real database, the engine and writer running beside the gateway.
"""

import asyncio
import logging
import socket
import threading
from typing import Any

import pytest
from django.db import connection
from django.db.backends.signals import connection_created
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigil.monitoring.gateway import MAX_FRAME_BYTES
from vigil.monitoring.models import Reading
from vigil.monitoring.tests.test_gateway_protocol import (
    END,
    START,
    Running,
    bound_booths,
    framed,
    good_message_still_gets_aa,
    msa,
    run,
    send,
    vitals,
)

pytestmark = pytest.mark.django_db(transaction=True)

IDLE = 1.0  # the gateway's idle timeout in these tests (two minutes in production)
CLOSED_WITHIN = 15.0  # a generous bound for "the gateway closed the connection"


async def closed_by_gateway(reader: asyncio.StreamReader) -> bytes:
    """Wait (bounded) until the gateway closes the connection; return what it sent before."""
    received = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), CLOSED_WITHIN):
            received += chunk
    except ConnectionResetError:
        pass  # closed with our unread bytes still queued: a reset, which is a close too
    except TimeoutError:
        raise AssertionError(f"the gateway kept the connection open ({received!r})") from None
    return received


def answers_in(data: bytes) -> list[tuple[str, str, str]]:
    """The MSA of every MLLP block in `data`, which must hold nothing but whole blocks."""
    blocks = data.split(END)
    assert blocks[-1] == b"", f"a partial block: {blocks[-1]!r}"
    assert all(block.startswith(START) for block in blocks[:-1]), data
    return [msa(block[1:]) for block in blocks[:-1]]


async def hang_up_after(running: Running, data: bytes) -> bytes:
    """Send `data`, close our side, and return everything the gateway answered before closing."""
    reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
    writer.write(data)
    await writer.drain()
    writer.write_eof()
    try:
        return await closed_by_gateway(reader)
    finally:
        writer.close()


def test_garbage_then_a_hang_up_is_dropped_without_an_answer():
    bound_booths()
    garbage = bytes(b for b in range(256) if b not in END) * 40

    async def scenario(running):
        answered = await hang_up_after(running, garbage)
        await good_message_still_gets_aa(running, "AFTER-GARBAGE")
        return answered

    assert run(scenario) == b""


def test_data_outside_an_mllp_block_gets_ar_and_the_next_frame_is_read():
    bound_booths()
    stray = b"stray bytes before the start block" + framed(vitals("LOST"))

    async def scenario(running):
        answered = await hang_up_after(running, stray + framed(vitals("NEXT")))
        await good_message_still_gets_aa(running, "AFTER-STRAY")
        return answered

    [(first, _, reason), (second, control_id, _)] = answers_in(run(scenario))
    assert first == "AR" and "outside an MLLP block" in reason
    assert (second, control_id) == ("AA", "NEXT")
    # The frame behind the stray bytes was refused as a whole, so it is not stored: the device
    # got AR for it and sends it again.
    assert not Reading.objects.filter(control_id="LOST").exists()


def test_a_frame_cut_off_by_a_hang_up_is_neither_answered_nor_stored():
    bound_booths()
    whole = framed(vitals("CUT"))

    async def scenario(running):
        answered = await hang_up_after(running, whole[: len(whole) // 2])
        await good_message_still_gets_aa(running, "AFTER-CUT")
        return answered

    assert run(scenario) == b""
    assert not Reading.objects.filter(control_id="CUT").exists()


@pytest.mark.parametrize("terminated", [True, False], ids=["whole", "unterminated"])
def test_a_frame_over_the_size_limit_closes_the_connection_with_a_log_line(caplog, terminated):
    bound_booths()
    caplog.set_level(logging.INFO, logger="vigil.gateway")
    padding = "NTE|1||" + "x" * (MAX_FRAME_BYTES + 1024)
    huge = START + vitals("HUGE").replace(b"\rPID", f"\r{padding}\rPID".encode())
    huge += END if terminated else b""

    async def scenario(running):
        reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
        writer.write(huge)
        try:
            await writer.drain()
        except ConnectionResetError:
            pass  # the gateway may close before the last of it is sent
        answered = await closed_by_gateway(reader)
        writer.close()
        await good_message_still_gets_aa(running, "AFTER-HUGE")
        return answered

    assert run(scenario) == b""
    assert f"frame over {MAX_FRAME_BYTES} bytes" in caplog.text
    assert not Reading.objects.filter(control_id="HUGE").exists()


@pytest.mark.parametrize("trickle", [False, True], ids=["silent", "trickling"])
def test_a_connection_without_a_complete_message_is_closed_after_the_idle_timeout(caplog, trickle):
    bound_booths()
    caplog.set_level(logging.INFO, logger="vigil.gateway")
    whole = framed(vitals("SLOW"))

    async def scenario(running):
        reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
        writer.write(whole[:40])
        if trickle:
            # A byte at a time, never a whole message: the timeout is per message, so a
            # connection cannot be held open by dribbling.
            async def dribble():
                for byte in whole[40:-2]:
                    writer.write(bytes([byte]))
                    await asyncio.sleep(IDLE / 8)

            dribbling = asyncio.create_task(dribble())
        answered = await closed_by_gateway(reader)
        if trickle:
            dribbling.cancel()
            await asyncio.gather(dribbling, return_exceptions=True)
        writer.close()
        await good_message_still_gets_aa(running, "AFTER-SLOW")
        return answered

    assert run(scenario, idle_seconds=IDLE) == b""
    assert "no complete message" in caplog.text
    assert not Reading.objects.filter(control_id="SLOW").exists()


async def flood(running: Running, frames: int) -> tuple[asyncio.StreamReader, Any, int]:
    """Write frames without reading a single answer until the gateway stops taking them.
    Returns the connection and how many frames went out."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    sock.connect(("127.0.0.1", running.port))
    sock.setblocking(False)
    # A small stream limit too: asyncio would otherwise read 128 KiB of answers on our behalf.
    reader, writer = await asyncio.open_connection(sock=sock, limit=1024)
    sent = 0
    while sent < frames:
        writer.write(framed(vitals(f"FLOOD-{sent:05d}")))
        sent += 1
        if sent % 20 == 0:
            try:
                await asyncio.wait_for(writer.drain(), IDLE)
            except TimeoutError:
                break  # held back
    return reader, writer, sent


async def until(condition, timeout: float = CLOSED_WITHIN) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "never happened"
        await asyncio.sleep(0.05)


async def settled(count, seconds: float = IDLE) -> int:
    """Wait until count() has not moved for `seconds` (bounded), and return it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    last = count()
    while True:
        await asyncio.sleep(seconds)
        now = count()
        if now == last:
            return now
        assert loop.time() < deadline, "never settled"
        last = now


FLOOD = 5000
BUFFER = 8192


def test_a_flood_is_held_back_by_tcp_while_other_devices_are_served(caplog):
    devices = bound_booths(2)
    caplog.set_level(logging.INFO, logger="vigil.gateway")
    frame = len(framed(vitals("FLOOD-00000")))

    async def scenario(running):
        reader, writer, sent = await flood(running, FLOOD)
        handled = await settled(lambda: running.gateway.accepted)
        # Meanwhile another monitor is answered as usual.
        other = await send(running.port, vitals("OTHER", device=devices[1]))
        # The flooding device never reads: the gateway gives up on it rather than holding the
        # connection for ever (reading here would unblock it, so watch the gateway instead).
        await until(lambda: running.gateway.connections == 0)
        await closed_by_gateway(reader)
        writer.close()
        return sent, handled, other

    sent, handled, other = run(scenario, idle_seconds=IDLE, socket_buffer=BUFFER)

    assert sent < FLOOD, "the flood was never held back: the gateway reads ahead"
    # What was sent but not handled sits in bounded buffers, never the whole flood: the
    # gateway's stream reader (it pauses the socket past twice the frame limit), our own
    # transport (64 KiB before drain() waits, plus the frames between two drains) and the
    # kernel's (a few times BUFFER on each side).
    assert 0 < handled < sent
    held = 2 * MAX_FRAME_BYTES + 64 * 1024 + 20 * frame + 16 * BUFFER
    assert (sent - handled) * frame < held < FLOOD * frame / 5
    assert other == [("AA", "OTHER", "")]
    assert "answers have not been read" in caplog.text
    assert Reading.objects.filter(control_id__startswith="FLOOD-").count() == handled


def test_a_flooding_device_that_reads_again_gets_every_answer_in_order():
    bound_booths()
    total = 1500

    async def scenario(running):
        reader, writer, sent = await flood(running, total)
        held_back = sent < total

        async def rest():
            for n in range(sent, total):
                writer.write(framed(vitals(f"FLOOD-{n:05d}")))
                await writer.drain()

        sending = asyncio.create_task(rest())
        answers = []
        for _ in range(total):
            block = await asyncio.wait_for(reader.readuntil(END), CLOSED_WITHIN)
            answers.append(msa(block[1:-2]))
        await sending
        writer.close()
        return held_back, answers

    held_back, answers = run(scenario, socket_buffer=BUFFER)

    assert held_back
    assert [(code, control_id) for code, control_id, _ in answers] == [
        ("AA", f"FLOOD-{n:05d}") for n in range(total)
    ]
    assert Reading.objects.count() == total


blobs = st.one_of(
    st.binary(max_size=600),
    st.binary(max_size=600).map(lambda data: START + data + END),
    # A valid message cut or spliced: the shapes a flaky serial-to-TCP bridge produces.
    st.tuples(st.integers(0, 600), st.binary(max_size=40)).map(
        lambda cut: START + vitals("PROP")[: cut[0]] + cut[1] + END
    ),
)


def test_random_bytes_get_ae_or_ar_then_a_closed_connection_and_the_gateway_stays_up():
    bound_booths()

    async def scenario(running):
        loop = asyncio.get_running_loop()

        def stored(control_id: str) -> bool:
            query = Reading.objects.filter(control_id=control_id).exists
            return asyncio.run_coroutine_threadsafe(running.db(query), loop).result()

        def property_check():
            @settings(
                max_examples=50,
                deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture],
            )
            @given(data=blobs)
            def answered_or_dropped(data):
                with socket.create_connection(("127.0.0.1", running.port), timeout=20) as sock:
                    sock.sendall(data)
                    sock.shutdown(socket.SHUT_WR)
                    received = b""
                    while chunk := sock.recv(65536):
                        received += chunk
                answers = answers_in(received)
                # Every complete frame is answered, even after our hang-up; the rest of the
                # bytes are dropped with the connection.
                assert len(answers) == data.count(END)
                for code, control_id, _ in answers:
                    # AA only for a splice that is still a whole valid message, and then it
                    # is stored like any other.
                    assert code in ("AE", "AR") or (code == "AA" and stored(control_id))
                with socket.create_connection(("127.0.0.1", running.port), timeout=20) as sock:
                    sock.sendall(framed(vitals("STILL-UP")))
                    received = b""
                    while not received.endswith(END):
                        chunk = sock.recv(65536)
                        assert chunk, "the gateway closed instead of answering"
                        received += chunk
                assert answers_in(received)[0][:2] == ("AA", "STILL-UP")

            answered_or_dropped()

        await asyncio.to_thread(property_check)

    run(scenario)


def test_the_writer_keeps_one_database_connection_and_replaces_one_that_was_dropped():
    """Connecting for every batch would put a new PostgreSQL backend (some 15 ms) in front of
    every acknowledgement; keeping the connection must not make a dropped one fatal."""
    bound_booths()
    opened: list[int | None] = []  # the writer's connections: backend pid on PostgreSQL

    def created(sender, **kwargs):
        if threading.current_thread().name.startswith("vigil-readings"):
            pid = None
            if kwargs["connection"].vendor == "postgresql":
                with kwargs["connection"].cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    pid = cursor.fetchone()[0]
            opened.append(pid)

    def drop(pid: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])

    async def scenario(running):
        for n in range(20):  # one at a time: each its own batch and commit
            assert await send(running.port, vitals(f"KEEP-{n}")) == [("AA", f"KEEP-{n}", "")]
        kept = len(opened)
        if connection.vendor == "postgresql":
            # Only a database server can drop a connection from outside (a restart, a
            # failover, an idle timeout on the way).
            [pid] = opened
            await running.db(drop, pid)
        assert await send(running.port, vitals("AFTER-DROP")) == [("AA", "AFTER-DROP", "")]
        return kept

    connection_created.connect(created)
    try:
        kept = run(scenario)
    finally:
        connection_created.disconnect(created)
    assert kept == 1
    assert len(opened) == (2 if connection.vendor == "postgresql" else 1)
    assert Reading.objects.count() == 21
