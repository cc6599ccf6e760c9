"""The evaluator pages: the studies, a study over the records one may see or of one's own
deaths CSV, its report inline with downloads (HTML, PDF, JSON), and the de-identified export.
Evaluators and site managers;
nothing here shows a participant code or alias, and every figure is protected against small
counts before it is stored."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from vigil.accounts.middleware import allow
from vigil.accounts.reauth import recent_auth
from vigil.accounts.roles import Role
from vigil.lib import clock
from vigil.research import actions, export
from vigil.research.errors import StudyError
from vigil.research.evaluate import evaluate
from vigil.research.forms import ExportForm, RecordsStudyForm, UploadStudyForm
from vigil.research.models import StudyRun
from vigil.research.records.study import RecordAnalysis, RecordsStudy, scope_for
from vigil.research.study import load_study, load_uploaded_study
from vigil.sites.access import sites_for
from vigil.sites.models import Jurisdiction

EVALUATORS = frozenset({Role.EVALUATOR, Role.SITE_MANAGER})
DEMO_STUDY = "bc-demo/study.toml"


def _demo_path():
    from pathlib import Path

    return Path(__file__).resolve().parent / "data" / DEMO_STUDY


def _scope(user, form):
    """The scope a valid form names, within the sites `user` works at (404 otherwise)."""
    kind, pk = form.scope_parts()
    mine = {s.pk: s for s in sites_for(user)}
    if kind == "site":
        if pk not in mine:
            raise Http404
        sites, label = [mine[pk]], mine[pk].name
    else:
        jurisdiction = get_object_or_404(Jurisdiction, pk=pk)
        sites = list(jurisdiction.sites.order_by("pk"))
        if not sites or any(s.pk not in mine for s in sites):
            raise Http404
        label = f"{jurisdiction.name} ({len(sites)} sites)"
    return scope_for(
        sites,
        kind,
        label,
        form.cleaned_data.get("first_day"),
        form.cleaned_data.get("last_day"),
        file="form",
    )


def _runs_for(user):
    mine = set(sites_for(user).values_list("pk", flat=True))
    runs = StudyRun.objects.defer("report_html", "page_html", "results")
    return [
        r
        for r in runs[:200]
        if r.created_by_id == user.pk or (r.site_ids and set(r.site_ids) <= mine)
    ][:20]


def _run_for(user, pk) -> StudyRun:
    run = get_object_or_404(StudyRun, pk=pk)
    mine = set(sites_for(user).values_list("pk", flat=True))
    if run.created_by_id != user.pk and not (run.site_ids and set(run.site_ids) <= mine):
        raise Http404
    return run


def _studies_page(request, status: int = 200, **forms):
    """The studies page, with the bound form of a failed run in place of its empty one."""
    context = {
        "form": RecordsStudyForm(user=request.user),
        "upload_form": UploadStudyForm(auto_id="upload_%s"),
        "export_form": ExportForm(user=request.user, auto_id="export_%s"),
        "demo": load_demo_title(),
        "runs": _runs_for(request.user),
        **forms,
    }
    return render(request, "research/studies.html", context, status=status)


@allow(EVALUATORS)
@require_GET
def studies(request):
    return _studies_page(request)


def load_demo_title() -> str:
    import tomllib

    with open(_demo_path(), "rb") as f:
        return str(tomllib.load(f)["title"])


@allow(EVALUATORS)
@require_POST
def run_demo(request):
    study = load_study(_demo_path())
    results = evaluate(study)
    run = actions.save_run(study=study, results=results, by=request.user, kind="demo")
    return redirect("research:run", pk=run.pk)


@allow(EVALUATORS)
@require_POST
def run_records(request):
    form = RecordsStudyForm(request.POST, user=request.user)
    error = None
    if form.is_valid():
        try:
            scope = _scope(request.user, form)
            title = form.cleaned_data["title"] or _("%(scope)s, %(first)s to %(last)s") % {
                "scope": scope.label,
                "first": scope.first_day,
                "last": scope.last_day,
            }
            study = RecordsStudy(
                path=None,
                file="form",
                title=title,
                description=None,
                scope=scope,
                analyses=[
                    RecordAnalysis(name=m, method=m, options={})
                    for m in form.cleaned_data["methods"]
                ],
                inputs={},  # no file: the records and when they were read are in the report
            )
            results = evaluate(study)
        except StudyError as exc:
            error = str(exc).replace("form: ", "")
        else:
            run = actions.save_run(study=study, results=results, by=request.user, kind="records")
            return redirect("research:run", pk=run.pk)
    if error:
        form.add_error(None, error)
    return _studies_page(request, status=400, form=form)


@allow(EVALUATORS)
@require_POST
def run_upload(request):
    """A community-mortality study of one's own deaths CSV, run as `vigil evaluate` runs it.
    Every problem with the files is shown on the form, one per line, each naming its file,
    row or line; nothing is stored then. The files themselves are not kept: the run keeps
    their names and SHA-256 hashes, the figures and the report. Only its author may open it:
    it holds no sites' records by which others could be let in."""
    form = UploadStudyForm(request.POST, request.FILES, auto_id="upload_%s")
    if form.is_valid():
        try:
            study = load_uploaded_study(form.uploaded_study(), form.uploaded_deaths())
            results = evaluate(study)
        except StudyError as exc:
            for line in str(exc).splitlines():
                form.add_error(None, line)
        else:
            run = actions.save_run(study=study, results=results, by=request.user, kind="upload")
            return redirect("research:run", pk=run.pk)
    return _studies_page(request, status=400, upload_form=form)


@allow(EVALUATORS)
@require_GET
def run_detail(request, pk):
    run = _run_for(request.user, pk)
    return render(request, "research/run.html", {"run": run})


def _download(content: bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _stem(run: StudyRun) -> str:
    return f"vigil-study-{run.created_at:%Y%m%d-%H%M}"


@allow(EVALUATORS)
@require_GET
def run_html(request, pk):
    run = _run_for(request.user, pk)
    return _download(
        run.report_html.encode("utf-8"), "text/html; charset=utf-8", f"{_stem(run)}.html"
    )


@allow(EVALUATORS)
@require_GET
def run_pdf(request, pk):
    from vigil.lib.pdf import html_to_pdf

    run = _run_for(request.user, pk)
    return _download(html_to_pdf(run.report_html), "application/pdf", f"{_stem(run)}.pdf")


@allow(EVALUATORS)
@require_GET
def run_json(request, pk):
    from vigil.research.report import results_json

    run = _run_for(request.user, pk)
    return _download(
        results_json(run.results).encode("utf-8"), "application/json", f"{_stem(run)}.json"
    )


@allow(EVALUATORS)
@require_GET
@recent_auth
def export_deidentified(request):
    """The k-anonymous record-level file. A GET form, so that after signing in again the
    person comes back to the same download."""
    form = ExportForm(request.GET, user=request.user)
    if not form.is_valid():
        messages.error(
            request, _("The export needs: %(errors)s") % {"errors": form.errors.as_text()}
        )
        return redirect("research:studies")
    try:
        scope = _scope(request.user, form)
    except StudyError as exc:
        messages.error(request, str(exc).replace("form: ", ""))
        return redirect("research:studies")
    fmt = form.cleaned_data["format"]
    frame, choice = export.deidentified(scope, k=form.cleaned_data["k"])
    meta = export.metadata(scope, choice)
    data = export.write(frame, fmt, meta)
    export.record_export(request, scope, fmt, meta)
    content_type = "text/csv; charset=utf-8" if fmt == "csv" else "application/vnd.apache.parquet"
    return _download(data, content_type, f"vigil-deidentified-{clock.now():%Y%m%d}.{fmt}")
