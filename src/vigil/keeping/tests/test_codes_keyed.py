"""Participant look-up codes are stored only as a keyed hash (HMAC-SHA256), keyed with a
secret from the data dir that is not in the database."""

import hashlib
import hmac

import pytest

from vigil.lib.codes import code_hash
from vigil.lib.secrets import secret_file
from vigil.participants import actions
from vigil.participants.models import Participant
from vigil.testing import SiteFactory, code_items


def test_code_hash_is_hmac_sha256_of_the_code_under_the_key():
    code, key = "MA1485FS", "k" * 32
    expected = hmac.new(key.encode(), code.encode(), hashlib.sha256).hexdigest()
    assert code_hash(code, key) == expected
    assert code_hash(code, "another key") != expected
    assert code_hash(code, key) != hashlib.sha256(code.encode()).hexdigest()  # keyed, not bare


@pytest.mark.db_any
@pytest.mark.django_db
def test_registration_stores_the_keyed_hash_only(own_data_dir):
    site = SiteFactory()
    items = code_items(41)
    person = actions.register(jurisdiction=site.jurisdiction, items=items, alias="Plover")
    key = secret_file("participant-code-key")
    assert (own_data_dir / "secrets" / "participant-code-key").read_text().strip() == key
    assert person.code_hash == hmac.new(key.encode(), items.code().encode(), "sha256").hexdigest()
    row = Participant.objects.filter(pk=person.pk).values().get()
    assert items.code() not in str(row)
    # Without the key a guessed list of codes does not find the person.
    assert person.code_hash != code_hash(items.code(), "guessed key")
