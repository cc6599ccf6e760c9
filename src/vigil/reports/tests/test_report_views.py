"""Dashboard and downloads beyond the URL × role table: what each role sees, staff of another
site, bad periods, and the downloads (always protected, whoever asks)."""

import csv
import io

import pytest
from django.urls import reverse

from vigil.accounts.roles import Role
from vigil.lib import clock
from vigil.reports.suppression import MARKER
from vigil.testing import SiteFactory, StaffFactory

from .conftest import local

pytestmark = pytest.mark.db_any


def report_args(site) -> dict:
    """URL arguments for the reports rows of the URL × role table (accounts/tests/test_url_roles.py)."""
    return {
        "reports:site": ({"site_id": site.pk}, {}),
        "reports:jurisdiction": ({"jurisdiction_id": site.jurisdiction_id}, {}),
        "reports:site-monthly": ({"site_id": site.pk, "month": "2026-10", "fmt": "csv"}, {}),
        "reports:jurisdiction-monthly": (
            {"jurisdiction_id": site.jurisdiction_id, "month": "2026-10", "fmt": "csv"},
            {},
        ),
    }


@pytest.fixture
def in_november():
    with clock.frozen(local(2026, 11, 3, 10)):
        yield


def kpi(response, key):
    return next(k for k in response.context["kpis"] if k["key"] == key)


def test_the_site_manager_sees_raw_counts_for_last_month(client, october, in_november):
    client.force_login(october.staff)  # site manager of both sites
    response = client.get(reverse("reports:site", args=[october.site.pk]))
    assert response.status_code == 200
    assert response.context["period"].start.isoformat() == "2026-10-01"
    assert kpi(response, "visits")["text"] == "3"
    assert kpi(response, "deaths")["text"] == "1"
    assert b"<svg" in response.content and b' style="' not in response.content
    for person in october.people.values():
        assert person.alias.encode() not in response.content


def test_the_evaluator_sees_the_same_page_protected(client, october, in_november):
    evaluator = StaffFactory(role=Role.EVALUATOR, sites=[october.site])
    client.force_login(evaluator)
    response = client.get(reverse("reports:site", args=[october.site.pk]))
    assert response.status_code == 200
    assert kpi(response, "visits")["text"] == MARKER
    assert kpi(response, "deaths")["hidden"]
    assert "per_participant" not in {k["key"] for k in response.context["kpis"]}


def test_a_jurisdiction_roll_up_is_protected_even_for_the_site_manager(
    client, october, in_november
):
    client.force_login(october.staff)
    response = client.get(reverse("reports:jurisdiction", args=[october.site.jurisdiction_id]))
    assert response.status_code == 200
    assert response.context["report"].protected
    assert [s.name for s in response.context["report"].sites] == ["Harbour", "Hillside"]


def test_a_roll_up_covers_only_the_sites_one_works_at(client, october, in_november):
    evaluator = StaffFactory(role=Role.EVALUATOR, sites=[october.other_site])
    client.force_login(evaluator)
    response = client.get(reverse("reports:jurisdiction", args=[october.site.jurisdiction_id]))
    assert [s.name for s in response.context["report"].sites] == ["Hillside"]
    assert b"Harbour" not in response.content


def test_staff_of_another_site_get_404(client, october, in_november):
    stranger = StaffFactory(
        role=Role.SITE_MANAGER, sites=[SiteFactory(jurisdiction__name="Elsewhere")]
    )
    client.force_login(stranger)
    assert client.get(reverse("reports:site", args=[october.site.pk])).status_code == 404
    assert (
        client.get(reverse("reports:jurisdiction", args=[october.site.jurisdiction_id])).status_code
        == 404
    )
    url = reverse("reports:site-monthly", args=[october.site.pk, "2026-10", "csv"])
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    "query, message",
    [
        ({"start": "2026-10-31", "end": "2026-10-01"}, "ends before it starts"),
        ({"start": "yesterday", "end": "2026-10-01"}, "YYYY-MM-DD"),
        ({"start": "2020-01-01", "end": "2026-10-01"}, "three years"),
        ({"month": "2026-13"}, "YYYY-MM"),
        ({"preset": "forever"}, "Unknown period"),
    ],
)
def test_a_bad_period_is_explained_and_last_month_shown(
    client, october, in_november, query, message
):
    client.force_login(october.staff)
    response = client.get(reverse("reports:site", args=[october.site.pk]), query)
    assert response.status_code == 400
    assert message in response.context["error"]
    assert response.context["period"].start.isoformat() == "2026-10-01"


def test_any_period_and_presets(client, october, in_november):
    client.force_login(october.staff)
    url = reverse("reports:site", args=[october.site.pk])
    response = client.get(url, {"start": "2026-10-15", "end": "2026-10-31"})
    assert kpi(response, "visits")["text"] == "2"  # 15 Oct and Bo on 31 Oct (end included)
    response = client.get(url, {"preset": "this-month"})
    assert kpi(response, "visits")["text"] == "1"  # Vexcy on 1 November
    assert response.context["preset"] == "this-month"


def test_downloads_are_protected_even_for_the_site_manager(client, october, in_november):
    client.force_login(october.staff)
    url = reverse("reports:site-monthly", args=[october.site.pk, "2026-10", "csv"])
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "vigil-harbour-2026-10.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    visits = next(r for r in rows if r[1] == "Visits")
    assert visits[3] == ""  # 3 visits: hidden


def test_bad_download_input_is_refused(client, october, in_november):
    client.force_login(october.staff)
    bad_month = reverse("reports:site-monthly", args=[october.site.pk, "2026-13", "csv"])
    assert client.get(bad_month).status_code == 400
    bad_format = reverse("reports:site-monthly", args=[october.site.pk, "2026-10", "docx"])
    response = client.get(bad_format)
    assert response.status_code == 400


def test_every_download_is_written_to_the_audit_log(client, october, in_november):
    from vigil.audit.models import AuditEntry

    client.force_login(october.staff)
    url = reverse(
        "reports:jurisdiction-monthly", args=[october.site.jurisdiction_id, "2026-10", "xlsx"]
    )
    assert client.get(url).status_code == 200
    entry = AuditEntry.objects.filter(action="report.export").get()
    assert entry.actor_id == october.staff.pk
    assert entry.detail == {
        "sites": [october.site.pk, october.other_site.pk],
        "month": "2026-10",
        "format": "xlsx",
    }


def test_an_unstable_rate_is_marked(client, october, in_november):
    client.force_login(october.staff)
    response = client.get(reverse("reports:site", args=[october.site.pk]))
    rate = kpi(response, "overdose_rate")
    assert rate["text"] == "666.7*"  # 2 overdoses in 3 visits: fewer than 20 events
    assert "unstable" in rate["label"]
