"""record(): who is the actor, same transaction as the change, append-only, the head file."""

import json
import threading

import pytest
from django.db import connection, transaction
from django.test import RequestFactory

from vigil.accounts.roles import Role
from vigil.audit import record
from vigil.audit.context import os_user
from vigil.audit.log import head_writer, verify_database, write_head
from vigil.audit.models import AppendOnly, AuditEntry, AuditHead
from vigil.audit.tests.helpers import fill
from vigil.testing import SiteFactory, StaffFactory

pytestmark = [pytest.mark.django_db, pytest.mark.db_any]


def test_the_actor_is_the_staff_member_passed():
    nurse = StaffFactory(role=Role.NURSE)
    entry = record("participant.open", actor=nurse, subject=("participants.participant", 5))
    assert (entry.actor_kind, entry.actor_id, entry.actor_name) == (
        "staff",
        nurse.pk,
        nurse.username,
    )
    assert entry.participant_id == 5 and entry.subject_type == "participants.participant"


def test_the_actor_is_the_signed_in_person_of_the_request():
    nurse = StaffFactory(role=Role.NURSE)
    request = RequestFactory().get("/participants/5/")
    request.user = nurse
    entry = record("participant.open", request=request)
    assert (entry.actor_kind, entry.actor_id, entry.via, entry.os_user) == (
        "staff",
        nurse.pk,
        "web",
        "",
    )


def test_on_the_command_line_the_actor_is_the_operating_system_user():
    entry = record("audit.export")
    assert (entry.actor_kind, entry.actor_name) == ("os_user", os_user())
    assert entry.via.startswith("cli") and entry.os_user == os_user()


def test_a_command_acting_for_staff_names_both():
    nurse = StaffFactory(role=Role.NURSE)
    entry = record("visit.check_in", actor=nurse)
    assert entry.actor_id == nurse.pk and entry.os_user == os_user()


def test_site_and_participant_come_from_the_subject():
    site = SiteFactory()
    from vigil.testing import participant

    person = participant(site, alias="Sparrow")
    entry = record("participant.open", subject=person)
    assert (entry.subject_id, entry.participant_id) == (person.pk, person.pk)
    assert record("participant.open", subject=site).site_id == site.pk


def test_entries_hold_ids_never_an_alias():
    site = SiteFactory()
    from vigil.testing import participant

    person = participant(site, alias="Sparrow")
    entry = record("participant.open", subject=person)
    assert "Sparrow" not in json.dumps(
        {f.name: str(getattr(entry, f.name)) for f in AuditEntry._meta.fields}
    )


def test_a_rolled_back_change_leaves_no_entry():
    class Refused(Exception):
        pass

    with pytest.raises(Refused), transaction.atomic():
        record("participant.open")
        raise Refused
    assert not AuditEntry.objects.exists()
    entry = record("participant.open")
    assert entry.seq == 1  # the chain goes on from where the committed entries end


def test_bad_action_names_and_big_details_are_refused():
    with pytest.raises(ValueError):
        record("Opened a record")
    with pytest.raises(ValueError):
        record("participant.open", detail={"text": "x" * 5000})


def test_the_log_cannot_be_changed_or_deleted_through_the_orm():
    entry = record("participant.open")
    entry.actor_name = "someone else"
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(actor_name="x")
    with pytest.raises(AppendOnly):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get().actor_name == entry.__class__.objects.get().actor_name


def test_the_head_file_follows_each_commit(django_capture_on_commit_callbacks, _own_head_file):
    fill(django_capture_on_commit_callbacks, 3)
    head = json.loads(_own_head_file.read_text())
    row = AuditHead.objects.get()
    assert (head["chain"], head["seq"], head["hash"]) == (row.chain, 3, row.hash)
    assert row.hash == AuditEntry.objects.get(seq=3).hash
    # Nothing is written for a transaction that rolls back.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        record("participant.open")
    head_writer.flush()
    assert len(callbacks) == 1 and json.loads(_own_head_file.read_text())["seq"] == 3


def test_the_head_file_never_goes_backwards(_own_head_file):
    write_head("chain-a", 5, "a" * 64)
    write_head("chain-a", 4, "b" * 64)  # a slower process committing an earlier entry
    assert json.loads(_own_head_file.read_text())["seq"] == 5
    write_head("chain-b", 9, "c" * 64)  # another database's log does not overwrite this one
    assert json.loads(_own_head_file.read_text())["chain"] == "chain-a"


def test_a_lost_head_row_carries_on_from_the_newest_entry(django_capture_on_commit_callbacks):
    fill(django_capture_on_commit_callbacks, 2)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_audithead")
    assert record("participant.open").seq == 3
    assert not verify_database().ok  # the head file names the old chain: reported


@pytest.mark.django_db(transaction=True)
def test_appends_from_many_threads_make_one_chain():
    errors = []

    def append(n):
        try:
            for _ in range(n):
                with transaction.atomic():
                    record("participant.open", subject=("participants.participant", 1))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(8,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    result = verify_database()
    assert result.ok, result.summary()
    assert result.count == 32


def test_the_head_writer_writes_the_newest_head_once_flushed(_own_head_file):
    for seq in range(1, 51):
        head_writer.submit("chain-a", seq, f"{seq:064x}")
    assert head_writer.flush()
    assert json.loads(_own_head_file.read_text())["seq"] == 50
