"""Messages in the shapes real monitors send are read into the right Observation."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from vigil.monitoring.hl7in import HL7Rejected, parse_oru
from vigil.monitoring.tests import hl7_samples as samples

RECEIVED_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
PLUS_8 = timezone(timedelta(hours=8))

EXPECTED = {
    # name: (version, encoding, device_ids, spo2, pulse, resp, observed_at)
    "MINDRAY_VS900_PCD01_V26": (
        "2.6",
        "utf-8",
        ["00A0370098FF0001"],
        99.0,
        94.0,
        None,
        datetime(2019, 12, 6, 11, 34, 52, tzinfo=UTC),
    ),
    "NIST_PCD01_LOINC_MDC_V26": (
        "2.6",
        "utf-8",
        ["0123456789ABCDEF", "SENDINGAPPLICATION"],
        96.0,
        55.0,
        None,
        datetime(2012, 5, 30, 11, 23, 40, tzinfo=UTC),
    ),
    "GE_CARESCAPE_HIERARCHY_V26": (
        "2.6",
        "utf-8",
        ["080019FFFE13ABCD"],
        98.0,
        76.0,
        None,
        datetime(2024, 6, 11, 9, 30, tzinfo=timezone(timedelta(hours=2))),
    ),
    "XH80X_V24": (
        "2.4",
        "utf-8",
        ["00A037009BFF0002"],
        91.0,
        58.0,
        0.0,
        datetime(2021, 6, 11, 10, 20, 47, tzinfo=UTC),
    ),
    "MINDRAY_DSERIES_OBR3_V26": (
        "2.6",
        "utf-8",
        ["00A037009AFF0003"],
        97.0,
        71.0,
        16.0,
        datetime(2019, 9, 29, 9, 21, 49, 610000, tzinfo=UTC),
    ),
    "MINDRAY_EGATEWAY_V26": (
        "2.6",
        "utf-8",
        ["000F14FF9B507238", "00A03700FF3EDE18"],
        98.0,
        65.0,
        17.0,
        datetime(2026, 9, 12, 12, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    ),
    "COMEN_NC_MONITOR_V26": (
        "2.6",
        "utf-8",
        ["NCMONITOR"],
        97.0,
        59.0,
        20.0,
        datetime(2025, 6, 10, 1, 51, 27, tzinfo=PLUS_8),
    ),
    "MINDRAY_VS8_SPOTCHECK_V231": (
        "2.3.1",
        "utf-8",
        ["MINDRAY"],
        97.0,
        72.0,
        None,
        datetime(2026, 7, 27, 12, 44, 24, tzinfo=UTC),
    ),
    "CONTINUA_OXIMETER_V25_LATIN1": (
        "2.5",
        "latin-1",
        ["ACDE48234567ABCD"],
        96.0,
        68.0,
        None,
        datetime(2012, 8, 24, 18, 30, 21, tzinfo=UTC),
    ),
    "BARE_MDC_CODES_V26": (
        "2.6",
        "utf-8",
        ["NORTHERN"],
        93.0,
        104.0,
        11.0,
        datetime(2025, 6, 12, 9, 8, 38, tzinfo=UTC),
    ),
}


def test_every_real_shape_has_an_expectation():
    assert set(EXPECTED) == set(samples.REAL_SHAPES)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_shape_is_read(name):
    version, encoding, device_ids, spo2, pulse, resp, observed_at = EXPECTED[name]

    parsed = parse_oru(samples.received(name), RECEIVED_AT)

    assert parsed.version == version
    assert parsed.message_type.startswith("ORU^R01")
    assert parsed.encoding == encoding
    assert parsed.device_ids == device_ids
    observation = parsed.observation
    assert observation.device_id == device_ids[0]
    assert observation.received_at == RECEIVED_AT
    assert (observation.spo2, observation.pulse, observation.resp) == (spo2, pulse, resp)
    assert observation.apnea is False
    assert observation.observed_at == observed_at


def test_hierarchy_rows_and_unused_codes_are_skipped_with_their_reason():
    parsed = parse_oru(samples.received("GE_CARESCAPE_HIERARCHY_V26"), RECEIVED_AT)

    assert parsed.skipped == [
        "OBX 1 (1.0.0.0): device hierarchy row 69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS",
        "OBX 2 (1.6.0.0): device hierarchy row 69798^MDC_DEV_PULS_OXIM_VMD",
        "OBX 3 (1.6.1.0): device hierarchy row 69799^MDC_DEV_PULS_OXIM_CHAN",
        "OBX 6 (1.6.1.3): unused code 150458^MDC_PULS_OXIM_PERF_INDEX",
    ]


def test_specialisation_profile_row_is_a_hierarchy_row():
    parsed = parse_oru(samples.received("CONTINUA_OXIMETER_V25_LATIN1"), RECEIVED_AT)

    assert "OBX 2 (1): device hierarchy row 528388^MDC_DEV_SPEC_PROFILE_PULS_OXIM" in (
        parsed.skipped
    )


def test_first_of_two_spo2_channels_wins():
    # Comen sends channel 1.3.1 (97) then 1.3.2 (95).
    parsed = parse_oru(samples.received("COMEN_NC_MONITOR_V26"), RECEIVED_AT)

    assert parsed.observation.spo2 == 97.0


def test_impedance_respiration_wins_over_pleth_derived():
    # The eGateway reports pleth-derived RR 19 before impedance RR 17.
    parsed = parse_oru(samples.received("MINDRAY_EGATEWAY_V26"), RECEIVED_AT)

    assert parsed.observation.resp == 17.0


def test_waveform_row_is_skipped():
    parsed = parse_oru(samples.received("MINDRAY_DSERIES_OBR3_V26"), RECEIVED_AT)

    assert parsed.skipped == ["OBX 5 (1.7.1.151780): unused code 151780^MDC_IMPED_TTHOR"]


def test_header_is_kept_for_the_ack():
    parsed = parse_oru(samples.received("MINDRAY_VS8_SPOTCHECK_V231"), RECEIVED_AT)

    header = parsed.header
    assert (header.sending_application, header.sending_facility) == ("Mindray", "VS8")
    assert (header.receiving_application, header.receiving_facility) == (
        "VS8_GATEWAY",
        "SMARTWARD",
    )
    assert (header.control_id, header.processing_id, header.version) == ("MSG00042", "P", "2.3.1")
    assert parsed.sending_application == "Mindray"
    assert parsed.control_id == "MSG00042"


def test_sending_application_is_kept_as_sent():
    parsed = parse_oru(samples.received("MINDRAY_VS900_PCD01_V26"), RECEIVED_AT)

    assert parsed.sending_application == "MINDRAY_VS900^00A0370098FF0001^EUI-64"


@pytest.mark.parametrize(
    ("message", "first_skip"),
    [
        (samples.XH80X_NO_SENSORS_V24, "OBX 2 (1.3.1.150456): SpO2 not available (-999)"),
        (samples.NORTHERN_NO_PROBE_V26, "OBX 1 (1.3.1.150456): SpO2 not available (-100)"),
    ],
)
def test_monitor_without_sensors_is_refused_with_the_first_reason(message, first_skip):
    with pytest.raises(HL7Rejected) as caught:
        parse_oru(samples.wire(message), RECEIVED_AT)

    assert caught.value.ack_code == "AE"
    assert caught.value.reason.startswith("no usable SpO2, pulse, respiration or apnea value")
    assert first_skip in caught.value.reason
