"""The evaluator pages: the studies, a study over one's own sites' records shown inline with
its downloads, the demo study, and the de-identified export behind re-authentication."""

import io
import json
import re

import pandas as pd
import pytest
from django.urls import reverse

from vigil.accounts.roles import Role
from vigil.accounts.sessions import wall_clock
from vigil.accounts.twofactor import VERIFIED_AT
from vigil.research import deidentify as D
from vigil.research.models import StudyRun
from vigil.research.tests.records_world import build_busy
from vigil.research.tests.test_study_upload import upload_data
from vigil.testing import SiteFactory, StaffFactory

pytestmark = [pytest.mark.django_db, pytest.mark.db_any]


def research_args(site, staff):
    """URL arguments for the URL x role table: a stored run over `site`'s records."""
    run = StudyRun.objects.create(
        title="a run",
        kind="records",
        created_by=staff[Role.EVALUATOR],
        site_ids=[site.pk],
        results={"title": "a run", "inputs": {}, "analyses": [], "software": {}},
        report_html="<!doctype html><title>a run</title><h1>a run</h1>",
        page_html="<h1>a run</h1>",
    )
    return {
        "research:run-records": (
            {},
            {"scope": f"site:{site.pk}", "methods": ["reach"], "first_day": "2026-01-01"},
        ),
        "research:run-upload": ({}, upload_data()),
        "research:run": ({"pk": run.pk}, {}),
        "research:run-html": ({"pk": run.pk}, {}),
        "research:run-pdf": ({"pk": run.pk}, {}),
        "research:run-json": ({"pk": run.pk}, {}),
    }


@pytest.fixture
def world():
    return build_busy()


@pytest.fixture
def evaluator(world, client):
    person = StaffFactory(role=Role.EVALUATOR, sites=[world.site])
    client.force_login(person)
    return person


def run_records(client, world, **extra):
    data = {
        "scope": f"site:{world.site.pk}",
        "methods": ["reach", "onsite_outcomes", "treatment_entry"],
        "first_day": "2026-01-01",
        "last_day": "2026-06-30",
        **extra,
    }
    return client.post(reverse("research:run-records"), data)


def test_studies_page_offers_the_demo_the_records_and_the_export(client, world, evaluator):
    page = client.get(reverse("research:studies")).content.decode()
    assert "B.C. illicit drug toxicity deaths" in page
    assert f'value="site:{world.site.pk}"' in page
    assert 'id="export-download"' in page
    assert "<script>" not in page and 'style="' not in page


def test_a_records_study_runs_and_shows_inline_with_downloads(client, world, evaluator):
    response = run_records(client, world)
    assert response.status_code == 302
    run = StudyRun.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert page.count('<img class="figure"') == 3
    assert 'style="' not in page and "<svg" not in page  # figures are images: CSP-safe
    assert not re.search(r"Busy\d", page)  # no alias anywhere
    for name in ("run-html", "run-pdf", "run-json"):
        assert f'href="{reverse("research:" + name, args=[run.pk])}"' in page
    pdf = client.get(reverse("research:run-pdf", args=[run.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    results = json.loads(client.get(reverse("research:run-json", args=[run.pk])).content)
    assert results["analyses"][0]["people"] == 60
    html = client.get(reverse("research:run-html", args=[run.pk]))
    assert "attachment" in html["Content-Disposition"]
    assert html.content.decode().count("<svg") == 3


def test_the_demo_study_runs_from_the_page(client, world, evaluator):
    response = client.post(reverse("research:run-demo"))
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert page.count('<img class="figure"') == 4  # four interrupted time series


def test_other_sites_records_are_refused(client, world):
    stranger = StaffFactory(
        role=Role.EVALUATOR, sites=[SiteFactory(jurisdiction__name="Elsewhere")]
    )
    client.force_login(stranger)
    response = run_records(client, world)
    assert response.status_code == 400  # not a choice for this person
    assert StudyRun.objects.count() == 0
    mine = StaffFactory(role=Role.EVALUATOR, sites=[world.site])
    client.force_login(mine)
    run_records(client, world)
    client.force_login(stranger)
    run = StudyRun.objects.get()
    assert client.get(reverse("research:run", args=[run.pk])).status_code == 404
    assert client.get(reverse("research:run-json", args=[run.pk])).status_code == 404


def test_bad_period_is_a_form_error_and_runs_nothing(client, world, evaluator):
    response = run_records(client, world, first_day="2026-06-30", last_day="2026-01-01")
    assert response.status_code == 400
    assert "“From” is after “To”" in response.content.decode()
    assert StudyRun.objects.count() == 0


def test_export_asks_to_sign_in_again_then_downloads_a_k_anonymous_file(client, world, evaluator):
    from vigil.audit.models import AuditEntry

    url = reverse("research:export") + (
        f"?scope=site:{world.site.pk}&format=csv&k=5&first_day=2026-01-01&last_day=2026-06-30"
    )
    session = client.session
    session[VERIFIED_AT] = wall_clock().timestamp() - 3600  # signed in an hour ago
    session.save()
    first = client.get(url)
    assert first.status_code == 302 and reverse("reauth") in first["Location"]
    session = client.session
    session[VERIFIED_AT] = wall_clock().timestamp()
    session.save()
    before = AuditEntry.objects.filter(action="research.export_deidentified").count()
    response = client.get(url)
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    frame = pd.read_csv(io.BytesIO(response.content), dtype=str, keep_default_na=False)
    assert frame.groupby(list(D.QUASI_IDENTIFIERS)).size().min() >= 5
    assert not any(re.search(r"Busy\d", c) for c in response.content.decode().split(","))
    assert AuditEntry.objects.filter(action="research.export_deidentified").count() == before + 1
