"""Hand-built October 2026 at a site in Seattle (America/Los_Angeles, UTC-7 in October).

Every record sits on purpose near a boundary: a visit at 23:30 local on 30 September is in
October in UTC but not in the site's month; a visit at 23:50 local on 31 October is in
November in UTC but in the site's month. The right answers are worked out in the tests.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from vigil.accounts.roles import Role
from vigil.care.models import (
    EventKind,
    EventOutcome,
    Intervention,
    InterventionKind,
    MedicalEvent,
    Referral,
    ServiceGiven,
    SupplyGiven,
)
from vigil.floor.models import Occupancy, Visit, VisitStatus
from vigil.sites.models import Site
from vigil.testing import SiteFactory, StaffFactory, participant

SEATTLE = ZoneInfo("America/Los_Angeles")


def local(y, mo, d, h=12, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SEATTLE)


@dataclass
class October:
    site: Site
    other_site: Site
    staff: object
    people: dict


def visit(site, person, at, substances=("fentanyl",), route="inject", place=None, staff=None):
    made = Visit.objects.create(
        site=site,
        participant=person,
        checked_in_at=at,
        substances=list(substances),
        route=route,
        otherwise_location="public",
        status=VisitStatus.ENDED,
        ended_at=at.replace(hour=min(at.hour + 1, 23)),
        end_reason="completed",
        checked_in_by=staff,
    )
    if place is not None:
        Occupancy.objects.create(visit=made, place=place, started_at=at, ended_at=made.ended_at)
    return made


@pytest.fixture
def october(db) -> October:
    site = SiteFactory(name="Harbour")
    other_site = SiteFactory(name="Hillside", jurisdiction=site.jurisdiction)
    nurse = StaffFactory(role=Role.SITE_MANAGER, sites=[site, other_site])
    ana = participant(site, alias="Zephyrine", gender="woman", age_band="30-39")
    bo = participant(site, alias="Quillbo", gender="man", age_band="20-29")
    cy = participant(site, alias="Vexcy", gender="man", age_band="40-49")
    booth = site.places.get(label="B1")
    seat = site.places.get(label="A1")
    # Ana: a visit before October (so she is not new), two in October; the first waits
    # 10 minutes for a booth and then goes to aftercare (not a booth use).
    visit(site, ana, local(2026, 9, 30, 23, 30))
    first = visit(site, ana, local(2026, 10, 1, 0, 30), ("fentanyl", "methamphetamine"))
    Occupancy.objects.create(
        visit=first,
        place=booth,
        started_at=local(2026, 10, 1, 0, 40),
        ended_at=local(2026, 10, 1, 0, 59),
    )
    Occupancy.objects.create(
        visit=first,
        place=seat,
        started_at=local(2026, 10, 1, 1, 0),
        ended_at=local(2026, 10, 1, 1, 20),
    )
    # Thursday 15 October 2026, 14:05 local: booth, no wait.
    visit(site, ana, local(2026, 10, 15, 14, 5), place=booth)
    # Bo: first ever visit at 23:50 local on 31 October (a Saturday): in October; waits 20 min
    # but the booth is taken at 00:10 on 1 November (still counted: the wait belongs to the visit).
    bo_visit = visit(site, bo, local(2026, 10, 31, 23, 50), ("cocaine",), route="smoke")
    Occupancy.objects.create(
        visit=bo_visit,
        place=booth,
        started_at=local(2026, 11, 1, 0, 10),
        ended_at=local(2026, 11, 1, 0, 30),
    )
    # Cy: only in November (local), and at the other site in October.
    visit(site, cy, local(2026, 11, 1, 0, 10))
    visit(other_site, cy, local(2026, 10, 20, 10, 0))
    visit(other_site, ana, local(2026, 10, 21, 10, 0))

    # Medical events.
    def event(kind, at, **fields):
        return MedicalEvent.objects.create(
            site=site, kind=kind, started_at=at, created_by=nurse, **fields
        )

    od1 = event(
        EventKind.OVERDOSE,
        local(2026, 10, 3, 15),
        ems_called_at=local(2026, 10, 3, 15, 5),
        transported_at=local(2026, 10, 3, 15, 30),
        outcome=EventOutcome.TRANSPORTED,
    )
    Intervention.objects.create(
        event=od1,
        kind=InterventionKind.NALOXONE,
        at=od1.started_at,
        dose_mg=Decimal("4"),
        route="IN",
        by=nurse,
    )
    Intervention.objects.create(
        event=od1,
        kind=InterventionKind.NALOXONE,
        at=od1.started_at,
        dose_mg=Decimal("0.4"),
        route="IM",
        by=nurse,
    )
    Intervention.objects.create(
        event=od1,
        kind=InterventionKind.OXYGEN,
        at=od1.started_at,
        litres_per_minute=Decimal("10"),
        by=nurse,
    )
    od2 = event(EventKind.OVERDOSE, local(2026, 10, 9, 11), outcome=EventOutcome.RECOVERED)
    # Naloxone recorded, then struck out by an amendment: not counted.
    Intervention.objects.create(
        event=od2,
        kind=InterventionKind.NALOXONE,
        at=od2.started_at,
        dose_mg=Decimal("4"),
        by=nurse,
        removed_at=local(2026, 10, 9, 13),
    )
    event(EventKind.OTHER_MEDICAL, local(2026, 10, 20, 9), outcome=EventOutcome.DEATH)
    event(EventKind.OVERDOSE, local(2026, 9, 30, 23, 59), ems_called_at=local(2026, 10, 1, 0, 5))

    # Referrals.
    def referral(kind, where, referred, **fields):
        return Referral.objects.create(
            site=site,
            participant=ana,
            kind=kind,
            where=where,
            referred_at=referred,
            referred_by=nurse,
            **fields,
        )

    moment = local(2026, 10, 10, 16)
    referral(
        "methadone",
        "partner_on_site",
        moment,
        status="entered_treatment",
        accepted_at=moment,
        entered_treatment_at=moment,
        direct_from_room=True,
    )
    referral("housing", "off_site", local(2026, 10, 5))
    referral(
        "detox", "off_site", local(2026, 9, 28), status="accepted", accepted_at=local(2026, 10, 2)
    )
    referral(
        "detox",
        "off_site",
        local(2026, 9, 20),
        status="entered_treatment",
        accepted_at=local(2026, 9, 21),
        entered_treatment_at=local(2026, 10, 31, 23),
    )
    # Services and supplies.
    for day in (2, 3, 4):
        ServiceGiven.objects.create(
            site=site, participant=ana, service="wound_care", at=local(2026, 10, day), by=nurse
        )
    ServiceGiven.objects.create(site=site, service="wound_care", at=local(2026, 11, 1, 1), by=nurse)
    for item, quantity, returned in (
        ("syringe_1ml", 10, False),
        ("syringe_3ml", 5, False),
        ("naloxone_nasal", 2, False),
        ("cooker", 4, False),
        ("syringes", 12, True),
    ):
        SupplyGiven.objects.create(
            site=site,
            item=item,
            quantity=quantity,
            returned=returned,
            at=local(2026, 10, 12),
            by=nurse,
        )
    return October(
        site=site, other_site=other_site, staff=nurse, people={"ana": ana, "bo": bo, "cy": cy}
    )
