"""`vigil bench-alarms`: how fast an alarm reaches the floor screens with N monitors talking.

One invocation, everything on 127.0.0.1:

1. A throw-away database (a new SQLite file in a temporary data dir, or a new database on the
   PostgreSQL server of DATABASE_URL) is migrated and seeded: one site with N booths, a person
   in each, a simulated monitor bound to each, and a nurse with a session.
2. A real `vigil serve` runs on it in a subprocess, and K real HTTP clients hold the floor's
   Server-Sent Events stream open, as the wall screen and the nurses' tablets do. The nurse's
   session is written straight into the database, signed with a key made for this run and
   handed to the server, so no password is hashed or typed.
3. The load generator (vigil.monitoring.loadgen, another process) opens one MLLP connection per
   monitor and sends one message a second from each. At planned moments a monitor sends SpO2
   80; the latency of that alarm is the time from sending the frame to each SSE client reading
   an `alarms` event that shows the place. A nurse resolves each such alarm once every screen
   has shown it (as on a real floor, where open alarms do not pile up by the hundred).
4. Saturation: the same connections send as fast as the ACKs come back, first against
   `vigil serve` (parse, detect, persist, publish, with the screens still connected), then
   against a bare python-hl7 server that only parses and acknowledges: their ratio is how much
   of the transport's capacity the whole pipeline keeps.
5. Every control id the gateway acknowledged with AA is looked for in the database.

The site's visual-check interval and occupancy limit are set to hours, so the only alarms in
the run are the planned ones: 500 "visual check overdue" alarms falling due together would
measure something else.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import http.client
import json
import math
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import time as time_of_day
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.utils import timezone

from vigil.accounts.models import Staff
from vigil.accounts.roles import Role
from vigil.floor.models import Occupancy, Visit, VisitStatus
from vigil.monitoring.models import Alarm, Device, DeviceKind, Reading
from vigil.participants.models import Participant
from vigil.sites.models import Jurisdiction, Place, PlaceKind, Site

AIM_P99_MS = 250.0
AIM_RATIO = 0.5
SETTLE_SECONDS = 6.0  # after the load stops, how long a late alarm may still arrive
RESOLVE_AFTER = 2.0  # the monitor is back to normal by then, so the alarm does not come back
GIVE_UP_RESOLVE = 6.0
START_TIMEOUT = 60.0
ARTICLE = re.compile(rb'data-alarm="(\d+)"[^>]*?data-place="([^"]*)"', re.S)


class BenchError(Exception):
    """The run went wrong in a way that would make its figures lie."""


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the database -----------------------------------------------------------------------------


@dataclass
class Database:
    vendor: str
    env: dict[str, str]  # what `vigil serve` needs to open the same database


@contextlib.contextmanager
def throwaway_database(data_dir: Path) -> Iterator[Database]:
    """Point this process's default connection at a new, migrated database, and drop it after.
    The configured database is neither read nor written."""
    db = connections[DEFAULT_DB_ALIAS]
    old_name = db.settings_dict["NAME"]
    vendor = db.vendor
    name = f"vigil_bench_alarms_{os.getpid()}"
    if vendor == "sqlite":
        path = str(data_dir / "vigil.sqlite3")
        env = {"VIGIL_SQLITE_PATH": path}
        new_name = path
    elif vendor == "postgresql":
        try:
            with db.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
                cursor.execute(f'CREATE DATABASE "{name}"')
        except DatabaseError as exc:
            raise BenchError(
                f"Cannot create a database for the benchmark on the server of DATABASE_URL: {exc}"
            ) from exc
        parts = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
        env = {"DATABASE_URL": urllib.parse.urlunsplit(parts._replace(path="/" + name))}
        new_name = name
    else:
        raise BenchError(f"bench-alarms runs on SQLite or PostgreSQL, not {vendor}.")
    db.close()
    db.settings_dict["NAME"] = new_name
    ContentType.objects.clear_cache()
    try:
        call_command("migrate", interactive=False, verbosity=0)
        yield Database(vendor=vendor, env=env)
    finally:
        db.close()
        db.settings_dict["NAME"] = old_name
        ContentType.objects.clear_cache()
        if vendor == "postgresql":
            with db.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Floor:
    site_id: int
    labels: list[str]
    device_ids: list[str]  # as the monitors send them
    session_key: str


def seed_floor(booths: int) -> Floor:
    """One site, N booths, someone in each, a monitor on each, a nurse signed in. Bulk inserts:
    this is a fixture for a benchmark, not N check-ins to be announced to anyone."""
    now = timezone.now()
    jurisdiction = Jurisdiction.objects.create(name="Bench County")
    site = Site.objects.create(
        jurisdiction=jurisdiction,
        name="Bench CHEL",
        opens_at=time_of_day(0, 0),
        closes_at=time_of_day(23, 59),
        check_interval_place_minutes=600,
        check_interval_aftercare_minutes=600,
        check_grace_minutes=600,
        occupancy_limit_minutes=600,
    )
    labels = [f"B{n}" for n in range(1, booths + 1)]
    places = Place.objects.bulk_create(
        [
            Place(site=site, kind=PlaceKind.BOOTH, label=label, position=n)
            for n, label in enumerate(labels, 1)
        ]
    )
    people = Participant.objects.bulk_create(
        [
            Participant(
                jurisdiction=jurisdiction,
                code_hash=hashlib.sha256(f"bench-{n}".encode()).hexdigest(),
                alias=f"Bench{n}",
                registered_at=now,
                registered_site=site,
            )
            for n in range(1, booths + 1)
        ],
        batch_size=500,
    )
    visits = Visit.objects.bulk_create(
        [
            Visit(
                site=site,
                participant=person,
                checked_in_at=now,
                substances=["fentanyl"],
                route="inject",
                otherwise_location="public",
                status=VisitStatus.IN_PLACE,
            )
            for person in people
        ],
        batch_size=500,
    )
    Occupancy.objects.bulk_create(
        [
            Occupancy(visit=visit, place=place, started_at=now)
            for visit, place in zip(visits, places, strict=True)
        ],
        batch_size=500,
    )
    device_ids = [f"SIM-BENCH-{label}" for label in labels]
    Device.objects.bulk_create(
        [
            Device(
                device_id=device_id.replace("-", ""),
                label=f"Bench monitor {place.label}",
                kind=DeviceKind.MONITOR,
                place=place,
                simulated=True,
            )
            for device_id, place in zip(device_ids, places, strict=True)
        ],
        batch_size=500,
    )
    nurse = Staff.objects.create(username="bench-nurse", role=Role.NURSE, first_name="Bench")
    nurse.set_unusable_password()
    nurse.save()
    nurse.sites.add(site)
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(nurse.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = nurse.get_session_auth_hash()
    from vigil.accounts.twofactor import verified_session

    session.update(verified_session(nurse))  # as after password and code (docs/sign-in.md)
    session.create()
    assert session.session_key is not None
    return Floor(
        site_id=site.pk, labels=labels, device_ids=device_ids, session_key=session.session_key
    )


# --- processes --------------------------------------------------------------------------------


def rss_mb(pid: int, field_name: str = "VmRSS") -> float | None:
    """Resident memory of a process from /proc (psutil is not a dependency)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process from /proc/<pid>/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class Server:
    """`vigil serve` on free ports, on the throw-away database."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen[str] | None = None
        self.port = self.mllp_port = 0

    def start(self) -> None:
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "vigil", "serve", "--port", "0", "--mllp-port", "0"]
                + ["--log-level", "warning"],
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                text=True,
            )
        assert self.process.stdout is not None
        web = self.process.stdout.readline()
        gateway = self.process.stdout.readline()
        if "listening on" not in web or "Device gateway" not in gateway:
            self.stop()
            raise BenchError(f"vigil serve did not start:\n{self.tail()}")
        self.port = int(web.rsplit(":", 1)[1].strip().rstrip("/"))
        self.mllp_port = int(gateway.rsplit(":", 1)[1].strip())
        # Nothing else is expected on stdout, but a full pipe would stall the server.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                url = f"http://127.0.0.1:{self.port}/healthz"
                with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own server
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise BenchError(f"vigil serve never became healthy:\n{self.tail()}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@contextlib.contextmanager
def bare_server(log: Path) -> Iterator[int]:
    """The transport yardstick (see vigil.monitoring.loadgen), stopped by closing its stdin."""
    with open(log, "a") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "vigil.monitoring.loadgen", "bare-server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if "Bare MLLP server on" not in line:
            raise BenchError(f"the bare MLLP server did not start: {line!r}")
        yield int(line.rsplit(":", 1)[1])
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


async def run_loadgen(
    plan: dict[str, Any], port: int, work: Path, name: str, on_event: Any = None
) -> dict[str, Any]:
    """Run the load generator as a separate process and return its results."""
    plan_path, out_path = work / f"{name}-plan.json", work / f"{name}-out.json"
    plan_path.write_text(json.dumps(plan))
    budget = plan.get("seconds", 0) + plan.get("saturation_seconds", 0) + 120
    with open(work / f"{name}-loadgen.log", "a") as errors:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "vigil.monitoring.loadgen",
            "run",
            "--port",
            str(port),
            "--plan",
            str(plan_path),
            "--out",
            str(out_path),
            stdout=asyncio.subprocess.PIPE,
            stderr=errors,
            stdin=asyncio.subprocess.DEVNULL,
        )
    assert process.stdout is not None
    deadline = time.monotonic() + budget
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchError(f"the load generator ({name}) ran past {budget:.0f} s")
            line = await asyncio.wait_for(process.stdout.readline(), remaining)
            if not line:
                break
            event = json.loads(line)
            if event["event"] == "ready":
                skew = time.monotonic() - event["monotonic"]
                # Both processes read one system-wide CLOCK_MONOTONIC, so this is the pipe's
                # delay: never negative, a few milliseconds. Anything else voids the latencies.
                if not -0.001 <= skew < 2.0:
                    raise BenchError(f"the two processes' monotonic clocks differ by {skew:.3f} s")
                if event["connected"] < event["devices"]:
                    raise BenchError(
                        f"only {event['connected']} of {event['devices']} monitors could connect"
                    )
            if on_event is not None:
                on_event(event)
        code = await asyncio.wait_for(process.wait(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if code != 0 or not out_path.exists():
        log = (work / f"{name}-loadgen.log").read_text(errors="replace")[-3000:]
        raise BenchError(f"the load generator ({name}) failed with code {code}:\n{log}")
    return json.loads(out_path.read_text())


# --- the screens and the nurse ----------------------------------------------------------------


@dataclass
class Screen:
    """One floor screen: a plain HTTP client holding the SSE stream open."""

    name: str
    port: int
    path: str
    cookie: str
    first_seen: dict[str, float] = field(default_factory=dict)  # place label -> monotonic
    alarm_place: dict[int, str] = field(default_factory=dict)  # alarm id -> place label
    alarm_seen_at: dict[int, float] = field(default_factory=dict)
    alarm_events: int = 0
    events: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port, limit=2**24)
        try:
            writer.write(
                (
                    f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                    f"Cookie: {self.cookie}\r\nAccept: text/event-stream\r\n"
                    "Cache-Control: no-cache\r\n\r\n"
                ).encode()
            )
            await writer.drain()
            status = await reader.readline()
            if b" 200 " not in status:
                raise BenchError(f"{self.name}: the event stream answered {status!r}")
            chunked = False
            while (header := await reader.readline()) not in (b"\r\n", b""):
                if header.lower().startswith(b"transfer-encoding:") and b"chunked" in header:
                    chunked = True
            buffer = b""
            while True:
                if chunked:
                    size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        return
                    data = (await reader.readexactly(size + 2))[:-2]
                else:
                    data = await reader.read(65536)
                    if not data:
                        return
                received = time.monotonic()
                buffer += data
                while (end := buffer.find(b"\n\n")) >= 0:
                    self._event(buffer[:end], received)
                    buffer = buffer[end + 2 :]
        finally:
            writer.close()

    def _event(self, block: bytes, received: float) -> None:
        self.events += 1
        if not block.startswith(b"event: alarms"):
            return
        self.alarm_events += 1
        for match in ARTICLE.finditer(block):
            alarm, label = int(match.group(1)), match.group(2).decode()
            self.first_seen.setdefault(label, received)
            self.alarm_place.setdefault(alarm, label)
            self.alarm_seen_at.setdefault(alarm, received)
        self.ready.set()


def resolve_alarm(port: int, alarm: int, cookie: str, csrf: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        connection.request(
            "POST",
            f"/alarms/{alarm}/resolve",
            body="outcome=false_alarm",
            headers={
                "Cookie": cookie,
                "X-CSRFToken": csrf,
                "HX-Request": "true",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


async def nurse(
    screens: list[Screen], planned: set[str], port: int, cookie: str, csrf: str, stop: asyncio.Event
) -> dict[str, int]:
    """Resolves each planned alarm once every screen has shown it, as "false alarm"."""
    done: set[int] = set()
    outcome = {"resolved": 0, "refused": 0}
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.25)
        now = time.monotonic()
        lead = screens[0]
        for alarm, label in list(lead.alarm_place.items()):
            if alarm in done or label not in planned:
                continue
            age = now - lead.alarm_seen_at[alarm]
            everywhere = all(label in screen.first_seen for screen in screens)
            if (everywhere and age >= RESOLVE_AFTER) or age >= GIVE_UP_RESOLVE:
                done.add(alarm)
                status = await asyncio.to_thread(resolve_alarm, port, alarm, cookie, csrf)
                outcome["resolved" if status == 204 else "refused"] += 1
    return outcome


# --- the plan and the figures -----------------------------------------------------------------


def crossing_plan(booths: int, seconds: int, per_second: float) -> list[dict[str, int]]:
    """Which monitor sends SpO2 80 at which tick: evenly over the steady phase after a short
    warm-up, each on a different place (a place that has alarmed is not fresh any more)."""
    warm_up = min(3.0, seconds / 3)
    last = max(warm_up + 0.5, seconds - 1.5)
    count = max(1, min(booths, math.floor((last - warm_up) * per_second)))
    plan = []
    for j in range(count):
        at = warm_up + j * (last - warm_up) / count
        device = (j * booths) // count
        tick = min(seconds - 1, max(0, math.ceil(at - device / booths)))
        plan.append({"device": device, "tick": tick})
    return plan


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Options:
    booths: int
    seconds: int
    sse_clients: int
    saturation_seconds: float
    crossings_per_second: float
    seed: int


async def measure(options: Options, floor: Floor, server: Server, work: Path) -> dict[str, Any]:
    csrf = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    cookie = f"sessionid={floor.session_key}; csrftoken={csrf}"
    path = f"/sites/{floor.site_id}/floor/events"
    screens = [
        Screen(f"screen {n + 1}", server.port, path, cookie) for n in range(options.sse_clients)
    ]
    streams = [asyncio.create_task(screen.run()) for screen in screens]
    stop = asyncio.Event()
    nurse_task: asyncio.Task[dict[str, int]] | None = None
    try:
        ready: asyncio.Future[Any] = asyncio.gather(*(s.ready.wait() for s in screens))
        waiting: list[asyncio.Future[Any]] = [ready, *streams]
        done, _ = await asyncio.wait(
            waiting, timeout=START_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        ready.cancel()
        for task in streams:
            if task in done:
                task.result()  # a stream that ended before it was ready says why
        if not all(screen.ready.is_set() for screen in screens):
            raise BenchError("the floor screens never received their first alarm panel")
        progress(f"{len(screens)} floor screens connected; starting {options.booths} monitors")

        crossings = crossing_plan(options.booths, options.seconds, options.crossings_per_second)
        planned = {floor.labels[c["device"]] for c in crossings}
        nurse_task = asyncio.create_task(nurse(screens, planned, server.port, cookie, csrf, stop))
        memory: dict[str, float | None] = {}

        started: dict[str, float | None] = {}

        def on_event(event: dict[str, Any]) -> None:
            if event["event"] == "ready":
                started.update(cpu=cpu_seconds(server.pid), at=time.monotonic())
                progress(f"monitors connected; steady load for {options.seconds} s")
            elif event["event"] == "steady_done":
                memory["rss"] = rss_mb(server.pid)
                cpu, before, since = cpu_seconds(server.pid), started.get("cpu"), started.get("at")
                if cpu is not None and before is not None and since is not None:
                    # 100 = one core busy the whole time; a 2-core machine tops out at 200.
                    memory["cpu"] = 100 * (cpu - before) / (time.monotonic() - since)
                progress(f"steady load done; saturating for {options.saturation_seconds:g} s")

        plan = {
            "devices": [
                {"device_id": d, "label": label}
                for d, label in zip(floor.device_ids, floor.labels, strict=True)
            ],
            "seconds": options.seconds,
            "crossings": crossings,
            "saturation_seconds": options.saturation_seconds,
            "seed": options.seed,
        }
        result = await run_loadgen(plan, server.mllp_port, work, "vigil", on_event)
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline and not all(
            label in screen.first_seen for screen in screens for label in planned
        ):
            await asyncio.sleep(0.1)
        memory["peak"] = rss_mb(server.pid, "VmHWM")
    finally:
        stop.set()
        nurse_outcome = await nurse_task if nurse_task is not None else {}
        for task in streams:
            task.cancel()
        await asyncio.gather(*streams, return_exceptions=True)

    latencies: list[float] = []
    missed = early = 0
    for crossing in result["crossings"]:
        sent_at = crossing["sent_at"]
        if sent_at is None:
            missed += len(screens)  # the frame itself was not accepted
            continue
        for screen in screens:
            seen = screen.first_seen.get(crossing["label"])
            if seen is None:
                missed += 1
            elif seen < sent_at:
                early += 1  # the place was alarming before the frame: not this frame's alarm
            else:
                latencies.append((seen - sent_at) * 1000)
    unplanned = sorted(set(screens[0].first_seen) - planned)
    return {
        "loadgen": result,
        "latencies": latencies,
        "missed": missed,
        "early": early,
        "unplanned": unplanned,
        "rss": memory.get("rss"),
        "peak": memory.get("peak"),
        "cpu": memory.get("cpu"),
        "nurse": nurse_outcome,
        "alarm_events": screens[0].alarm_events,
    }


def gateway_delays(site_id: int, crossings: list[dict[str, Any]]) -> list[float]:
    """Milliseconds from sending each critical frame to the gateway reading it: the alarm is
    stamped with the time its frame was read (both clocks are this machine's wall clock). The
    rest of the latency is the alarm's write, its publication and the screens' rendering."""
    first: dict[str, float] = {}
    labels = [c["label"] for c in crossings]
    for label, raised_at in Alarm.objects.filter(
        site_id=site_id, place__label__in=labels
    ).values_list("place__label", "raised_at"):
        first[label] = min(first.get(label, math.inf), raised_at.timestamp())
    return [
        (first[c["label"]] - c["sent_wall"]) * 1000
        for c in crossings
        if c.get("sent_wall") is not None and c["label"] in first
    ]


def unplanned_alarms(site_id: int, crossings: list[dict[str, Any]]) -> dict[str, int]:
    """Alarms at places that sent nothing critical, by kind: any at all means the load itself
    raised them (a monitor whose messages were held up long enough looks silent)."""
    planned = {c["label"] for c in crossings}
    kinds: dict[str, int] = {}
    for kind in (
        Alarm.objects.filter(site_id=site_id)
        .exclude(place__label__in=planned)
        .values_list("kind", flat=True)
    ):
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def lost_messages(run_id: str, acknowledged: list[str]) -> int:
    stored = set(
        Reading.objects.filter(control_id__startswith=run_id)
        .values_list("control_id", flat=True)
        .iterator()
    )
    return sum(1 for control_id in acknowledged if control_id not in stored)


def run(options: Options) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="vigil-bench-alarms-"))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # One descriptor per monitor in the load generator and in the server, inherited from here.
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    saved_key = settings.SECRET_KEY
    # A key for this run only: the nurse's session is signed here and checked by the server.
    secret_key = secrets.token_urlsafe(48)
    settings.SECRET_KEY = secret_key
    try:
        with throwaway_database(work) as database:
            progress(f"seeding {options.booths} booths on {database.vendor}")
            floor = seed_floor(options.booths)
            env = {
                key: value
                for key, value in os.environ.items()
                if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "VIGIL_SQLITE_PATH")
            }
            env.update(database.env)
            env.update(
                VIGIL_DATA_DIR=str(work),
                VIGIL_DJANGO_SECRET_KEY=secret_key,
                VIGIL_LOG_LEVEL="WARNING",
                PYTHONUNBUFFERED="1",
            )
            server = Server(env, work / "serve.log")
            server.start()
            progress(
                f"vigil serve up (pid {server.pid}, web {server.port}, MLLP {server.mllp_port})"
            )
            try:
                measured = asyncio.run(measure(options, floor, server, work))
                loadgen = measured["loadgen"]
                lost = lost_messages(loadgen["run_id"], loadgen["aa_control_ids"])
                measured["gateway"] = gateway_delays(floor.site_id, loadgen["crossings"])
                measured["unplanned_alarms"] = unplanned_alarms(floor.site_id, loadgen["crossings"])
            finally:
                server.stop()
            progress("the same load against a bare python-hl7 MLLP server")
            with bare_server(work / "bare.log") as bare_port:
                bare = asyncio.run(
                    run_loadgen(
                        {
                            "devices": [{"device_id": d, "label": d} for d in floor.device_ids],
                            "seconds": 0,
                            "saturation_seconds": options.saturation_seconds,
                            "seed": options.seed,
                        },
                        bare_port,
                        work,
                        "bare",
                    )
                )
    finally:
        settings.SECRET_KEY = saved_key
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        shutil.rmtree(work, ignore_errors=True)
    return figures(options, database.vendor, measured, lost, bare)


def figures(
    options: Options, vendor: str, measured: dict[str, Any], lost: int, bare: dict[str, Any]
) -> dict[str, Any]:
    loadgen = measured["loadgen"]
    steady, saturation = loadgen["steady"], loadgen["saturation"]
    latencies = measured["latencies"]
    pipeline = saturation["aa_in_time"] / options.saturation_seconds
    transport = bare["saturation"]["aa_in_time"] / options.saturation_seconds
    p99 = percentile(latencies, 99)
    return {
        "booths": options.booths,
        "messages_per_second": _round(steady["aa"] / options.seconds),
        "latency_ms_p50": _round(percentile(latencies, 50)),
        "latency_ms_p99": _round(p99),
        "lost_messages": lost,
        "rss_mb": measured["rss"],
        "max_messages_per_second": _round(pipeline),
        "transport_limit_messages_per_second": _round(transport),
        "ratio": _round(pipeline / transport if transport else None, 2),
        "latency_ms_max": _round(max(latencies) if latencies else None),
        "gateway_read_ms_p50": _round(percentile(measured["gateway"], 50)),
        "gateway_read_ms_p99": _round(percentile(measured["gateway"], 99)),
        "latency_samples": len(latencies),
        "alarms_not_shown": measured["missed"],
        "alarms_before_their_frame": measured["early"],
        "places_alarming_unplanned": len(measured["unplanned"]),
        "unplanned_alarms": measured["unplanned_alarms"],
        "alarms_resolved_by_nurse": measured["nurse"].get("resolved", 0),
        "messages_sent": steady["sent"] + saturation["sent"],
        "messages_refused": steady["refused"] + saturation["refused"],
        "messages_without_ack": steady["no_ack"] + saturation["no_ack"],
        "messages_sent_late": steady["late"],
        "rss_peak_mb": measured["peak"],
        "server_cpu_percent": _round(measured["cpu"], 0),
        "seconds": options.seconds,
        "saturation_seconds": options.saturation_seconds,
        "sse_clients": options.sse_clients,
        "database": vendor,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "aims_met": bool(
            p99 is not None
            and p99 <= AIM_P99_MS
            and lost == 0
            and measured["missed"] == 0
            and transport
            and pipeline / transport >= AIM_RATIO
        ),
    }


class Command(BaseCommand):
    help = (
        "Measure the alarm path end to end with N simulated monitors: in a throw-away database "
        "(a new SQLite file, or a new database on the PostgreSQL server of DATABASE_URL; the "
        "configured database is not touched), run `vigil serve`, hold floor SSE streams open, "
        "and drive one MLLP connection per monitor at one message a second from a separate "
        "load-generator process. Prints one JSON object: booths, messages_per_second, "
        "latency_ms_p50/p99 (critical SpO2 frame sent -> alarm event read by an SSE client), "
        "lost_messages (AA'd but not in the database), rss_mb of the server, and a saturation "
        "run: max_messages_per_second of the whole pipeline, "
        "transport_limit_messages_per_second of a bare python-hl7 server with the same load, "
        "and their ratio. Progress goes to stderr. Aims: p99 <= 250 ms, nothing lost, "
        "ratio >= 0.5."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--booths",
            type=int,
            default=500,
            help="monitored booths, one monitor and one MLLP connection each (default 500)",
        )
        parser.add_argument(
            "--seconds",
            type=int,
            default=30,
            help="length of the steady phase at one message a second per monitor (default 30)",
        )
        parser.add_argument(
            "--sse-clients",
            type=int,
            default=3,
            help="floor screens holding the event stream open (default 3)",
        )
        parser.add_argument(
            "--saturation-seconds",
            type=float,
            default=5.0,
            help="length of each saturation run, against vigil and against the bare server "
            "(default 5)",
        )
        parser.add_argument(
            "--crossings-per-second",
            type=float,
            default=2.0,
            help="critical SpO2 frames a second during the steady phase, each at another "
            "place (default 2; at most one per booth)",
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="seed of the simulated vitals (default 1)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        checks = (
            ("booths", 1, 5000),
            ("seconds", 2, 600),
            ("sse_clients", 1, 50),
            ("saturation_seconds", 0.5, 120),
            ("crossings_per_second", 0.1, 50),
        )
        for name, low, high in checks:
            if not low <= options[name] <= high:
                raise CommandError(f"--{name.replace('_', '-')} must be between {low} and {high}.")
        try:
            result = run(
                Options(
                    booths=options["booths"],
                    seconds=options["seconds"],
                    sse_clients=options["sse_clients"],
                    saturation_seconds=options["saturation_seconds"],
                    crossings_per_second=options["crossings_per_second"],
                    seed=options["seed"],
                )
            )
        except BenchError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(result, indent=2))
