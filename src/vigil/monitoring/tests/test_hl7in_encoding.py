"""Character sets (MSH-18 or the bytes themselves), segment separators and MLLP leftovers."""

from datetime import UTC, datetime

import pytest

from vigil.monitoring.hl7in import parse_oru
from vigil.monitoring.tests import hl7_samples as samples
from vigil.monitoring.tests.hl7_samples import PERCENT, SPO2_CODE, obx, oru, wire

RECEIVED_AT = datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC)


def with_facility(facility: str, charset: str) -> str:
    return oru([obx(SPO2_CODE, "97", PERCENT)], facility=facility, charset=charset)


def test_utf8_declared_and_sent_is_decoded():
    parsed = parse_oru(samples.received("GE_CARESCAPE_HIERARCHY_V26"), RECEIVED_AT)

    assert parsed.encoding == "utf-8"
    assert parsed.header.sending_facility == "Réa Nord"


def test_latin1_declared_and_sent_is_decoded():
    parsed = parse_oru(samples.received("CONTINUA_OXIMETER_V25_LATIN1"), RECEIVED_AT)

    assert parsed.encoding == "latin-1"
    assert parsed.header.sending_facility == "Clínica Norte"


@pytest.mark.parametrize("charset", ["8859/1", "ISO-8859-1", "ISO IR100", "ISO_IR 100"])
def test_latin1_declared_is_honoured_even_when_the_bytes_are_valid_utf8(charset):
    # "Ã©" in latin-1 is the two bytes C3 A9, which also happen to be UTF-8 for "é".
    parsed = parse_oru(wire(with_facility("CafÃ©", charset), "latin-1"), RECEIVED_AT)

    assert parsed.encoding == "latin-1"
    assert parsed.header.sending_facility == "CafÃ©"


@pytest.mark.parametrize("charset", ["UNICODE UTF-8", "UTF-8", "ISO IR192"])
def test_utf8_names(charset):
    parsed = parse_oru(wire(with_facility("São João", charset), "utf-8"), RECEIVED_AT)

    assert parsed.encoding == "utf-8"
    assert parsed.header.sending_facility == "São João"


@pytest.mark.parametrize("charset", ["", "ASCII", "UNICODE", "KLINGON"])
def test_without_a_usable_msh18_valid_utf8_is_read_as_utf8(charset):
    parsed = parse_oru(wire(with_facility("Zürich", charset), "utf-8"), RECEIVED_AT)

    assert parsed.encoding == "utf-8"
    assert parsed.header.sending_facility == "Zürich"


@pytest.mark.parametrize("charset", ["", "ASCII"])
def test_without_a_usable_msh18_other_bytes_are_read_as_latin1(charset):
    parsed = parse_oru(wire(with_facility("Zürich", charset), "latin-1"), RECEIVED_AT)

    assert parsed.encoding == "latin-1"
    assert parsed.header.sending_facility == "Zürich"


def test_utf8_declared_but_not_sent_falls_back_to_latin1_and_keeps_the_readings():
    parsed = parse_oru(wire(with_facility("Zürich", "UNICODE UTF-8"), "latin-1"), RECEIVED_AT)

    assert parsed.encoding == "latin-1"
    assert parsed.header.sending_facility == "Zürich"
    assert parsed.observation.spo2 == 97.0


def test_other_iso_8859_parts_are_honoured():
    parsed = parse_oru(wire(with_facility("Caisse €", "8859/15"), "iso8859-15"), RECEIVED_AT)

    assert parsed.encoding == "iso8859-15"
    assert parsed.header.sending_facility == "Caisse €"


def test_msh18_repetitions_use_the_first():
    parsed = parse_oru(
        wire(with_facility("Zürich", "8859/1~UNICODE UTF-8"), "latin-1"), RECEIVED_AT
    )

    assert parsed.encoding == "latin-1"


def test_text_that_was_already_decoded_is_read_as_it_is():
    parsed = parse_oru(with_facility("東京", "UNICODE UTF-8"), RECEIVED_AT)

    assert parsed.encoding == "utf-8"
    assert parsed.header.sending_facility == "東京"


@pytest.mark.parametrize("separator", ["\r", "\n", "\r\n", "\n\r"])
def test_segment_separators(separator):
    message = samples.received("MINDRAY_VS900_PCD01_V26").replace("\r", separator)

    parsed = parse_oru(message, RECEIVED_AT)

    assert (parsed.observation.spo2, parsed.observation.pulse) == (99.0, 94.0)
    assert len(parsed.skipped) == 4


def test_mllp_framing_bytes_byte_order_mark_and_blank_lines_are_ignored():
    message = samples.received("MINDRAY_VS900_PCD01_V26").replace("\rOBX", "\r\r  \rOBX")
    framed = "\x0b\xef\xbb\xbf" + message + "\x1c\r"

    parsed = parse_oru(framed, RECEIVED_AT)

    assert (parsed.observation.spo2, parsed.observation.pulse) == (99.0, 94.0)


def test_unusual_but_valid_delimiters():
    message = samples.received("MINDRAY_VS900_PCD01_V26")
    table = str.maketrans({"|": "!", "^": "$", "~": "%", "\\": "*", "&": "@"})

    parsed = parse_oru(message.translate(table), RECEIVED_AT)

    assert parsed.device_ids == ["00A0370098FF0001"]
    assert (parsed.observation.spo2, parsed.observation.pulse) == (99.0, 94.0)
    assert parsed.header.encoding_characters == "$%*@"
