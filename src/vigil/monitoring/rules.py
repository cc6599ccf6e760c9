"""Detection rules: which alarm conditions hold at a place, given what its devices sent.

Pure Python: no Django, no database, no clock of its own. The caller passes the rule clock in:
live, the time each reading arrived (`Observation.received_at`); in replay, the device's own
observation time. `docs/detection-rules.md` gives each rule's default and where it comes from.

Principles the code keeps:
- "No data" is never "normal": a missing value, a device's "no signal" value (SpO2 0, pulse 0)
  or a sentinel (8388607, -100, anything outside what a body can produce) neither raises a vital
  sign alarm nor clears one; it counts toward "monitoring lost".
- A condition clears only when a reading says so (a value back in range). Silence never clears
  an alarm: a probe that falls off during a desaturation leaves the desaturation standing.
- "Sustained" is proved by readings alone: the condition held in every reading from the first
  abnormal one to the latest, over at least the delay. One reading proves nothing, however odd.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from vigil.floor.supervision import CheckState
from vigil.monitoring.vitals import Observation


class Priority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Condition(StrEnum):
    SPO2_LOW = "spo2_low"
    SPO2_CRITICAL = "spo2_critical"
    DESATURATION = "desaturation"
    RESP_LOW = "resp_low"
    APNEA = "apnea"
    NO_BREATH = "no_breath"
    PULSE_LOW = "pulse_low"
    PULSE_HIGH = "pulse_high"
    STILLNESS = "stillness"
    MONITORING_LOST = "monitoring_lost"
    CHECK_CONCERNED = "check_concerned"
    CHECK_OVERDUE = "check_overdue"
    OVER_LIMIT = "over_limit"
    CLOCK_SKEW = "clock_skew"


PRIORITY: dict[Condition, Priority] = {
    Condition.SPO2_LOW: Priority.MEDIUM,
    Condition.SPO2_CRITICAL: Priority.HIGH,
    Condition.DESATURATION: Priority.HIGH,
    Condition.RESP_LOW: Priority.HIGH,
    Condition.APNEA: Priority.HIGH,
    Condition.NO_BREATH: Priority.HIGH,
    Condition.PULSE_LOW: Priority.MEDIUM,
    Condition.PULSE_HIGH: Priority.MEDIUM,
    Condition.STILLNESS: Priority.HIGH,
    Condition.MONITORING_LOST: Priority.MEDIUM,
    Condition.CHECK_CONCERNED: Priority.HIGH,
    Condition.CHECK_OVERDUE: Priority.MEDIUM,
    Condition.OVER_LIMIT: Priority.LOW,
    Condition.CLOCK_SKEW: Priority.LOW,
}

# Technical alarms are about the equipment, not the person (IEC 60601-1-8 keeps them apart).
TECHNICAL: frozenset[Condition] = frozenset({Condition.MONITORING_LOST, Condition.CLOCK_SKEW})

# Shown to administrators only: a wrong device clock never calls a nurse to a booth.
ADMINISTRATIVE: frozenset[Condition] = frozenset({Condition.CLOCK_SKEW})

# Plain English on purpose: this module stays free of Django; the UI translates these.
LABELS: dict[Condition, str] = {
    Condition.SPO2_LOW: "Low oxygen (SpO2)",
    Condition.SPO2_CRITICAL: "Critically low oxygen (SpO2)",
    Condition.DESATURATION: "Rapid fall in oxygen (SpO2)",
    Condition.RESP_LOW: "Slow breathing",
    Condition.APNEA: "Apnea reported by the device",
    Condition.NO_BREATH: "No breathing",
    Condition.PULSE_LOW: "Low pulse",
    Condition.PULSE_HIGH: "High pulse",
    Condition.STILLNESS: "No movement",
    Condition.MONITORING_LOST: "Monitoring lost",
    Condition.CHECK_CONCERNED: "Staff check: concerned",
    Condition.CHECK_OVERDUE: "Visual check overdue",
    Condition.OVER_LIMIT: "Occupancy past the time limit",
    Condition.CLOCK_SKEW: "Device clock is off",
}

# (lowest, highest) a site may set. Outside these a rule is either off in practice (a 10-minute
# SpO2 delay) or fires on healthy people (an SpO2 limit of 99%); both are typing mistakes.
LIMITS: dict[str, tuple[float, float]] = {
    "spo2_low": (80, 99),
    "spo2_low_delay_s": (0, 120),
    "spo2_critical": (50, 99),
    "desaturation_drop": (1, 20),
    "desaturation_window_s": (1, 60),
    "resp_low": (1, 12),
    "no_breath_s": (5, 60),
    "pulse_low": (20, 80),
    "pulse_high": (100, 250),
    "pulse_delay_s": (0, 300),
    "stillness_s": (30, 1200),
    "data_loss_s": (1, 120),
    "clock_skew_s": (1, 3600),
    "pulse_max_valid": (150, 400),
    "resp_max_valid": (30, 300),
}


@dataclass(frozen=True)
class RuleSettings:
    """Every threshold and delay of the rules, one version of one site's choices.

    Thresholds are in the vital's unit, delays in seconds (`_s`). Stored per site as JSON
    (`to_dict`); `version` goes up by one with every change (`revised`), and each alarm keeps
    the version it was raised under, so an alarm can always be explained by the rules in force.
    """

    version: int = 1
    spo2_low: float = 90.0  # alarm below this, sustained
    spo2_low_delay_s: float = 15.0
    spo2_critical: float = 85.0  # alarm below this at once
    desaturation_drop: float = 4.0  # a fall of at least this many points...
    desaturation_window_s: float = 10.0  # ...within this many seconds
    resp_low: float = 7.0  # breaths/min at or below this (and above 0), at once
    no_breath_s: float = 20.0
    pulse_low: float = 50.0  # alarm below this, sustained
    pulse_high: float = 140.0  # alarm above this, sustained
    pulse_delay_s: float = 15.0
    stillness_s: float = 180.0
    data_loss_s: float = 10.0
    clock_skew_s: float = 30.0
    pulse_max_valid: float = 250.0  # above this a pulse value is an artefact, not a pulse
    resp_max_valid: float = 120.0  # above this a breathing rate is an artefact

    def __post_init__(self) -> None:
        if isinstance(self.version, bool) or not isinstance(self.version, int):
            raise ValueError(f"version must be a whole number, got {self.version!r}")
        if self.version < 1:
            raise ValueError(f"version must be 1 or more, got {self.version}")
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
            if not low <= value <= high:
                raise ValueError(f"{name} must be between {low:g} and {high:g}, got {value:g}")
        if self.spo2_critical > self.spo2_low:
            raise ValueError(
                f"spo2_critical ({self.spo2_critical:g}) must not be above spo2_low "
                f"({self.spo2_low:g}): the critical level is the lower one"
            )
        if self.pulse_high >= self.pulse_max_valid:
            raise ValueError(
                f"pulse_high ({self.pulse_high:g}) must be below pulse_max_valid "
                f"({self.pulse_max_valid:g}), or no valid pulse could ever raise it"
            )

    def to_dict(self) -> dict[str, int | float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleSettings:
        """Settings from stored JSON. A field the stored version lacks takes today's default;
        an unknown field is refused, because a misspelt threshold must not be silently ignored.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"rule settings must be a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(key) for key in data if key not in known)
        if unknown:
            raise ValueError(
                f"unknown rule setting(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})"
            )
        return cls(**dict(data))

    def revised(self, **changes: Any) -> RuleSettings:
        """The next version of these settings, with `changes` applied and validated."""
        if "version" in changes:
            raise ValueError("version is set by revised(), not passed to it")
        return replace(self, version=self.version + 1, **changes)


DEFAULT_SETTINGS = RuleSettings()


def data_loss_window(settings: RuleSettings, cadence: timedelta | None) -> timedelta:
    """How long silence may last before it is data loss.

    A device that reports once a minute is silent for 59 s between rows by design; calling that
    a loss would flag every gap. So the window is the site's delay, or one and a half reporting
    intervals when the device reports more slowly than that.
    """
    window = timedelta(seconds=settings.data_loss_s)
    if cadence is not None and cadence > timedelta(0):
        window = max(window, cadence * 1.5)
    return window


def clock_skew(obs: Observation) -> timedelta | None:
    """How far the device's clock is ahead of ours (negative: behind); None without a device
    time. Measured against arrival, so it includes transit time, which is well under a second
    on a site network and so far below the 30 s that matters."""
    if obs.observed_at is None:
        return None
    return obs.observed_at - obs.received_at


def is_clock_skewed(obs: Observation, settings: RuleSettings = DEFAULT_SETTINGS) -> bool:
    skew = clock_skew(obs)
    return skew is not None and abs(skew) > timedelta(seconds=settings.clock_skew_s)


def floor_conditions(check_state: CheckState, over_limit: bool) -> set[Condition]:
    """The alarm conditions in the floor's supervision result (`floor.supervision.supervise`),
    so overdue checks and long stays go through the same alarm engine as device alarms."""
    found: set[Condition] = set()
    if check_state == CheckState.CONCERNED:
        found.add(Condition.CHECK_CONCERNED)
    elif check_state == CheckState.OVERDUE:
        found.add(Condition.CHECK_OVERDUE)
    if over_limit:
        found.add(Condition.OVER_LIMIT)
    return found


# -- reading the values ----------------------------------------------------------------------


def _number(value: float | None) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def usable_spo2(value: float | None) -> float | None:
    """SpO2 as a measurement, or None. 0 is how oximeters say "probe off"; above 100 or below
    0 are sentinels (8388607, -100)."""
    number = _number(value)
    return number if number is not None and 0 < number <= 100 else None


def usable_pulse(value: float | None, settings: RuleSettings = DEFAULT_SETTINGS) -> float | None:
    """Pulse as a measurement, or None. An oximeter sends 0 when it has no pulse signal, and
    values no heart produces (277 right after a probe-off) are artefacts, not tachycardia."""
    number = _number(value)
    return number if number is not None and 0 < number <= settings.pulse_max_valid else None


def usable_resp(value: float | None, settings: RuleSettings = DEFAULT_SETTINGS) -> float | None:
    """Breaths per minute, or None. Unlike SpO2 and pulse, 0 is a measurement: no breath
    seen. Treating it as "no signal" would turn the most dangerous reading into a technical
    alarm."""
    number = _number(value)
    return number if number is not None and 0 <= number <= settings.resp_max_valid else None


# -- state kept per place ----------------------------------------------------------------------


@dataclass
class _Run:
    """Consecutive abnormal readings of one kind."""

    start: datetime
    last: datetime
    prev: datetime | None = None  # the reading before `last`: two readings at least prove a span
    proved: bool = False
    flagged_at: datetime | None = None  # no-breath runs: the latest device apnea flag


class _Sustained:
    """A condition that must hold in every reading over `delay`.

    The span runs from the first abnormal reading to the latest one and is never stretched to
    "now": stretching would let an alarm appear and vanish again with no new reading. The cost
    is at most one reporting interval of delay. A run that has not yet proved itself is broken
    by a gap longer than the data-loss window (we cannot say the condition held through it); a
    proved run is ended only by a normal reading.
    """

    __slots__ = ("delay", "window", "run")

    def __init__(self, delay: timedelta, window: timedelta) -> None:
        self.delay = delay
        self.window = window
        self.run: _Run | None = None

    def hit(self, at: datetime) -> _Run:
        run = self.run
        if run is not None and (run.proved or at - run.last <= self.window):
            run.prev, run.last = run.last, at
        else:
            # Only a normal reading ends a run, so a device's apnea flag survives the gap.
            flagged_at = run.flagged_at if run is not None else None
            run = self.run = _Run(start=at, last=at, flagged_at=flagged_at)
        if run.prev is not None and run.last - run.start >= self.delay:
            run.proved = True
        return run

    def miss(self) -> None:
        self.run = None

    def active(self) -> bool:
        run = self.run
        return run is not None and run.prev is not None and run.last - run.start >= self.delay

    def restart(self, since: datetime) -> None:
        self.run = _restart(self.run, since)


def _restart(run: _Run | None, since: datetime) -> _Run | None:
    """The part of a run that counts for a watch beginning at `since` (the latest reading is
    never later than that moment, so at most one reading of the run is left)."""
    if run is None or run.last < since:
        return None
    if run.start >= since:
        return run
    flagged = run.flagged_at if run.flagged_at is not None and run.flagged_at >= since else None
    return _Run(start=run.last, last=run.last, flagged_at=flagged)


@dataclass
class _Channel:
    """One vital from one device, for "monitoring lost"."""

    last_report: datetime  # any value, usable or not
    last_usable: datetime | None
    usable_now: bool  # the latest report was a usable value


@dataclass
class _Latest:
    at: datetime
    value: float


@dataclass
class _Motion:
    last_report: datetime
    moving: bool
    last_moving: datetime | None
    still_run: _Run | None = None


@dataclass
class _Watch:
    occupied: bool = False
    occupied_since: datetime | None = None
    bound: bool = False
    bound_since: datetime | None = None
    since: datetime | None = None  # the later of the two: only readings from then on count
    last_now: datetime | None = None


class PlaceMonitor:
    """The rules for one place (a booth, a seat, a washroom), its state kept in the object.

    Feed it every reading of the devices bound to the place with `observe(obs, at)`, in the
    order of `at`, and ask `evaluate(now, occupied=..., device_bound=...)` which conditions hold.
    `at` and `now` are the rule clock: arrival time live, observation time in replay.

    Only readings taken while the place is occupied count: a new occupant never inherits the
    last one's alarms, and stillness before someone came in is not stillness of theirs.
    """

    def __init__(
        self, settings: RuleSettings = DEFAULT_SETTINGS, *, cadence: timedelta | None = None
    ) -> None:
        self.settings = settings
        self.cadence = cadence
        self.window = data_loss_window(settings, cadence)
        s = settings
        self._data_loss = timedelta(seconds=s.data_loss_s)
        self._desat_window = timedelta(seconds=s.desaturation_window_s)
        self._stillness = timedelta(seconds=s.stillness_s)
        self._spo2_low = _Sustained(timedelta(seconds=s.spo2_low_delay_s), self.window)
        self._pulse_low = _Sustained(timedelta(seconds=s.pulse_delay_s), self.window)
        self._pulse_high = _Sustained(timedelta(seconds=s.pulse_delay_s), self.window)
        self._no_breath = _Sustained(timedelta(seconds=s.no_breath_s), self.window)
        self._spo2: _Latest | None = None
        self._recent_spo2: deque[_Latest] = deque()
        self._desat: _Latest | None = None  # when, and the level SpO2 fell from
        self._resp: _Latest | None = None  # latest breathing rate above 0
        self._motion: _Motion | None = None
        self._channels: dict[tuple[str, str], _Channel] = {}
        self._last_usable: datetime | None = None  # any usable value from any device
        self._skewed: dict[str, bool] = {}
        self._last_at: datetime | None = None
        self._watch = _Watch()
        self.last_observation: Observation | None = None  # its observed_at goes beside alarms

    @property
    def last_reading_at(self) -> datetime | None:
        """The rule-clock time of the latest reading; `observe` refuses anything earlier."""
        return self._last_at

    # -- input --------------------------------------------------------------------------------

    def observe(self, obs: Observation, at: datetime) -> None:
        """Take one reading. `at` must not be earlier than the previous reading's: readings out
        of order are refused (ValueError) and change nothing."""
        _require_aware(at, "at")
        if self._last_at is not None and at < self._last_at:
            raise ValueError(
                f"reading at {at.isoformat()} is earlier than the previous one at "
                f"{self._last_at.isoformat()}: readings must be fed in time order"
            )
        self._last_at = at
        self.last_observation = obs
        self._skewed[obs.device_id] = is_clock_skewed(obs, self.settings)
        s = self.settings

        spo2 = usable_spo2(obs.spo2)
        self._report(obs.device_id, "spo2", obs.spo2, spo2 is not None, at)
        if spo2 is not None:
            self._take_spo2(spo2, at)

        pulse = usable_pulse(obs.pulse, s)
        self._report(obs.device_id, "pulse", obs.pulse, pulse is not None, at)
        if pulse is not None:
            for rule, abnormal in (
                (self._pulse_low, pulse < s.pulse_low),
                (self._pulse_high, pulse > s.pulse_high),
            ):
                if abnormal:
                    rule.hit(at)
                else:
                    rule.miss()

        resp = usable_resp(obs.resp, s)
        self._report(obs.device_id, "resp", obs.resp, resp is not None, at)
        if resp is not None and resp > 0:
            self._resp = _Latest(at, resp)
        if obs.apnea or resp == 0:
            run = self._no_breath.hit(at)
            if obs.apnea:
                run.flagged_at = at
        elif resp is not None:
            self._no_breath.miss()

        if obs.motion is not None:
            self._report(obs.device_id, "motion", obs.motion, True, at)
            self._take_motion(obs.motion, at)

        # A message with nothing usable in it keeps no one watched.
        if any(v is not None for v in (spo2, pulse, resp, obs.motion)):
            self._last_usable = at

    def forget_device(self, device_id: str) -> None:
        """The device was unbound from this place: stop expecting it to report."""
        for key in [key for key in self._channels if key[0] == device_id]:
            del self._channels[key]
        self._skewed.pop(device_id, None)

    def _report(self, device: str, name: str, raw: object, usable: bool, at: datetime) -> None:
        if raw is None:  # the field was absent: devices may send vitals in separate messages
            return
        channel = self._channels.get((device, name))
        if channel is None:
            channel = self._channels[(device, name)] = _Channel(at, None, False)
        channel.last_report = at
        channel.usable_now = usable
        if usable:
            channel.last_usable = at

    def _take_spo2(self, spo2: float, at: datetime) -> None:
        s = self.settings
        self._spo2 = _Latest(at, spo2)
        if spo2 < s.spo2_low:
            self._spo2_low.hit(at)
        else:
            self._spo2_low.miss()
        recent = self._recent_spo2
        while recent and at - recent[0].at > self._desat_window:
            recent.popleft()
        peak = max((r.value for r in recent), default=None)
        if peak is not None and peak - spo2 >= s.desaturation_drop:
            start = peak if self._desat is None else max(peak, self._desat.value)
            self._desat = _Latest(at, start)
        elif self._desat is not None and self._desat.value - spo2 < s.desaturation_drop:
            self._desat = None  # back within a few points of where it fell from
        recent.append(_Latest(at, spo2))

    def _take_motion(self, moving: bool, at: datetime) -> None:
        motion = self._motion
        if motion is None:
            motion = self._motion = _Motion(last_report=at, moving=moving, last_moving=None)
        motion.last_report = at
        motion.moving = moving
        if moving:
            motion.last_moving = at
            motion.still_run = None
        elif motion.still_run is None:
            motion.still_run = _Run(start=at, last=at)
        else:
            motion.still_run.prev, motion.still_run.last = motion.still_run.last, at

    # -- output -------------------------------------------------------------------------------

    def evaluate(self, now: datetime, *, occupied: bool, device_bound: bool) -> set[Condition]:
        """The conditions that hold at `now`.

        Never looks backwards: a `now` earlier than the latest reading or the previous
        evaluation is taken as that later moment. Live, a reading stamped on arrival can reach
        the monitor just after a tick stamped a moment later; failing the tick for it would
        leave the place unwatched. The only state this changes is when the place became
        occupied and the device bound, so asking twice gives the same answer.
        """
        _require_aware(now, "now")
        watch = self._watch
        now = max(t for t in (now, watch.last_now, self._last_at) if t is not None)
        watch.last_now = now
        if occupied and not watch.occupied:
            watch.occupied_since = now
        if device_bound and not watch.bound:
            watch.bound_since = now
        watch.occupied, watch.bound = occupied, device_bound

        found: set[Condition] = set()
        if any(self._skewed.values()):
            found.add(Condition.CLOCK_SKEW)
        if not (occupied and device_bound):
            return found
        assert watch.occupied_since is not None and watch.bound_since is not None
        since = max(watch.occupied_since, watch.bound_since)
        if since != watch.since:
            watch.since = since
            self._begin_watch(since)
        found |= self._vital_conditions(since)
        if self._still(now, since):
            found.add(Condition.STILLNESS)
        if self._lost(now, since):
            found.add(Condition.MONITORING_LOST)
        return found

    def _begin_watch(self, since: datetime) -> None:
        """A new occupant, or a device bound: runs of readings from before do not count."""
        for rule in (self._spo2_low, self._pulse_low, self._pulse_high, self._no_breath):
            rule.restart(since)
        if self._motion is not None:
            self._motion.still_run = _restart(self._motion.still_run, since)

    def _vital_conditions(self, since: datetime) -> set[Condition]:
        s = self.settings
        found: set[Condition] = set()
        if self._spo2 is not None and self._spo2.at >= since and self._spo2.value < s.spo2_critical:
            found.add(Condition.SPO2_CRITICAL)
        if self._spo2_low.active():
            found.add(Condition.SPO2_LOW)
        if self._desat is not None and self._desat.at >= since:
            found.add(Condition.DESATURATION)
        if self._resp is not None and self._resp.at >= since and self._resp.value <= s.resp_low:
            found.add(Condition.RESP_LOW)
        if self._no_breath.active():
            found.add(Condition.NO_BREATH)
        run = self._no_breath.run
        if run is not None and run.flagged_at is not None and run.flagged_at >= since:
            found.add(Condition.APNEA)
        if self._pulse_low.active():
            found.add(Condition.PULSE_LOW)
        if self._pulse_high.active():
            found.add(Condition.PULSE_HIGH)
        return found

    def _still(self, now: datetime, since: datetime) -> bool:
        """Brave's rule: no movement seen for the stillness delay while someone is inside."""
        motion = self._motion
        if motion is None or motion.moving:
            return False
        reporting = now - motion.last_report <= self.window
        quiet_since = max(motion.last_moving or since, since)
        if reporting and now - quiet_since >= self._stillness:
            return True
        # The sensor fell silent after reporting stillness: what it said last still stands.
        run = motion.still_run
        return run is not None and run.last - run.start >= self._stillness

    def _lost(self, now: datetime, since: datetime) -> bool:
        """No usable data from a bound device: no usable value at all for the data-loss window,
        or a vital it has been sending is silent for the window or says "no signal" (probe off)
        for the data-loss delay."""
        if now - max(self._last_usable or since, since) >= self.window:
            return True
        return any(self._channel_lost(c, now, since) for c in self._channels.values())

    def _channel_lost(self, channel: _Channel, now: datetime, since: datetime) -> bool:
        if now - max(channel.last_report, since) >= self.window:
            return True
        if channel.usable_now:
            return False
        usable = channel.last_usable
        return now - (max(usable, since) if usable else since) >= self._data_loss

    def lost_channels(self, now: datetime) -> list[tuple[str, str]]:
        """Which (device, vital) pairs are silent or without signal at `now` (as of the latest
        evaluation's occupancy), for the alarm text: "SpO2 probe off" says more than
        "monitoring lost"."""
        watch = self._watch
        if not (watch.occupied and watch.bound) or watch.since is None:
            return []
        return [
            key
            for key, channel in sorted(self._channels.items())
            if self._channel_lost(channel, now, watch.since)
        ]


def _require_aware(moment: datetime, name: str) -> None:
    if not isinstance(moment, datetime):
        raise ValueError(f"{name} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must carry a time zone (got naive {moment.isoformat()})")
