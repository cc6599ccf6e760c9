"""The B.C. data as published keep their defects; `vigil evaluate` on them fails clearly.

The last three rows of monthly-deaths.csv are dated 2023-01-02, 2023-01-03 and 2023-01-04
where February, March and April 2023 are meant (day and month swapped). The demo study runs on
a corrected copy; the same study pointed at the original must name each bad row.
"""

from __future__ import annotations

import hashlib

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from vigil.research.tests.studyfiles import BC_ORIGINAL, DEMO_STUDY

# The upstream file, byte for byte (see data/bc/README.md).
ORIGINAL_SHA256 = "084a043907012b68a2d3cc29fd3dc55ea5f20b5ca8c6e9c3a79247b27031ab20"


def test_original_file_is_unchanged():
    assert hashlib.sha256(BC_ORIGINAL.read_bytes()).hexdigest() == ORIGINAL_SHA256


def test_evaluate_on_the_original_names_each_swapped_date(tmp_path):
    text = DEMO_STUDY.read_text(encoding="utf-8")
    study = tmp_path / "study.toml"
    study.write_text(
        text.replace('file = "monthly-deaths.csv"', f'file = "{BC_ORIGINAL.as_posix()}"'),
        encoding="utf-8",
    )
    with pytest.raises(CommandError) as caught:
        call_command("evaluate", str(study), out=str(tmp_path / "report.html"))
    assert caught.value.returncode == 2
    lines = str(caught.value).splitlines()
    assert len(lines) == 3
    for line, (row, date, meant) in zip(
        lines,
        [
            (134, "2023-01-02", "2023-02-01"),
            (135, "2023-01-03", "2023-03-01"),
            (136, "2023-01-04", "2023-04-01"),
        ],
        strict=True,
    ):
        assert line.startswith(f"{BC_ORIGINAL}, row {row} (line {row + 1}): date {date}")
        assert "is not the first day of a month" in line
        assert f"day and month look swapped: {meant} may be meant" in line
    assert not (tmp_path / "report.html").exists()
