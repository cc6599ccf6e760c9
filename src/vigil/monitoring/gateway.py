"""The device gateway: HL7 v2 over MLLP on python-hl7's asyncio streams, inside `vigil serve`.

Each connection is long-lived and carries many messages; each message is answered in turn:
AA once its values are durable in the database (group commit across all connections), AE when
it is readable but unusable (unknown device, no usable value), AR when it cannot be parsed.
A connection is read one message at a time, so a flood is held back by TCP rather than piling
up in memory; frames over the size limit, connections silent for too long and devices that stop
reading their answers are closed.

Only the device identity, times and values are kept: PID/PV1 content is never stored or logged.
"""

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, connections, transaction
from hl7.mllp import InvalidBlockError, start_hl7_server

from vigil.lib import clock
from vigil.lib.dbthread import keep_connection
from vigil.monitoring import actions
from vigil.monitoring.engine import AlarmEngine
from vigil.monitoring.hl7in import HL7Rejected, ParsedMessage, build_ack, parse_oru
from vigil.monitoring.models import Device, Reading
from vigil.monitoring.vitals import Observation

log = logging.getLogger("vigil.gateway")

MAX_FRAME_BYTES = 64 * 1024
IDLE_SECONDS = (
    120.0  # a device sends every second or so; two minutes of silence ends the connection
)
MAX_BATCH = 1000
SEEN_EVERY_SECONDS = 1.0  # how often devices' last-seen times are written


@dataclass
class Pending:
    reading: Reading
    done: asyncio.Future


class ReadingWriter:
    """Group commit: readings from every connection go into one transaction per batch, and each
    message is acknowledged only after its batch has committed."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Pending] = asyncio.Queue()
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigil-readings")
        self.written = 0
        self._seen: dict[int, tuple[datetime, float | None]] = {}  # device -> (last, skew)
        self._seen_written_at = 0.0

    async def persist(self, reading: Reading) -> None:
        done = asyncio.get_running_loop().create_future()
        await self.queue.put(Pending(reading, done))
        await done

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                batch = [await self.queue.get()]
                while len(batch) < MAX_BATCH and not self.queue.empty():
                    batch.append(self.queue.get_nowait())
                try:
                    await loop.run_in_executor(self._db, self._write, [p.reading for p in batch])
                except Exception as exc:
                    log.exception("could not store %d readings", len(batch))
                    for pending in batch:
                        if not pending.done.done():
                            pending.done.set_exception(exc)
                    continue
                self.written += len(batch)
                for pending in batch:
                    if not pending.done.done():
                        pending.done.set_result(None)
        finally:
            # Nothing is queued behind the batch in flight, so nothing needs cancelling, and
            # cancel_futures would cancel this close too.
            self._db.submit(self._write_seen_and_close)
            self._db.shutdown(wait=False)

    def _write_seen_and_close(self) -> None:
        try:
            with transaction.atomic():
                self._write_seen()
        finally:
            connections.close_all()

    def _write(self, readings: list[Reading]) -> None:
        keep_connection()  # not a new PostgreSQL backend before every acknowledgement
        with transaction.atomic():
            Reading.objects.bulk_create(readings)
            for reading in readings:
                # A device clock more than 30 s off is flagged to administrators (admin, `vigil
                # devices list`); live rules run on arrival time whatever the device says.
                skew = (
                    (reading.observed_at - reading.received_at).total_seconds()
                    if reading.observed_at
                    else None
                )
                self._seen[reading.device_id] = (reading.received_at, skew)
            if time.monotonic() - self._seen_written_at >= SEEN_EVERY_SECONDS:
                self._write_seen()

    def _write_seen(self) -> None:
        """When each device was last heard, for administrators: one statement a second for
        every device, not an UPDATE per device per batch (they held the write lock the alarm
        writes need). The engine keeps its own "monitoring lost" timing in memory."""
        self._seen_written_at = time.monotonic()
        if not self._seen:
            return
        # One prepared UPDATE run for each device (executemany): Django's bulk_update builds a
        # CASE expression per row, which cost 8 % of the server's CPU at 500 devices.
        adapt = connection.ops.adapt_datetimefield_value
        table = connection.ops.quote_name(Device._meta.db_table)
        columns = {
            f.name: connection.ops.quote_name(f.column or f.name)
            for f in Device._meta.concrete_fields
        }
        last_seen, skew, pk_column = (
            columns[name] for name in ("last_seen_at", "clock_skew_seconds", "id")
        )
        with connection.cursor() as cursor:
            cursor.executemany(
                # Names from the model, quoted by the backend; every value is a parameter.
                f"UPDATE {table} SET {last_seen} = %s, {skew} = %s WHERE {pk_column} = %s",  # noqa: S608
                [(adapt(at), skew_s, pk) for pk, (at, skew_s) in self._seen.items()],
            )
        self._seen.clear()


class Gateway:
    def __init__(
        self, engine: AlarmEngine, writer: ReadingWriter, *, idle_seconds: float = IDLE_SECONDS
    ):
        self.engine = engine
        self.writer = writer
        self.idle_seconds = idle_seconds
        self.connections = 0
        self.accepted = 0
        self.rejected = 0

    async def handle(self, reader, writer) -> None:
        peer = writer.get_extra_info("peername")
        self.connections += 1
        try:
            while True:
                try:
                    block = await asyncio.wait_for(reader.readblock(), timeout=self.idle_seconds)
                except TimeoutError:
                    log.info("closing %s: no complete message for %.0f s", peer, self.idle_seconds)
                    return
                except asyncio.IncompleteReadError:
                    return  # the device hung up
                except ValueError:
                    log.warning("closing %s: frame over %d bytes", peer, MAX_FRAME_BYTES)
                    return
                except InvalidBlockError:
                    log.warning("AR to %s: data outside an MLLP frame", peer)
                    self.rejected += 1
                    ack = build_ack("", "AR", "data outside an MLLP block").encode("ascii")
                else:
                    ack = await self.message(block.decode("latin-1"), peer)
                if not await self._answer(writer, ack, peer):
                    return
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            self.connections -= 1
            writer.close()

    async def _answer(self, writer, ack: bytes, peer) -> bool:
        """Send one answer; False if the device has stopped reading them. Waiting for it
        without a limit would hold the connection (and its buffers) for ever."""
        writer.writeblock(ack)
        try:
            await asyncio.wait_for(writer.drain(), timeout=self.idle_seconds)
        except TimeoutError:
            log.warning(
                "closing %s: its answers have not been read for %.0f s", peer, self.idle_seconds
            )
            writer.transport.abort()  # close() would wait for the unread answers to be sent
            return False
        return True

    async def message(self, text: str, peer=None) -> bytes:
        received_at = clock.now()
        try:
            parsed = parse_oru(text, received_at)
        except HL7Rejected as rejected:
            self.rejected += 1
            log.warning("%s to %s: %s", rejected.ack_code, peer, rejected.reason)
            ack = build_ack(
                text,
                rejected.ack_code,
                rejected.reason,
                error_code=rejected.error_code,
                location=rejected.location,
            )
            return ack.encode("latin-1", "replace")  # the device's own bytes back, as they came
        encoding = parsed.encoding if parsed.encoding in ("utf-8", "latin-1") else "latin-1"
        known = self.engine.device(parsed.device_ids)
        if known is None or known[1] is None:
            # Bound a moment ago from the command line (another process)? Re-read before refusing.
            await self.engine.run_in_db(self.engine.reload)
            known = self.engine.device(parsed.device_ids)
        if known is None or known[1] is None:
            self.rejected += 1
            await self.engine.run_in_db(
                actions.note_unknown_device, parsed.device_ids[0], received_at
            )
            reason = f"unknown device {parsed.device_ids[0]}: bind it to a place first"
            log.warning("AE to %s: %s", peer, reason)
            return build_ack(parsed, "AE", reason).encode(encoding, "replace")
        device_pk, place_id, _kind = known
        observation = parsed.observation
        # Detection first: the alarm never waits for the database.
        self.engine.observe(place_id, observation)
        reading = _reading(device_pk, place_id, observation, parsed)
        try:
            await self.writer.persist(reading)
        except Exception:
            self.rejected += 1
            return build_ack(parsed, "AE", "could not store the message; send it again").encode(
                encoding, "replace"
            )
        self.accepted += 1
        return build_ack(parsed, "AA").encode(encoding, "replace")


def _reading(
    device_pk: int, place_id: int | None, obs: Observation, parsed: ParsedMessage
) -> Reading:
    return Reading(
        device_id=device_pk,
        place_id=place_id,
        received_at=obs.received_at,
        observed_at=obs.observed_at,
        spo2=obs.spo2,
        pulse=obs.pulse,
        resp=obs.resp,
        apnea=obs.apnea,
        motion=obs.motion,
        occupied=obs.occupied,
        control_id=(parsed.control_id or "")[:64],
    )


async def start_gateway(gateway: Gateway, sock) -> asyncio.AbstractServer:
    # Until the engine has loaded the device bindings, every device would be refused as
    # unknown (and a reading would miss detection); meanwhile connections wait in the listen
    # backlog of the already bound socket.
    while not gateway.engine.running:
        await asyncio.sleep(0.05)
    return await start_hl7_server(
        gateway.handle,
        sock=sock,
        limit=MAX_FRAME_BYTES,
        encoding="latin-1",
    )
