"""HL7 v2 ORU^R01 (IHE PCD-01) from bedside monitors and oximeters, read into `Observation`s.

The MLLP gateway decodes each frame as latin-1, which is lossless, hands the text to `parse_oru`
and answers the device with `build_ack`. This module is pure: no Django, no I/O, and the ACK's
clock can be injected.

    try:
        parsed = parse_oru(text, received_at=now)
    except HL7Rejected as error:
        ack = build_ack(text, error.ack_code, error.reason,
                        error_code=error.error_code, location=error.location)
        ack_bytes = ack.encode("latin-1")
    else:
        ack = build_ack(parsed, "AA")
        ack_bytes = ack.encode(parsed.encoding)  # see `build_ack` for why

Acknowledgement codes follow one rule, so that the code alone tells an integrator where to look:
AR when the frame cannot be read as HL7 at all (no MSH, bad encoding characters, a truncated
header), AE when it was read but cannot be used (another message type or version, no device
identity, no usable value). HL7 v2 section 2.9.2 also allows AR for an unsupported type or version;
we answer AE there because the message itself was read correctly and resending it will not help.

Privacy: participants are anonymous, yet a monitor still carries whatever was last typed into it.
Only the MSH, OBR and OBX segments are ever parsed: PID, PV1, NK1 and every other segment are
dropped before the message is split into fields. Reasons quote only header fields, codes, units,
sub-ids and validated numbers, never free text, so no name or record number can reach a
`ParsedMessage`, a reason, an ACK or a log line.
"""

import itertools
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from vigil.monitoring.vitals import Observation, normalise_device_id

# ACK control ids: the time and a counter from a random start, unique for 16 million ACKs a
# second (a random number per ACK was a system call, and a GIL hand-off, per message).
_ACK_SEQUENCE = itertools.count(secrets.randbelow(0x1000000))

ACCEPTED_VERSIONS = ("2.3.1", "2.4", "2.5", "2.5.1", "2.6")

SPO2, PULSE, RESP, APNEA = "spo2", "pulse", "resp", "apnea"
_NAMES = {SPO2: "SpO2", PULSE: "pulse", RESP: "respiration", APNEA: "apnea"}

# IEEE 11073-10101 codes (partition x 65536 + term code) with their reference ids. The rank
# settles a message that reports one quantity several times: the lowest rank wins. Pulse prefers
# the oximeter, whose rate comes from the same probe as the SpO2 (a probe coming off shows in
# both at once); the cuff's rate is a spot reading that may be minutes old, so it comes last.
_MDC_METRICS: dict[str, tuple[str, str, int]] = {
    "150456": ("MDC_PULS_OXIM_SAT_O2", SPO2, 0),
    "150324": ("MDC_SAT_O2_ART", SPO2, 1),
    "149530": ("MDC_PULS_OXIM_PULS_RATE", PULSE, 0),
    "147842": ("MDC_ECG_HEART_RATE", PULSE, 1),
    "149514": ("MDC_PULS_RATE", PULSE, 2),
    "149522": ("MDC_BLD_PULS_RATE_INV", PULSE, 3),
    "149546": ("MDC_PULS_RATE_NON_INV", PULSE, 4),
    "151562": ("MDC_RESP_RATE", RESP, 0),
    "151570": ("MDC_AWAY_RESP_RATE", RESP, 0),
    "151578": ("MDC_TTHOR_RESP_RATE", RESP, 0),
    "151594": ("MDC_CO2_RESP_RATE", RESP, 0),
    "151650": ("MDC_ACOUSTIC_RESP_RATE", RESP, 0),
    "151658": ("MDC_PULS_OXIM_PLETH_RESP_RATE", RESP, 1),
    "199680": ("MDC_EVT_APNEA", APNEA, 0),
}
_MDC_BY_NAME = {name: (quantity, rank) for name, quantity, rank in _MDC_METRICS.values()}
_LOINC_METRICS: dict[str, tuple[str, int]] = {
    "59408-5": (SPO2, 0),  # oxygen saturation in arterial blood by pulse oximetry
    "2708-6": (SPO2, 1),  # oxygen saturation in arterial blood
    "8889-8": (PULSE, 0),  # heart rate by pulse oximetry
    "8867-4": (PULSE, 2),  # heart rate
    "9279-1": (RESP, 0),  # respiratory rate
}
_MDC_SYSTEMS = ("", "MDC")
_LOINC_SYSTEMS = ("", "LN", "LOINC")

# PCD-01 describes the device itself (MDS, VMD, channel, specialisation profile) in OBX rows of
# their own, with no value; they say where a metric comes from, not what it is.
_DEVICE_TREE_CODES = frozenset(
    {"69965", "69798", "69799", "69952", "69985", "70675", "528388", "528391"}
)
_DEVICE_TREE_NAME = re.compile(r"MDC_DEV_[A-Z0-9_]*|[A-Z0-9_]*_(?:MDS|VMD|CHAN)", re.ASCII)

# Beats and breaths per minute are one dimension (1/min): a heart rate labelled
# MDC_DIM_RESP_PER_MIN still carries the right number, so only units of another dimension (or a
# fraction instead of a percentage) are refused. A unit we do not know is let through: refusing
# it would turn a device's spelling into a missing reading.
_PERCENT, _PER_MINUTE, _OTHER = "percent", "per minute", "other"
_UNITS: dict[str, str] = {
    **dict.fromkeys("262688 MDC_DIM_PERCENT % PERCENT PCT".split(), _PERCENT),
    **dict.fromkeys(
        "264864 MDC_DIM_BEAT_PER_MIN 264928 MDC_DIM_RESP_PER_MIN /MIN 1/MIN MIN-1 BPM RPM BRPM"
        " BR/MIN BEATS/MIN BREATHS/MIN {BEAT}/MIN {BEATS}/MIN {BREATH}/MIN {BREATHS}/MIN".split(),
        _PER_MINUTE,
    ),
    **dict.fromkeys(
        "MMHG MM[HG] KPA CEL DEGC DEGF [DEGF] KG G CM MM M ML L L/MIN MMOL/L MG/DL MS S /S HZ"
        " MV 1 {RATIO} RATIO".split(),
        _OTHER,
    ),
}
_MDC_UNIT_CODES = range(262144, 327680)  # partition 4 of IEEE 11073-10101: dimensions
_UNIT_OF = {SPO2: _PERCENT, PULSE: _PER_MINUTE, RESP: _PER_MINUTE}

# Plain decimals only: float() would also take "nan", "1e3", "1_000" and non-ASCII digits.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
# IEEE 11073-20601 FLOAT special values (NaN, NRes, +INF, reserved, -INF, read as unsigned and
# as signed 24-bit) and the -100 / -999 that monitors send for "no sensor".
_NOT_AVAILABLE = frozenset(
    {8388607.0, 8388608.0, 8388606.0, 8388609.0, 8388610.0, -8388608.0, -8388606.0}
    | {-100.0, -999.0}
)
_NO_RESULT = {"X": "cannot obtain", "D": "deleted", "W": "posted in error"}
_NUMERIC_TYPES = ("NM", "SN", "ST", "TX", "FT", "")
_NOT_APNEA = frozenset({"0", "false", "f", "no", "n", "off", "none", "absent"})

_READ_SEGMENTS = ("MSH", "OBR", "OBX")
_EUI64 = re.compile(r"[0-9A-F]{16}")
_MAX_ID_LENGTH = 64  # longer is not a device id; keeps lookups and log lines bounded
_TS = re.compile(r"([0-9]{4,14})(?:\.([0-9]{1,9})|([0-9]{1,3}))?([+-][0-9]{4})?", re.ASCII)
_VERSION = re.compile(r"[0-9]+(?:\.[0-9]+){1,2}", re.ASCII)

# HL7 table 0357, message error condition codes.
_ERROR_TEXT = {
    100: "Segment sequence error",
    101: "Required field missing",
    102: "Data type error",
    103: "Table value not found",
    200: "Unsupported message type",
    201: "Unsupported event code",
    202: "Unsupported processing id",
    203: "Unsupported version id",
    207: "Application internal error",
}


class HL7Rejected(Exception):
    """The message cannot be accepted. `reason` is short, names the field at fault and never
    quotes patient data, so it can go into MSA-3, ERR and the log as it is."""

    def __init__(
        self, ack_code: str, reason: str, *, error_code: int = 207, location: str = ""
    ) -> None:
        if ack_code not in ("AR", "AE"):
            raise ValueError(f"a rejection is AR or AE, not {ack_code!r}")
        super().__init__(f"{ack_code}: {reason}")
        self.ack_code = ack_code
        self.reason = reason
        self.error_code = error_code  # HL7 table 0357, for the ERR segment
        self.location = location  # "MSH-12" style, for the ERR segment


@dataclass(frozen=True)
class MessageHeader:
    """MSH fields as sent (still escaped), kept so the ACK can mirror them."""

    field_separator: str = "|"
    encoding_characters: str = "^~\\&"
    sending_application: str = ""
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    message_type: str = ""
    control_id: str = ""
    processing_id: str = ""
    version: str = ""


@dataclass(frozen=True)
class ParsedMessage:
    control_id: str  # MSH-10 as sent
    version: str  # MSH-12, first component
    message_type: str  # MSH-9 components joined with "^"
    sending_application: str  # MSH-3 as sent
    # Candidates in priority order (OBX-18 EUI-64s, OBR-3, MSH-3): the gateway uses the first
    # one it knows, since a filler number or an application name is a weaker identity than an
    # EUI-64. `observation.device_id` is simply the first.
    device_ids: list[str]
    observation: Observation
    skipped: list[str]  # why rows were not used, one line each, for the log
    encoding: str  # codec the bytes were read with, and the one for the ACK: "utf-8", "latin-1"...
    header: MessageHeader


@dataclass(frozen=True)
class _Reading:
    quantity: str
    rank: int
    value: float  # apnea: 1.0 or 0.0
    at: datetime | None


@dataclass(frozen=True)
class _Skip:
    reason: str
    vital: bool  # a row for a quantity we read, as opposed to a hierarchy or unused row


def parse_oru(text: str, received_at: datetime) -> ParsedMessage:
    """Read one ORU^R01 message, as decoded from the wire with latin-1.

    Raises `HL7Rejected` and nothing else, whatever the input."""
    try:
        return _parse(text, received_at)
    except HL7Rejected:
        raise
    except Exception as error:
        # `from None`: a chained exception's message may quote the frame, and the gateway logs
        # tracebacks. The type name is enough to find the bug.
        raise HL7Rejected(
            "AE", f"internal error reading the message ({type(error).__name__})"
        ) from None


def parse_hl7_timestamp(value: str) -> datetime | None:
    """An HL7 TS/DTM, YYYY[MM[DD[HH[MM[SS[.S...]]]]]][+/-ZZZZ], as an aware datetime, or None.

    A time without an offset is taken as UTC. Many bedside devices send local time without an
    offset, so such times can be off by the site's UTC offset; that is one reason the live rules
    time everything from `received_at`. Mindray's milliseconds without a dot
    (20190929092149610) are read too, which python-hl7's own `parse_datetime` misreads."""
    match = _TS.fullmatch(value.strip())
    if not match:
        return None
    digits, fraction, bare_millis, offset = match.groups()
    if len(digits) not in (4, 6, 8, 10, 12, 14) or (bare_millis and len(digits) != 14):
        return None
    parts = [int(digits[i : i + 2]) for i in range(4, len(digits), 2)]
    month, day, hour, minute, second = (parts + [1, 1, 0, 0, 0][len(parts) :])[:5]
    microsecond = int(((fraction or bare_millis or "") + "000000")[:6])
    tz = UTC
    if offset:
        hours, minutes = int(offset[1:3]), int(offset[3:5])
        if hours > 23 or minutes > 59:
            return None
        delta = timedelta(hours=hours, minutes=minutes)
        tz = timezone(-delta if offset[0] == "-" else delta)
    try:
        return datetime(int(digits[:4]), month, day, hour, minute, second, microsecond, tz)
    except ValueError:
        return None


def build_ack(
    text_or_parsed: str | ParsedMessage,
    ack_code: str,
    reason: str = "",
    *,
    error_code: int | None = None,
    location: str = "",
    now: datetime | None = None,
) -> str:
    """An original-mode ACK: MSH (sender and receiver swapped, ACK^R01^ACK, the message's own
    version and delimiters, a new control id), MSA (code, the message's control id, reason) and,
    for AE and AR, an ERR segment in the layout of the message's version.

    Given text that could not be parsed, the ACK is built from whatever MSH can still be read,
    at least MSH-10 when the field separator is sane. Header fields are copied as sent, so the
    ACK should be encoded like the message: latin-1 for text (giving back the device's own bytes),
    `parsed.encoding` for a ParsedMessage.

    python-hl7 0.4.5's `Message.create_ack` needs a fully parsed message (which a rejected frame
    is not), writes no MSA-3 or ERR and stamps a naive time, so the segments are built here."""
    if ack_code not in ("AA", "AE", "AR"):
        raise ValueError(f"ack_code must be AA, AE or AR, not {ack_code!r}")
    if isinstance(text_or_parsed, ParsedMessage):
        header = text_or_parsed.header
    else:
        header = _header_best_effort(text_or_parsed)
    fs, enc = header.field_separator, header.encoding_characters
    component, subcomponent = enc[0], enc[3]
    when = (now or datetime.now(UTC)).astimezone(UTC)
    version = header.version if _VERSION.fullmatch(header.version) else "2.6"
    msh = [
        "MSH",
        enc,
        header.receiving_application,
        header.receiving_facility,
        header.sending_application,
        header.sending_facility,
        when.strftime("%Y%m%d%H%M%S") + "+0000",
        "",
        component.join(["ACK", "R01", "ACK"]),
        when.strftime("%Y%m%d%H%M%S") + f"{next(_ACK_SEQUENCE) % 0x1000000:06X}",
        header.processing_id or "P",
        version,
    ]
    clean_reason = _printable(reason, 250)
    msa = ["MSA", ack_code, header.control_id]
    if clean_reason:
        msa.append(_escape(_printable(reason, 80), fs, enc))
    segments = [fs.join(msh), fs.join(msa)]
    if ack_code != "AA":
        code = error_code or 207
        condition = component.join([str(code), _ERROR_TEXT.get(code, _ERROR_TEXT[207]), "HL70357"])
        segment, _, field = location.partition("-")
        if not (segment.isalnum() and field.isdigit()):
            segment = field = ""
        if _version_tuple(version) < (2, 5):
            # v2.3.1/2.4 ERR-1 (ELD): segment ^ sequence ^ field ^ code (CE, in subcomponents)
            eld = component.join(
                [segment, "1" if segment else "", field, condition.replace(component, subcomponent)]
            )
            segments.append(fs.join(["ERR", eld]))
        else:
            # v2.5+: ERR-2 location, ERR-3 code, ERR-4 severity, ERR-8 the reason in words
            erl = component.join([segment, "1", field]) if segment else ""
            err = ["ERR", "", erl, condition, "E", "", "", "", _escape(clean_reason, fs, enc)]
            segments.append(fs.join(err))
    return "\r".join(segments) + "\r"


def _parse(text: str, received_at: datetime) -> ParsedMessage:
    text = _unframe(text)
    if not text.startswith("MSH"):
        raise HL7Rejected(
            "AR", "no MSH segment at the start of the message", error_code=100, location="MSH-1"
        )
    text = text.replace("\r\n", "\r").replace("\n", "\r")
    fs, enc = _delimiters(text)
    # The character set is decided on the segments we read, so that not even the bytes of a
    # patient segment can change the outcome.
    kept, encoding = _decode("\r".join(_segments_we_read(text, fs)), fs, enc)
    segments = kept.split("\r")
    header = _header(segments[0], fs, enc)
    # Whitespace around the message is dropped, as python-hl7's `hl7.parse` drops it.
    message = [_Segment(line, fs, enc) for line in kept.strip().split("\r")]

    unescape = _unescaper(fs, enc)

    def comps(segment: _Segment, field: int, count: int = 6, repetition: int = 0) -> list[str]:
        return segment.components(field, unescape, count, repetition)

    msh = message[0]
    kind = comps(msh, 9, 3)
    message_type = "^".join(kind).rstrip("^")
    if (kind[0].strip().upper(), kind[1].strip().upper()) != ("ORU", "R01"):
        shown = _printable(message_type, 30) or "(empty)"
        raise HL7Rejected(
            "AE",
            f"unsupported message type {shown} (only ORU^R01 is accepted)",
            error_code=200,
            location="MSH-9",
        )
    version = comps(msh, 12, 1)[0].strip()
    if version not in ACCEPTED_VERSIONS:
        shown = _printable(version, 20) or "(empty)"
        raise HL7Rejected(
            "AE",
            f"unsupported HL7 version {shown} (2.3.1 to 2.6 are accepted)",
            error_code=203,
            location="MSH-12",
        )

    msh_time = parse_hl7_timestamp(comps(msh, 7, 1)[0])
    obr_time: datetime | None = None
    obx_ids: list[str] = []
    obr_ids: list[str] = []
    readings: list[_Reading] = []
    skips: list[_Skip] = []
    rows = 0
    for segment in message[1:]:
        segment_id = segment.fields[0]
        if segment_id == "OBR":
            obr_time = parse_hl7_timestamp(comps(segment, 7, 1)[0])
            obr_ids.append(_entity_identity(comps(segment, 3, 4)))
        elif segment_id == "OBX":
            rows += 1
            for repetition in range(len(segment.repetitions(18))):
                equipment = comps(segment, 18, 4, repetition)
                if _is_eui64(equipment):
                    obx_ids.append(_entity_identity(equipment))
            outcome = _read_obx(segment, rows, unescape)
            if isinstance(outcome, _Skip):
                skips.append(outcome)
            else:
                at = outcome.at or obr_time or msh_time
                readings.append(_Reading(outcome.quantity, outcome.rank, outcome.value, at))

    device_ids: list[str] = []
    for raw in [*obx_ids, *obr_ids, _application_identity(comps(msh, 3, 3))]:
        device_id = normalise_device_id(raw)
        if device_id and len(device_id) <= _MAX_ID_LENGTH and device_id not in device_ids:
            device_ids.append(device_id)
    if not device_ids:
        raise HL7Rejected(
            "AE",
            "no device identity: OBX-18, OBR-3 and MSH-3 are all empty",
            error_code=101,
            location="MSH-3",
        )
    if not rows:
        raise HL7Rejected(
            "AE", "no OBX segment: the message carries no observation", error_code=101
        )

    best: dict[str, _Reading] = {}
    for reading in readings:
        if reading.quantity != APNEA:
            current = best.get(reading.quantity)
            if current is None or reading.rank < current.rank:
                best[reading.quantity] = reading
    apnea_rows = [reading for reading in readings if reading.quantity == APNEA]
    # An explicit "no apnea" is a reading too: an apnea monitor reporting all is well is heard.
    used = [*best.values(), *apnea_rows]
    if not used:
        first = next((skip for skip in skips if skip.vital), skips[0] if skips else None)
        detail = f"; first: {first.reason}" if first else ""
        raise HL7Rejected(
            "AE",
            _printable(
                f"no usable SpO2, pulse, respiration or apnea value in {rows} OBX rows{detail}",
                200,
            ),
            error_code=101,
            location="OBX-5",
        )

    def value(quantity: str) -> float | None:
        reading = best.get(quantity)
        return reading.value if reading else None

    # The freshest of the readings used: a cuff pulse from minutes ago must not age the SpO2.
    times = [reading.at for reading in used if reading.at]
    observation = Observation(
        device_id=device_ids[0],
        received_at=received_at,
        observed_at=max(times) if times else None,
        spo2=value(SPO2),
        pulse=value(PULSE),
        resp=value(RESP),
        apnea=any(reading.value for reading in apnea_rows),
    )
    return ParsedMessage(
        control_id=header.control_id,
        version=version,
        message_type=message_type,
        sending_application=header.sending_application,
        device_ids=device_ids,
        observation=observation,
        skipped=[skip.reason for skip in skips],
        encoding=encoding,
        header=header,
    )


def _read_obx(
    segment: "_Segment", position: int, unescape: Callable[[str], str]
) -> _Reading | _Skip:
    def comps(field: int, count: int = 6, repetition: int = 0) -> list[str]:
        return segment.components(field, unescape, count, repetition)

    sub_id = _printable(comps(4, 1)[0], 24)
    where = f"OBX {position}" + (f" ({sub_id})" if sub_id else "")
    code = comps(3)
    value_type = comps(2, 1)[0].strip().upper()
    label = _printable("^".join(part for part in (code[0].strip(), code[1].strip()) if part), 60)
    if not label:
        return _Skip(f"{where}: no observation code (OBX-3 empty)", False)
    found = _metrics(code)
    if len({quantity for quantity, _ in found}) > 1:
        return _Skip(f"{where}: the codes in {label} disagree on what it measures", True)
    if not found:
        if _is_device_tree(code) or not value_type:
            return _Skip(f"{where}: device hierarchy row {label}", False)
        return _Skip(f"{where}: unused code {label}", False)
    quantity, rank = found[0][0], min(rank for _, rank in found)
    name = _NAMES[quantity]
    status = comps(11, 1)[0].strip().upper()
    if status in _NO_RESULT:
        return _Skip(f"{where}: {name} result status {status} ({_NO_RESULT[status]})", True)
    flags = range(len(segment.repetitions(8)))
    if any(comps(8, 1, i)[0].strip().upper() == "DEMO" for i in flags):
        # Mindray marks simulated values with OBX-8 DEMO; showing them as a participant's
        # vitals would hide a real fall in SpO2.
        return _Skip(f"{where}: {name} from a device in demo mode (OBX-8 DEMO)", True)
    at = parse_hl7_timestamp(comps(14, 1)[0])
    observed = comps(5, 4)

    if quantity == APNEA:
        flag = observed[0].strip()
        if not flag:
            return _Skip(f"{where}: apnea value is empty", True)
        if _NUMBER.fullmatch(flag):
            number = float(flag)
            if number in _NOT_AVAILABLE:
                return _Skip(f"{where}: apnea not available ({_printable(flag, 20)})", True)
            return _Reading(APNEA, rank, 1.0 if number else 0.0, at)
        # Any other value reports the event: a false alarm is cheaper than a missed apnea.
        return _Reading(APNEA, rank, 0.0 if flag.lower() in _NOT_APNEA else 1.0, at)

    if value_type not in _NUMERIC_TYPES:
        return _Skip(
            f"{where}: {name} value type {_printable(value_type, 8)} is not a number", True
        )
    unit_problem = _unit_problem(quantity, comps(6))
    if unit_problem:
        return _Skip(f"{where}: {name} {unit_problem}", True)
    if value_type == "SN":
        comparator, number_text, separator, second = observed
        if comparator.strip() not in ("", "=") or separator.strip() or second.strip():
            return _Skip(f"{where}: {name} structured value is not a single number", True)
        text = number_text.strip()
    else:
        text = observed[0].strip()
    if not text:
        return _Skip(f"{where}: {name} value is empty", True)
    if not _NUMBER.fullmatch(text):
        return _Skip(f"{where}: {name} value is not a number", True)
    number = float(text) + 0.0  # + 0.0 turns "-0" into 0.0
    shown = _printable(text, 20)
    if number in _NOT_AVAILABLE:
        return _Skip(f"{where}: {name} not available ({shown})", True)
    problem = _out_of_range(quantity, number, shown)
    if problem:
        return _Skip(f"{where}: {name} {problem}", True)
    return _Reading(quantity, rank, number, at)


def usable_value(quantity: str, number: float | None) -> float | None:
    """A value as the gateway would keep it, or None for "no data" (sentinels, out of physical
    range, SpO2 0). The HTTP ingest applies the same rule to what bridges send."""
    if number is None or number in _NOT_AVAILABLE or _out_of_range(quantity, number, ""):
        return None
    return float(number)


def _out_of_range(quantity: str, number: float, shown: str) -> str:
    if quantity == SPO2:
        if number == 0:
            # An oximeter sends 0 while it has no signal (probe off, poor perfusion).
            return "0 means no signal"
        if not 0 < number <= 100:
            return f"{shown} outside 0-100 %"
    elif quantity == PULSE:
        if not 1 <= number <= 350:
            return f"{shown} outside 1-350 /min"
    elif not 0 <= number <= 150:
        # Respiration keeps 0: from a transthoracic impedance channel it is a real reading,
        # no breathing at all, exactly what the slow and absent breathing rules must see. A
        # device without a signal sends a sentinel or status X instead.
        return f"{shown} outside 0-150 /min"
    return ""


def _unit_problem(quantity: str, unit: list[str]) -> str:
    recognised = None
    for part in (unit[0], unit[1], unit[3], unit[4]):
        key = part.strip().upper()
        if not key:
            continue
        recognised = _UNITS.get(key)
        if recognised is None and (
            key.startswith("MDC_DIM_")
            or (len(key) == 6 and key.isascii() and key.isdigit() and int(key) in _MDC_UNIT_CODES)
        ):
            recognised = _OTHER
        if recognised:
            break
    if recognised is None or recognised == _UNIT_OF[quantity]:
        return ""
    label = _printable("^".join(part.strip() for part in unit[:2] if part.strip()), 40)
    return f"unit {label} does not fit {_NAMES[quantity]}"


def _metrics(code: list[str]) -> list[tuple[str, int]]:
    """What the code (identifier or MDC reference id, then the alternate) measures, and rank."""
    found: list[tuple[str, int]] = []
    for identifier, text, system in ((code[0], code[1], code[2]), (code[3], code[4], code[5])):
        identifier, system = identifier.strip(), system.strip().upper()
        if identifier and system in _MDC_SYSTEMS and identifier in _MDC_METRICS:
            _, quantity, rank = _MDC_METRICS[identifier]
            found.append((quantity, rank))
        if identifier and system in _LOINC_SYSTEMS and identifier in _LOINC_METRICS:
            found.append(_LOINC_METRICS[identifier])
        by_name = _MDC_BY_NAME.get(text.strip().upper())
        if by_name:
            found.append(by_name)
    return found


def _is_device_tree(code: list[str]) -> bool:
    if code[0].strip() in _DEVICE_TREE_CODES and code[2].strip().upper() in _MDC_SYSTEMS:
        return True
    return bool(_DEVICE_TREE_NAME.fullmatch(code[1].strip().upper()))


def _entity_identity(ei: list[str]) -> str:
    """EI (OBR-3, OBX-18): entity id ^ namespace ^ universal id ^ universal id type. PCD-01
    puts the EUI-64 in the universal id; some devices write the short "<eui>^EUI-64"."""
    if ei[3].strip().upper() == "EUI-64" and ei[2].strip():
        return ei[2]
    if ei[1].strip().upper() == "EUI-64" and ei[0].strip():
        return ei[0]
    return ei[0] if ei[0].strip() else ei[2]


def _is_eui64(ei: list[str]) -> bool:
    marked = "EUI-64" in (ei[1].strip().upper(), ei[3].strip().upper())
    # GE writes the bare EUI-64 with a model name in the namespace: 080019FFFE134535^B1X5_GE.
    return marked or bool(_EUI64.fullmatch(normalise_device_id(ei[0])))


def _application_identity(hd: list[str]) -> str:
    """HD (MSH-3): namespace id ^ universal id ^ universal id type."""
    if hd[2].strip().upper() == "EUI-64" and hd[1].strip():
        return hd[1]
    return hd[0] if hd[0].strip() else hd[1]


def _unframe(text: str) -> str:
    text = text.strip(" \t\r\n\x00\x0b\x1c")
    for bom in ("\xef\xbb\xbf", "\ufeff"):  # a UTF-8 byte order mark, decoded or not
        if text.startswith(bom):
            text = text[len(bom) :]
    return text


def _is_delimiter(char: str) -> bool:
    return "!" <= char <= "~" and not char.isalnum()


def _delimiters(text: str) -> tuple[str, str]:
    """MSH-1 and MSH-2, checked hard: a wrong one shifts every field of the message."""
    fs = text[3] if len(text) > 3 else ""
    if not _is_delimiter(fs):
        raise HL7Rejected(
            "AR",
            "MSH-1 field separator is missing or not a punctuation character",
            error_code=102,
            location="MSH-1",
        )
    end = text.find(fs, 4)
    line_end = text.find("\r")
    if end == -1 or (line_end != -1 and end > line_end):
        raise HL7Rejected("AR", "MSH is truncated after MSH-2", error_code=101, location="MSH-2")
    encoding = text[4:end]
    valid = (
        4 <= len(encoding) <= 5  # the fifth, 2.7's truncation character, is harmless
        and all(_is_delimiter(char) for char in encoding)
        and len(set(encoding + fs)) == len(encoding) + 1
    )
    if not valid:
        raise HL7Rejected(
            "AR",
            f"MSH-2 encoding characters {_printable(encoding, 12) or '(empty)'} are invalid: "
            "four distinct punctuation characters are required",
            error_code=102,
            location="MSH-2",
        )
    return fs, encoding[:4]


def _decode(text: str, fs: str, enc: str) -> tuple[str, str]:
    """Honour MSH-18; without it (or with a name we do not know), UTF-8 if the bytes are valid
    UTF-8, else latin-1, which reads any byte and so never loses a message."""
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        # Not the gateway's latin-1: the caller decoded it already. Nothing to decode, and UTF-8
        # is the codec that can carry any of it back in the ACK.
        return text, "utf-8"
    first_line = text.split("\r", 1)[0]
    fields = first_line.split(fs)
    charset = fields[17] if len(fields) > 17 else ""
    codec = _codec(charset.split(enc[1], 1)[0].split(enc[0], 1)[0])
    if codec == "latin-1":
        return text, codec
    if codec:
        try:
            return raw.decode(codec), codec
        except UnicodeDecodeError:
            pass  # the bytes contradict MSH-18: read them as best we can rather than lose them
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return text, "latin-1"


def _codec(charset: str) -> str | None:
    key = re.sub(r"[\s_/-]", "", charset.upper())
    if key in ("UNICODEUTF8", "UTF8", "ISOIR192"):
        return "utf-8"
    if key in ("88591", "ISO88591", "ISOIR100", "LATIN1"):
        return "latin-1"
    part = key.removeprefix("ISO")
    if part.startswith("8859") and part[4:] in ("2", "3", "4", "5", "6", "7", "8", "9", "15"):
        return f"iso8859-{part[4:]}"
    return None


def _segments_we_read(text: str, fs: str) -> list[str]:
    kept: list[str] = []
    for line in text.split("\r"):
        line = line.lstrip(" \t")
        segment_id = line[:3]
        if segment_id not in _READ_SEGMENTS or (len(line) > 3 and line[3] != fs):
            continue
        if segment_id == "MSH" and kept:
            raise HL7Rejected(
                "AR",
                "more than one MSH segment: batches and joined messages are not accepted",
                error_code=100,
                location="MSH-1",
            )
        kept.append(line)
    return kept


def _header(line: str, fs: str, enc: str) -> MessageHeader:
    fields = line.split(fs)  # fields[n - 1] is MSH-n from MSH-2 on
    if len(fields) < 12:
        raise HL7Rejected(
            "AR",
            f"MSH is truncated after MSH-{len(fields)}: MSH-9, MSH-10 and MSH-12 are required",
            error_code=101,
            location=f"MSH-{len(fields) + 1}",
        )
    header = _header_from_fields(fields, fs, enc)
    if not header.control_id.strip():
        raise HL7Rejected(
            "AR", "MSH-10 message control id is empty", error_code=101, location="MSH-10"
        )
    return header


def _header_from_fields(fields: list[str], fs: str, enc: str) -> MessageHeader:
    def field(n: int) -> str:
        value = fields[n - 1] if n - 1 < len(fields) else ""
        value = "".join(char for char in value if char >= " " and char != "\x7f")
        # A header field this long is not a name or an id; leave it out of the ACK.
        return value if len(value) <= 200 else ""

    def first_component(n: int) -> str:
        return field(n).split(enc[1], 1)[0].split(enc[0], 1)[0].strip()

    return MessageHeader(
        field_separator=fs,
        encoding_characters=enc,
        sending_application=field(3),
        sending_facility=field(4),
        receiving_application=field(5),
        receiving_facility=field(6),
        message_type=field(9),
        control_id=field(10),
        processing_id=first_component(11),
        version=first_component(12),
    )


def _header_best_effort(text: str) -> MessageHeader:
    text = _unframe(text).replace("\r\n", "\r").replace("\n", "\r")
    if not text.startswith("MSH"):
        return MessageHeader()
    try:
        fs, enc = _delimiters(text)
    except HL7Rejected:
        fs = text[3] if len(text) > 3 else ""
        if not _is_delimiter(fs):
            return MessageHeader()
        # The delimiters cannot be trusted, so only MSH-10 is echoed, re-escaped for ours.
        fields = text.split("\r", 1)[0].split(fs)
        control_id = _printable(fields[9], 199) if len(fields) > 9 else ""
        if control_id.endswith("..."):
            control_id = ""
        return MessageHeader(control_id=_escape(control_id, "|", "^~\\&"))
    return _header_from_fields(text.split("\r", 1)[0].split(fs), fs, enc)


class _Segment:
    """One segment split the way python-hl7's `hl7.parse` splits it (fields, then repetitions,
    components and subcomponents; in MSH, field 1 is the field separator, so index n is field
    n in every segment), but lazily: only the fields we read are split further.

    `hl7.parse` built about 160 container objects for a monitor's usual message and took two
    thirds of the gateway's time per message (288 of 438 µs); this split gives the same fields
    (a test compares the two on every sample message and on generated ones)."""

    __slots__ = ("fields", "repetition", "component", "subcomponent")

    def __init__(self, line: str, fs: str, enc: str) -> None:
        self.fields = line.split(fs)
        if self.fields[0] == "MSH":
            self.fields.insert(1, fs)
        self.component, self.repetition, self.subcomponent = enc[0], enc[1], enc[3]

    def repetitions(self, field: int) -> list[str]:
        return self.fields[field].split(self.repetition) if field < len(self.fields) else []

    def components(
        self, field: int, unescape: Callable[[str], str], count: int = 6, repetition: int = 0
    ) -> list[str]:
        """Components of one repetition of a field (the first subcomponent of each), unescaped,
        padded with "" to `count`."""
        parts: list[str] = []
        repetitions = self.repetitions(field)
        if repetition < len(repetitions):
            subcomponent = self.subcomponent
            parts = [
                unescape(part.split(subcomponent, 1)[0])
                for part in repetitions[repetition].split(self.component)
            ]
        return (parts + [""] * count)[:count]


def _unescaper(fs: str, enc: str) -> Callable[[str], str]:
    """HL7 escape sequences for delimiters and hex; formatting and character set switches are
    dropped, as nothing we read is formatted text. python-hl7's own `unescape` logs the whole
    field on a malformed sequence, and raises on some."""
    component, repetition, escape, subcomponent = enc[0], enc[1], enc[2], enc[3]
    delimiters = {"F": fs, "S": component, "T": subcomponent, "R": repetition, "E": escape}
    sequence = re.compile(f"{re.escape(escape)}([^{re.escape(escape)}]*){re.escape(escape)}")

    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if code in delimiters:
            return delimiters[code]
        if code[:1] == "X" and re.fullmatch(r"(?:[0-9A-Fa-f]{2})+", code[1:]):
            return bytes.fromhex(code[1:]).decode("latin-1")
        return ""

    def unescape(value: str) -> str:
        return sequence.sub(replace, value) if escape in value else value

    return unescape


def _escape(value: str, fs: str, enc: str) -> str:
    component, repetition, escape, subcomponent = enc[0], enc[1], enc[2], enc[3]
    codes = {fs: "F", component: "S", subcomponent: "T", repetition: "R", escape: "E"}
    return "".join(f"{escape}{codes[char]}{escape}" if char in codes else char for char in value)


def _printable(value: str, limit: int = 40) -> str:
    """Printable ASCII only, so reasons stay one line and fit any ACK encoding."""
    clean = "".join(char if " " <= char <= "~" else "?" for char in value.strip())
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")) if _VERSION.fullmatch(version) else ()
