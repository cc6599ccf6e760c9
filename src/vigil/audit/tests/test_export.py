"""`vigil audit export` ships a copy that `vigil audit verify --file` checks elsewhere."""

import json
import os

import pytest

from vigil.audit.models import AuditEntry
from vigil.audit.tests.helpers import run

pytestmark = [pytest.mark.django_db, pytest.mark.db_any]


def test_an_export_verifies_and_records_itself(six, tmp_path):
    out = tmp_path / "audit.jsonl"
    code, text = run("export", "-o", str(out))
    assert code == 0 and "exported 7 entries (seq 1–7)" in text
    lines = out.read_text().splitlines()
    assert len(lines) == 7
    last = json.loads(lines[-1])
    assert last["action"] == "audit.export" and last["actor_kind"] == "os_user"
    assert last["hash"] == AuditEntry.objects.get(seq=7).hash
    assert oct(os.stat(out).st_mode & 0o777) == "0o600"
    assert run("verify", "--file", str(out)) == (0, f"{out}: intact, 7 entries (seq 1–7)\n")


def test_a_part_since_a_sequence_number_verifies_on_its_own(six, tmp_path):
    out = tmp_path / "part.jsonl"
    assert run("export", "-o", str(out), "--since", "4")[0] == 0
    assert [json.loads(line)["seq"] for line in out.read_text().splitlines()] == [5, 6, 7]
    code, text = run("verify", "--file", str(out))
    assert code == 0 and "intact, 3 entries (seq 5–7)" in text and "partial export" in text


def test_a_tampered_copy_is_caught(six, tmp_path):
    out = tmp_path / "audit.jsonl"
    run("export", "-o", str(out))
    lines = out.read_text().splitlines()
    entry = json.loads(lines[2])
    entry["participant_id"] = 12345
    lines[2] = json.dumps(entry)
    out.write_text("\n".join(lines) + "\n")
    code, text = run("verify", "--file", str(out))
    assert code == 1 and "entry 3:" in text
    del lines[3]
    out.write_text("\n".join(lines) + "\n")
    assert run("verify", "--file", str(out))[0] == 1


def test_a_copy_does_not_verify_with_another_key(six, tmp_path, monkeypatch):
    out = tmp_path / "audit.jsonl"
    run("export", "-o", str(out))
    monkeypatch.setenv("VIGIL_AUDIT_KEY", "some-other-key")
    code, text = run("verify", "--file", str(out))
    assert code == 1 and "entry 1:" in text


def test_a_file_that_is_not_an_export_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"hello": 1}\n')
    with pytest.raises(Exception, match="line 1 is not an audit entry"):
        run("verify", "--file", str(bad))
