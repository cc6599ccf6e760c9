"""`vigil export deidentified` over hand-made records: nothing identifying leaves, every class
has at least k rows, study ids are new in every export, and each export is in the audit log."""

import io
import re

import pandas as pd
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from vigil.lib import clock
from vigil.research import deidentify as D
from vigil.research.export import COLUMNS
from vigil.research.tests.records_world import NOW, build_visits

pytestmark = [pytest.mark.django_db, pytest.mark.db_any]


def run(tmp_path, world, *extra, name="out.csv"):
    out = tmp_path / name
    with clock.frozen(NOW):
        call_command(
            "export",
            "deidentified",
            "--site",
            world.site.name,
            "--from",
            "2026-01-01",
            "--to",
            "2026-06-30",
            "-o",
            str(out),
            *extra,
            stdout=io.StringIO(),
        )
    return out


def test_csv_has_only_the_documented_columns_and_nothing_identifying(tmp_path):
    world = build_visits()
    out = run(tmp_path, world, "--k", "2", "--max-suppression", "0.5")
    text = out.read_text()
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(frame.columns) == list(COLUMNS)
    for person in world.people.values():
        assert person.alias not in text
        assert person.code_hash not in text
    assert "2026-01-03" not in text and ":" not in text  # no dates or times of day
    sizes = frame.groupby(list(D.QUASI_IDENTIFIERS)).size()
    assert sizes.min() >= 2
    assert frame["study_id"].is_unique
    # Study ids are random tokens, not internal ids.
    assert all(re.fullmatch(r"S[0-9a-f]{10}", s) for s in frame["study_id"])


def test_default_k_of_five_on_five_people_makes_one_class(tmp_path):
    world = build_visits()
    out = run(tmp_path, world)
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    # Five people, all different: one class of five, their site (the same for all) kept and
    # the other quasi-identifiers generalised to "any" (P1 came first in 2025, the rest in 2026).
    assert len(frame) == 5
    assert frame.groupby(list(D.QUASI_IDENTIFIERS)).ngroups == 1
    assert set(frame["site"]) == {world.site.name}
    assert set(frame["first_visit"]) == set(frame["gender"]) == {"any"}


def test_parquet_carries_the_generalisation_and_new_ids_each_time(tmp_path):
    world = build_visits()
    first = run(
        tmp_path,
        world,
        "--format",
        "parquet",
        "--k",
        "2",
        "--max-suppression",
        "0.5",
        name="a.parquet",
    )
    second = run(
        tmp_path,
        world,
        "--format",
        "parquet",
        "--k",
        "2",
        "--max-suppression",
        "0.5",
        name="b.parquet",
    )
    a, b = pq.read_table(first), pq.read_table(second)
    assert a.column_names == list(COLUMNS)
    assert b"vigil" in a.schema.metadata
    assert set(a.column("study_id").to_pylist()).isdisjoint(b.column("study_id").to_pylist())


def test_each_export_is_recorded_in_the_audit_log(tmp_path):
    from vigil.audit.models import AuditEntry

    world = build_visits()
    before = AuditEntry.objects.count()
    run(tmp_path, world, "--k", "2", "--max-suppression", "0.5")
    entry = AuditEntry.objects.order_by("-pk").first()
    assert AuditEntry.objects.count() == before + 1
    assert entry.action == "research.export_deidentified"


def test_unknown_site_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="no site named 'Nowhere'"):
        call_command("export", "deidentified", "--site", "Nowhere", "-o", str(tmp_path / "x.csv"))
    assert not (tmp_path / "x.csv").exists()
