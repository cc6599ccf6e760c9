"""The demo's overdose and medical events: believable, made through the actions (so each one
passed the same checks a nurse's record does), and showing every state a record can be in."""

import random

import pytest

from vigil.care.demo_events import seed_events
from vigil.care.models import EventAmendment, MedicalEvent
from vigil.floor import demo
from vigil.lib import clock

pytestmark = pytest.mark.django_db


def test_demo_events_on_past_visits():
    now = clock.now()
    made = demo.seed(days=10, visits_per_day={"Seattle CHEL": 40, "King County CHEL": 20}, now=now)
    count = seed_events(made.sites, now, random.Random(7))
    events = list(MedicalEvent.objects.select_related("visit").prefetch_related("interventions"))
    assert count == len(events) >= 3
    for event in events:
        visit = event.visit
        assert visit.checked_in_at <= event.started_at <= visit.ended_at
        assert event.signs and event.outcome and event.participant == visit.participant
        assert all(i.at >= event.started_at for i in event.interventions.all())
    assert sum(e.signed_off_at is None for e in events) == 1
    assert sum(e.entered_late for e in events) == 1
    assert EventAmendment.objects.count() == 1
    assert not MedicalEvent.objects.filter(outcome="death").exists()
    assert MedicalEvent.objects.filter(alarm__outcome="overdose").exists()
    assert MedicalEvent.objects.filter(interventions__kind="naloxone").exists()
