"""A community-mortality study of the evaluator's own data from the studies page: a deaths CSV
and a study file, run as `vigil evaluate` runs them, kept as a run that only its author opens;
every problem with the files is a form error naming the file, row or line, and stores nothing."""

from __future__ import annotations

import hashlib
import io
import json
import math

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from vigil.accounts.roles import Role
from vigil.audit.models import AuditEntry
from vigil.research.evaluate import evaluate
from vigil.research.models import StudyRun
from vigil.research.study import load_study
from vigil.research.tests.studyfiles import DEMO_STUDY
from vigil.testing import SiteFactory, StaffFactory

pytestmark = [pytest.mark.django_db, pytest.mark.db_any]

# Two areas, 24 months, the start in the 13th. "near": population 10,000 and 5 deaths a month
# before, 3 after; "far": population 100,000 and 10 deaths every month. By hand, per 100,000
# person-years (a month is 1/12 year): near 60 / 10,000 -> 600 before and 36 / 10,000 -> 360
# after (-40%); far 120 / 100,000 -> 120 both times (0%); the ratio of the rate ratios
# 0.6 / 1.0 = 0.6.
START = "2002-01"


def known_csv(duplicate_row_3: bool = False) -> str:
    lines = ["area,month,deaths,population"]
    for year in (2001, 2002):
        for month in range(1, 13):
            lines.append(f"near,{year}-{month:02d},{5 if year == 2001 else 3},10000")
    for year in (2001, 2002):
        for month in range(1, 13):
            lines.append(f"far,{year}-{month:02d},10,100000")
    if duplicate_row_3:
        lines[3] = "near,2001-02,5,10000"  # line 4: data row 3 repeats row 2's month
    return "\n".join(lines) + "\n"


KNOWN_STUDY = f"""\
title = "Near and far, by hand"
area_definition = "two made-up areas"
death_definition = "made-up deaths"
[data]
file = "not-used.csv"       # replaced by the uploaded file
unit = "area"
time = "month"
value = "deaths"
population = "population"
[intervention]
unit = "near"
start = "{START}"
[[analysis]]
name = "main"
method = "before_after"
"""


class Reposted(io.BytesIO):
    """An uploaded file that the test client can send more than once (it reads the file on
    every post and does not rewind it): the URL x role table posts once per role."""

    def __init__(self, content: bytes, name: str) -> None:
        super().__init__(content)
        self.name = name

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            self.seek(0)
        return super().read(size)


def upload_data(csv: str | bytes | None = None, study: str = KNOWN_STUDY) -> dict:
    """The post of the upload form: the known panel and its study, typed in."""
    content = known_csv() if csv is None else csv
    raw = content.encode("utf-8") if isinstance(content, str) else content
    return {"deaths": Reposted(raw, "deaths.csv"), "study_text": study}


@pytest.fixture
def site():
    return SiteFactory(jurisdiction__name="Here")


@pytest.fixture
def evaluator(site, client):
    person = StaffFactory(role=Role.EVALUATOR, sites=[site])
    client.force_login(person)
    return person


def post(client, data):
    return client.post(reverse("research:run-upload"), data)


def test_the_page_offers_the_upload_form(client, evaluator):
    page = client.get(reverse("research:studies")).content.decode()
    assert f'action="{reverse("research:run-upload")}"' in page
    assert 'enctype="multipart/form-data"' in page
    assert 'name="deaths"' in page and 'name="study_text"' in page and 'name="study_file"' in page
    assert "<script>" not in page and 'style="' not in page


def test_an_upload_runs_with_the_figures_worked_by_hand(client, evaluator):
    response = post(client, upload_data())
    assert response.status_code == 302
    run = StudyRun.objects.get()
    assert run.kind == "upload" and run.site_ids == [] and run.created_by == evaluator
    assert response["Location"] == reverse("research:run", args=[run.pk])

    (result,) = run.results["analyses"]
    near, far = result["groups"]["near"], result["groups"]["far"]
    assert near["rate_before"] == pytest.approx(600.0)
    assert near["rate_after"] == pytest.approx(360.0)
    assert near["percent_change"] == pytest.approx(-40.0)
    assert far["rate_before"] == pytest.approx(120.0)
    assert far["percent_change"] == pytest.approx(0.0, abs=1e-9)
    assert result["rate_ratio"] == pytest.approx(0.6)
    # The Wald interval of the log ratio of rate ratios: its variance is the sum of 1/deaths
    # over the four cells (60, 36, 120, 120).
    se = math.sqrt(1 / 60 + 1 / 36 + 1 / 120 + 1 / 120)
    low, high = result["rate_ratio_ci"]
    assert low == pytest.approx(0.6 * math.exp(-1.959964 * se), rel=1e-5)
    assert high == pytest.approx(0.6 * math.exp(1.959964 * se), rel=1e-5)

    # The inputs are the files as sent: their names and hashes.
    assert run.results["inputs"] == {
        "study.toml": hashlib.sha256(KNOWN_STUDY.encode()).hexdigest(),
        "deaths.csv": hashlib.sha256(known_csv().encode()).hexdigest(),
    }

    page = client.get(response["Location"]).content.decode()
    assert "Near and far, by hand" in page
    assert page.count('<img class="figure"') == 1
    assert 'style="' not in page and "<svg" not in page
    assert "<code>deaths.csv</code>" in page and "not-used.csv" not in page
    for name in ("run-html", "run-pdf", "run-json"):
        assert f'href="{reverse("research:" + name, args=[run.pk])}"' in page
    results = json.loads(client.get(reverse("research:run-json", args=[run.pk])).content)
    assert results["analyses"][0]["groups"]["near"]["rate_after"] == pytest.approx(360.0)
    pdf = client.get(reverse("research:run-pdf", args=[run.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    html = client.get(reverse("research:run-html", args=[run.pk]))
    assert "attachment" in html["Content-Disposition"]

    entry = AuditEntry.objects.filter(action="research.run_study").get()
    assert entry.detail["kind"] == "upload" and entry.detail["run"] == str(run.pk)
    # (PostgreSQL's jsonb keeps no key order, so compared as sets.)
    assert set(entry.detail["inputs"]) == set(run.results["inputs"].values())
    assert "deaths.csv" not in json.dumps(entry.detail)  # no file names: no free text


def test_an_uploaded_study_file_gives_what_vigil_evaluate_gives(client, evaluator):
    """The shipped demo: its study.toml and CSV sent as files give the figures of
    `vigil evaluate` on the same files (its [data] file is replaced by the uploaded CSV)."""
    csv = DEMO_STUDY.parent / "monthly-deaths.csv"
    response = post(
        client,
        {
            "deaths": SimpleUploadedFile("bc.csv", csv.read_bytes(), "text/csv"),
            "study_file": SimpleUploadedFile("study.toml", DEMO_STUDY.read_bytes()),
        },
    )
    assert response.status_code == 302
    run = StudyRun.objects.get()
    expected = evaluate(load_study(DEMO_STUDY))
    assert run.results["analyses"] == json.loads(json.dumps(expected["analyses"]))
    assert run.results["inputs"] == {
        "study.toml": expected["inputs"]["study.toml"],
        "bc.csv": expected["inputs"]["monthly-deaths.csv"],
    }


def test_a_duplicate_period_is_a_form_error_with_file_and_row_and_stores_nothing(client, evaluator):
    response = post(client, upload_data(known_csv(duplicate_row_3=True)))
    assert response.status_code == 400
    page = response.content.decode()
    assert "deaths.csv, row 3 (line 4): month 2001-02 of area &#x27;near&#x27; appears twice" in (
        page
    )
    assert "Near and far, by hand" in page  # the typed study is kept for another try
    assert StudyRun.objects.count() == 0
    assert not AuditEntry.objects.filter(action="research.run_study").exists()


def test_every_problem_of_the_data_is_listed(client, evaluator):
    bad = (
        known_csv()
        .replace("near,2001-05,5,", "near,2001-05,-2,")
        .replace("far,2002-07,10,", "far,2002-07,ten,")
    )
    page = post(client, upload_data(bad)).content.decode()
    assert "deaths.csv, row 5 (line 6): deaths is negative (-2)" in page
    assert "deaths.csv, row 43 (line 44): deaths &#x27;ten&#x27; is not a number" in page
    assert StudyRun.objects.count() == 0


def test_a_csv_that_is_not_utf8_is_refused_with_its_line(client, evaluator):
    raw = known_csv().replace("far,2001-03", "fár,2001-03").encode("latin-1")
    response = post(client, upload_data(raw))
    assert response.status_code == 400
    assert "deaths.csv, line 28: not UTF-8 text" in response.content.decode()
    assert StudyRun.objects.count() == 0


def test_an_oversized_file_is_refused(client, evaluator, settings):
    settings.MAX_UPLOAD_BYTES = 500
    response = post(client, upload_data())
    assert len(known_csv()) > 500
    assert response.status_code == 400
    page = response.content.decode()
    assert "the largest accepted is 500\xa0bytes" in page
    assert StudyRun.objects.count() == 0


def test_a_bad_toml_is_a_form_error(client, evaluator):
    study = KNOWN_STUDY.replace("[intervention]", "[intervention")
    response = post(client, upload_data(study=study))
    assert response.status_code == 400
    assert "study.toml, line 10: not valid TOML" in response.content.decode()
    assert StudyRun.objects.count() == 0


def test_a_study_problem_names_its_line(client, evaluator):
    study = KNOWN_STUDY.replace('start = "2002-01"', 'start = "2009-01"')
    page = post(client, upload_data(study=study)).content.decode()
    assert "study.toml, line 12: [intervention] start 2009-01 is after the last period" in page
    assert StudyRun.objects.count() == 0


def test_a_study_over_the_records_is_not_an_upload(client, evaluator, site):
    study = f'title = "records"\n[vigil]\nsite = "{site.name}"\n'
    page = post(client, upload_data(study=study)).content.decode()
    assert "study.toml, line 2: this study reads Vigil&#x27;s own records" in page
    assert StudyRun.objects.count() == 0


@pytest.mark.parametrize(
    ("study_text", "with_file", "message"),
    [
        ("", False, "The study file is missing"),
        (KNOWN_STUDY, True, "either as a file or as text, not both"),
    ],
)
def test_the_study_comes_as_a_file_or_as_text(client, evaluator, study_text, with_file, message):
    data = upload_data(study=study_text)
    if with_file:
        data["study_file"] = SimpleUploadedFile("study.toml", KNOWN_STUDY.encode())
    response = post(client, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert StudyRun.objects.count() == 0


def test_only_its_author_opens_an_uploaded_run(client, evaluator, site):
    post(client, upload_data())
    run = StudyRun.objects.get()
    urls = [reverse(f"research:{n}", args=[run.pk]) for n in ("run", "run-html", "run-json")]
    assert all(client.get(url).status_code == 200 for url in urls)
    elsewhere = StaffFactory(
        role=Role.EVALUATOR, sites=[SiteFactory(jurisdiction__name="Elsewhere")]
    )
    colleague = StaffFactory(role=Role.SITE_MANAGER, sites=[site])
    for other in (elsewhere, colleague):
        client.force_login(other)
        assert [client.get(url).status_code for url in urls] == [404, 404, 404]
        assert (
            "Near and far, by hand" not in client.get(reverse("research:studies")).content.decode()
        )
