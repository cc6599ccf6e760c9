"""`vigil simulate`: simulated monitors on a site's booths, speaking real MLLP to the gateway.

See vigil.monitoring.simulator for the vitals model and the device side; this command binds the
devices to places and tells the simulation which places are occupied.
"""

import asyncio
import os
import signal
from typing import Any

from asgiref.sync import sync_to_async
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.text import slugify

from vigil.floor.models import Occupancy
from vigil.monitoring import actions
from vigil.monitoring.models import Device, DeviceKind
from vigil.monitoring.simulator import (
    RECOVER_AFTER,
    SCENARIOS,
    Plan,
    SimulatedDevice,
    Simulation,
    person_for,
)
from vigil.monitoring.vitals import normalise_device_id
from vigil.sites.models import Place, PlaceKind, Site

MAX_BOOTHS = 2000
MAX_SPEED = 100.0


def parse_gateway(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(f"--gateway takes HOST:PORT, e.g. 127.0.0.1:2575 (got {value!r}).")
    return host.strip("[]"), int(port)


def simulated_device_id(site: Site, place: Place) -> str:
    """SIM-<site slug>-<label>: says what it is wherever it shows (device list, alarms, logs),
    and stays within the 64 characters a device id may have."""
    label = normalise_device_id(place.label) or str(place.pk)
    slug = slugify(site.name).upper()[: 64 - 6 - len(label)].strip("-") or str(site.pk)
    return f"SIM-{slug}-{label}"


class Command(BaseCommand):
    help = (
        "Simulate bedside monitors (pulse oximeter with acoustic breathing) on a site's first N "
        "booths and seats: registers and binds devices SIM-<site>-<label> (marked simulated), "
        "then sends one HL7 2.6 ORU^R01 per device per simulated second over real MLLP to the "
        "device gateway, checking every ACK (AE/AR are reported on stderr) and reconnecting "
        "with backoff when the gateway restarts. Scenarios: calm (resting people, occasional "
        "movement artefacts), overdose (the first occupied place stops breathing after --onset "
        "seconds, SpO2 follows, naloxone after --recover-after; again every --every seconds on "
        "the next occupied place), dropout (a monitor falls silent for 30 s, likewise), noisy "
        "(many artefacts and probe-off stretches). Ctrl-C stops it. --onset, --recover-after "
        "and --every are simulated seconds; --duration is real seconds. A running `vigil serve` "
        "picks up the new devices by itself."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--site", required=True, help='the site by name, e.g. "Seattle CHEL"')
        parser.add_argument(
            "--booths",
            type=int,
            default=10,
            help="how many places to monitor: the site's first N booths and seats in board "
            "order, aftercare seats excluded (default 10)",
        )
        parser.add_argument(
            "--scenario", choices=SCENARIOS, default="calm", help="what happens (default calm)"
        )
        parser.add_argument(
            "--speed",
            type=float,
            default=1.0,
            help="simulated seconds per real second: 10 sends ten messages a second per device "
            "and message times run ten times faster, so above 1 the device list soon shows the "
            "monitors' clocks as off (default 1)",
        )
        parser.add_argument(
            "--gateway",
            default=f"127.0.0.1:{os.environ.get('VIGIL_MLLP_PORT', '2575')}",
            help="the device gateway's HOST:PORT (default 127.0.0.1:$VIGIL_MLLP_PORT or 2575)",
        )
        parser.add_argument(
            "--onset",
            type=float,
            default=60.0,
            help="simulated seconds before the first overdose or dropout (default 60)",
        )
        parser.add_argument(
            "--recover-after",
            type=float,
            default=RECOVER_AFTER,
            help="simulated seconds from the onset of an overdose to naloxone (default 180)",
        )
        parser.add_argument(
            "--every",
            type=float,
            default=600.0,
            help="simulated seconds between overdoses or dropouts (default 600)",
        )
        parser.add_argument(
            "--duration",
            type=float,
            default=None,
            help="stop after this many real seconds (default: run until Ctrl-C)",
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="seed of the simulated people (default 1)"
        )
        parser.add_argument(
            "--register-only",
            action="store_true",
            help="register and bind the simulated devices, then exit without sending",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        booths, speed = options["booths"], options["speed"]
        if not 1 <= booths <= MAX_BOOTHS:
            raise CommandError(f"--booths must be between 1 and {MAX_BOOTHS}.")
        if not 0 < speed <= MAX_SPEED:
            raise CommandError(f"--speed must be above 0 and at most {MAX_SPEED:g}.")
        for name in ("onset", "recover_after"):
            if options[name] < 0:
                raise CommandError(f"--{name.replace('_', '-')} cannot be negative.")
        if options["every"] <= 0:
            raise CommandError("--every must be above 0.")
        if options["duration"] is not None and options["duration"] <= 0:
            raise CommandError("--duration must be above 0.")
        host, port = parse_gateway(options["gateway"])

        site = Site.objects.filter(name=options["site"]).first()
        if site is None:
            raise CommandError(f"No site named {options['site']!r}. `vigil site list` shows them.")
        places = list(
            Place.objects.filter(site=site, in_service=True)
            .exclude(kind=PlaceKind.AFTERCARE)
            .order_by("position", "label")[:booths]
        )
        if not places:
            raise CommandError(f"{site.name} has no booths or seats in service.")
        if len(places) < booths:
            self.stderr.write(f"{site.name} has only {len(places)} booths and seats; using them.")
        devices = self._register(site, places, options["scenario"], options["seed"])
        labels = ", ".join(d.label for d in devices)
        if options["register_only"]:
            self.stdout.write(f"{len(devices)} simulated monitors bound at {site.name}: {labels}.")
            return
        self.stdout.write(
            f"Simulating {len(devices)} monitors at {site.name} ({labels}), scenario "
            f"{options['scenario']}, speed {speed:g}x, gateway {host}:{port}. Ctrl-C stops."
        )
        self.stdout.flush()
        place_ids = [p.pk for p in places]

        @sync_to_async
        def occupied() -> set[str]:
            return set(
                Occupancy.objects.filter(ended_at__isnull=True, place_id__in=place_ids)
                .values_list("place__label", flat=True)
                .iterator()
            )

        def log(line: str) -> None:
            self.stderr.write(line)
            self.stderr.flush()

        simulation = Simulation(
            devices,
            host,
            port,
            plan=Plan(
                scenario=options["scenario"],
                onset=options["onset"],
                recover_after=options["recover_after"],
                every=options["every"],
            ),
            speed=speed,
            occupied=occupied,
            log=log,
            facility=slugify(site.name).upper()[:20] or "VIGIL",
        )
        counts = asyncio.run(self._run(simulation, options["duration"]))
        c = counts
        self.stdout.write(
            f"Sent {c.sent} messages: {c.aa} AA, {c.ae} AE, {c.ar} AR, {c.no_ack} without an "
            f"ACK; {c.unsent} not sent (gateway unreachable or monitor silent), {c.skipped} "
            f"skipped (ACK slower than a tick), {c.reconnects} reconnections."
        )

    async def _run(self, simulation: Simulation, duration: float | None):
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            return await simulation.run(stop, duration)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    def _register(
        self, site: Site, places: list[Place], scenario: str, seed: int
    ) -> list[SimulatedDevice]:
        devices = []
        for index, place in enumerate(places):
            device_id = simulated_device_id(site, place)
            real = Device.objects.filter(
                device_id=normalise_device_id(device_id), simulated=False
            ).first()
            if real is not None:
                raise CommandError(
                    f"{device_id} is a real device already registered; the simulator will not "
                    "speak in its name."
                )
            try:
                actions.add_device(
                    device_id=device_id,
                    place=place,
                    kind=DeviceKind.MONITOR,
                    label=f"Simulated monitor {place.label}",
                    simulated=True,
                )
            except actions.DeviceError as exc:
                raise CommandError(f"{device_id}: {exc}") from exc
            devices.append(
                SimulatedDevice(
                    device_id=device_id,
                    label=place.label,
                    person=person_for(seed, index, scenario),
                )
            )
        return devices
