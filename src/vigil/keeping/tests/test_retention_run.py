"""`vigil retention run`: the code hash, alias and free text of inactive people go; their
visits and events stay, anonymous; the dry run changes nothing; the audit chain stays valid."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.urls import reverse

from vigil.care.models import EventAmendment, MedicalEvent, Referral, ReferralStep
from vigil.floor import actions as floor
from vigil.floor.models import EndReason, Visit
from vigil.lib import clock
from vigil.participants import actions as registry
from vigil.participants.models import Participant, ParticipantMerge
from vigil.sites.models import Site
from vigil.testing import SiteFactory, StaffFactory, code_items, intake, participant

pytestmark = [pytest.mark.db_any, pytest.mark.django_db]

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
GONE = code_items(987_654)


def visit(site, person, by, when):
    with clock.frozen(when):
        v = floor.check_in(site=site, participant=person, intake=intake(), by=by)
        floor.end_visit(visit=v, reason=EndReason.COMPLETED, by=by)
    return v


@pytest.fixture
def world():
    north = SiteFactory(name="North", deidentify_after_months=6)
    south = SiteFactory(name="South", jurisdiction=north.jurisdiction, deidentify_after_months=24)
    staff = StaffFactory(sites=[north, south])
    long_ago, lately = NOW - timedelta(days=250), NOW - timedelta(days=20)
    with clock.frozen(long_ago - timedelta(days=1)):
        gone = registry.register(
            jurisdiction=north.jurisdiction,
            items=GONE,
            alias="Wren",
            site=north,
            profile=registry.Profile(language="Tigrinya"),
        )
        both = participant(north, alias="Plover")
        recent = participant(north, alias="Heron")
        twin = participant(north, alias="Wren2")
    old_visit = visit(north, gone, staff, long_ago)
    visit(north, both, staff, long_ago)
    visit(south, both, staff, long_ago)
    visit(north, recent, staff, lately)
    with clock.frozen(long_ago):
        registry.merge(survivor=gone, merged=twin, by=staff)
    event = MedicalEvent.objects.create(
        site=north,
        visit=old_visit,
        participant=gone,
        started_at=long_ago,
        notes="Brought in by his brother",
        created_by=staff,
    )
    EventAmendment.objects.create(
        event=event,
        version=1,
        snapshot={"notes": "brother", "participant": {"id": gone.pk, "label": "Wren"}, "x": 1},
        reason="Corrected after talking to his brother",
        amended_by=staff,
        amended_at=long_ago,
    )
    referral = Referral.objects.create(
        site=north,
        participant=gone,
        kind="detox",
        where="off_site",
        partner="Harbour Clinic",
        referred_at=long_ago,
        referred_by=staff,
    )
    ReferralStep.objects.create(
        referral=referral, status="referred", at=long_ago, by=staff, note="Sister's phone"
    )
    return {
        "gone": gone,
        "twin": twin,
        "both": both,
        "recent": recent,
        "event": event,
        "referral": referral,
        "north": north,
        "staff": staff,
    }


def snapshot_of_everyone():
    return list(Participant.objects.order_by("pk").values()) + [
        list(m.objects.order_by("pk").values()) for m in (MedicalEvent, Referral, ReferralStep)
    ]


def run(*args) -> str:
    out = StringIO()
    with clock.frozen(NOW):
        call_command("retention", "run", *args, stdout=out)
    return out.getvalue()


def test_dry_run_says_who_per_site_and_changes_nothing(world):
    before = snapshot_of_everyone()
    text = run("--dry-run")
    assert "Test County: 1 would be de-identified, 2 kept" in text
    assert "  North: 1 would be de-identified" in text
    assert "South" not in text
    assert "Dry run, nothing changed" in text
    assert snapshot_of_everyone() == before


def test_run_removes_code_alias_and_free_text_and_keeps_the_records(world):
    gone, twin = world["gone"], world["twin"]
    visits_before = Visit.objects.count()
    assert registry.find_by_items(world["north"].jurisdiction, GONE) == [gone]
    text = run()
    assert "1 participants de-identified in all" in text

    gone.refresh_from_db()
    assert gone.code_hash is None and gone.alias == f"~{gone.pk}" and gone.language == ""
    assert gone.deidentified_at == NOW
    twin.refresh_from_db()
    assert twin.code_hash is None and twin.alias == f"~{twin.pk}" and twin.deidentified_at
    assert ParticipantMerge.objects.get().merged_alias == f"~{twin.pk}"

    assert Visit.objects.count() == visits_before
    assert Visit.objects.filter(participant=gone).count() == 1
    event = MedicalEvent.objects.get(pk=world["event"].pk)
    assert event.notes == "" and event.participant_id == gone.pk
    amendment = EventAmendment.objects.get(event=event)
    assert amendment.reason == ""
    assert amendment.snapshot == {
        "notes": "",
        "participant": {"id": gone.pk, "label": f"~{gone.pk}"},
        "x": 1,
    }
    assert Referral.objects.get(pk=world["referral"].pk).partner == ""
    assert ReferralStep.objects.get(referral=world["referral"]).note == ""

    for kept in (world["both"], world["recent"]):
        fresh = Participant.objects.get(pk=kept.pk)
        assert fresh.code_hash == kept.code_hash and fresh.alias == kept.alias
        assert fresh.deidentified_at is None

    # Nobody finds the person by their code or old alias any more.
    site = world["north"]
    assert registry.find(site.jurisdiction, "Wren") == []
    assert registry.find_by_items(site.jurisdiction, GONE) == []
    assert registry.find(site.jurisdiction, GONE.code()) == []

    # Running again has nothing left to do.
    assert "0 participants de-identified in all" in run()


def test_the_audit_chain_stays_valid_after_retention(world):
    if not apps.is_installed("vigil.audit"):
        pytest.fail("the audit app is expected to be installed")
    from vigil.audit.models import AuditEntry

    run()
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"retention.run", "participant.deidentify"} <= actions
    out = StringIO()
    try:
        call_command("audit", "verify", stdout=out, stderr=out)
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    assert code == 0, out.getvalue()


def test_no_alias_may_look_like_a_de_identified_one(world):
    with pytest.raises(registry.RegistryError, match="cannot start with"):
        registry.register(jurisdiction=world["north"].jurisdiction, items=code_items(), alias="~12")


def test_site_setting_from_the_command_line(world):
    call_command("site", "set", "North", "--deidentify-after-months", "18", stdout=StringIO())
    assert Site.objects.get(name="North").deidentify_after_months == 18
    call_command("site", "set", "North", "--deidentify-after-months", "never", stdout=StringIO())
    assert Site.objects.get(name="North").deidentify_after_months is None
    with pytest.raises(CommandError, match="number of months"):
        call_command("site", "set", "North", "--deidentify-after-months", "soon")
    with pytest.raises(CommandError, match="at least one month"):
        call_command("site", "set", "North", "--deidentify-after-months", "0")


def test_a_de_identified_record_says_so_on_its_page(world, client):
    run()
    gone = Participant.objects.get(pk=world["gone"].pk)
    client.force_login(world["staff"])
    page = client.get(reverse("participants:detail", args=[gone.pk])).content.decode()
    assert "De-identified on" in page and "Wren" not in page
