"""The simulator's device side against a stand-in gateway on 127.0.0.1 (python-hl7's MLLP server
and our own parser, in this process): one message per device per simulated second, every ACK
checked and refusals reported, reconnection after a gateway restart, and scenarios striking the
occupied place."""

import asyncio
import time
from datetime import UTC, datetime

from hl7.mllp import start_hl7_server

from vigil.monitoring.hl7in import HL7Rejected, build_ack, parse_oru
from vigil.monitoring.simulator import (
    DeviceLink,
    Plan,
    SimulatedDevice,
    Simulation,
    person_for,
)
from vigil.monitoring.vitals import Observation


class StandInGateway:
    """Parses like the real gateway and answers AA, or AE for the devices in `refuse`."""

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.refuse = refuse
        self.received: list[Observation] = []
        self.server: asyncio.AbstractServer | None = None
        self.writers: set = set()
        self.port = 0

    async def start(self, port: int = 0) -> "StandInGateway":
        self.server = await start_hl7_server(self.handle, "127.0.0.1", port, encoding="latin-1")
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()  # a killed server: connections reset, no goodbye
        await self.server.wait_closed()

    async def handle(self, reader, writer) -> None:
        self.writers.add(writer)
        try:
            while True:
                text = (await reader.readblock()).decode("latin-1")
                try:
                    parsed = parse_oru(text, datetime.now(UTC))
                except HL7Rejected as error:
                    ack = build_ack(text, error.ack_code, error.reason)
                else:
                    device = parsed.device_ids[0]
                    if device in self.refuse:
                        ack = build_ack(parsed, "AE", f"unknown device {device}: bind it first")
                    else:
                        self.received.append(parsed.observation)
                        ack = build_ack(parsed, "AA")
                writer.writeblock(ack.encode("latin-1"))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.writers.discard(writer)
            writer.close()

    def from_device(self, device_id: str) -> list[Observation]:
        return [o for o in self.received if o.device_id == device_id]


def devices(count: int, scenario: str = "calm") -> list[SimulatedDevice]:
    return [
        SimulatedDevice(
            device_id=f"SIM-TEST-B{n + 1}", label=f"B{n + 1}", person=person_for(1, n, scenario)
        )
        for n in range(count)
    ]


async def serve(refuse=frozenset()):
    return await StandInGateway(refuse).start()


def test_each_monitor_sends_one_frame_a_simulated_second_and_refusals_are_reported():
    async def run():
        gateway = await serve(refuse=frozenset({"SIMTESTB2"}))
        try:
            simulation = Simulation(
                devices(3), "127.0.0.1", gateway.port, plan=Plan(), speed=20, log=lines.append
            )
            counts = await simulation.run(asyncio.Event(), duration=1.5)
        finally:
            await gateway.stop()
        return gateway, counts

    lines: list[str] = []
    gateway, counts = asyncio.run(run())
    for device in ("SIMTESTB1", "SIMTESTB3"):
        times = [o.observed_at for o in gateway.from_device(device)]
        assert 20 <= len(times) <= 32, len(times)
        gaps = {round((b - a).total_seconds(), 3) for a, b in zip(times, times[1:], strict=False)}
        assert gaps == {1.0}, "message times advance one simulated second each"
    assert counts.aa == len(gateway.received)
    assert counts.ae >= 20 and counts.ar == 0
    assert counts.sent == counts.aa + counts.ae + counts.no_ack
    refusals = [line for line in lines if line.startswith("B2: AE")]
    assert refusals and "unknown device SIMTESTB2" in refusals[0]
    assert len(refusals) <= 2, "a refusal repeated every second is summarised, not repeated"


def test_monitors_reconnect_after_the_gateway_restarts():
    async def run():
        gateway = await serve()
        simulation = Simulation(
            devices(2), "127.0.0.1", gateway.port, plan=Plan(), speed=10, log=lines.append
        )
        task = asyncio.create_task(simulation.run(asyncio.Event(), duration=4))
        await asyncio.sleep(1.0)
        port = gateway.port
        await gateway.stop()
        before = len(gateway.received)
        await asyncio.sleep(1.0)
        restarted = await StandInGateway().start(port)
        try:
            counts = await task
        finally:
            await restarted.stop()
        return before, restarted, counts

    lines: list[str] = []
    before, restarted, counts = asyncio.run(run())
    assert before > 0
    assert len(restarted.from_device("SIMTESTB1")) > 5
    assert len(restarted.from_device("SIMTESTB2")) > 5
    assert counts.reconnects >= 2 and counts.unsent > 0
    assert any("reconnected" in line for line in lines)


def test_an_overdose_strikes_the_first_occupied_place():
    async def occupied() -> set[str]:
        return {"B2", "B3"}

    lines: list[str] = []

    async def run():
        gateway = await serve()
        try:
            simulation = Simulation(
                devices(3, "overdose"),
                "127.0.0.1",
                gateway.port,
                plan=Plan(scenario="overdose", onset=1, every=10_000),
                speed=50,
                occupied=occupied,
                log=lines.append,
            )
            await simulation.run(asyncio.Event(), duration=2.5)
        finally:
            await gateway.stop()
        return gateway

    gateway = asyncio.run(run())
    assert any(line.startswith("B2: overdose begins") for line in lines)
    assert min(o.spo2 or 100 for o in gateway.from_device("SIMTESTB2")) < 85
    assert min(o.resp for o in gateway.from_device("SIMTESTB2") if o.resp is not None) == 0
    for calm in ("SIMTESTB1", "SIMTESTB3"):
        assert min(o.spo2 or 100 for o in gateway.from_device(calm)) >= 90


def test_with_nobody_on_the_floor_the_first_booth_is_used_and_that_is_said():
    async def occupied() -> set[str]:
        return set()

    lines: list[str] = []

    async def run():
        gateway = await serve()
        try:
            simulation = Simulation(
                devices(2, "dropout"),
                "127.0.0.1",
                gateway.port,
                plan=Plan(scenario="dropout", onset=1, every=10_000),
                speed=50,
                occupied=occupied,
                log=lines.append,
            )
            await simulation.run(asyncio.Event(), duration=1.5)
        finally:
            await gateway.stop()
        return gateway

    gateway = asyncio.run(run())
    assert any("no simulated place is occupied; B1 is used anyway" in line for line in lines)
    times = [o.observed_at for o in gateway.from_device("SIMTESTB1")]
    longest = max((b - a).total_seconds() for a, b in zip(times, times[1:], strict=False))
    assert 29 <= longest <= 32, "the monitor falls silent for 30 simulated seconds"
    other = [o.observed_at for o in gateway.from_device("SIMTESTB2")]
    assert max((b - a).total_seconds() for a, b in zip(other, other[1:], strict=False)) < 3


def test_a_link_to_a_closed_port_backs_off_instead_of_spinning():
    async def run():
        gateway = await serve()
        port = gateway.port
        await gateway.stop()
        link = DeviceLink("127.0.0.1", port)
        results = [await link.connect() for _ in range(3)]
        return results, link

    results, link = asyncio.run(run())
    assert results == [False, False, False]
    assert link.failures == 3
    assert link.retry_at - time.monotonic() > 1.0, "the third failure waits seconds, not 0"
