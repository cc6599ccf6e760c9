"""Simulated people and their monitors, behind `vigil simulate` and `vigil bench-alarms`.

Two halves, kept apart so the first can be tested without sockets or a database:

- The vitals model. `SimulatedPerson.vitals(t)` is a pure function of simulated time (seconds):
  a seeded baseline (SpO2 95-99, pulse 60-100, breathing 12-18 a minute) that wanders slowly,
  per-second measurement noise, brief implausible values from movement, probe-off stretches,
  and opioid overdoses with their recovery after naloxone. The same seed gives the same values,
  whatever order they are asked for in.
- The device side. `build_oru` writes what a bedside oximeter with acoustic breathing sends
  (HL7 2.6 ORU^R01 after IHE PCD-01, IEEE 11073 codes, its identity in OBX-18 marked EUI-64);
  `DeviceLink` speaks MLLP with python-hl7's asyncio streams, checks every ACK and reconnects
  with backoff; `Simulation` runs one link per device at one message per simulated second.

Nothing here imports Django: the load generator of `vigil bench-alarms` runs this module in a
process of its own, and the `vigil simulate` command supplies the database look-ups.

The overdose course follows what the product brief and the monitoring literature describe for
opioids: breathing slows first (14 -> 6 a minute within half a minute, none after a minute),
oxygen saturation follows with a lag (under 90 % after about 50 s, under 85 % after about 60 s,
around 75 % after 90 s), the pulse rises as the body struggles and then falls with hypoxia.
Naloxone brings breathing back within half a minute (often fast breathing and a fast pulse,
withdrawal), and saturation follows, again with a lag.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import secrets
import time
from bisect import bisect_right
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hl7.mllp import open_hl7_connection

SCENARIOS = ("calm", "overdose", "dropout", "noisy")

# Movement artefacts a person at rest makes now and then, and many more when restless. Every
# artefact is a value the rules set aside as impossible (a pulse over 250, breathing over 120,
# SpO2 0 = no signal), so artefacts test robustness, not the nurse's patience.
ARTEFACTS_PER_HOUR = {"calm": 12.0, "overdose": 12.0, "dropout": 12.0, "noisy": 150.0}
PROBE_OFF_PER_HOUR = {"calm": 0.0, "overdose": 0.0, "dropout": 0.0, "noisy": 20.0}
DROPOUT_SECONDS = 30.0
RECOVER_AFTER = 180.0  # seconds from onset to naloxone
APNEA_AFTER = 15.0  # no breath this long before the device flags apnea (IEC 80601-2-61 style)

# Seconds after onset -> value, for the course of an untreated overdose; `base` is the person's
# own baseline, so the course starts where the person is.
_RESP_COURSE = ((0.0, "base"), (30.0, 6.0), (60.0, 0.0))
_SPO2_COURSE = (
    (0.0, "base"),
    (20.0, "base-1"),
    (45.0, 91.0),
    (62.0, 84.5),
    (90.0, 75.0),
    (240.0, 70.0),
)
_PULSE_COURSE = ((0.0, "base"), (30.0, "base+15"), (60.0, "base+20"), (120.0, 55.0), (180.0, 45.0))
# Seconds after naloxone -> value; None = the value at the moment it was given.
_RESP_RECOVERY = ((0.0, None), (30.0, 8.0), (60.0, 16.0), (90.0, 20.0), (180.0, "base"))
_SPO2_RECOVERY = ((0.0, None), (20.0, None), (60.0, 88.0), (90.0, 94.0), (150.0, "base"))
_PULSE_RECOVERY = ((0.0, None), (60.0, 105.0), (180.0, "base+10"), (300.0, "base"))
RECOVERY_SECONDS = 300.0  # after naloxone, everything is back at baseline

# HL7 codes (IEEE 11073-10101) and units, as in IHE PCD-01.
SPO2_CODE = "150456^MDC_PULS_OXIM_SAT_O2^MDC"
PULSE_CODE = "149530^MDC_PULS_OXIM_PULS_RATE^MDC"
RESP_CODE = "151562^MDC_RESP_RATE^MDC"
APNEA_CODE = "199680^MDC_EVT_APNEA^MDC"
PERCENT = "262688^MDC_DIM_PERCENT^MDC"
BEATS = "264864^MDC_DIM_BEAT_PER_MIN^MDC"
BREATHS = "264928^MDC_DIM_RESP_PER_MIN^MDC"
APPLICATION = "VIGIL_SIM"


# --- the vitals model -------------------------------------------------------------------------


def _unit(seed: int, stream: int, n: int) -> float:
    """A uniform number in [0, 1) for (seed, stream, n): splitmix64, so any second's noise can be
    computed on its own, without replaying the ones before it."""
    z = (seed * 0x9E3779B97F4A7C15 + stream * 0xBF58476D1CE4E5B9 + n * 0x94D049BB133111EB) & (
        2**64 - 1
    )
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & (2**64 - 1)
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & (2**64 - 1)
    z ^= z >> 31
    return z / 2**64


_JITTER_SPO2, _JITTER_PULSE, _JITTER_RESP = 1, 2, 3
_ARTEFACT, _ARTEFACT_LENGTH, _ARTEFACT_KIND, _ARTEFACT_VALUE = 4, 5, 6, 7
_PROBE_OFF, _PROBE_OFF_LENGTH = 8, 9


@dataclass(frozen=True)
class Vitals:
    """What the monitor reports in one message. SpO2 0 and pulse 0 mean "no signal" (probe off),
    as oximeters send them; breathing 0 is a measurement: no breath."""

    spo2: int
    pulse: int
    resp: int
    apnea: bool


@dataclass(frozen=True)
class Baseline:
    spo2: float
    pulse: float
    resp: float


@dataclass(frozen=True)
class Overdose:
    onset: float  # simulated seconds
    recover_after: float = RECOVER_AFTER  # seconds from onset to naloxone

    @property
    def ends(self) -> float:
        return self.onset + self.recover_after + RECOVERY_SECONDS


def _interpolate(points: Sequence[tuple[float, float]], x: float) -> float:
    xs = [p[0] for p in points]
    i = bisect_right(xs, x)
    if i == 0:
        return points[0][1]
    if i == len(points):
        return points[-1][1]
    (x0, y0), (x1, y1) = points[i - 1], points[i]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def _resolve(
    course: Sequence[tuple[float, float | str | None]], base: float, start: float
) -> list[tuple[float, float]]:
    def value(spec: float | str | None) -> float:
        if spec is None:
            return start
        if isinstance(spec, str):
            return base + float(spec[4:] or 0)
        return spec

    return [(x, value(spec)) for x, spec in course]


def overdose_course(baseline: Baseline, since_onset: float, recover_after: float) -> Baseline:
    """The true SpO2, pulse and breathing rate `since_onset` seconds into an overdose treated
    with naloxone after `recover_after` seconds (no noise: see `SimulatedPerson.vitals`)."""

    def untreated(s: float) -> Baseline:
        return Baseline(
            spo2=_interpolate(_resolve(_SPO2_COURSE, baseline.spo2, baseline.spo2), s),
            pulse=_interpolate(_resolve(_PULSE_COURSE, baseline.pulse, baseline.pulse), s),
            resp=_interpolate(_resolve(_RESP_COURSE, baseline.resp, baseline.resp), s),
        )

    if since_onset <= recover_after:
        return untreated(max(0.0, since_onset))
    at_naloxone = untreated(recover_after)
    after = since_onset - recover_after
    return Baseline(
        spo2=_interpolate(_resolve(_SPO2_RECOVERY, baseline.spo2, at_naloxone.spo2), after),
        pulse=_interpolate(_resolve(_PULSE_RECOVERY, baseline.pulse, at_naloxone.pulse), after),
        resp=_interpolate(_resolve(_RESP_RECOVERY, baseline.resp, at_naloxone.resp), after),
    )


class SimulatedPerson:
    """One person in a booth, wearing an oximeter with acoustic breathing.

    `vitals(t)` depends only on the seed, the overdoses given with `overdose()` and `t`, so tests
    can ask for any moment, and two runs with one seed send the same values.
    """

    def __init__(
        self, seed: int, *, artefacts_per_hour: float = 12.0, probe_off_per_hour: float = 0.0
    ) -> None:
        self.seed = seed
        rng = random.Random(seed)
        self.baseline = Baseline(
            spo2=rng.uniform(95.0, 99.0),
            pulse=rng.uniform(60.0, 100.0),
            resp=rng.uniform(12.0, 18.0),
        )
        # Slow wander (minutes), so a trend line looks like a person and not like white noise.
        self._waves = [(rng.uniform(60.0, 240.0), rng.uniform(0.0, 2 * math.pi)) for _ in range(4)]
        self.artefact_rate = artefacts_per_hour / 3600.0
        self.probe_off_rate = probe_off_per_hour / 3600.0
        self.overdoses: list[Overdose] = []

    def overdose(self, onset: float, recover_after: float = RECOVER_AFTER) -> Overdose:
        episode = Overdose(onset=onset, recover_after=recover_after)
        self.overdoses.append(episode)
        return episode

    def in_overdose(self, t: float) -> bool:
        return self._episode(t) is not None

    def _episode(self, t: float) -> Overdose | None:
        for episode in self.overdoses:
            if episode.onset <= t < episode.ends:
                return episode
        return None

    def course(self, t: float) -> Baseline:
        """The person's true values at `t`, before the device adds noise and artefacts."""
        base = self.baseline
        wave = [math.sin(2 * math.pi * t / period + phase) for period, phase in self._waves]
        resting = Baseline(
            spo2=base.spo2 + 0.8 * wave[0],
            pulse=base.pulse + 4.0 * wave[1] + 2.0 * wave[2],
            resp=base.resp + 1.2 * wave[3],
        )
        episode = self._episode(t)
        if episode is None:
            return resting
        return overdose_course(resting, t - episode.onset, episode.recover_after)

    def apnea(self, t: float) -> bool:
        """The device flags apnea once it has heard no breath for APNEA_AFTER seconds."""
        if self._episode(t) is None:
            return False
        return all(self.course(t - s).resp < 0.5 for s in range(int(APNEA_AFTER) + 1))

    def vitals(self, t: float) -> Vitals:
        """What the monitor sends at simulated second `t`."""
        n = math.floor(t)
        true = self.course(t)
        noise = self._noise
        spo2 = true.spo2 + noise(_JITTER_SPO2, n, 0.6)
        pulse = true.pulse + noise(_JITTER_PULSE, n, 1.5)
        # Breathing noise shrinks with the rate: a person who is not breathing is not "0 +- 1".
        resp = true.resp + noise(_JITTER_RESP, n, min(0.8, true.resp * 0.08))
        vitals = Vitals(
            spo2=max(1, min(100, round(spo2))),
            pulse=max(1, round(pulse)),
            resp=max(0, round(resp)),
            apnea=self.apnea(t),
        )
        if self._probe_off(n):
            vitals = Vitals(spo2=0, pulse=0, resp=vitals.resp, apnea=vitals.apnea)
        return self._artefact(n, vitals)

    def _noise(self, stream: int, n: int, amplitude: float) -> float:
        return (2 * _unit(self.seed, stream, n) - 1) * amplitude

    def _started(self, stream: int, length_stream: int, rate: float, n: int, longest: int) -> bool:
        """Whether a stretch (artefact, probe off) that started at most `longest` seconds ago is
        still on at second n."""
        if rate <= 0:
            return False
        for start in range(n - longest + 1, n + 1):
            if _unit(self.seed, stream, start) < rate:
                length = 1 + math.floor(_unit(self.seed, length_stream, start) * longest)
                if start + length > n:
                    return True
        return False

    def _probe_off(self, n: int) -> bool:
        return self._started(_PROBE_OFF, _PROBE_OFF_LENGTH, self.probe_off_rate, n, 20)

    def _artefact(self, n: int, vitals: Vitals) -> Vitals:
        if not self._started(_ARTEFACT, _ARTEFACT_LENGTH, self.artefact_rate, n, 3):
            return vitals
        kind = _unit(self.seed, _ARTEFACT_KIND, n)
        value = _unit(self.seed, _ARTEFACT_VALUE, n)
        if kind < 0.4:  # the finger moves: the oximeter counts movement as beats
            return Vitals(vitals.spo2, 255 + round(value * 45), vitals.resp, vitals.apnea)
        if kind < 0.7:  # the probe slips for a moment: no signal
            return Vitals(0, 0, vitals.resp, vitals.apnea)
        # Talking or coughing into the acoustic sensor.
        return Vitals(vitals.spo2, vitals.pulse, 125 + round(value * 20), vitals.apnea)


def person_for(seed: int, index: int, scenario: str) -> SimulatedPerson:
    """The person in the `index`-th simulated place: one seed gives every place its own person."""
    return SimulatedPerson(
        seed * 100_003 + index,
        artefacts_per_hour=ARTEFACTS_PER_HOUR[scenario],
        probe_off_per_hour=PROBE_OFF_PER_HOUR[scenario],
    )


def event_times(onset: float, every: float, until: float = math.inf) -> Iterator[float]:
    """Simulated seconds at which a scenario strikes: at onset, then every `every` seconds
    (a hundred thousand times at most: years of simulated time at any sensible period)."""
    for count in range(100_000):
        at = onset + count * every
        if at >= until:
            return
        yield at


# --- HL7 --------------------------------------------------------------------------------------


def hl7_time(at: datetime) -> str:
    at = at.astimezone(UTC)
    return at.strftime("%Y%m%d%H%M%S") + f".{at.microsecond // 1000:03d}+0000"


def build_oru(
    device_id: str, control_id: str, at: datetime, vitals: Vitals, *, facility: str = "VIGIL"
) -> str:
    """One PCD-01 ORU^R01 (HL7 2.6, latin-1, no patient data: participants are anonymous)."""
    when = hl7_time(at)
    identity = f"{device_id}^{APPLICATION}^{device_id}^EUI-64"
    segments = [
        f"MSH|^~\\&|{APPLICATION}^{device_id}^EUI-64|{facility}|VIGIL|VIGIL|{when}||ORU^R01^ORU_R01"
        f"|{control_id}|P|2.6|||AL|NE||8859/1|||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO",
        f"OBR|1|{control_id}^{APPLICATION}^{device_id}^EUI-64|{control_id}^{APPLICATION}^{device_id}"
        f"^EUI-64|182777000^monitoring of patient^SCT|||{when}",
        f"OBX|1|NM|{SPO2_CODE}|1.3.1.150456|{vitals.spo2}|{PERCENT}|||||R|||{when}||||{identity}",
        f"OBX|2|NM|{PULSE_CODE}|1.3.1.149530|{vitals.pulse}|{BEATS}|||||R|||{when}",
        f"OBX|3|NM|{RESP_CODE}|1.5.1.151562|{vitals.resp}|{BREATHS}|||||R|||{when}",
        f"OBX|4|NM|{APNEA_CODE}|1.5.1.199680|{int(vitals.apnea)}||||||R|||{when}",
    ]
    return "\r".join(segments) + "\r"


@dataclass(frozen=True)
class Ack:
    code: str  # AA, AE, AR, or "" when the reply is not an ACK at all
    control_id: str  # MSA-2: the message it answers
    reason: str  # MSA-3, else ERR-8, else ""


def parse_ack(text: str) -> Ack:
    """Read MSA (and ERR for the reason) from an ACK; anything unreadable gives code ""."""
    fs = text[3] if text.startswith("MSH") and len(text) > 3 else "|"
    code = control_id = reason = ""
    for segment in text.replace("\n", "\r").split("\r"):
        fields = segment.split(fs)
        if fields[0] == "MSA":
            code = fields[1].strip() if len(fields) > 1 else ""
            control_id = fields[2] if len(fields) > 2 else ""
            reason = fields[3] if len(fields) > 3 else ""
        elif fields[0] == "ERR" and not reason and len(fields) > 8:
            reason = fields[8]
    if code not in ("AA", "AE", "AR", "CA", "CE", "CR"):
        code = ""
    return Ack(code, control_id, reason.replace("\\F\\", "|").replace("\\S\\", "^"))


# --- MLLP -------------------------------------------------------------------------------------

ENCODING = "latin-1"
ACK_TIMEOUT = 10.0
BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0, 10.0)


class DeviceLink:
    """One device's long-lived MLLP connection: one message at a time, each answered before the
    next (HL7 original mode), reconnecting with backoff when the gateway goes away."""

    def __init__(self, host: str, port: int, *, ack_timeout: float = ACK_TIMEOUT) -> None:
        self.host, self.port = host, port
        self.ack_timeout = ack_timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.failures = 0  # connection attempts failed in a row
        self.retry_at = 0.0  # monotonic time of the next attempt
        self.connects = 0

    @property
    def connected(self) -> bool:
        return self._writer is not None

    async def connect(self) -> bool:
        """One attempt (the caller decides when, see `retry_at`)."""
        try:
            reader, writer = await asyncio.wait_for(
                open_hl7_connection(self.host, self.port, encoding=ENCODING), timeout=5.0
            )
        except (OSError, TimeoutError):
            self._failed()
            return False
        self._reader, self._writer = reader, writer
        self.failures = 0
        self.connects += 1
        return True

    def _failed(self) -> None:
        delay = BACKOFF[min(self.failures, len(BACKOFF) - 1)]
        self.failures += 1
        # Jitter, so that many devices do not all knock at the same instant after a restart.
        self.retry_at = time.monotonic() + delay * random.uniform(0.8, 1.2)

    async def exchange(self, frame: bytes) -> Ack:
        """Send one frame and read its ACK. Raises ConnectionError (after dropping the
        connection) when the gateway hangs up, resets, or does not answer in time."""
        reader, writer = self._reader, self._writer
        if reader is None or writer is None:
            raise ConnectionError("not connected")
        try:
            writer.writeblock(frame)  # type: ignore[attr-defined]
            await writer.drain()
            block = await asyncio.wait_for(reader.readblock(), self.ack_timeout)  # type: ignore[attr-defined]
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            await self.drop()
            self._failed()
            raise ConnectionError(_describe(exc)) from None
        return parse_ack(block.decode(ENCODING))

    async def drop(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no ACK in time"
    if isinstance(exc, asyncio.IncompleteReadError):
        return "the gateway closed the connection"
    return str(exc) or type(exc).__name__


# --- the simulation ---------------------------------------------------------------------------


@dataclass
class SimulatedDevice:
    device_id: str  # as registered and as sent in OBX-18
    label: str  # the place it is bound to, for log lines
    person: SimulatedPerson
    dropouts: list[tuple[float, float]] = field(default_factory=list)  # simulated [start, end)

    def silent(self, t: float) -> bool:
        return any(start <= t < end for start, end in self.dropouts)


@dataclass
class Counts:
    sent: int = 0
    aa: int = 0
    ae: int = 0
    ar: int = 0
    no_ack: int = 0  # sent, but the connection failed before an ACK came
    unsent: int = 0  # due while the gateway was unreachable, or while a device was silent
    skipped: int = 0  # due while the previous message was still waiting for its ACK
    reconnects: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class _Reporter:
    """Every AE and AR is reported, but a device repeating the same refusal every second is
    summarised, so one unknown device does not bury everything else."""

    def __init__(self, log: Callable[[str], None], every: float = 10.0) -> None:
        self.log = log
        self.every = every
        self._last: dict[str, tuple[str, float, int]] = {}  # device -> (reason, shown at, repeats)

    def refused(self, device: str, code: str, reason: str) -> None:
        now = time.monotonic()
        key = f"{code} {reason}"
        last = self._last.get(device)
        if last is not None and last[0] == key:
            repeats = last[2] + 1
            if now - last[1] < self.every:
                self._last[device] = (key, last[1], repeats)
                return
            self.log(f"{device}: {code} {reason} (x{repeats} in {now - last[1]:.0f} s)")
            self._last[device] = (key, now, 0)
            return
        self.log(f"{device}: {code} {reason or '(no reason given)'}")
        self._last[device] = (key, now, 0)

    def accepted(self, device: str) -> None:
        self._last.pop(device, None)


@dataclass
class Plan:
    """What happens when, in simulated seconds."""

    scenario: str = "calm"
    onset: float = 60.0
    recover_after: float = RECOVER_AFTER
    every: float = 600.0


class Simulation:
    """Every device sends one ORU per simulated second over its own MLLP connection; `speed`
    simulated seconds pass per real second, and message timestamps follow simulated time.

    `occupied()` names the labels of the places someone is in now (the `vigil simulate` command
    asks the database); overdoses and dropouts strike the next occupied place in turn.
    """

    def __init__(
        self,
        devices: Sequence[SimulatedDevice],
        host: str,
        port: int,
        *,
        plan: Plan,
        speed: float = 1.0,
        occupied: Callable[[], Awaitable[set[str]]] | None = None,
        log: Callable[[str], None] = print,
        facility: str = "VIGIL",
    ) -> None:
        if not devices:
            raise ValueError("nothing to simulate: no devices")
        if not speed > 0:
            raise ValueError("speed must be above 0")
        self.devices = list(devices)
        self.host, self.port = host, port
        self.plan = plan
        self.speed = speed
        self.occupied = occupied
        self.log = log
        self.facility = facility
        self.counts = Counts()
        self.reporter = _Reporter(log)
        self.run_id = secrets.token_hex(3).upper()
        self.started_at = datetime.now(UTC)
        self._t0 = 0.0
        self._stop = asyncio.Event()
        self._until = math.inf
        self._next_victim = 0

    def sim_time(self) -> float:
        return (time.monotonic() - self._t0) * self.speed

    async def run(self, stop: asyncio.Event, duration: float | None = None) -> Counts:
        """Until `stop` is set or `duration` real seconds have passed. Messages in flight then
        get a moment for their ACKs, so that the counts add up."""
        self._stop = stop
        self._until = math.inf if duration is None else duration * self.speed
        self._t0 = time.monotonic()
        self.started_at = datetime.now(UTC)
        devices = [
            asyncio.create_task(self._device(index, device))
            for index, device in enumerate(self.devices)
        ]
        scenario = None
        if self.plan.scenario in ("overdose", "dropout"):
            scenario = asyncio.create_task(self._scenario())
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), duration)
        finally:
            stop.set()
            if scenario is not None:
                scenario.cancel()
            _done, late = await asyncio.wait(devices, timeout=ACK_TIMEOUT + 1)
            for task in late:
                task.cancel()
            await asyncio.gather(
                *devices, *([scenario] if scenario else []), return_exceptions=True
            )
        return self.counts

    async def _sleep_until_sim(self, t: float) -> bool:
        """Wait for simulated second `t`; False if the run was stopped meanwhile."""
        delay = t / self.speed - (time.monotonic() - self._t0)
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
        return not self._stop.is_set()

    async def _scenario(self) -> None:
        plan = self.plan
        for at in event_times(plan.onset, plan.every, self._until):
            if not await self._sleep_until_sim(at):
                return
            index = await self._victim()
            device = self.devices[index]
            if plan.scenario == "overdose":
                device.person.overdose(at, plan.recover_after)
                self.log(
                    f"{device.label}: overdose begins (simulated second {at:.0f}); naloxone after "
                    f"{plan.recover_after:.0f} s"
                )
            else:
                device.dropouts.append((at, at + DROPOUT_SECONDS))
                self.log(
                    f"{device.label}: the monitor stops sending for {DROPOUT_SECONDS:.0f} s "
                    f"(simulated second {at:.0f})"
                )

    async def _victim(self) -> int:
        """The next occupied place after the previous victim, in board order; the next place in
        order when nobody is in any of them (said on stderr)."""
        count = len(self.devices)
        occupied: set[str] = set()
        if self.occupied is not None:
            try:
                occupied = await self.occupied()
            except Exception as exc:  # the scenario must go on even if the floor cannot be read
                self.log(f"could not read the floor ({type(exc).__name__}: {exc})")
        order = [(self._next_victim + i) % count for i in range(count)]
        chosen = next((i for i in order if self.devices[i].label in occupied), None)
        if chosen is None:
            chosen = order[0]
            self.log(
                f"no simulated place is occupied; {self.devices[chosen].label} is used anyway "
                "(its alarms stay quiet while it is empty)"
            )
        self._next_victim = (chosen + 1) % count
        return chosen

    async def _device(self, index: int, device: SimulatedDevice) -> None:
        link = DeviceLink(self.host, self.port)
        counts = self.counts
        offset = index / len(self.devices)  # spread the devices evenly over each second
        k = 0
        lost_since: float | None = None
        try:
            while True:
                t = k + offset
                if not await self._sleep_until_sim(t):
                    return
                behind = self.sim_time() - t
                if behind >= 1.0:
                    # An ACK took longer than a tick: carry on from now rather than burst.
                    missed = math.floor(behind)
                    counts.skipped += missed
                    k += missed
                    continue
                sequence, k = k, k + 1
                if device.silent(t):
                    counts.unsent += 1
                    continue
                if not link.connected:
                    if time.monotonic() < link.retry_at or not await link.connect():
                        counts.unsent += 1
                        if lost_since is None:
                            lost_since = time.monotonic()
                            self.log(
                                f"{device.label}: gateway {self.host}:{self.port} unreachable; "
                                "retrying with backoff"
                            )
                        continue
                    if link.connects > 1:
                        counts.reconnects += 1
                    if lost_since is not None:
                        self.log(
                            f"{device.label}: reconnected after {time.monotonic() - lost_since:.1f} s"
                        )
                        lost_since = None
                await self._send(link, index, sequence, t)
        finally:
            await link.drop()

    async def _send(self, link: DeviceLink, index: int, sequence: int, t: float) -> None:
        counts = self.counts
        device = self.devices[index]
        control_id = f"{self.run_id}{index:04d}{sequence:07d}"
        at = self.started_at + timedelta(seconds=t)
        frame = build_oru(
            device.device_id, control_id, at, device.person.vitals(t), facility=self.facility
        )
        counts.sent += 1
        try:
            ack = await link.exchange(frame.encode(ENCODING))
        except ConnectionError as exc:
            counts.no_ack += 1
            self.log(f"{device.label}: connection lost ({exc}); reconnecting")
            return
        if ack.control_id != control_id:
            counts.no_ack += 1
            self.log(f"{device.label}: ACK answers {ack.control_id!r}, not {control_id!r}")
            await link.drop()  # out of step: a fresh connection puts it right
            return
        if ack.code in ("AA", "CA"):
            counts.aa += 1
            self.reporter.accepted(device.label)
        elif ack.code in ("AR", "CR"):
            counts.ar += 1
            self.reporter.refused(device.label, ack.code, ack.reason)
        else:
            counts.ae += 1
            self.reporter.refused(device.label, ack.code or "?", ack.reason)
