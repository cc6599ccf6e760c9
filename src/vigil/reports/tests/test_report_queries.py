"""The number of queries of a report and of the dashboard does not grow with the data."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from vigil.care.models import MedicalEvent, Referral, ServiceGiven, SupplyGiven
from vigil.lib import clock
from vigil.reports import exports
from vigil.reports.indicators import Period
from vigil.reports.report import build
from vigil.testing import participant

from .conftest import local, visit

pytestmark = pytest.mark.db_any
OCTOBER = Period.month(2026, 10)


def queries_for_reports(october) -> list[int]:
    counts = []
    for sites in ([october.site], [october.site, october.other_site]):
        with CaptureQueriesContext(connection) as captured:
            report = build(sites, OCTOBER, scope="x", protected=True, extracted_at=clock.now())
            exports.to_csv(report)
        counts.append(len(captured))
    return counts


def more_of_everything(october, people: int, visits_each: int) -> None:
    booth = october.site.places.get(label="B2")
    for n in range(people):
        person = participant(october.site, gender=["woman", "man", ""][n % 3], age_band="40-49")
        for k in range(visits_each):
            at = local(2026, 10, 1 + (n + k) % 28, 9 + k % 10)
            made = visit(october.site, person, at, ("heroin", "cocaine"), place=booth)
            MedicalEvent.objects.create(
                site=october.site,
                visit=made,
                kind="overdose",
                started_at=at + timedelta(minutes=5),
                created_by=october.staff,
            )
            ServiceGiven.objects.create(
                site=october.site, service="vein_care", at=at, by=october.staff
            )
            SupplyGiven.objects.create(
                site=october.site, item="filter", quantity=2, at=at, by=october.staff
            )
            Referral.objects.create(
                site=october.site,
                participant=person,
                kind="housing",
                where="off_site",
                referred_at=at,
                referred_by=october.staff,
            )


def test_queries_per_report_do_not_grow_with_visits(october):
    queries_for_reports(october)  # each site's care lists are read once, then known
    before = queries_for_reports(october)
    more_of_everything(october, people=12, visits_each=4)
    after = queries_for_reports(october)
    assert after == before
    assert before[0] <= 20  # one site: about fifteen aggregate queries


def test_queries_of_the_dashboard_do_not_grow_with_visits(client, october):
    client.force_login(october.staff)
    url = reverse("reports:site", args=[october.site.pk])
    with clock.frozen(local(2026, 11, 3)):
        client.get(url)  # sessions and caches warmed
        with CaptureQueriesContext(connection) as small:
            assert client.get(url).status_code == 200
        more_of_everything(october, people=12, visits_each=4)
        with CaptureQueriesContext(connection) as large:
            response = client.get(url)
    assert next(k for k in response.context["kpis"] if k["key"] == "visits")["text"] == "51"
    assert len(large) == len(small)
