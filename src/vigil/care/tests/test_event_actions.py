"""Writing event records: opening, changing, striking out, signing off and amending. Every
refusal is checked to have changed nothing."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from vigil.accounts.roles import Role
from vigil.care.event_actions import (
    EventRefused,
    RowEdit,
    change_event,
    open_event,
    sign_off,
    snapshot,
)
from vigil.care.models import EventAmendment, Intervention, MedicalEvent
from vigil.floor import actions as floor
from vigil.lib import clock
from vigil.monitoring import actions as alarm_actions
from vigil.monitoring.rules import Condition
from vigil.testing import SiteFactory, StaffFactory, intake, participant

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 14, 22, 0, tzinfo=UTC)


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture(autouse=True)
def now():
    with clock.frozen(m(30)):
        yield m(30)


@pytest.fixture
def site():
    return SiteFactory()


@pytest.fixture
def nurse(site):
    return StaffFactory(role=Role.NURSE, sites=[site])


@pytest.fixture
def visit(site, nurse):
    with clock.frozen(m(-10)):
        return floor.check_in(
            site=site,
            participant=participant(site, alias="Robin"),
            intake=intake(),
            by=nurse,
            place=site.places.get(label="B1"),
        )


def dose(key="n0", at=None, mg="0.4", route="IM") -> RowEdit:
    at = at or m(2)
    return RowEdit(
        key=key, changes={"kind": "naloxone", "at": at, "dose_mg": Decimal(mg), "route": route}
    )


def opened(site, nurse, visit, **values):
    header = {
        "kind": "overdose",
        "started_at": T0,
        "place": visit.occupancies.get().place,
        "signs": ["no_breathing"],
        "staff_involved": [nurse],
    }
    header.update(values)
    return open_event(site=site, by=nurse, values=header, rows=[dose()], visit=visit)


def state(event: MedicalEvent) -> tuple:
    event = MedicalEvent.objects.get(pk=event.pk)
    return (
        snapshot(event),
        Intervention.objects.count(),
        EventAmendment.objects.count(),
        MedicalEvent.objects.count(),
    )


def test_opening_a_record_from_a_visit(site, nurse, visit):
    event = opened(site, nurse, visit, started_at=T0 + timedelta(seconds=47))
    assert event.participant == visit.participant and event.visit == visit
    assert event.started_at == T0  # kept to the minute
    assert [(i.kind, i.dose_mg, i.route, i.by) for i in event.interventions.all()] == [
        ("naloxone", Decimal("0.40"), "IM", nurse)
    ]
    assert list(event.staff_involved.all()) == [nurse]
    assert not event.entered_late and event.version == 1 and event.signed_off_at is None


def test_a_refused_opening_writes_nothing(site, nurse, visit):
    with pytest.raises(EventRefused) as refused:
        open_event(
            site=site,
            by=nurse,
            values={"kind": "overdose", "started_at": m(5), "signs": ["no_breathing"]},
            rows=[dose(at=m(2)), dose(key="n1", at=m(6), mg="-1")],
            visit=visit,
        )
    assert set(refused.value.problems) == {"n0-at", "n1-dose_mg"}
    assert not MedicalEvent.objects.exists() and not Intervention.objects.exists()


def test_an_old_event_is_refused_live_and_accepted_as_a_late_entry(site, nurse, now):
    values = {
        "kind": "overdose",
        "started_at": now - timedelta(days=2),
        "signs": ["unresponsive"],
        "outcome": "recovered_on_site",
    }
    with pytest.raises(EventRefused) as refused:
        open_event(site=site, by=nurse, values=values)
    assert "late entry" in refused.value.problems["started_at"][0]
    assert not MedicalEvent.objects.exists()
    event = open_event(site=site, by=nurse, values=values, entered_late=True, sign=True)
    assert event.entered_late and event.signed_off_by == nurse


def test_a_late_entry_finds_the_visit_it_belongs_to(site, nurse, visit):
    event = open_event(
        site=site,
        by=nurse,
        values={"kind": "overdose", "started_at": m(1), "participant": visit.participant},
        entered_late=True,
    )
    assert event.visit == visit


def test_an_alarm_has_one_record(site, nurse, visit):
    alarm, _ = alarm_actions.raise_alarm(
        place=site.places.get(label="B1"), kind=Condition.APNEA, at=m(0), visit_id=visit.pk
    )
    values = {"kind": "overdose", "started_at": T0}
    first = open_event(site=site, by=nurse, values=values, alarm=alarm, visit=visit)
    with pytest.raises(EventRefused):
        open_event(site=site, by=nurse, values=values, alarm=alarm, visit=visit)
    assert list(MedicalEvent.objects.all()) == [first]


def test_a_place_of_another_site_is_refused(site, nurse, visit):
    elsewhere = SiteFactory().places.first()
    with pytest.raises(EventRefused) as refused:
        open_event(
            site=site, by=nurse, values={"kind": "overdose", "started_at": T0, "place": elsewhere}
        )
    assert "place" in refused.value.problems
    assert not MedicalEvent.objects.exists()


BAD_CHANGES = {
    "negative dose": ({}, [RowEdit("i", changes={"dose_mg": Decimal("-0.4")})]),
    "dose before start": ({}, [RowEdit("i", changes={"at": m(-3)})]),
    "start after the dose": ({"started_at": m(5)}, []),
    "oxygen 20 L/min": (
        {},
        [RowEdit("n0", changes={"kind": "oxygen", "at": m(3), "litres_per_minute": Decimal(20)})],
    ),
    "EMS arrived before called": ({"ems_called_at": m(9), "ems_arrived_at": m(4)}, []),
    "transported, outcome recovered": (
        {"transported_at": m(9), "outcome": "recovered_on_site"},
        [],
    ),
    "death unconfirmed": ({"outcome": "death"}, []),
    "future time": ({"ems_called_at": m(31)}, []),
    "negative recovery": ({"minutes_to_recovery": -5}, []),
    "participant of a visit": ({"participant": None}, []),
}


@pytest.mark.parametrize("case", sorted(BAD_CHANGES))
def test_each_refused_change_changes_nothing(site, nurse, visit, case):
    event = opened(site, nurse, visit)
    existing = event.interventions.get()
    changes, rows = BAD_CHANGES[case]
    for row in rows:
        if row.key == "i":
            row.key, row.pk = f"i{existing.pk}", existing.pk
    # A valid change rides along, to show that it is refused with the bad one.
    changes = {**changes, "notes": "should not be saved"}
    before = state(event)
    with pytest.raises(EventRefused) as refused:
        change_event(event, by=nurse, changes=changes, rows=rows)
    assert refused.value.problems
    assert state(event) == before


def test_signing_needs_an_outcome_and_changes_nothing_without_one(site, nurse, visit):
    event = opened(site, nurse, visit)
    before = state(event)
    with pytest.raises(EventRefused) as refused:
        change_event(event, by=nurse, changes={"ems_called_at": m(3)}, sign=True)
    assert list(refused.value.problems) == ["outcome"]
    assert state(event) == before
    event = change_event(
        event,
        by=nurse,
        changes={"outcome": "recovered_on_site", "minutes_to_recovery": 7},
        sign=True,
    )
    assert (event.signed_off_by, event.signed_off_at) == (nurse, m(30))
    with pytest.raises(EventRefused):
        sign_off(event, by=nurse)


def test_a_death_is_recorded_with_its_confirmation(site, nurse, visit):
    event = opened(site, nurse, visit)
    event = change_event(event, by=nurse, changes={"outcome": "death"}, death_confirmed=True)
    assert event.outcome == "death"


def test_striking_out_keeps_the_intervention(site, nurse, visit):
    event = opened(site, nurse, visit)
    wrong = event.interventions.get()
    change_event(
        event,
        by=nurse,
        changes={},
        rows=[RowEdit(f"i{wrong.pk}", pk=wrong.pk, remove=True), dose(key="n0", at=m(3))],
    )
    wrong.refresh_from_db()
    assert wrong.removed_at == m(30)
    assert event.interventions.count() == 2
    assert event.interventions.filter(removed_at__isnull=True).get().at == m(3)


def test_a_struck_out_intervention_no_longer_blocks_moving_the_start(site, nurse, visit):
    event = opened(site, nurse, visit)
    early = event.interventions.get()
    change_event(
        event, by=nurse, changes={}, rows=[RowEdit(f"i{early.pk}", pk=early.pk, remove=True)]
    )
    event = change_event(event, by=nurse, changes={"started_at": m(5)})
    assert event.started_at == m(5)


def test_someone_elses_change_to_the_same_field_is_not_overwritten(site, nurse, visit):
    event = opened(site, nurse, visit)
    colleague = StaffFactory(role=Role.NURSE, sites=[site])
    # Both load the page with EMS not called; the colleague saves first.
    change_event(
        event, by=colleague, changes={"ems_called_at": m(4)}, expected={"ems_called_at": None}
    )
    before = state(event)
    with pytest.raises(EventRefused) as refused:
        change_event(
            event, by=nurse, changes={"ems_called_at": m(6)}, expected={"ems_called_at": None}
        )
    assert "Someone else changed this" in refused.value.problems["ems_called_at"][0]
    assert state(event) == before
    # A field the colleague did not touch goes through, and keeps the colleague's EMS time.
    event = change_event(
        event, by=nurse, changes={"outcome": "recovered_on_site"}, expected={"outcome": ""}
    )
    assert (event.ems_called_at, event.outcome) == (m(4), "recovered_on_site")


def test_the_same_change_made_twice_is_not_a_conflict(site, nurse, visit):
    event = opened(site, nurse, visit)
    change_event(event, by=nurse, changes={"ems_called_at": m(4)}, expected={"ems_called_at": None})
    event = change_event(
        event, by=nurse, changes={"ems_called_at": m(4)}, expected={"ems_called_at": None}
    )
    assert event.ems_called_at == m(4)


def test_a_dose_corrected_by_two_people_at_once(site, nurse, visit):
    event = opened(site, nurse, visit)
    row = event.interventions.get()
    key = f"i{row.pk}"
    change_event(
        event,
        by=nurse,
        changes={},
        rows=[
            RowEdit(
                key,
                pk=row.pk,
                changes={"dose_mg": Decimal(4)},
                expected={"dose_mg": Decimal("0.4")},
            )
        ],
    )
    with pytest.raises(EventRefused) as refused:
        change_event(
            event,
            by=nurse,
            changes={},
            rows=[
                RowEdit(
                    key,
                    pk=row.pk,
                    changes={"dose_mg": Decimal(2)},
                    expected={"dose_mg": Decimal("0.4")},
                )
            ],
        )
    assert f"{key}-dose_mg" in refused.value.problems
    row.refresh_from_db()
    assert row.dose_mg == Decimal(4)


def test_an_amendment_keeps_the_earlier_version(site, nurse, visit):
    event = opened(site, nurse, visit, outcome="recovered_on_site", minutes_to_recovery=6)
    event = sign_off(event, by=nurse)
    manager = StaffFactory(role=Role.SITE_MANAGER, sites=[site])
    first_dose = event.interventions.get()
    before = state(event)
    with pytest.raises(EventRefused) as refused:
        change_event(event, by=manager, changes={"minutes_to_recovery": 9})
    assert list(refused.value.problems) == ["reason"]
    assert state(event) == before

    with clock.frozen(m(45)):
        event = change_event(
            event,
            by=manager,
            changes={"minutes_to_recovery": 9},
            rows=[
                RowEdit(f"i{first_dose.pk}", pk=first_dose.pk, remove=True),
                dose(mg="4", route="IN"),
            ],
            reason="Checked against the paper sheet",
        )
    assert event.version == 2 and event.minutes_to_recovery == 9
    assert event.signed_off_by == nurse  # the sign-off of version 1 stays on the record
    amendment = event.amendments.get()
    assert (amendment.version, amendment.amended_by, amendment.amended_at) == (1, manager, m(45))
    assert amendment.reason == "Checked against the paper sheet"
    earlier = amendment.snapshot
    assert earlier["minutes_to_recovery"] == 6 and earlier["version"] == 1
    assert [(i["dose_mg"], i["route"], i["removed_at"]) for i in earlier["interventions"]] == [
        ("0.40", "IM", None)
    ]
    assert earlier["signed_off_by"]["name"] == str(nurse)
    assert Intervention.objects.filter(pk=first_dose.pk, removed_at=m(45)).exists()


def test_an_amendment_that_changes_nothing_is_refused(site, nurse, visit):
    event = sign_off(opened(site, nurse, visit, outcome="recovered_on_site"), by=nurse)
    before = state(event)
    with pytest.raises(EventRefused) as refused:
        change_event(
            event, by=nurse, changes={"outcome": "recovered_on_site"}, reason="no reason really"
        )
    assert "Nothing was changed" in refused.value.problems[""][0]
    assert state(event) == before


def test_someone_who_left_the_site_stays_named_and_a_stranger_is_refused(site, nurse, visit):
    colleague = StaffFactory(role=Role.NURSE, sites=[site])
    event = opened(site, nurse, visit, staff_involved=[nurse, colleague])
    colleague.sites.clear()
    event = change_event(event, by=nurse, changes={"notes": "Warm blanket given"})
    assert set(event.staff_involved.all()) == {nurse, colleague}
    stranger = StaffFactory(role=Role.NURSE, sites=[SiteFactory()])
    before = state(event)
    with pytest.raises(EventRefused) as refused:
        change_event(event, by=nurse, changes={"staff_involved": [nurse, colleague, stranger]})
    assert list(refused.value.problems) == ["staff_involved"]
    assert state(event) == before
