"""Device identity candidates: OBX-18 EUI-64s, then OBR-3, then MSH-3, normalised."""

from datetime import UTC, datetime

import pytest

from vigil.monitoring.hl7in import HL7Rejected, parse_oru
from vigil.monitoring.tests.hl7_samples import PERCENT, SPO2_CODE, obx, oru

RECEIVED_AT = datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC)


def ids(message: str) -> list[str]:
    return parse_oru(message, RECEIVED_AT).device_ids


def spo2_row(equipment: str = "") -> str:
    return obx(SPO2_CODE, "97", PERCENT, equipment=equipment)


def test_obx18_then_obr3_then_msh3():
    message = oru(
        [spo2_row("1111222233334444^^1111222233334444^EUI-64")],
        obr3="77^GATEWAY^AAAABBBBCCCCDDDD^EUI-64",
        application="BEDSIDE^0009FBFFFF9B42B3^EUI-64",
    )

    assert ids(message) == ["1111222233334444", "AAAABBBBCCCCDDDD", "0009FBFFFF9B42B3"]
    assert parse_oru(message, RECEIVED_AT).observation.device_id == "1111222233334444"


def test_every_obx18_eui64_in_message_order_and_repetition_order():
    message = oru(
        [
            obx(
                "69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC",
                "",
                value_type="",
                status="X",
                equipment="1111222233334444^EUI-64~5555666677778888^EUI-64",
            ),
            spo2_row("9999AAAABBBBCCCC^^9999AAAABBBBCCCC^EUI-64"),
        ],
        application="APP",
    )

    assert ids(message) == ["1111222233334444", "5555666677778888", "9999AAAABBBBCCCC", "APP"]


@pytest.mark.parametrize(
    ("equipment", "expected"),
    [
        ("0009FBFFFF9B42B3^^0009FBFFFF9B42B3^EUI-64", "0009FBFFFF9B42B3"),
        ("^^0009FBFFFF9B42B3^EUI-64", "0009FBFFFF9B42B3"),
        ("0009fbffff9b42b3^EUI-64", "0009FBFFFF9B42B3"),
        ("00-09-FB-FF-FF-9B-42-B3^Oximeter^00-09-FB-FF-FF-9B-42-B3^EUI-64", "0009FBFFFF9B42B3"),
        ("080019FFFE134535^B1X5_GE", "080019FFFE134535"),  # bare EUI-64, GE style
    ],
)
def test_obx18_eui64_spellings(equipment, expected):
    assert ids(oru([spo2_row(equipment)], application=""))[0] == expected


def test_obx18_that_is_not_an_eui64_is_no_candidate():
    message = oru([spo2_row("F037EF2X^SHENZHEN_DEVICE^mindray.com^DNS")], application="APP")

    assert ids(message) == ["APP"]


@pytest.mark.parametrize(
    ("obr3", "expected"),
    [
        ("12^VSP^080019FFFE134535^EUI-64", "080019FFFE134535"),
        ("MON-07", "MON07"),
        ("^^SERIAL-9^L", "SERIAL9"),
    ],
)
def test_obr3_entity_or_universal_id(obr3, expected):
    assert ids(oru([spo2_row()], obr3=obr3, application="")) == [expected]


@pytest.mark.parametrize(
    ("application", "expected"),
    [
        ("NC_Monitor", "NCMONITOR"),
        ("MINDRAY_VS900^00A0370098007A80^EUI-64", "00A0370098007A80"),
        ("Monitor^1.2.3.4^ISO", "MONITOR"),
        ("^1.2.3.4^ISO", "1234"),
    ],
)
def test_msh3_first_component_or_eui64(application, expected):
    assert ids(oru([spo2_row()], application=application)) == [expected]


def test_same_identity_in_several_places_is_listed_once():
    message = oru(
        [spo2_row("0009FBFFFF9B42B3^EUI-64")],
        obr3="1^SIM^0009FBFFFF9B42B3^EUI-64",
        application="SIM^0009-FBFF-FF9B-42B3^EUI-64",
    )

    assert ids(message) == ["0009FBFFFF9B42B3"]


def test_an_identity_too_long_to_be_a_device_id_is_ignored():
    message = oru([spo2_row()], obr3="X" * 65, application="APP")

    assert ids(message) == ["APP"]


def test_no_identity_anywhere_is_refused():
    with pytest.raises(HL7Rejected) as caught:
        parse_oru(oru([spo2_row()], application=""), RECEIVED_AT)

    assert caught.value.ack_code == "AE"
    assert caught.value.reason == "no device identity: OBX-18, OBR-3 and MSH-3 are all empty"
