"""Codes, units, "not available" values, ranges, result status and apnea."""

from datetime import UTC, datetime

import pytest

from vigil.monitoring.hl7in import HL7Rejected, ParsedMessage, parse_oru
from vigil.monitoring.tests.hl7_samples import (
    APNEA_CODE,
    BEATS,
    BREATHS,
    HEART_RATE_CODE,
    PERCENT,
    PULSE_CODE,
    RESP_CODE,
    SPO2_CODE,
    obx,
    oru,
)

RECEIVED_AT = datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC)
# A usable row so that a message whose row under test is skipped is still accepted.
ANCHOR = obx(HEART_RATE_CODE, "60", BEATS, set_id="9")
FIELDS = {SPO2_CODE: "spo2", PULSE_CODE: "pulse", RESP_CODE: "resp"}


def parse(*rows: str, **message) -> ParsedMessage:
    return parse_oru(oru(rows, **message), RECEIVED_AT)


def quantities(parsed: ParsedMessage) -> tuple[float | None, float | None, float | None]:
    observation = parsed.observation
    return observation.spo2, observation.pulse, observation.resp


@pytest.mark.parametrize(
    ("code", "unit", "expected"),
    [
        ("150456^MDC_PULS_OXIM_SAT_O2^MDC", PERCENT, (88.0, None, None)),
        ("150456", "262688", (88.0, None, None)),
        ("150456^^MDC", "", (88.0, None, None)),
        ("^MDC_PULS_OXIM_SAT_O2^MDC", "%", (88.0, None, None)),
        ("2708-6^Oxygen saturation^LN", "%", (88.0, None, None)),
        ("59408-5^SpO2 by pulse oximetry^LN", "%", (88.0, None, None)),
        ("59408-5", "%", (88.0, None, None)),
        ("149530^MDC_PULS_OXIM_PULS_RATE^MDC", BEATS, (None, 88.0, None)),
        ("147842^MDC_ECG_HEART_RATE^MDC", BEATS, (None, 88.0, None)),
        ("149514^MDC_PULS_RATE^MDC", BEATS, (None, 88.0, None)),
        ("149546^MDC_PULS_RATE_NON_INV^MDC", BEATS, (None, 88.0, None)),
        ("8867-4^Heart rate^LN", "/min", (None, 88.0, None)),
        ("8889-8^Heart rate by oximetry^LN", "{beats}/min", (None, 88.0, None)),
        ("151562^MDC_RESP_RATE^MDC", BREATHS, (None, None, 88.0)),
        ("151578^MDC_TTHOR_RESP_RATE^MDC", BREATHS, (None, None, 88.0)),
        ("151650^MDC_ACOUSTIC_RESP_RATE^MDC", BREATHS, (None, None, 88.0)),
        ("9279-1^Respiratory rate^LN", "{breaths}/min", (None, None, 88.0)),
    ],
)
def test_codes_are_read(code, unit, expected):
    assert quantities(parse(obx(code, "88", unit))) == expected


def test_alternate_identifier_is_used_when_the_first_is_unknown():
    code = "8889-8^Heart Rate by Oximetry^LN^149530^MDC_PULS_OXIM_PULS_RATE^MDC"

    assert quantities(parse(obx(code, "55", "{beats}/min^beats per minute^UCUM"))) == (
        None,
        55.0,
        None,
    )


def test_reference_id_is_read_when_the_number_is_wrong():
    # A GE simulator numbers the oximeter's pulse rate 150457; its reference id is right.
    assert parse(obx("150457^MDC_PULS_OXIM_PULS_RATE^MDC", "76", BEATS)).observation.pulse == 76.0


def test_number_from_a_local_coding_system_is_not_read_as_mdc():
    parsed = parse(obx("150456^SpO2^99LOCAL", "97", "%"), ANCHOR)

    assert parsed.observation.spo2 is None
    assert parsed.skipped == ["OBX 1: unused code 150456^SpO2"]


def test_code_and_name_that_disagree_are_skipped():
    parsed = parse(obx("150456^MDC_ECG_HEART_RATE^MDC", "97", "%"), ANCHOR)

    assert parsed.observation.spo2 is None
    assert parsed.skipped == [
        "OBX 1: the codes in 150456^MDC_ECG_HEART_RATE disagree on what it measures"
    ]


@pytest.mark.parametrize(
    "row",
    [
        obx("69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC", "", value_type="", sub_id="1.0.0.0"),
        obx("70675", "", value_type="", sub_id="1.1.0.0"),
        obx("12345^MDC_DEV_SOMETHING_VMD^MDC", "", value_type="", sub_id="1.1.0.0"),
        obx("4242^VENDOR_THING^99X", "", value_type="", sub_id="1.1.1.0"),
    ],
)
def test_device_hierarchy_rows_are_skipped(row):
    parsed = parse(row, ANCHOR)

    assert len(parsed.skipped) == 1
    assert "device hierarchy row" in parsed.skipped[0]


def test_unused_code_is_skipped():
    parsed = parse(obx("150344^MDC_TEMP^MDC", "36.6", "268192^MDC_DIM_DEGC^MDC"), ANCHOR)

    assert parsed.skipped == ["OBX 1: unused code 150344^MDC_TEMP"]


def test_row_without_code_is_skipped():
    parsed = parse(obx("", "97", "%"), ANCHOR)

    assert parsed.skipped == ["OBX 1: no observation code (OBX-3 empty)"]


@pytest.mark.parametrize(
    ("code", "unit"),
    [
        (SPO2_CODE, "262688^MDC_DIM_PERCENT^MDC"),
        (SPO2_CODE, "%^percent^UCUM"),
        (SPO2_CODE, "%"),
        (SPO2_CODE, ""),
        (SPO2_CODE, "SpO2 units"),  # unknown spelling: let through
        (PULSE_CODE, "264864^MDC_DIM_BEAT_PER_MIN^MDC"),
        (PULSE_CODE, "264864^/min^MDC"),
        (PULSE_CODE, "bpm"),
        (PULSE_CODE, "BPM"),
        (PULSE_CODE, "/min"),
        (PULSE_CODE, "1/min"),
        (PULSE_CODE, "{beats}/min^beats per minute^UCUM"),
        (PULSE_CODE, "264928^MDC_DIM_RESP_PER_MIN^MDC"),  # same dimension, 1/min
        (RESP_CODE, "264928^MDC_DIM_RESP_PER_MIN^MDC"),
        (RESP_CODE, "{breaths}/min"),
        (RESP_CODE, "rpm"),
        (RESP_CODE, "^^^264928^MDC_DIM_RESP_PER_MIN^MDC"),
    ],
)
def test_units_that_fit_are_accepted(code, unit):
    parsed = parse(obx(code, "40", unit))

    assert 40.0 in quantities(parsed)
    assert parsed.skipped == []


@pytest.mark.parametrize(
    ("code", "unit", "reason"),
    [
        (SPO2_CODE, "266016^MDC_DIM_MMHG^MDC", "SpO2 unit 266016^MDC_DIM_MMHG does not fit SpO2"),
        (SPO2_CODE, "264864^MDC_DIM_BEAT_PER_MIN^MDC", "does not fit SpO2"),
        (SPO2_CODE, "bpm", "SpO2 unit bpm does not fit SpO2"),
        (SPO2_CODE, "1", "SpO2 unit 1 does not fit SpO2"),  # a fraction, not a percentage
        (SPO2_CODE, "262656^MDC_DIM_DIMLESS^MDC", "does not fit SpO2"),
        (PULSE_CODE, "%", "pulse unit % does not fit pulse"),
        (PULSE_CODE, "Cel", "pulse unit Cel does not fit pulse"),
        (RESP_CODE, "L/min", "respiration unit L/min does not fit respiration"),
        (RESP_CODE, "262688^MDC_DIM_PERCENT^MDC", "does not fit respiration"),
    ],
)
def test_unit_clearly_wrong_for_the_quantity_skips_the_row(code, unit, reason):
    parsed = parse(obx(code, "40", unit), ANCHOR)

    assert quantities(parsed) == (None, 60.0, None)
    assert len(parsed.skipped) == 1
    assert reason in parsed.skipped[0]


@pytest.mark.parametrize(
    "value", ["8388607", "8388608", "8388606", "8388609", "8388610", "-8388608", "-100", "-999"]
)
@pytest.mark.parametrize(("code", "unit"), [(SPO2_CODE, PERCENT), (RESP_CODE, BREATHS)])
def test_not_available_sentinels_are_no_data(code, unit, value):
    parsed = parse(obx(code, value, unit), ANCHOR)

    assert quantities(parsed) == (None, 60.0, None)
    assert parsed.skipped[0].endswith(f"not available ({value})")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "SpO2 value is empty"),
        ('""', "SpO2 value is not a number"),
        ("97 %", "SpO2 value is not a number"),
        ("nan", "SpO2 value is not a number"),
        ("inf", "SpO2 value is not a number"),
        ("9.7e1", "SpO2 value is not a number"),
        ("--", "SpO2 value is not a number"),
        ("٩٧", "SpO2 value is not a number"),  # Arabic-Indic digits
    ],
)
def test_empty_and_non_numeric_values_are_no_data(value, reason):
    parsed = parse(obx(SPO2_CODE, value, PERCENT), ANCHOR)

    assert parsed.observation.spo2 is None
    assert parsed.skipped == [f"OBX 1: {reason}"]


@pytest.mark.parametrize(
    ("code", "unit", "value", "expected"),
    [
        (SPO2_CODE, PERCENT, "0", None),  # the oximeter's "no signal"
        (SPO2_CODE, PERCENT, "0.5", 0.5),
        (SPO2_CODE, PERCENT, "100", 100.0),
        (SPO2_CODE, PERCENT, "100.0", 100.0),
        (SPO2_CODE, PERCENT, "100.1", None),
        (SPO2_CODE, PERCENT, "-5", None),
        (SPO2_CODE, PERCENT, "+97", 97.0),
        (SPO2_CODE, PERCENT, "97.", 97.0),
        (SPO2_CODE, PERCENT, " 97 ", 97.0),
        (PULSE_CODE, BEATS, "0", None),
        (PULSE_CODE, BEATS, "0.9", None),
        (PULSE_CODE, BEATS, "1", 1.0),
        (PULSE_CODE, BEATS, "350", 350.0),
        (PULSE_CODE, BEATS, "350.5", None),
        (RESP_CODE, BREATHS, "0", 0.0),  # a real reading: no breathing
        (RESP_CODE, BREATHS, "-0", 0.0),
        (RESP_CODE, BREATHS, "150", 150.0),
        (RESP_CODE, BREATHS, "151", None),
        (RESP_CODE, BREATHS, "-1", None),
    ],
)
def test_physical_ranges(code, unit, value, expected):
    parsed = parse(obx(code, value, unit), obx(APNEA_CODE, "0", set_id="9"))

    assert getattr(parsed.observation, FIELDS[code]) == expected


def test_spo2_zero_says_no_signal():
    parsed = parse(obx(SPO2_CODE, "0", PERCENT), ANCHOR)

    assert parsed.skipped == ["OBX 1: SpO2 0 means no signal"]


def test_respiration_zero_is_kept_and_is_usable_on_its_own():
    parsed = parse(obx(RESP_CODE, "0", BREATHS))

    assert parsed.observation.resp == 0.0
    assert str(parsed.observation.resp) != "-0.0"


@pytest.mark.parametrize(("status", "meaning"), [("X", "cannot obtain"), ("D", "deleted")])
def test_result_status_without_a_result_is_no_data(status, meaning):
    parsed = parse(obx(SPO2_CODE, "97", PERCENT, status=status), ANCHOR)

    assert parsed.observation.spo2 is None
    assert parsed.skipped == [f"OBX 1: SpO2 result status {status} ({meaning})"]


@pytest.mark.parametrize("status", ["R", "F", "C", "P", ""])
def test_other_result_statuses_are_read(status):
    assert parse(obx(SPO2_CODE, "97", PERCENT, status=status)).observation.spo2 == 97.0


def test_values_from_a_device_in_demo_mode_are_not_used():
    parsed = parse(obx(SPO2_CODE, "100", PERCENT, flags="DEMO"), ANCHOR)

    assert parsed.observation.spo2 is None
    assert parsed.skipped == ["OBX 1: SpO2 from a device in demo mode (OBX-8 DEMO)"]


@pytest.mark.parametrize(
    ("value_type", "value", "expected"),
    [
        ("NM", "97", 97.0),
        ("ST", "97", 97.0),
        ("SN", "^97", 97.0),
        ("SN", "=^97", 97.0),
        ("SN", "<^90", None),
        ("SN", "^90^-^95", None),
        ("NA", "97^98^99", None),
        ("CWE", "97", None),
    ],
)
def test_value_types(value_type, value, expected):
    parsed = parse(obx(SPO2_CODE, value, PERCENT, value_type=value_type), ANCHOR)

    assert parsed.observation.spo2 == expected


def test_value_type_left_empty_is_read_for_a_known_code():
    assert parse(obx(SPO2_CODE, "97", PERCENT, value_type="")).observation.spo2 == 97.0


@pytest.mark.parametrize(
    ("value_type", "value", "apnea"),
    [
        ("NM", "1", True),
        ("NM", "2", True),
        ("NM", "0", False),
        ("ST", "true", True),
        ("ST", "APNEA", True),
        ("ST", "false", False),
        ("ST", "no", False),
        ("CWE", "199680^MDC_EVT_APNEA^MDC", True),
        ("", "1", True),
    ],
)
def test_apnea_event(value_type, value, apnea):
    parsed = parse(obx(APNEA_CODE, value, value_type=value_type))

    assert parsed.observation.apnea is apnea
    assert quantities(parsed) == (None, None, None)


@pytest.mark.parametrize(
    ("value", "status"), [("", "R"), ("8388607", "R"), ("-100", "R"), ("1", "X")]
)
def test_apnea_without_a_reading_is_no_data(value, status):
    parsed = parse(obx(APNEA_CODE, value, status=status), ANCHOR)

    assert parsed.observation.apnea is False
    assert len(parsed.skipped) == 1


def test_any_row_reporting_apnea_sets_it():
    parsed = parse(obx(APNEA_CODE, "0"), obx(APNEA_CODE, "1", set_id="2"), ANCHOR)

    assert parsed.observation.apnea is True


def test_apnea_alone_without_a_reading_is_refused():
    with pytest.raises(HL7Rejected) as caught:
        parse(obx(APNEA_CODE, "8388607"))

    assert caught.value.ack_code == "AE"
    assert "OBX 1: apnea not available (8388607)" in caught.value.reason


@pytest.mark.parametrize(
    ("rows", "pulse"),
    [
        ([obx(HEART_RATE_CODE, "80", BEATS), obx(PULSE_CODE, "72", BEATS)], 72.0),
        ([obx(PULSE_CODE, "72", BEATS), obx(HEART_RATE_CODE, "80", BEATS)], 72.0),
        ([obx("149546^MDC_PULS_RATE_NON_INV^MDC", "90", BEATS), obx(HEART_RATE_CODE, "80")], 80.0),
        ([obx(PULSE_CODE, "0", BEATS), obx(HEART_RATE_CODE, "80", BEATS)], 80.0),
        ([obx(PULSE_CODE, "72", BEATS), obx(PULSE_CODE, "75", BEATS)], 72.0),
    ],
)
def test_pulse_sources_in_order_of_preference(rows, pulse):
    assert parse(*rows).observation.pulse == pulse


def test_observed_at_comes_from_obx14_then_obr7_then_msh7():
    own = obx(SPO2_CODE, "97", PERCENT, time="20250301115958+0000")
    inherited = obx(PULSE_CODE, "72", BEATS)

    from_obx = parse(own, stamp="20250301115000+0000", obr7="20250301115500+0000")
    from_obr = parse(inherited, stamp="20250301115000+0000", obr7="20250301115500+0000")
    from_msh = parse(inherited, stamp="20250301115000+0000")

    assert from_obx.observation.observed_at == datetime(2025, 3, 1, 11, 59, 58, tzinfo=UTC)
    assert from_obr.observation.observed_at == datetime(2025, 3, 1, 11, 55, tzinfo=UTC)
    assert from_msh.observation.observed_at == datetime(2025, 3, 1, 11, 50, tzinfo=UTC)


def test_observed_at_is_the_latest_of_the_rows_used():
    parsed = parse(
        obx(SPO2_CODE, "97", PERCENT, time="20250301115958+0000"),
        obx("149546^MDC_PULS_RATE_NON_INV^MDC", "70", BEATS, time="20250301114000+0000"),
        obx(SPO2_CODE, "0", PERCENT, time="20250301120100+0000"),  # skipped: not used
    )

    assert parsed.observation.observed_at == datetime(2025, 3, 1, 11, 59, 58, tzinfo=UTC)


def test_unreadable_obx14_falls_back_to_obr7():
    parsed = parse(obx(SPO2_CODE, "97", PERCENT, time="yesterday"), obr7="20250301115500")

    assert parsed.observation.observed_at == datetime(2025, 3, 1, 11, 55, tzinfo=UTC)


def test_escaped_value_is_unescaped_before_reading():
    parsed = parse(obx(SPO2_CODE, r"\X39\7", PERCENT))

    assert parsed.observation.spo2 == 97.0
