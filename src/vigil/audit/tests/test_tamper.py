"""`vigil audit verify` against a log tampered with directly in the database (raw SQL), on
SQLite and PostgreSQL: each change, deletion, insertion and reordering is caught and named."""

import json

import pytest
from django.db import connection

from vigil.audit.models import AuditEntry
from vigil.audit.tests.helpers import run

pytestmark = [pytest.mark.django_db, pytest.mark.db_any]


def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def hash_of(seq: int) -> str:
    return AuditEntry.objects.get(seq=seq).hash


def test_an_intact_log_exits_0(six):
    assert run("verify") == (0, "audit log: intact, 6 entries (seq 1–6)\n")


def test_a_changed_field_is_caught(six):
    sql("UPDATE audit_auditentry SET actor_name = 'someone-else' WHERE seq = 3")
    code, text = run("verify")
    assert code == 1
    assert "NOT intact: entry 3:" in text and "no longer matches its hash" in text


def test_a_changed_detail_is_caught(six):
    sql("UPDATE audit_auditentry SET subject_id = 999 WHERE seq = 2")
    code, text = run("verify")
    assert code == 1 and "entry 2:" in text


def test_a_deleted_middle_row_is_caught(six):
    sql("DELETE FROM audit_auditentry WHERE seq = 3")
    assert run("verify") == (
        1,
        "audit log: NOT intact: entry 3: entry 3 is missing (deleted)\n",
    )


def test_deleting_the_newest_rows_is_caught(six):
    sql("DELETE FROM audit_auditentry WHERE seq >= 5")
    code, text = run("verify")
    assert code == 1
    assert "entry 5:" in text and "seq 6" in text and "newest entries were deleted" in text


def test_deleting_the_newest_rows_and_fixing_the_head_row_is_caught_by_the_head_file(six):
    sql("DELETE FROM audit_auditentry WHERE seq >= 5")
    sql("UPDATE audit_audithead SET seq = 4, hash = %s WHERE id = 1", [hash_of(4)])
    code, text = run("verify")
    assert code == 1
    assert "head file" in text and "reached seq 6" in text


def test_a_forged_row_at_the_end_is_caught(six):
    sql(
        "INSERT INTO audit_auditentry (seq, at, actor_kind, actor_id, actor_name, via, os_user,"
        " action, subject_type, subject_id, participant_id, site_id, detail, prev_hash, hash)"
        " SELECT 7, at, actor_kind, actor_id, 'forger', via, os_user, action, subject_type,"
        " subject_id, participant_id, site_id, detail, hash, %s FROM audit_auditentry"
        " WHERE seq = 6",
        ["f" * 64],
    )
    code, text = run("verify")
    assert code == 1 and "entry 7:" in text and "forged" in text


def test_a_forged_row_inserted_in_the_middle_is_caught(six):
    # Make room at seq 3 the way an intruder would: move the later rows up by one.
    sql("UPDATE audit_auditentry SET seq = seq + 1000 WHERE seq >= 3")
    sql("UPDATE audit_auditentry SET seq = seq - 999 WHERE seq >= 1000")
    sql(
        "INSERT INTO audit_auditentry (seq, at, actor_kind, actor_id, actor_name, via, os_user,"
        " action, subject_type, subject_id, participant_id, site_id, detail, prev_hash, hash)"
        " SELECT 3, at, actor_kind, actor_id, 'forger', via, os_user, action, subject_type,"
        " subject_id, participant_id, site_id, detail, hash, %s FROM audit_auditentry"
        " WHERE seq = 2",
        ["f" * 64],
    )
    code, text = run("verify")
    assert code == 1 and "entry 3:" in text and "a row was inserted" in text


def test_swapped_sequence_numbers_are_caught(six):
    sql("UPDATE audit_auditentry SET seq = 1000 WHERE seq = 3")
    sql("UPDATE audit_auditentry SET seq = 3 WHERE seq = 4")
    sql("UPDATE audit_auditentry SET seq = 4 WHERE seq = 1000")
    code, text = run("verify")
    assert code == 1
    assert "entry 3:" in text and "written as seq 4" in text and "moved" in text


def test_a_head_file_of_another_log_is_caught(six, _own_head_file):
    head = json.loads(_own_head_file.read_text())
    _own_head_file.write_text(json.dumps({**head, "chain": "another"}))
    code, text = run("verify")
    assert code == 1 and "belongs to another log" in text


def test_without_a_head_file_the_log_verifies_with_a_warning(six, _own_head_file):
    _own_head_file.unlink()
    code, text = run("verify")
    assert code == 0 and "no head file" in text and "intact, 6 entries" in text
