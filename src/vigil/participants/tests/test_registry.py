import pytest

from vigil.accounts.roles import Role
from vigil.floor import actions as floor
from vigil.floor.models import Visit
from vigil.participants import actions
from vigil.participants.models import Participant, ParticipantMerge
from vigil.testing import SiteFactory, StaffFactory, code_items, intake, participant

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    return SiteFactory()


def test_only_a_keyed_hash_of_the_code_is_stored(site):
    items = code_items(5)
    person = actions.register(jurisdiction=site.jurisdiction, items=items, alias="Ziggy")
    stored = Participant.objects.filter(pk=person.pk).values().get()
    assert items.code() not in str(stored)
    assert len(person.code_hash) == 64


def test_found_again_by_code_or_alias(site):
    items = code_items(6)
    person = actions.register(jurisdiction=site.jurisdiction, items=items, alias="Ziggy")
    assert actions.find(site.jurisdiction, items.code().lower()) == [person]
    assert actions.find(site.jurisdiction, "zig") == [person]
    assert actions.find(site.jurisdiction, "nobody") == []
    assert actions.find_by_items(site.jurisdiction, items) == [person]


def test_same_code_needs_a_confirmed_different_person_and_gets_a_suffix(site):
    items = code_items(7)
    first = actions.register(jurisdiction=site.jurisdiction, items=items, alias="Ann")
    with pytest.raises(actions.SameCodeExists) as refused:
        actions.register(jurisdiction=site.jurisdiction, items=items, alias="Bea")
    assert refused.value.existing == [first]
    assert Participant.objects.count() == 1
    second = actions.register(
        jurisdiction=site.jurisdiction, items=items, alias="Bea", different_person=True
    )
    assert (first.code_suffix, second.code_suffix) == (1, 2)
    assert set(actions.find(site.jurisdiction, items.code())) == {first, second}


def test_alias_is_unique_without_regard_to_case(site):
    actions.register(jurisdiction=site.jurisdiction, items=code_items(8), alias="Moth")
    with pytest.raises(actions.RegistryError, match="already taken"):
        actions.register(jurisdiction=site.jurisdiction, items=code_items(9), alias="moth")


def test_generated_alias_when_none_chosen(site):
    person = actions.register(jurisdiction=site.jurisdiction, items=code_items(10))
    assert person.alias and person.alias[0].isupper()


def test_one_registry_per_jurisdiction(site):
    other_site = SiteFactory(jurisdiction=site.jurisdiction)
    person = participant(site, alias="Twosites")
    assert actions.find(other_site.jurisdiction, "Twosites") == [person]


def test_merge_moves_history_and_keeps_the_record(site):
    manager = StaffFactory(role=Role.SITE_MANAGER, sites=[site])
    keep, dup = participant(site, alias="Keep"), participant(site, alias="Dup")
    visit = floor.check_in(site=site, participant=dup, intake=intake(), by=manager)
    floor.end_visit(visit=visit, reason="completed", by=manager)
    record = actions.merge(survivor=keep, merged=dup, by=manager)
    assert record.visits_moved == 1
    assert Visit.objects.get().participant == keep
    dup.refresh_from_db()
    assert dup.merged_into == keep
    assert actions.find(site.jurisdiction, "Dup") == [keep]
    assert ParticipantMerge.objects.get().merged_alias == "Dup"
    with pytest.raises(actions.RegistryError, match="already merged"):
        actions.merge(survivor=keep, merged=dup, by=manager)
