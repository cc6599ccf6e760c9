"""What a device tells us, in one shape whatever the device or protocol.

The HL7 parser (`hl7in.py`) and the HTTP bridge ingest produce `Observation`s; the detection
rules (`rules.py`) consume them. Pure data, no Django.
"""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Observation:
    """One device's readings at one moment. None means "no data", never "normal"."""

    device_id: str  # normalised with `normalise_device_id`
    received_at: datetime  # arrival at Vigil (server clock): live timing rules run on this
    observed_at: datetime | None = None  # the device's own time (OBX-14, else OBR-7, else MSH-7)
    spo2: float | None = None  # %
    pulse: float | None = None  # beats per minute (pulse rate or heart rate)
    resp: float | None = None  # breaths per minute
    apnea: bool = False  # the device reported an apnea event
    motion: bool | None = None  # motion sensor: True movement seen, False stillness reported
    occupied: bool | None = None  # door / presence sensor


def normalise_device_id(raw: str) -> str:
    """Device ids compare without regard to case or separators: "00-09-FB-FF-FF-9B-42-B3",
    "0009fbffff9b42b3" and "0009FBFFFF9B42B3" are one device."""
    return "".join(ch for ch in (raw or "").upper() if ch.isalnum())
