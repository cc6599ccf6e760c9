"""What is refused, with which acknowledgement code and which reason.

AR: the frame cannot be read as HL7. AE: it was read but cannot be used."""

from datetime import UTC, datetime

import pytest

from vigil.monitoring.hl7in import ACCEPTED_VERSIONS, HL7Rejected, parse_oru
from vigil.monitoring.tests import hl7_samples as samples
from vigil.monitoring.tests.hl7_samples import PERCENT, SPO2_CODE, obx, oru

RECEIVED_AT = datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC)
GOOD = oru([obx(SPO2_CODE, "97", PERCENT)])


def rejection(text: str) -> HL7Rejected:
    with pytest.raises(HL7Rejected) as caught:
        parse_oru(text, RECEIVED_AT)
    return caught.value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no MSH segment at the start of the message"),
        ("\x0b\x1c\r", "no MSH segment at the start of the message"),
        ("hello", "no MSH segment at the start of the message"),
        ("PID|||1\r" + GOOD, "no MSH segment at the start of the message"),
        ("BHS|^~\\&\r" + GOOD + "BTS|1\r", "no MSH segment at the start of the message"),
        ("MSH", "MSH-1 field separator is missing or not a punctuation character"),
        ("MSHA^~\\&A", "MSH-1 field separator is missing or not a punctuation character"),
        ("MSH ^~\\& ", "MSH-1 field separator is missing or not a punctuation character"),
        ("MSH|^~\\&", "MSH is truncated after MSH-2"),
        ("MSH|^~\\&\rOBX|1", "MSH is truncated after MSH-2"),
        ("MSH|^~|x", "MSH-2 encoding characters ^~ are invalid"),
        ("MSH|^~\\^|x", "MSH-2 encoding characters ^~\\^ are invalid"),
        ("MSH|^~\\a|x", "MSH-2 encoding characters ^~\\a are invalid"),
        ("MSH|^|\\&|x", "MSH-2 encoding characters ^ are invalid"),
        ("MSH||x", "MSH-2 encoding characters (empty) are invalid"),
        (
            "MSH|^~\\&|APP|FAC|||20250301||ORU^R01|1|P",
            "MSH is truncated after MSH-11: MSH-9, MSH-10 and MSH-12 are required",
        ),
        ("MSH|^~\\&|APP", "MSH is truncated after MSH-3: MSH-9, MSH-10 and MSH-12 are required"),
        (GOOD.replace("|MSG0001|", "||"), "MSH-10 message control id is empty"),
        (
            GOOD + GOOD,
            "more than one MSH segment: batches and joined messages are not accepted",
        ),
    ],
)
def test_unreadable_frames_are_refused_with_ar(text, reason):
    error = rejection(text)

    assert error.ack_code == "AR"
    assert error.reason.startswith(reason)


@pytest.mark.parametrize(
    ("message_type", "shown"),
    [
        ("ADT^A01^ADT_A01", "ADT^A01^ADT_A01"),
        ("ORU^R30^ORU_R30", "ORU^R30^ORU_R30"),
        ("ORU^R40^ORU_R40", "ORU^R40^ORU_R40"),
        ("ORU", "ORU"),
        ("ACK^R01^ACK", "ACK^R01^ACK"),
        ("", "(empty)"),
    ],
)
def test_other_message_types_are_refused_with_ae(message_type, shown):
    error = rejection(oru([obx(SPO2_CODE, "97", PERCENT)], message_type=message_type))

    assert error.ack_code == "AE"
    assert error.reason == f"unsupported message type {shown} (only ORU^R01 is accepted)"
    assert (error.error_code, error.location) == (200, "MSH-9")


def test_message_type_is_compared_without_regard_to_case_or_spaces():
    parsed = parse_oru(oru([obx(SPO2_CODE, "97", PERCENT)], message_type="oru ^r01"), RECEIVED_AT)

    assert parsed.observation.spo2 == 97.0


@pytest.mark.parametrize("version", ["2.1", "2.2", "2.3", "2.7", "2.7.1", "2.8", "3.0", "", "v2"])
def test_other_versions_are_refused_with_ae(version):
    error = rejection(oru([obx(SPO2_CODE, "97", PERCENT)], version=version))

    assert error.ack_code == "AE"
    shown = version or "(empty)"
    assert error.reason == f"unsupported HL7 version {shown} (2.3.1 to 2.6 are accepted)"
    assert (error.error_code, error.location) == (203, "MSH-12")


@pytest.mark.parametrize("version", ACCEPTED_VERSIONS)
def test_accepted_versions(version):
    parsed = parse_oru(oru([obx(SPO2_CODE, "97", PERCENT)], version=version), RECEIVED_AT)

    assert parsed.version == version


def test_version_with_internationalisation_components_is_accepted():
    parsed = parse_oru(oru([obx(SPO2_CODE, "97", PERCENT)], version="2.6^USA"), RECEIVED_AT)

    assert parsed.version == "2.6"


def test_no_obx_is_refused_with_ae():
    error = rejection(oru([]))

    assert error.ack_code == "AE"
    assert error.reason == "no OBX segment: the message carries no observation"


def test_no_usable_value_is_refused_with_ae_naming_the_first_vital_row():
    error = rejection(
        oru(
            [
                obx("150344^MDC_TEMP^MDC", "36.6"),
                obx(SPO2_CODE, "8388607", PERCENT, set_id="2"),
                obx(SPO2_CODE, "0", PERCENT, set_id="3"),
            ]
        )
    )

    assert error.ack_code == "AE"
    assert error.reason == (
        "no usable SpO2, pulse, respiration or apnea value in 3 OBX rows; "
        "first: OBX 2: SpO2 not available (8388607)"
    )


def test_only_unused_rows_are_refused_naming_the_first():
    error = rejection(oru([obx("150344^MDC_TEMP^MDC", "36.6")]))

    assert error.reason.endswith("first: OBX 1: unused code 150344^MDC_TEMP")


def test_reasons_are_short_single_line_ascii():
    long_type = "X" * 500
    error = rejection(oru([obx(SPO2_CODE, "97", PERCENT)], message_type=long_type))

    assert len(error.reason) < 100
    assert error.reason.isascii() and error.reason.isprintable()


def test_rejection_codes_are_ar_or_ae_only():
    with pytest.raises(ValueError):
        HL7Rejected("AA", "fine")


def test_rejection_message_names_the_code():
    assert str(HL7Rejected("AE", "no OBX segment")) == "AE: no OBX segment"


@pytest.mark.parametrize("name", sorted(samples.REAL_SHAPES))
def test_real_shape_in_a_refused_version_names_the_version(name):
    header, rest = samples.received(name).split("\r", 1)
    fields = header.split("|")
    fields[11] = "2.8"

    error = rejection("|".join(fields) + "\r" + rest)

    assert error.reason == "unsupported HL7 version 2.8 (2.3.1 to 2.6 are accepted)"
