"""A participant's timeline: visits, medical events, services and supplies, referrals and drug
checks in time order, in a fixed number of queries, without clinical detail for the front
desk."""

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from vigil.accounts.roles import Role
from vigil.care import engagement_actions as care
from vigil.care.engagement_actions import Given
from vigil.care.engagement_views import build_timeline
from vigil.care.models import Intervention, MedicalEvent
from vigil.floor import actions as floor
from vigil.lib import clock
from vigil.testing import SiteFactory, StaffFactory, intake, participant

pytestmark = pytest.mark.django_db
_samples = itertools.count(1)


@pytest.fixture
def site():
    return SiteFactory()


@pytest.fixture
def nurse(site):
    return StaffFactory(role=Role.NURSE, sites=[site])


def history(site, person, nurse, start, days: int = 1):
    """A day of each kind of record per `days`, one hour apart, from `start`."""
    for day in range(days):
        t = start + timedelta(days=day)
        with clock.frozen(t):
            visit = floor.check_in(
                site=site, participant=person, intake=intake(), by=nurse, place=site.places.first()
            )
        event = MedicalEvent.objects.create(
            site=site,
            visit=visit,
            participant=person,
            started_at=t + timedelta(minutes=10),
            signs=["slow_breathing", "cyanosis"],
            outcome="recovered_on_site",
            created_by=nurse,
        )
        Intervention.objects.create(
            event=event,
            kind="naloxone",
            at=t + timedelta(minutes=11),
            dose_mg=Decimal("0.4"),
            route="IM",
            by=nurse,
        )
        care.record_given(
            site=site,
            by=nurse,
            given=Given(
                services=("wound_care", "basic_needs"),
                supplies={"syringe_1ml": 10},
                returned=4,
                visit=visit,
                at=t + timedelta(minutes=20),
            ),
        )
        care.record_drug_check(
            site=site,
            by=nurse,
            sample_code=f"S-{next(_samples)}",
            method="test_strip",
            expected=["heroin"],
            found=["fentanyl"],
            visit=visit,
            at=t + timedelta(minutes=5),
        )
        referral = care.make_referral(
            site=site,
            participant=person,
            by=nurse,
            kind="methadone",
            where="off_site",
            partner="Harbourview",
            visit=visit,
            at=t + timedelta(minutes=30),
        )
        care.advance_referral(
            referral=referral, to="accepted", by=nurse, at=t + timedelta(minutes=40)
        )
        floor.end_visit(visit=visit, reason="completed", by=nurse)


def test_everything_of_a_day_in_time_order_newest_first(site, nurse):
    person = participant(site, alias="Tern")
    start = clock.now() - timedelta(days=2)
    history(site, person, nurse, start)
    timeline = build_timeline(person, [site], clinical=True, linked=True)
    kinds = [(e.kind, e.title) for e in timeline.entries]
    assert kinds == [
        ("referral", "Methadone (MOUD) — Accepted"),
        ("referral", "Methadone (MOUD) — Referred"),
        ("given", "Services and supplies"),
        ("medical", "Overdose / drug poisoning"),
        ("drug-check", timeline.entries[4].title),
        ("visit", "Visit"),
    ]
    given = timeline.entries[2]
    assert given.lines == [
        "Wound care",
        "Basic needs (food, clothing, shower)",
        "10 × Syringe 1 ml",
        "4 syringes returned",
    ]
    medical = timeline.entries[3]
    assert "Slow breathing, Cyanosis (blue lips or skin)" in medical.lines
    assert any(line.startswith("Naloxone") and "0.4" in line for line in medical.lines)
    assert timeline.entries[4].title.startswith("Drug check S-")
    assert timeline.entries[4].alert  # fentanyl where heroin was expected
    assert timeline.older is None


def test_the_front_desk_sees_that_things_happened_not_what(site, nurse):
    person = participant(site, alias="Tern")
    history(site, person, nurse, clock.now() - timedelta(days=1))
    timeline = build_timeline(person, [site], clinical=False, linked=False)
    medical = next(e for e in timeline.entries if e.kind == "medical")
    assert (medical.title, medical.lines) == ("Medical event", [])
    referrals = [e for e in timeline.entries if e.kind == "referral"]
    assert [(e.title, e.lines, e.url) for e in referrals] == [("Referral", [], "")]
    given = next(e for e in timeline.entries if e.kind == "given")
    assert "Wound care" not in given.lines and "Health service" in given.lines
    assert "Basic needs (food, clothing, shower)" in given.lines


def test_the_front_desk_page_shows_no_clinical_words(client, site, nurse):
    person = participant(site, alias="Tern")
    history(site, person, nurse, clock.now() - timedelta(days=1))
    client.force_login(StaffFactory(role=Role.FRONT_DESK, sites=[site]))
    page = client.get(reverse("care:timeline", args=[person.pk])).content.decode()
    for word in ("Naloxone", "Overdose", "Methadone", "Cyanosis", "Wound care", "Harbourview"):
        assert word not in page, word
    assert "Medical event" in page and "Referral" in page
    client.force_login(nurse)
    page = client.get(reverse("care:timeline", args=[person.pk])).content.decode()
    for word in ("Naloxone", "Overdose", "Methadone", "Cyanosis", "Wound care", "Harbourview"):
        assert word in page, word


def test_the_queries_do_not_grow_with_the_history(site, nurse, django_assert_num_queries):
    small, large = participant(site, alias="Small"), participant(site, alias="Large")
    start = clock.now() - timedelta(days=30)
    history(site, small, nurse, start, days=1)
    history(site, large, nurse, start, days=8)
    # visits, medical events (+ their interventions), services, supplies, referral steps,
    # drug checks
    for person in (small, large):
        with django_assert_num_queries(7):
            build_timeline(person, [site], clinical=True, linked=True)
        with django_assert_num_queries(6):  # no interventions for the front desk
            build_timeline(person, [site], clinical=False, linked=False)


def test_the_page_itself_takes_a_fixed_number_of_queries(
    client, site, nurse, django_assert_max_num_queries
):
    person = participant(site, alias="Tern")
    history(site, person, nurse, clock.now() - timedelta(days=20), days=6)
    client.force_login(nurse)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("care:timeline", args=[person.pk]))
    history(site, person, nurse, clock.now() - timedelta(days=10), days=6)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("care:timeline", args=[person.pk]))
    assert len(many) == len(few)


def test_pages_of_a_long_history_miss_nothing_and_repeat_nothing(site, nurse):
    person = participant(site, alias="Tern")
    history(site, person, nurse, clock.now() - timedelta(days=40), days=12)
    everything = build_timeline(person, [site], clinical=True, linked=True, rows=1000).entries
    seen, before, pages = [], None, 0
    while True:
        page = build_timeline(person, [site], clinical=True, linked=True, before=before, rows=7)
        seen += page.entries
        pages += 1
        if page.older is None:
            break
        before = page.older
    assert pages > 3
    key = [(e.at, e.kind, e.title, tuple(e.lines)) for e in everything]
    assert [(e.at, e.kind, e.title, tuple(e.lines)) for e in seen] == key


def test_only_the_sites_a_person_works_at(site, nurse):
    person = participant(site, alias="Tern")
    neighbour = SiteFactory()  # same jurisdiction
    history(site, person, nurse, clock.now() - timedelta(days=3))
    history(
        neighbour,
        person,
        StaffFactory(role=Role.NURSE, sites=[neighbour]),
        clock.now() - timedelta(days=1),
    )
    here = build_timeline(person, [site], clinical=True, linked=True).entries
    both = build_timeline(person, [site, neighbour], clinical=True, linked=True).entries
    assert {e.site for e in here} == {site}
    assert {e.site for e in both} == {site, neighbour}


def test_a_merged_record_shows_on_the_survivors_timeline(client, site, nurse):
    from vigil.participants.actions import merge

    survivor, duplicate = participant(site, alias="Ibis"), participant(site, alias="Ibis2")
    care.make_referral(site=site, participant=duplicate, by=nurse, kind="housing", where="off_site")
    merge(survivor=survivor, merged=duplicate, by=nurse)
    titles = [e.title for e in build_timeline(survivor, [site], clinical=True, linked=True).entries]
    assert titles == ["Housing — Referred"]
    client.force_login(nurse)
    response = client.get(reverse("care:timeline", args=[duplicate.pk]))
    assert response["Location"] == reverse("care:timeline", args=[survivor.pk])


def test_a_one_tap_treatment_entry_reads_as_one_entry(site, nurse):
    person = participant(site, alias="Tern")
    care.direct_to_treatment(site=site, participant=person, by=nurse, kind="detox")
    entries = build_timeline(person, [site], clinical=True, linked=True).entries
    assert [e.title for e in entries] == [
        "Went directly from the room into treatment: Detox / withdrawal management"
    ]


def test_a_bad_before_is_not_found(client, site, nurse):
    person = participant(site, alias="Tern")
    client.force_login(nurse)
    url = reverse("care:timeline", args=[person.pk])
    assert client.get(url, {"before": "last tuesday"}).status_code == 404
    assert client.get(url, {"before": "2026-01-01T00:00:00"}).status_code == 404  # no zone
    assert client.get(url, {"before": "2026-01-01T00:00:00+00:00"}).status_code == 200
