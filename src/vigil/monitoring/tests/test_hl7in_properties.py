"""Property-based: any input gives a ParsedMessage or an HL7Rejected (never another exception,
never the internal-error safety net) and can always be acknowledged; generated messages give
back the values put in."""

from datetime import UTC, datetime, timedelta, timezone

import hl7
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.monitoring.hl7in import (
    ACCEPTED_VERSIONS,
    HL7Rejected,
    ParsedMessage,
    build_ack,
    parse_oru,
)
from vigil.monitoring.tests import hl7_samples as samples
from vigil.monitoring.tests.hl7_samples import APNEA_CODE, obx, oru

RECEIVED_AT = datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC)
FAST = settings(max_examples=200, deadline=None)

HL7_ALPHABET = "|^~\\&\r\n 0123456789.-+MSHOBXRPIDVNTEUFCAL_"
SEGMENT_IDS = ["OBX", "OBX", "OBX", "OBR", "PID", "NTE", "BHS", "MSA", "OB", ""]
FIELD_PARTS = [
    "150456^MDC_PULS_OXIM_SAT_O2^MDC",
    "149530",
    "151562^MDC_RESP_RATE^MDC",
    "199680^MDC_EVT_APNEA^MDC",
    "69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC",
    "NM",
    "SN",
    "97",
    "0",
    "8388607",
    "262688^MDC_DIM_PERCENT^MDC",
    "bpm",
    "X",
    "R",
    "DEMO",
    "20250301120000+0100",
    "0009FBFFFF9B42B3^EUI-64",
    "\\X39\\",
]


def read(text: str) -> ParsedMessage | HL7Rejected:
    """Parse, check the outcome is one of the two allowed, and that it can be acknowledged."""
    try:
        parsed = parse_oru(text, RECEIVED_AT)
    except HL7Rejected as error:
        assert error.ack_code in ("AR", "AE")
        assert "internal error" not in error.reason, error.reason
        assert error.reason.isascii() and error.reason.isprintable()
        ack = build_ack(
            text,
            error.ack_code,
            error.reason,
            error_code=error.error_code,
            location=error.location,
        )
        assert str(hl7.parse(ack).segment("MSA")(1)) == error.ack_code
        return error
    assert isinstance(parsed, ParsedMessage)
    assert parsed.device_ids and parsed.observation.device_id == parsed.device_ids[0]
    assert str(hl7.parse(build_ack(parsed, "AA")).segment("MSA")(1)) == "AA"
    return parsed


@FAST
@given(st.text(max_size=300))
def test_any_text(text):
    read(text)


@FAST
@given(st.text(HL7_ALPHABET, max_size=300))
def test_text_after_a_valid_msh_start(text):
    read("MSH|^~\\&|" + text)


field = st.one_of(st.text("^~\\&0123456789.-+ANMRXDEUI", max_size=12), st.sampled_from(FIELD_PARTS))
segment = st.builds(
    lambda segment_id, fields: "|".join([segment_id, *fields]),
    st.sampled_from(SEGMENT_IDS),
    st.lists(field, max_size=20),
)


@FAST
@given(st.lists(segment, max_size=12), st.sampled_from(["\r", "\n", "\r\n"]))
def test_segments_of_random_fields(segments, separator):
    header = "MSH|^~\\&|APP|FAC|||20250301||ORU^R01|1|P|2.6"
    read(separator.join([header, *segments]))


@FAST
@given(st.binary(max_size=400), st.booleans())
def test_random_bytes(data, with_header):
    prefix = b"MSH|^~\\&|APP|FAC|||20250301||ORU^R01|1|P|2.6|||||UNICODE UTF-8\r" * with_header
    read((prefix + data).decode("latin-1"))


@st.composite
def mutated_real_message(draw):
    text = samples.received(draw(st.sampled_from(sorted(samples.REAL_SHAPES))))
    for _ in range(draw(st.integers(1, 4))):
        operation = draw(st.sampled_from(["delete", "insert", "replace", "truncate", "shuffle"]))
        at = draw(st.integers(0, len(text)))
        if operation == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        elif operation == "insert":
            text = text[:at] + draw(st.text(HL7_ALPHABET, min_size=1, max_size=10)) + text[at:]
        elif operation == "replace" and at < len(text):
            text = text[:at] + draw(st.characters(codec="latin-1")) + text[at + 1 :]
        elif operation == "truncate":
            text = text[:at]
        elif operation == "shuffle":
            header, *lines = text.split("\r")
            text = "\r".join([header, *draw(st.permutations(lines))])
    return text


@FAST
@given(mutated_real_message())
def test_mutated_and_truncated_real_messages(text):
    read(text)


NOT_AVAILABLE = ["8388607", "8388608", "8388606", "8388609", "8388610", "-8388608", "-100", "-999"]
value_text = st.one_of(
    st.floats(-200, 500, allow_nan=False).map(lambda number: f"{number:.2f}"),
    st.integers(-1000, 9_000_000).map(str),
    st.sampled_from(NOT_AVAILABLE),
)
SPO2_CODES = [
    "150456^MDC_PULS_OXIM_SAT_O2^MDC",
    "150456",
    "^MDC_PULS_OXIM_SAT_O2^MDC",
    "59408-5^SpO2 by pulse oximetry^LN",
    "2708-6^^LN",
]
PULSE_CODES = [
    "149530^MDC_PULS_OXIM_PULS_RATE^MDC",
    "149530",
    "8889-8^Heart rate by oximetry^LN^149530^MDC_PULS_OXIM_PULS_RATE^MDC",
]
RESP_CODES = ["151562^MDC_RESP_RATE^MDC", "151562", "9279-1^Respiratory rate^LN"]
PERCENT_UNITS = ["262688^MDC_DIM_PERCENT^MDC", "262688", "%", "%^percent^UCUM", ""]
BEAT_UNITS = ["264864^MDC_DIM_BEAT_PER_MIN^MDC", "bpm", "/min", "{beats}/min", ""]
BREATH_UNITS = ["264928^MDC_DIM_RESP_PER_MIN^MDC", "{breaths}/min", "rpm", "1/min", ""]
OFFSETS = [timezone(timedelta(minutes=minutes)) for minutes in (-600, -330, 0, 60, 330, 840)]


def expected(text: str, low: float, high: float, *, zero_is_reading: bool) -> float | None:
    """The rules, restated: sentinels and values outside the physical range are no data."""
    number = float(text)
    if text in NOT_AVAILABLE or not low <= number <= high:
        return None
    if number == 0 and not zero_is_reading:
        return None
    return number


@FAST
@given(
    values=st.tuples(value_text, value_text, value_text),
    codes=st.tuples(*(st.sampled_from(codes) for codes in (SPO2_CODES, PULSE_CODES, RESP_CODES))),
    units=st.tuples(*(st.sampled_from(u) for u in (PERCENT_UNITS, BEAT_UNITS, BREATH_UNITS))),
    order=st.permutations(range(4)),
    version=st.sampled_from(ACCEPTED_VERSIONS),
    separator=st.sampled_from(["\r", "\n", "\r\n"]),
    eui=st.text("0123456789ABCDEFabcdef", min_size=16, max_size=16),
    observed=st.datetimes(
        datetime(1990, 1, 1), datetime(2090, 1, 1), timezones=st.sampled_from(OFFSETS)
    ),
)
def test_generated_messages_round_trip(
    values, codes, units, order, version, separator, eui, observed
):
    stamp = f"{observed:%Y%m%d%H%M%S}.{observed.microsecond:06d}{observed:%z}"
    rows = [
        obx(code, value, unit, time=stamp)
        for code, value, unit in zip(codes, values, units, strict=True)
    ]
    # An explicit "no apnea" keeps every message usable, whatever the values drawn.
    rows.append(obx(APNEA_CODE, "0", time=stamp, equipment=f"{eui}^^{eui}^EUI-64"))
    message = oru([rows[i] for i in order], version=version).replace("\r", separator)

    parsed = parse_oru(message, RECEIVED_AT)

    spo2, pulse, resp = values
    observation = parsed.observation
    assert observation.spo2 == expected(spo2, 0, 100, zero_is_reading=False)
    assert observation.pulse == expected(pulse, 1, 350, zero_is_reading=False)
    assert observation.resp == expected(resp, 0, 150, zero_is_reading=True)
    assert observation.apnea is False
    assert observation.device_id == eui.upper()
    assert observation.observed_at == observed
    assert parsed.version == version


@FAST
@given(
    st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=120).filter(
        str.strip
    )
)
def test_ack_reason_reads_back_after_escaping(reason):
    parsed = parse_oru(samples.received("XH80X_V24"), RECEIVED_AT)
    shown = reason.strip()
    if len(shown) > 80:
        shown = shown[:77] + "..."

    message = hl7.parse(build_ack(parsed, "AE", reason))

    assert message.unescape(str(message.segment("MSA")(3))) == shown
