"""ACKs: header mirrored, MSA with the original control id, ERR for AE and AR, escaping."""

from datetime import UTC, datetime, timedelta, timezone

import hl7
import pytest

from vigil.monitoring.hl7in import HL7Rejected, build_ack, parse_oru
from vigil.monitoring.tests import hl7_samples as samples
from vigil.monitoring.tests.hl7_samples import PERCENT, SPO2_CODE, obx, oru

RECEIVED_AT = datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC)
NOW = datetime(2025, 3, 1, 13, 0, 6, tzinfo=timezone(timedelta(hours=1)))


def segments(ack: str) -> list[list[str]]:
    assert ack.endswith("\r")
    return [segment.split("|") for segment in ack.rstrip("\r").split("\r")]


def rejected(text: str) -> HL7Rejected:
    with pytest.raises(HL7Rejected) as caught:
        parse_oru(text, RECEIVED_AT)
    return caught.value


def ack_for_rejection(text: str) -> str:
    error = rejected(text)
    return build_ack(
        text,
        error.ack_code,
        error.reason,
        error_code=error.error_code,
        location=error.location,
        now=NOW,
    )


def test_aa_mirrors_the_header():
    parsed = parse_oru(samples.received("MINDRAY_VS8_SPOTCHECK_V231"), RECEIVED_AT)

    msh, msa = segments(build_ack(parsed, "AA", now=NOW))

    assert msh[:8] == [
        "MSH",
        "^~\\&",
        "VS8_GATEWAY",
        "SMARTWARD",
        "Mindray",
        "VS8",
        "20250301120006+0000",
        "",
    ]
    assert msh[8] == "ACK^R01^ACK"
    assert msh[9] != "MSG00042" and len(msh[9]) == 20
    assert msh[10:] == ["P", "2.3.1"]
    assert msa == ["MSA", "AA", "MSG00042"]


def test_each_ack_has_a_new_control_id():
    parsed = parse_oru(samples.received("XH80X_V24"), RECEIVED_AT)

    first, second = (segments(build_ack(parsed, "AA", now=NOW))[0][9] for _ in range(2))

    assert first != second


def test_ae_for_a_v26_message_has_an_err_with_location_code_and_reason():
    text = oru([obx(SPO2_CODE, "97", PERCENT)], message_type="ADT^A01^ADT_A01", version="2.6")

    msh, msa, err = segments(ack_for_rejection(text))

    reason = "unsupported message type ADT^A01^ADT_A01 (only ORU^R01 is accepted)"
    escaped = reason.replace("^", "\\S\\")
    assert msh[2:6] == ["VIGIL", "SITE", "VIGIL_SIM^0009FBFFFF9B42B3^EUI-64", "BOOTHS"]
    assert msh[11] == "2.6"
    assert msa == ["MSA", "AE", "MSG0001", escaped]
    condition = "200^Unsupported message type^HL70357"
    assert err == ["ERR", "", "MSH^1^9", condition, "E", "", "", "", escaped]


@pytest.mark.parametrize("version", ["2.3.1", "2.4"])
def test_ae_for_older_versions_uses_err1(version):
    text = oru([obx(SPO2_CODE, "8388607", PERCENT)], version=version)

    msh, msa, err = segments(ack_for_rejection(text))

    assert msh[11] == version
    assert msa[1] == "AE"
    assert err == ["ERR", "OBX^1^5^101&Required field missing&HL70357"]


def test_ae_for_an_unsupported_version_answers_in_that_version():
    text = oru([obx(SPO2_CODE, "97", PERCENT)], version="2.8")

    msh, msa, err = segments(ack_for_rejection(text))

    assert msh[11] == "2.8"
    assert err[2:4] == ["MSH^1^12", "203^Unsupported version id^HL70357"]


def test_ar_for_garbage_is_a_minimal_ack():
    msh, msa, err = segments(ack_for_rejection("not hl7 at all"))

    assert msh[2:6] == ["", "", "", ""]
    assert msh[8:] == ["ACK^R01^ACK", msh[9], "P", "2.6"]
    assert msa == ["MSA", "AR", "", "no MSH segment at the start of the message"]
    assert err[0] == "ERR" and err[3] == "100^Segment sequence error^HL70357"


def test_ar_with_bad_encoding_characters_still_echoes_the_control_id():
    text = "MSH|^~\\^|APP|FAC|||20250301||ORU^R01|CTRL^42|P|2.6\rOBX|1|NM|150456||97"

    msh, msa, _ = segments(ack_for_rejection(text))

    assert msh[1] == "^~\\&"
    assert msa[:3] == ["MSA", "AR", "CTRL\\S\\42"]


def test_ar_for_a_truncated_header_mirrors_what_it_can():
    text = "MSH|^~\\&|APP|FAC|GW|SITE|20250301||ORU^R01|CTRL-7"

    msh, msa, _ = segments(ack_for_rejection(text))

    assert msh[2:6] == ["GW", "SITE", "APP", "FAC"]
    assert msa[:3] == ["MSA", "AR", "CTRL-7"]


def test_reason_is_escaped_and_reads_back():
    parsed = parse_oru(samples.received("MINDRAY_VS900_PCD01_V26"), RECEIVED_AT)
    reason = r"odd | chars ^ ~ \ & here"

    ack = build_ack(parsed, "AE", reason, now=NOW)

    message = hl7.parse(ack)
    assert str(message.segment("MSA")(1)) == "AE"
    assert message.unescape(str(message.segment("MSA")(3))) == reason
    assert message.unescape(str(message.segment("ERR")(8))) == reason


def test_reason_is_ascii_and_at_most_80_characters_in_msa3():
    parsed = parse_oru(samples.received("MINDRAY_VS900_PCD01_V26"), RECEIVED_AT)

    msh, msa, err = segments(build_ack(parsed, "AE", "é" + "x" * 300, now=NOW))

    assert msa[3] == "?" + "x" * 76 + "..."
    assert len(err[8]) == 250


def test_ack_uses_the_message_delimiters():
    table = str.maketrans({"|": "!", "^": "$", "~": "%", "\\": "*", "&": "@"})
    parsed = parse_oru(samples.received("XH80X_V24").translate(table), RECEIVED_AT)

    ack = build_ack(parsed, "AE", "a!b", now=NOW)

    assert ack.startswith("MSH!$%*@!!!XH80X$00A037009BFF0002$EUI-64!!")
    assert "ACK$R01$ACK" in ack
    assert "a*F*b" in ack


def test_header_fields_are_copied_as_sent_so_latin1_gives_back_the_device_bytes():
    text = samples.received("CONTINUA_OXIMETER_V25_LATIN1").replace("|2.5|", "|2.9|", 1)
    error = rejected(text)

    ack = build_ack(text, error.ack_code, error.reason, now=NOW)

    assert "Clínica Norte".encode("latin-1") in ack.encode("latin-1")


def test_aa_ack_for_a_parsed_utf8_message_encodes_with_its_encoding():
    parsed = parse_oru(samples.received("GE_CARESCAPE_HIERARCHY_V26"), RECEIVED_AT)

    ack = build_ack(parsed, "AA", now=NOW).encode(parsed.encoding)

    assert "Réa Nord".encode() in ack


def test_unknown_ack_code_is_a_programming_error():
    parsed = parse_oru(samples.received("XH80X_V24"), RECEIVED_AT)

    with pytest.raises(ValueError):
        build_ack(parsed, "CA")


def test_unknown_location_leaves_err2_empty():
    parsed = parse_oru(samples.received("MINDRAY_VS900_PCD01_V26"), RECEIVED_AT)

    err = segments(build_ack(parsed, "AE", "why", location="somewhere", now=NOW))[2]

    assert err[2] == ""
    assert err[3] == "207^Application internal error^HL70357"
