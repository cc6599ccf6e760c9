"""Nothing from PID, PV1 or NK1 (names, record numbers, beds) reaches a ParsedMessage, a reason
or an ACK, whether the message is accepted or refused."""

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.monitoring.hl7in import HL7Rejected, ParsedMessage, build_ack, parse_oru
from vigil.monitoring.tests import hl7_samples as samples
from vigil.monitoring.tests.hl7_samples import PERCENT, SPO2_CODE, obx, oru

RECEIVED_AT = datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC)
NOW = datetime(2025, 3, 1, 12, 0, 6, tzinfo=UTC)

SECRETS = ["Quixotte", "Dulcinea", "MRN-7741-ZZ", "19731105", "Calle Toboso 9", "Panzaro", "Bed-44"]
PATIENT_SEGMENTS = [
    "PID|1||MRN-7741-ZZ^^^General^MR||Quixotte^Dulcinea^^^^^L||19731105|F|||Calle Toboso 9^^Madrid",
    "PV1||I|Bed-44^^^General||||Dr Panzaro",
    "NK1|1|Panzaro^Sancho|FRIEND",
]


def with_patient(message: str) -> str:
    """The message with the patient segments after MSH, and again at the end."""
    header, rest = message.split("\r", 1)
    return "\r".join([header, *PATIENT_SEGMENTS, rest.rstrip("\r"), *PATIENT_SEGMENTS]) + "\r"


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret.lower() not in text.lower()


def outcome(message: str) -> tuple[str, str]:
    """Everything the gateway could log or send back: the parse result or reason, and the ACK."""
    try:
        parsed = parse_oru(message, RECEIVED_AT)
    except HL7Rejected as error:
        return repr(error) + error.reason, build_ack(message, error.ack_code, error.reason, now=NOW)
    return repr(parsed) + "\n".join(parsed.skipped), build_ack(parsed, "AA", now=NOW)


def test_accepted_message_keeps_nothing_of_the_patient():
    message = with_patient(samples.received("MINDRAY_VS900_PCD01_V26"))

    parsed = parse_oru(message, RECEIVED_AT)

    assert isinstance(parsed, ParsedMessage)
    assert parsed.observation.spo2 == 99.0
    for text in outcome(message):
        assert_no_secret(text)


@pytest.mark.parametrize(
    "message",
    [
        oru([obx(SPO2_CODE, "97", PERCENT)], message_type="ADT^A01^ADT_A01"),
        oru([obx(SPO2_CODE, "97", PERCENT)], version="2.8"),
        oru([obx(SPO2_CODE, "97", PERCENT)], application=""),
        oru([]),
        oru([obx(SPO2_CODE, "8388607", PERCENT)]),
        oru([obx("150344^MDC_TEMP^MDC", "36.6")]),
        oru([obx(SPO2_CODE, "97", PERCENT)], control_id=""),
        oru([obx(SPO2_CODE, "97", PERCENT)]) * 2,
        oru([obx(SPO2_CODE, "97", PERCENT)]).replace("^~\\&", "^~\\^", 1),
    ],
    ids=[
        "type",
        "version",
        "identity",
        "no obx",
        "sentinel",
        "unused code",
        "control id",
        "batch",
        "encoding characters",
    ],
)
def test_refused_message_keeps_nothing_of_the_patient(message):
    for text in outcome(with_patient(message)):
        assert_no_secret(text)


def test_patient_segment_before_msh_is_not_quoted():
    for text in outcome("\r".join(PATIENT_SEGMENTS) + "\r" + samples.received("XH80X_V24")):
        assert_no_secret(text)


def test_patient_data_in_obx_text_values_is_not_quoted():
    # A device that echoes the patient's name as a text observation.
    message = oru([obx("68063^MDC_ATTR_PT_NAME_GIVEN^MDC", "Dulcinea", value_type="ST")])

    for text in outcome(message):
        assert_no_secret(text)


@settings(max_examples=200, deadline=None)
@given(
    name=st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=40),
    shape=st.sampled_from(sorted(samples.REAL_SHAPES)),
)
def test_patient_segments_change_nothing(name, shape):
    """Whatever PID holds, the result is the one without PID: it is never even read."""
    plain = samples.received(shape)
    header, rest = plain.split("\r", 1)
    with_pid = f"{header}\rPID|||{name}||{name}^{name}\rPV1||I|{name}\r{rest}"

    assert outcome(with_pid)[0] == outcome(plain)[0]
