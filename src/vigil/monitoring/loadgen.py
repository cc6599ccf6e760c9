"""The load generator of `vigil bench-alarms`, run in a process of its own.

    python -m vigil.monitoring.loadgen run --host 127.0.0.1 --port PORT --plan plan.json --out out.json
    python -m vigil.monitoring.loadgen bare-server

`run` opens one long-lived MLLP connection per device, as monitors do in a real site (each
bedside device holds its own connection to the gateway; sharing a few connections among many
devices would hide the gateway's per-connection costs and serialise devices behind each other's
ACKs). It then runs two phases back to back, so the monitored places never fall silent between
them:

1. steady: every device sends one ORU^R01 a second, the devices spread evenly over each second,
   for `seconds`. At the ticks the plan names, a device sends SpO2 80 (a critical level, an
   alarm at once) and then goes back to normal; the send time of that frame is recorded.
2. saturation: every device sends its next message as soon as the previous one is acknowledged,
   for `saturation_seconds`.

Every ACK is checked (MSA-1 and MSA-2); the control ids of AA'd frames are written out, so the
bench can look for each one in the database.

Times are `time.monotonic()`: on Linux that is CLOCK_MONOTONIC, one clock for the whole machine
counting from boot, so the bench process can subtract its own readings from these (unlike
time.time(), it does not jump when the wall clock is set). The "ready" line carries this
process's clock so the bench can check that the two agree.

`bare-server` is the transport yardstick: python-hl7's MLLP server that parses each message
with `hl7.parse` and answers a minimal ACK, nothing else. The same `run` against it gives the
most one process can do with this transport.

Standard library and python-hl7 only, no Django: this process must start fast and stay small.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import hl7
from hl7.mllp import start_hl7_server

from vigil.monitoring.simulator import (
    ENCODING,
    DeviceLink,
    Vitals,
    build_oru,
    hl7_time,
    person_for,
)

CRITICAL_SPO2 = 80  # below the 85 % critical limit: an alarm at the first frame
VARIANTS = 16  # distinct normal frames per device, cycled
CONNECT_AT_ONCE = 200
MAX_LAG = 30.0  # a phase that falls this far behind is abandoned (the server cannot keep up)


def emit(event: str, **values: Any) -> None:
    print(json.dumps({"event": event, **values}), flush=True)


@dataclass
class PhaseCounts:
    sent: int = 0
    aa: int = 0
    refused: int = 0  # AE, AR or an unreadable ACK
    no_ack: int = 0
    late: int = 0  # steady only: sent more than a second after it was due
    aa_in_time: int = 0  # saturation only: acknowledged before the phase ended
    elapsed: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


@dataclass
class Device:
    index: int
    device_id: str
    label: str
    normal: list[Vitals]
    link: DeviceLink
    sequence: int = 0


@dataclass
class Run:
    devices: list[Device]
    run_id: str
    steady: PhaseCounts = field(default_factory=PhaseCounts)
    saturation: PhaseCounts = field(default_factory=PhaseCounts)
    crossings: list[dict[str, Any]] = field(default_factory=list)
    aa_control_ids: list[str] = field(default_factory=list)
    refusals: dict[str, int] = field(default_factory=dict)


async def _exchange(
    run: Run, device: Device, counts: PhaseCounts, vitals: Vitals
) -> tuple[float, float] | None:
    """Send one frame and check its ACK; returns the monotonic and wall-clock send times of an
    AA'd frame."""
    control_id = f"{run.run_id}{device.index:05d}{device.sequence:08d}"
    device.sequence += 1
    frame = build_oru(device.device_id, control_id, datetime.now(UTC), vitals).encode(ENCODING)
    counts.sent += 1
    sent_at, sent_wall = time.monotonic(), time.time()
    try:
        ack = await device.link.exchange(frame)
    except ConnectionError as exc:
        counts.no_ack += 1
        run.refusals[f"connection: {exc}"] = run.refusals.get(f"connection: {exc}", 0) + 1
        return None
    if ack.code == "AA" and ack.control_id == control_id:
        counts.aa += 1
        run.aa_control_ids.append(control_id)
        return sent_at, sent_wall
    counts.refused += 1
    reason = f"{ack.code or 'unreadable'}: {ack.reason}"[:200]
    run.refusals[reason] = run.refusals.get(reason, 0) + 1
    return None


async def _steady(run: Run, device: Device, t0: float, seconds: int, crossing_ticks: set[int]):
    counts = run.steady
    offset = device.index / len(run.devices)
    for tick in range(seconds):
        due = t0 + offset + tick
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif -delay > MAX_LAG:
            return
        elif -delay > 1.0:
            counts.late += 1
        if not device.link.connected and not await device.link.connect():
            counts.no_ack += 1
            continue
        if tick in crossing_ticks:
            normal = device.normal[tick % VARIANTS]
            vitals = Vitals(CRITICAL_SPO2, normal.pulse, normal.resp, False)
            sent = await _exchange(run, device, counts, vitals)
            run.crossings.append(
                {
                    "label": device.label,
                    "device": device.index,
                    "tick": tick,
                    "sent_at": sent[0] if sent else None,
                    # Wall clock too, to set beside the server's own stamp of the alarm.
                    "sent_wall": sent[1] if sent else None,
                }
            )
        else:
            await _exchange(run, device, counts, device.normal[tick % VARIANTS])


async def _saturate(run: Run, device: Device, deadline: float) -> None:
    counts = run.saturation
    tick = 0
    while time.monotonic() < deadline:
        if not device.link.connected and not await device.link.connect():
            await asyncio.sleep(0.1)
            continue
        if await _exchange(run, device, counts, device.normal[tick % VARIANTS]) is not None:
            if time.monotonic() <= deadline:
                counts.aa_in_time += 1
        tick += 1


async def _connect_all(devices: list[Device]) -> int:
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)

    async def one(device: Device) -> bool:
        async with gate:
            return await device.link.connect()

    results = await asyncio.gather(*(one(d) for d in devices))
    return sum(results)


async def run_plan(plan: dict[str, Any], host: str, port: int) -> Run:
    devices = [
        Device(
            index=i,
            device_id=spec["device_id"],
            label=spec["label"],
            normal=[
                person_for(plan.get("seed", 1), i, "calm").vitals(float(s)) for s in range(VARIANTS)
            ],
            link=DeviceLink(host, port, ack_timeout=float(plan.get("ack_timeout", 10.0))),
        )
        for i, spec in enumerate(plan["devices"])
    ]
    run = Run(devices=devices, run_id=secrets.token_hex(2).upper())
    connected = await _connect_all(devices)
    emit("ready", devices=len(devices), connected=connected, monotonic=time.monotonic())

    seconds = int(plan.get("seconds", 0))
    if seconds > 0:
        by_device: dict[int, set[int]] = {}
        for crossing in plan.get("crossings", []):
            by_device.setdefault(int(crossing["device"]), set()).add(int(crossing["tick"]))
        t0 = time.monotonic()
        await asyncio.gather(
            *(_steady(run, d, t0, seconds, by_device.get(d.index, set())) for d in devices)
        )
        run.steady.elapsed = time.monotonic() - t0
        emit("steady_done", **run.steady.as_dict())

    saturation = float(plan.get("saturation_seconds", 0))
    if saturation > 0:
        start = time.monotonic()
        await asyncio.gather(*(_saturate(run, d, start + saturation) for d in devices))
        run.saturation.elapsed = saturation
        emit("saturation_done", **run.saturation.as_dict())

    await asyncio.gather(*(d.link.drop() for d in devices))
    return run


def _cmd_run(args: argparse.Namespace) -> int:
    with open(args.plan) as handle:
        plan = json.load(handle)
    run = asyncio.run(run_plan(plan, args.host, args.port))
    result = {
        "run_id": run.run_id,
        "steady": run.steady.as_dict(),
        "saturation": run.saturation.as_dict(),
        "crossings": run.crossings,
        "aa_control_ids": run.aa_control_ids,
        "refusals": run.refusals,
    }
    tmp = args.out + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(result, handle)
    os.replace(tmp, args.out)
    emit("done")
    return 0


# --- the bare transport server ----------------------------------------------------------------


def _bare_ack(text: str) -> bytes:
    message = hl7.parse(text)
    control_id = str(message.segment("MSH")[10])
    when = hl7_time(datetime.now(UTC))
    return (
        f"MSH|^~\\&|BARE||||{when}||ACK^R01^ACK|{secrets.token_hex(4)}|P|2.6\rMSA|AA|{control_id}\r"
    ).encode(ENCODING)


async def _bare_handle(reader, writer) -> None:
    try:
        while True:
            block = await reader.readblock()
            writer.writeblock(_bare_ack(block.decode(ENCODING)))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _bare_server(host: str, port: int) -> None:
    server = await start_hl7_server(_bare_handle, host, port, encoding=ENCODING, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    print(f"Bare MLLP server on {host}:{bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # The bench closes our stdin when it is done with us; a parent that dies does too.
    stdin = sys.stdin.fileno()
    loop.add_reader(stdin, lambda: None if os.read(stdin, 1) else stop.set())
    async with server:
        await stop.wait()
    with contextlib.suppress(Exception):
        loop.remove_reader(stdin)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vigil.monitoring.loadgen",
        description="MLLP load generator and bare transport server for vigil bench-alarms.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a plan against a gateway and write the results")
    run.add_argument("--host", default="127.0.0.1", help="gateway address (default 127.0.0.1)")
    run.add_argument("--port", type=int, required=True, help="gateway port")
    run.add_argument("--plan", required=True, help="the plan, a JSON file written by the bench")
    run.add_argument("--out", required=True, help="where to write the results (JSON)")
    bare = sub.add_parser("bare-server", help="parse-and-ACK MLLP server, the transport yardstick")
    bare.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    bare.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    args = parser.parse_args(argv)
    if args.command == "run":
        return _cmd_run(args)
    asyncio.run(_bare_server(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
