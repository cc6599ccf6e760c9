"""The demo's engagement records: made through the actions, in published proportions."""

import random

import pytest
from django.db.models import F

from vigil.care.demo_engagement import seed_engagement
from vigil.care.models import DrugCheck, Referral, ReferralStep, ServiceGiven, SupplyGiven
from vigil.floor import demo
from vigil.floor.board import build_board
from vigil.floor.models import Route, Visit
from vigil.lib import clock

pytestmark = pytest.mark.django_db


def test_the_demo_holds_believable_services_supplies_checks_and_referrals():
    now = clock.now()
    made = demo.seed(days=4, now=now, visits_per_day={"Seattle CHEL": 40, "King County CHEL": 15})
    result = seed_engagement(made.sites, now, random.Random(1))
    visits = Visit.objects.filter(checked_in_at__lt=now)
    assert result.visits == visits.count() and result.participants > 20

    # About 10% of participants went straight from the room into treatment (Boston), and the
    # referrals are at least Insite's 2.5 per 100 visits.
    assert abs(result.direct - round(0.10 * result.participants)) <= 1
    assert result.referrals >= max(result.direct, round(0.0248 * result.visits))
    direct = Referral.objects.filter(direct_from_room=True)
    assert all(r.status == "entered_treatment" and r.visit_id for r in direct)
    assert ReferralStep.objects.count() >= 2 * result.direct

    # Syringes at nearly every injection visit; every visit's handout belongs to its person.
    injection = visits.filter(route=Route.INJECT)
    with_syringes = injection.filter(supplies__item__startswith="syringe_").distinct().count()
    assert with_syringes / injection.count() > 0.8
    assert (
        not SupplyGiven.objects.exclude(visit=None)
        .exclude(participant_id=F("visit__participant_id"))
        .exists()
    )
    assert ServiceGiven.objects.filter(service="basic_needs").exists()

    # A drug check for each visit whose intake said so, and one for the board to show.
    assert DrugCheck.objects.count() == result.drug_checks
    assert result.drug_checks >= visits.filter(drug_checked=True).count()
    seattle = made.sites[0]
    assert build_board(seattle, now).notices
    assert "per 100 visits" in result.summary()
