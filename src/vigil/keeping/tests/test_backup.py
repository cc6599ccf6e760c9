"""`vigil backup` / `vigil restore`: a round trip on the database in use (SQLite here,
PostgreSQL on the PostgreSQL leg), with the secrets that make the data readable; refusals
with a clear message for a wrong key, a damaged file, a key inside the data dir and a
database that already holds records."""

import os
import stat
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from vigil.care.models import EventAmendment, MedicalEvent, Referral, ReferralStep
from vigil.keeping import backup, sealed
from vigil.lib import crypto
from vigil.participants.models import Participant
from vigil.testing import participant

pytestmark = [pytest.mark.db_any, pytest.mark.django_db(transaction=True)]


def _texts(records):
    amendment = EventAmendment.objects.get(event=records["event"])
    return (
        MedicalEvent.objects.get(pk=records["event"].pk).notes,
        Participant.objects.get(pk=records["person"].pk).language,
        Referral.objects.get(pk=records["referral"].pk).partner,
        ReferralStep.objects.get(referral=records["referral"]).note,
        amendment.reason,
        amendment.snapshot,
    )


def _counts() -> dict[str, int]:
    """Rows per table, leaving out the audit log (the restore itself is recorded in it)."""
    return {k: v for k, v in backup.vigil_row_counts().items() if not k.startswith("audit.")}


def _audit_verifies() -> bool:
    try:
        call_command("audit", "verify", stdout=StringIO(), stderr=StringIO())
    except SystemExit as exc:
        return exc.code in (0, None)
    return True


def _backup(path, *extra) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("backup", "-o", str(path), *extra, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_round_trip_brings_back_rows_secrets_and_readable_free_text(records, tmp_path):
    counts = _counts()
    texts = _texts(records)
    ring_then = crypto.ring_path().read_text()
    code_key_then = (crypto.ring_path().parent / "participant-code-key").read_text()
    target = tmp_path / "site.vigil-backup"

    out, err = _backup(target)
    assert "written and verified" in out
    from vigil.audit.models import AuditEntry

    assert AuditEntry.objects.order_by("-seq").first().action == "backup.write"
    assert "Created a new backup key" in err and "other than this machine" in err
    key_file = Path(os.environ["VIGIL_BACKUP_KEY_FILE"])
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    blob = target.read_bytes()
    for text in (b"Harbour", b"Tigrinya", b"SQLite format", b"PGDMP", b"bridge"):
        assert text not in blob

    # Life goes on after the backup: a new person, an edited note, the keys rotated (so the
    # ring in the data dir no longer opens what the backup holds).
    participant(records["site"], alias="Heron")
    MedicalEvent.objects.filter(pk=records["event"].pk).update(notes="changed later")
    call_command("keys", "rotate", "--retire-old", stdout=StringIO())
    assert crypto.ring_path().read_text() != ring_then

    with pytest.raises(CommandError, match="already holds records"):
        call_command("restore", str(target), stdout=StringIO())
    assert Participant.objects.filter(alias="Heron").exists()  # refused: nothing changed

    call_command("flush", interactive=False, verbosity=0)
    out = StringIO()
    call_command("restore", str(target), stdout=out)
    assert "Restored" in out.getvalue()
    connection.close()

    assert _counts() == counts
    assert not Participant.objects.filter(alias="Heron").exists()
    assert crypto.ring_path().read_text() == ring_then
    assert (crypto.ring_path().parent / "participant-code-key").read_text() == code_key_then
    assert _texts(records) == texts
    from django.apps import apps

    if apps.is_installed("vigil.audit"):
        from vigil.audit.models import AuditEntry

        assert AuditEntry.objects.order_by("-seq").first().action == "backup.restore"
        assert _audit_verifies()


def test_force_replaces_a_database_that_holds_records(records, tmp_path):
    target = tmp_path / "b.vigil-backup"
    _backup(target)
    participant(records["site"], alias="Heron")
    call_command("restore", str(target), "--force", stdout=StringIO())
    connection.close()
    assert not Participant.objects.filter(alias="Heron").exists()
    assert Participant.objects.filter(alias="Wren").exists()


def test_verify_only_reads_it_through_and_changes_nothing(records, tmp_path):
    target = tmp_path / "b.vigil-backup"
    _backup(target)
    participant(records["site"], alias="Heron")
    out = StringIO()
    call_command("restore", str(target), "--verify-only", stdout=out)
    assert "whole and readable" in out.getvalue()
    assert Participant.objects.filter(alias="Heron").exists()
    manifest = backup.verify(target, backup.load_key(backup.key_file_path(), create=False)[0])
    assert manifest["vendor"] == connection.vendor
    assert {"secrets/field-keys", "secrets/participant-code-key"} <= set(manifest["parts"])


def test_wrong_key_is_refused_clearly(records, tmp_path):
    target = tmp_path / "b.vigil-backup"
    _backup(target)
    other = tmp_path / "other.key"
    other.write_text(sealed.encode_key(sealed.new_key()))
    with pytest.raises(CommandError, match="different backup key"):
        call_command("restore", str(target), "--key-file", str(other), stdout=StringIO())
    with pytest.raises(CommandError, match="No backup key"):
        call_command(
            "restore", str(target), "--key-file", str(tmp_path / "nope.key"), stdout=StringIO()
        )


def test_damaged_file_is_refused_clearly_and_changes_nothing(records, tmp_path):
    target = tmp_path / "b.vigil-backup"
    _backup(target)
    blob = bytearray(target.read_bytes())
    blob[len(blob) // 2] ^= 0x40
    target.write_bytes(bytes(blob))
    call_command("flush", interactive=False, verbosity=0)
    with pytest.raises(CommandError, match="damaged"):
        call_command("restore", str(target), stdout=StringIO())
    assert backup.database_is_empty()
    cut = tmp_path / "cut.vigil-backup"
    cut.write_bytes(bytes(blob[: len(blob) // 3]))
    with pytest.raises(CommandError, match="damaged|cut short"):
        call_command("restore", str(cut), stdout=StringIO())


def test_a_key_file_inside_the_data_dir_is_refused(records, tmp_path, own_data_dir):
    with pytest.raises(CommandError, match="inside the data dir"):
        _backup(tmp_path / "b.vigil-backup", "--key-file", str(own_data_dir / "backup.key"))
    assert not (tmp_path / "b.vigil-backup").exists()


def test_a_failed_backup_leaves_no_file_behind(records, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise backup.BackupError("The database copy fails its integrity check: [('bad',)]")

    monkeypatch.setattr(backup, "verify", broken)
    with pytest.raises(CommandError, match="integrity"):
        _backup(tmp_path / "b.vigil-backup")
    assert list(tmp_path.glob("b.vigil-backup*")) == []
    assert not list(Path(os.environ["VIGIL_DATA_DIR"]).glob(".keeping-*"))


def test_a_backup_older_than_this_vigil_asks_for_migrate(records, tmp_path, monkeypatch):
    from django.db.migrations.executor import MigrationExecutor

    target = tmp_path / "b.vigil-backup"
    _backup(target)
    monkeypatch.setattr(
        MigrationExecutor, "migration_plan", lambda self, targets: [("care.0003_later", False)]
    )
    out = StringIO()
    call_command("restore", str(target), "--force", stdout=out)
    assert "predates 1 migrations" in out.getvalue() and "vigil migrate" in out.getvalue()
