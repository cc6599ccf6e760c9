"""What goes into the log from the rest of Vigil: openings, changes, sign-in events; and what
does not (the alarm path)."""

import inspect
from datetime import timedelta

import pytest
from django.urls import reverse

from vigil.accounts.roles import Role
from vigil.audit.log import verify_database
from vigil.audit.models import AuditEntry
from vigil.care import engagement_actions as care
from vigil.care.event_actions import change_event, open_event
from vigil.floor import actions as floor
from vigil.floor.models import CheckResult, EndReason
from vigil.lib import clock
from vigil.monitoring import actions as alarms
from vigil.monitoring.rules import Condition
from vigil.participants import actions as registry
from vigil.sites.models import PlaceKind
from vigil.testing import PASSWORD, SiteFactory, StaffFactory, intake, participant

pytestmark = [pytest.mark.django_db, pytest.mark.db_any]


@pytest.fixture
def site():
    return SiteFactory(places={PlaceKind.BOOTH: 2, PlaceKind.AFTERCARE: 1})


@pytest.fixture
def nurse(site):
    return StaffFactory(role=Role.NURSE, sites=[site])


def actions_about(person) -> list[str]:
    return list(
        AuditEntry.objects.filter(participant_id=person.pk)
        .order_by("seq")
        .values_list("action", flat=True)
    )


def test_a_whole_visit_leaves_a_trail(site, nurse):
    person = participant(site, alias="Wren")
    visit = floor.check_in(
        site=site, participant=person, intake=intake(), by=nurse, place=site.places.get(label="B1")
    )
    floor.record_check(occupancy=visit.occupancies.get(), result=CheckResult.OK, by=nurse)
    floor.move_to_aftercare(visit=visit, seat=site.places.get(label="A1"), by=nurse)
    floor.end_visit(visit=visit, reason=EndReason.COMPLETED, by=nurse)
    assert actions_about(person) == [
        "participant.register",
        "visit.check_in",
        "visit.assign_place",
        "visit.aftercare",
        "visit.end",
    ]
    check = AuditEntry.objects.get(action="visit.check")
    assert (check.subject_type, check.subject_id, check.actor_id) == (
        "floor.visit",
        visit.pk,
        nurse.pk,
    )
    assert verify_database().ok


def test_a_refused_check_in_leaves_no_entry(site, nurse):
    person = participant(site, alias="Finch")
    registry.restrict(participant=person, reason="violence", hours=24, by=nurse, site=site)
    with pytest.raises(floor.FloorError):
        floor.check_in(site=site, participant=person, intake=intake(), by=nurse)
    assert actions_about(person) == ["participant.register", "participant.restrict"]


def test_registry_changes_are_recorded(site, nurse):
    manager = StaffFactory(role=Role.SITE_MANAGER, sites=[site])
    one, two = participant(site, alias="Heron"), participant(site, alias="Egret")
    restriction = registry.restrict(participant=one, reason="other", hours=1, by=nurse)
    registry.lift(restriction)
    registry.merge(survivor=one, merged=two, by=manager)
    assert actions_about(one) == [
        "participant.register",
        "participant.restrict",
        "participant.lift_restriction",
        "participant.merge",
    ]
    merge = AuditEntry.objects.get(action="participant.merge")
    assert merge.actor_id == manager.pk and merge.detail["merged"] == two.pk


def test_care_records_are_recorded(site, nurse):
    person = participant(site, alias="Plover")
    visit = floor.check_in(
        site=site, participant=person, intake=intake(), by=nurse, place=site.places.get(label="B1")
    )
    event = open_event(
        site=site,
        by=nurse,
        values={"kind": "overdose", "started_at": clock.now(), "signs": ["no_breathing"]},
        visit=visit,
    )
    change_event(event, by=nurse, changes={"outcome": "recovered_on_site"})
    care.record_given(site=site, by=nurse, given=care.Given(services=("wound_care",), visit=visit))
    care.record_drug_check(site=site, by=nurse, sample_code="S-1", method="test_strip", visit=visit)
    referral = care.make_referral(
        site=site, participant=person, by=nurse, kind="detox", where="partner_on_site"
    )
    care.advance_referral(referral=referral, to="accepted", by=nurse)
    assert actions_about(person)[3:] == [
        "event.create",
        "event.change",
        "care.given",
        "drug_check.create",
        "referral.create",
        "referral.step",
    ]
    change = AuditEntry.objects.get(action="event.change")
    assert change.detail["fields"] == ["outcome"]  # which fields, never what they say


def test_opening_a_participant_s_pages_is_recorded(client, site, nurse):
    person = participant(site, alias="Curlew")
    visit = floor.check_in(site=site, participant=person, intake=intake(), by=nurse)
    event = open_event(
        site=site,
        by=nurse,
        values={"kind": "overdose", "started_at": clock.now() - timedelta(minutes=3)},
        visit=visit,
    )
    client.force_login(nurse)
    before = AuditEntry.objects.count()
    for url in (
        reverse("participants:detail", args=[person.pk]),
        reverse("care:timeline", args=[person.pk]),
        reverse("care:referrals", args=[person.pk]),
        reverse("care:event-detail", args=[event.pk]),
        reverse("care:event-print", args=[event.pk]),
    ):
        assert client.get(url).status_code == 200, url
    opened = AuditEntry.objects.filter(seq__gt=before, participant_id=person.pk).order_by("seq")
    assert [(e.action, e.actor_id, e.via) for e in opened] == [
        ("participant.open", nurse.pk, "web"),
        ("timeline.open", nurse.pk, "web"),
        ("referrals.open", nurse.pk, "web"),
        ("event.open", nurse.pk, "web"),
        ("event.print", nurse.pk, "web"),
    ]


def test_the_live_floor_is_not_recorded(client, site, nurse):
    client.force_login(nurse)
    before = AuditEntry.objects.count()
    assert client.get(reverse("floor:board", args=[site.pk])).status_code == 200
    assert client.get(reverse("floor:board-fragment", args=[site.pk])).status_code == 200
    assert AuditEntry.objects.count() == before


def test_sign_in_events_are_recorded(client, site, nurse):
    client.post(reverse("login"), {"username": nurse.username, "password": "wrong-password"})
    failed = AuditEntry.objects.get(action="session.sign_in_failed")
    assert (failed.actor_kind, failed.detail["username"]) == ("anonymous", nurse.username)
    assert "wrong-password" not in str(failed.detail)
    client.post(reverse("login"), {"username": nurse.username, "password": PASSWORD})
    signed_in = AuditEntry.objects.get(action="session.sign_in")
    assert (signed_in.actor_kind, signed_in.actor_id, signed_in.via) == ("staff", nurse.pk, "web")
    client.post(reverse("logout"))
    assert AuditEntry.objects.filter(action="session.sign_out", actor_id=nurse.pk).exists()


def test_repeated_failures_record_the_lock_out(client, site, nurse, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": nurse.username, "password": "nope-nope"})
    assert AuditEntry.objects.filter(action="session.locked_out").exists()


def test_the_alarm_path_writes_no_audit_entries(site, nurse):
    person = participant(site, alias="Tern")
    visit = floor.check_in(
        site=site, participant=person, intake=intake(), by=nurse, place=site.places.get(label="B1")
    )
    before = AuditEntry.objects.count()
    alarm, _ = alarms.raise_alarm(
        place=site.places.get(label="B1"), kind=Condition.SPO2_CRITICAL, at=visit.checked_in_at
    )
    alarms.acknowledge(alarm, by=nurse)
    alarms.claim(alarm, by=nurse)
    alarms.resolve(alarm, outcome="person_okay", by=nurse)
    assert AuditEntry.objects.count() == before


def test_the_alarm_engine_and_gateway_do_not_call_the_audit_log():
    from vigil.monitoring import engine, gateway, notifiers

    for module in (engine, gateway, notifiers, alarms):
        assert "audit" not in inspect.getsource(module), module.__name__


def test_actions_not_handed_the_person_name_whoever_made_the_request(client, site, nurse):
    """register() and lift() take no member of staff: the request's signed-in person is found
    through the middleware."""
    code = {
        "mother_first_name": "Maria",
        "birth_day": "4",
        "birth_year": "1985",
        "code_gender": "W",
        "birthplace": "Q",
    }
    desk = StaffFactory(role=Role.FRONT_DESK, sites=[site])
    client.force_login(desk)
    response = client.post(
        reverse("floor:register", args=[site.pk]), {**code, "alias": "Sandpiper", "oriented": "on"}
    )
    assert response.status_code == 302
    register = AuditEntry.objects.get(action="participant.register")
    assert (register.actor_kind, register.actor_id, register.via) == ("staff", desk.pk, "web")
    restriction = registry.restrict(
        participant=registry.find(site.jurisdiction, "Sandpiper")[0],
        reason="other",
        hours=1,
        by=nurse,
        site=site,
    )
    client.post(reverse("participants:lift", args=[restriction.participant_id, restriction.pk]))
    lifted = AuditEntry.objects.get(action="participant.lift_restriction")
    assert (lifted.actor_id, lifted.participant_id) == (desk.pk, restriction.participant_id)
