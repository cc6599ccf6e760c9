"""HL7 TS/DTM values as aware datetimes; a time without an offset is taken as UTC."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from vigil.monitoring.hl7in import parse_hl7_timestamp


def offset(hours: int, minutes: int = 0) -> timezone:
    return timezone(timedelta(hours=hours, minutes=minutes))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20250301120000", datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)),
        ("20250301120000+0000", datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)),
        ("20250610015127+0800", datetime(2025, 6, 10, 1, 51, 27, tzinfo=offset(8))),
        ("20260912120000.0000+0530", datetime(2026, 9, 12, 12, 0, tzinfo=offset(5, 30))),
        ("20140510094931.835-0400", datetime(2014, 5, 10, 9, 49, 31, 835000, tzinfo=offset(-4))),
        ("20150617120000.000", datetime(2015, 6, 17, 12, 0, tzinfo=UTC)),
        ("20190929092149610", datetime(2019, 9, 29, 9, 21, 49, 610000, tzinfo=UTC)),
        ("20260101083000-0330", datetime(2026, 1, 1, 8, 30, tzinfo=offset(-3, -30))),
        ("202503011200", datetime(2025, 3, 1, 12, 0, tzinfo=UTC)),
        ("2025030112", datetime(2025, 3, 1, 12, 0, tzinfo=UTC)),
        ("20250301", datetime(2025, 3, 1, tzinfo=UTC)),
        ("202503", datetime(2025, 3, 1, tzinfo=UTC)),
        ("2025", datetime(2025, 1, 1, tzinfo=UTC)),
        (" 20250301120000 ", datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)),
        ("20250301120000.123456789", datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_readable_timestamps(value, expected):
    parsed = parse_hl7_timestamp(value)

    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    "value",
    [
        "",
        "yesterday",
        "2025030112000",  # odd number of digits
        "20251301120000",  # month 13
        "20250230120000",  # 30 February
        "20250301240000",  # hour 24
        "00000101",  # year 0
        "20250301120000+2400",
        "20250301120000+0060",
        "2025-03-01T12:00:00Z",
        "202503011200001234",
        "٢٠٢٥",  # non-ASCII digits
    ],
)
def test_unreadable_timestamps_are_none(value):
    assert parse_hl7_timestamp(value) is None
