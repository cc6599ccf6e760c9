"""`vigil keys rotate`: a new key, every value re-encrypted, old keys retired, all still
readable; an interrupted rotation finishes when run again."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from vigil.care.models import EventAmendment, MedicalEvent, Referral, ReferralStep
from vigil.keeping import keys
from vigil.lib import crypto
from vigil.participants.models import Participant

pytestmark = [pytest.mark.db_any, pytest.mark.django_db]


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


def test_rotate_and_retire_keeps_everything_readable(records):
    before = _texts(records)
    old = crypto.ring()
    out = StringIO()
    call_command("keys", "rotate", "--retire-old", "--batch", "1", stdout=out)
    ring = crypto.ring()
    assert len(ring.keys) == 1 and ring.primary.id != old.primary.id
    stored = json.loads(crypto.ring_path().read_text())["keys"]
    assert [k["key"] for k in stored] == [ring.primary.key]  # the old key is gone from disk
    assert _texts(records) == before
    assert all(t.stale == 0 and t.values > 0 for t in keys.tally())
    # The retired key opens nothing that is stored now.
    with connection.cursor() as cursor:
        cursor.execute("SELECT notes FROM care_medicalevent")
        (token,) = cursor.fetchone()
    assert not old.opens_with_primary(token)
    assert "Retired" in out.getvalue()
    from vigil.audit.models import AuditEntry

    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.action == "keys.rotate" and entry.detail["retired"] == [old.primary.id]


def test_rotation_interrupted_midway_is_finished_by_running_again(records, monkeypatch):
    before = _texts(records)
    real = crypto.rewrite_column
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the operator pressed Ctrl-C, the machine went down...
        return real(*args, **kwargs)

    monkeypatch.setattr(crypto, "rewrite_column", flaky)
    with pytest.raises(KeyboardInterrupt):
        call_command("keys", "rotate", stdout=StringIO())
    monkeypatch.setattr(crypto, "rewrite_column", real)
    assert len(crypto.ring().keys) == 2
    assert any(t.stale for t in keys.tally())  # half done
    assert _texts(records) == before  # and everything reads meanwhile
    call_command("keys", "rotate", "--resume", "--retire-old", stdout=StringIO())
    assert len(crypto.ring().keys) == 1
    assert _texts(records) == before


def test_status_lists_keys_and_counts(records):
    out = StringIO()
    call_command("keys", "status", stdout=out)
    text = out.getvalue()
    assert "encrypts and decrypts" in text
    assert "care.MedicalEvent.notes: 1 values, 1 under the newest key" in text


def test_a_ring_from_the_environment_is_not_rotated_by_the_command(records, monkeypatch):
    from cryptography.fernet import Fernet

    monkeypatch.setenv(crypto.ENV, Fernet.generate_key().decode())
    with pytest.raises(CommandError, match="environment"):
        call_command("keys", "rotate", stdout=StringIO())


def test_a_value_edited_while_it_is_re_encrypted_keeps_the_edit(records):
    event = records["event"]

    def change(value):
        # Another member of staff saves the note between the rotation's read and its write.
        MedicalEvent.objects.filter(pk=event.pk).update(notes="edited meanwhile")
        return crypto.ring().encrypt("the note as it was read")

    seen, _ = crypto.rewrite_column(
        connection, MedicalEvent._meta.db_table, "id", "notes", change, batch=10
    )
    assert seen == 1
    assert MedicalEvent.objects.get(pk=event.pk).notes == "edited meanwhile"
