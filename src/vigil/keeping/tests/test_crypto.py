"""Encrypted fields: what reaches the database is a token, what the code sees is the text."""

import json
import os
import stat

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError
from django.db import connection

from vigil.care.models import EventAmendment, MedicalEvent, Referral, ReferralStep
from vigil.lib import crypto
from vigil.participants.models import Participant


def _raw(model, field, pk):
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        column, table = q(model._meta.get_field(field).column), q(model._meta.db_table)
        sql = f"SELECT {column} FROM {table} WHERE id = %s"  # noqa: S608 - quoted names
        cursor.execute(sql, [pk])
        return cursor.fetchone()[0]


def test_text_round_trips_and_each_token_differs():
    a, b = crypto.encrypt("under the bridge"), crypto.encrypt("under the bridge")
    assert a != b and "bridge" not in a
    assert crypto.decrypt(a) == crypto.decrypt(b) == "under the bridge"
    assert crypto.encrypt("") == "" and crypto.decrypt("") == ""


def test_ring_file_is_private_and_json(own_data_dir):
    crypto.encrypt("x")
    path = crypto.ring_path()
    assert path.parent == own_data_dir / "secrets"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(json.loads(path.read_text())["keys"]) == 1


def test_plaintext_from_before_encryption_is_read_as_is():
    assert crypto.decrypt("a note written before the upgrade") == (
        "a note written before the upgrade"
    )


def test_a_token_no_key_opens_is_an_error_not_garbage():
    foreign = Fernet(Fernet.generate_key()).encrypt(b"secret").decode()
    with pytest.raises(crypto.KeyRingError, match="cannot be opened"):
        crypto.decrypt(foreign)


def test_new_key_encrypts_old_keys_still_decrypt_retired_keys_do_not():
    old = crypto.encrypt("old note")
    ring = crypto.add_key()
    assert len(ring.keys) == 2
    new = crypto.encrypt("new note")
    assert ring.opens_with_primary(new) and not ring.opens_with_primary(old)
    assert crypto.decrypt(old) == "old note"
    retired = crypto.retire_old_keys()
    assert [k.id for k in retired] == [ring.keys[1].id]
    assert crypto.decrypt(new) == "new note"
    with pytest.raises(crypto.KeyRingError):
        crypto.decrypt(old)


def test_environment_ring_overrides_the_file_and_cannot_be_rotated(monkeypatch):
    newest, older = Fernet.generate_key(), Fernet.generate_key()
    token = Fernet(older).encrypt(b"from the old key").decode()
    monkeypatch.setenv(crypto.ENV, f"{newest.decode()},{older.decode()}")
    assert crypto.decrypt(token) == "from the old key"
    assert Fernet(newest).decrypt(crypto.encrypt("x").encode()) == b"x"
    with pytest.raises(crypto.KeyRingError, match="environment"):
        crypto.add_key()
    monkeypatch.setenv(crypto.ENV, "not-a-key")
    with pytest.raises(crypto.KeyRingError, match="not a Fernet key"):
        crypto.ring()


def test_a_ring_written_by_another_process_is_picked_up():
    first = crypto.ring().primary.id
    other = crypto.KeyRing(keys=(crypto._new_key(crypto.ring().keys), *crypto.ring().keys))
    crypto._write_new(crypto.ring_path(), other)  # as `vigil keys rotate` in another process
    assert crypto.ring().primary.id != first
    assert not list(crypto.ring_path().parent.glob(".*tmp"))


def test_the_expected_fields_are_encrypted():
    labels = {f"{m._meta.label}.{f.name}" for m, f in crypto.encrypted_fields()}
    assert labels == {
        "care.MedicalEvent.notes",
        "care.EventAmendment.reason",
        "care.EventAmendment.snapshot",
        "care.Referral.partner",
        "care.ReferralStep.note",
        "participants.Participant.language",
    }


@pytest.mark.db_any
@pytest.mark.django_db
def test_free_text_is_stored_encrypted_and_read_back(records):
    person, event, referral = records["person"], records["event"], records["referral"]
    amendment = EventAmendment.objects.get(event=event)
    step = ReferralStep.objects.get(referral=referral)
    stored = {
        "notes": _raw(MedicalEvent, "notes", event.pk),
        "language": _raw(Participant, "language", person.pk),
        "partner": _raw(Referral, "partner", referral.pk),
        "note": _raw(ReferralStep, "note", step.pk),
        "reason": _raw(EventAmendment, "reason", amendment.pk),
        "snapshot": _raw(EventAmendment, "snapshot", amendment.pk),
    }
    for name, value in stored.items():
        assert crypto.looks_encrypted(value), name
    everything = " ".join(stored.values())
    for text in ("bridge", "Tigrinya", "Harbour", "sister", "aftercare", "first notes", "Wren"):
        assert text not in everything
    assert MedicalEvent.objects.get(pk=event.pk).notes.startswith("Friend from the camp")
    assert Participant.objects.get(pk=person.pk).language == "Tigrinya"
    assert Referral.objects.get(pk=referral.pk).partner == "Harbour Clinic"
    assert ReferralStep.objects.get(pk=step.pk).note == "Call his sister first"
    again = EventAmendment.objects.get(pk=amendment.pk)
    assert again.reason.startswith("Recovery time")
    assert again.snapshot["participant"]["label"] == "Wren"


@pytest.mark.db_any
@pytest.mark.django_db
def test_encrypted_fields_refuse_searches_but_allow_empty_tests(records):
    with pytest.raises(FieldError, match="encrypted"):
        list(MedicalEvent.objects.filter(notes__icontains="bridge"))
    assert MedicalEvent.objects.filter(notes="").count() == 0
    assert MedicalEvent.objects.exclude(notes="").count() == 1
    MedicalEvent.objects.update(notes="")
    assert _raw(MedicalEvent, "notes", records["event"].pk) == ""


@pytest.mark.db_any
@pytest.mark.django_db
def test_the_migration_encrypts_rows_written_before_it_and_reverses(records):
    step = ReferralStep.objects.get(referral=records["referral"])
    table, q = ReferralStep._meta.db_table, connection.ops.quote_name
    with connection.cursor() as cursor:  # as the column stood before the upgrade
        cursor.execute(
            f"UPDATE {q(table)} SET note = %s WHERE id = %s",  # noqa: S608 - quoted name
            ["plain note", step.pk],
        )
    assert ReferralStep.objects.get(pk=step.pk).note == "plain note"  # readable meanwhile

    from django.apps import apps

    operation = crypto.encrypt_existing("care", "ReferralStep", "note")

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection  # type: ignore[attr-defined]
    operation.code(apps, editor)
    assert crypto.looks_encrypted(_raw(ReferralStep, "note", step.pk))
    assert ReferralStep.objects.get(pk=step.pk).note == "plain note"
    operation.code(apps, editor)  # running it twice changes nothing
    assert ReferralStep.objects.get(pk=step.pk).note == "plain note"
    operation.reverse_code(apps, editor)
    assert _raw(ReferralStep, "note", step.pk) == "plain note"


def test_data_dir_permissions(own_data_dir):
    crypto.encrypt("x")
    assert stat.S_IMODE(os.stat(own_data_dir / "secrets").st_mode) == 0o700
