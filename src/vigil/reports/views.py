"""Dashboards and monthly report downloads.

Who sees what: the site manager sees raw counts for their own sites on screen; everything else
is protected against small counts — the evaluator's screen, every jurisdiction roll-up, and
every download whoever asks (docs/data-dictionary.md, "Reports"). A roll-up covers the sites of
the jurisdiction that the person works at (all of them for a superuser), and says which.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from vigil.accounts.middleware import allow
from vigil.accounts.roles import Role
from vigil.lib import clock
from vigil.reports import exports
from vigil.reports.indicators import Period
from vigil.reports.report import Report, build, charts
from vigil.sites.access import site_for, sites_for
from vigil.sites.models import Jurisdiction, Site

REPORT_ROLES = frozenset({Role.SITE_MANAGER, Role.EVALUATOR})
MAX_DAYS = 3 * 366


def _today(site: Site) -> date:
    return clock.now().astimezone(site.tz).date()


def last_full_month(site: Site) -> Period:
    first = _today(site).replace(day=1)
    previous = first - timedelta(days=1)
    return Period.month(previous.year, previous.month)


def presets(site: Site) -> list[tuple[str, str, Period]]:
    today = _today(site)
    this_month = Period(today.replace(day=1), today + timedelta(days=1))
    last = last_full_month(site)
    return [
        ("last-7", _("Last 7 days"), Period(today - timedelta(days=6), today + timedelta(days=1))),
        ("this-month", _("This month"), this_month),
        ("last-month", _("Last month"), last),
        (
            "last-90",
            _("Last 90 days"),
            Period(today - timedelta(days=89), today + timedelta(days=1)),
        ),
        (
            "last-12-months",
            _("Last 12 months"),
            Period(
                date(last.start.year - 1, last.start.month, 1)
                if last.start.month == 12
                else date(last.start.year - 1, last.start.month + 1, 1),
                last.end,
            ),
        ),
    ]


def period_from(request, site: Site) -> tuple[Period, str, str]:
    """The period asked for: a preset, a month, or start and end dates (end included).
    Returns the period, the preset key or "", and an error message or ""."""
    default = last_full_month(site)
    chosen = request.GET.get("preset", "")
    for key, _label, period in presets(site):
        if key == chosen:
            return period, key, ""
    if chosen:
        return default, "last-month", _("Unknown period %(p)s: showing last month.") % {"p": chosen}
    if "month" in request.GET:
        try:
            return Period.parse_month(request.GET["month"]), "", ""
        except ValueError as exc:
            return default, "last-month", str(exc)
    start, end = request.GET.get("start"), request.GET.get("end")
    if not start and not end:
        return default, "last-month", ""
    try:
        first = date.fromisoformat(start or "")
        last = date.fromisoformat(end or "")
    except ValueError:
        return default, "last-month", _("Dates are written YYYY-MM-DD: showing last month.")
    if last < first:
        return default, "last-month", _("The period ends before it starts: showing last month.")
    if (last - first).days >= MAX_DAYS:
        return (
            default,
            "last-month",
            _("A period of at most three years, please: showing last month."),
        )
    return Period(first, last + timedelta(days=1)), "", ""


def _protected(request, sites: list[Site], jurisdiction: bool) -> bool:
    return jurisdiction or request.user.role != Role.SITE_MANAGER


def _dashboard(
    request, sites: list[Site], scope: str, *, jurisdiction: Jurisdiction | None, site: Site | None
):
    anchor = sites[0]
    period, preset, error = period_from(request, anchor)
    protected = _protected(request, sites, jurisdiction is not None)
    report = build(sites, period, scope=scope, protected=protected, extracted_at=clock.now())
    month = period.start if period.is_month() else last_full_month(anchor).start
    if jurisdiction is not None:
        name, owner = "reports:jurisdiction-monthly", jurisdiction.pk
    else:
        name, owner = "reports:site-monthly", anchor.pk

    def download(fmt: str) -> str:
        return reverse(name, args=[owner, f"{month:%Y-%m}", fmt])

    context = {
        "report": report,
        "charts": charts(report),
        "kpis": kpis(report),
        "period": period,
        "period_end": period.last_day,
        "preset": preset,
        "presets": [(key, label) for key, label, _p in presets(anchor)],
        "error": error,
        "site": site,
        "jurisdiction": jurisdiction,
        "download_month": month,
        "downloads": [(fmt.upper(), download(fmt)) for fmt in ("pdf", "xlsx", "csv", "html")],
        "jurisdictions": _jurisdictions(request),
        "several": len(sites) > 1,
    }
    return render(request, "reports/dashboard.html", context, status=400 if error else 200)


def kpis(report: Report) -> list[dict]:
    """The figures at the top of the dashboard, taken from the (possibly protected) tables."""
    shown = {}
    for table in report.tables:
        for row in table.rows:
            shown[row.key] = row.cells[-1]
    keys = [
        ("visits", _("Visits")),
        ("unique_participants", _("Unique participants")),
        ("new_participants", _("New participants")),
        ("overdoses", _("Overdoses")),
        ("naloxone_doses", _("Naloxone administrations")),
        ("oxygen_events", _("Events with oxygen")),
        ("ems_calls", _("EMS calls")),
        ("transported", _("Transports")),
        ("deaths", _("Deaths on site")),
        ("referral:total", _("Referrals")),
        ("referrals_accepted", _("Referrals accepted")),
        ("treatment_entries", _("Treatment entries")),
    ]
    out = [
        {"key": key, "label": label, "text": shown[key].text, "hidden": shown[key].hidden}
        for key, label in keys
        if key in shown
    ]
    visits, people = shown.get("visits"), shown.get("unique_participants")
    if visits and people and visits.value and people.value:
        out.insert(
            3,
            {
                "key": "per_participant",
                "label": _("Visits per participant"),
                "text": f"{visits.value / people.value:.1f}",
                "hidden": False,
            },
        )
    overdoses = shown.get("overdoses")
    if visits and overdoses and visits.value and overdoses.value is not None:
        from vigil.reports.suppression import unstable

        rate = f"{1000 * overdoses.value / visits.value:.1f}"
        flagged = unstable(overdoses.value)
        position = next(i for i, k in enumerate(out) if k["key"] == "overdoses") + 1
        out.insert(
            position,
            {
                "key": "overdose_rate",
                "label": _("Overdoses per 1,000 visits")
                + (" " + _("(unstable: fewer than 20 overdoses)") if flagged else ""),
                "text": rate + ("*" if flagged else ""),
                "hidden": False,
            },
        )
    wait = report.total.average_wait_minutes
    if wait is not None and (not report.protected or report.total.waited_visits >= 20):
        out.append(
            {
                "key": "wait",
                "label": _("Average wait for a place (minutes)"),
                "text": f"{wait:.1f}",
                "hidden": False,
            }
        )
    return out


def _jurisdictions(request) -> list[Jurisdiction]:
    ids = {site.jurisdiction_id for site in sites_for(request.user)}
    return list(Jurisdiction.objects.filter(pk__in=ids).order_by("name"))


def _jurisdiction_sites(request, jurisdiction_id: int) -> tuple[Jurisdiction, list[Site]]:
    wanted = int(jurisdiction_id)  # a string when it comes from a re_path
    sites = [site for site in sites_for(request.user) if site.jurisdiction_id == wanted]
    if not sites:
        raise Http404("No such jurisdiction.")
    return sites[0].jurisdiction, sorted(sites, key=lambda s: s.name)


@require_GET
@allow(REPORT_ROLES)
def index(request):
    sites = list(sites_for(request.user))
    return render(
        request, "reports/index.html", {"sites": sites, "jurisdictions": _jurisdictions(request)}
    )


@require_GET
@allow(REPORT_ROLES)
def site_dashboard(request, site_id: int):
    site = site_for(request.user, site_id)
    return _dashboard(request, [site], site.name, jurisdiction=None, site=site)


@require_GET
@allow(REPORT_ROLES)
def jurisdiction_dashboard(request, jurisdiction_id: int):
    jurisdiction, sites = _jurisdiction_sites(request, jurisdiction_id)
    return _dashboard(request, sites, jurisdiction.name, jurisdiction=jurisdiction, site=None)


def _download(request, sites: list[Site], scope: str, month: str, fmt: str) -> HttpResponse:
    try:
        period = Period.parse_month(month)
    except ValueError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    if fmt not in exports.FORMATS:
        return HttpResponse(
            _("Unknown format."), status=400, content_type="text/plain; charset=utf-8"
        )
    report = build(sites, period, scope=scope, protected=True, extracted_at=clock.now())
    body = exports.render(report, fmt)
    _record_export(request, report, fmt)
    response = HttpResponse(body, content_type=exports.FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{exports.filename(report, fmt)}"'
    return response


def _record_export(request, report: Report, fmt: str) -> None:
    """Every export of figures goes to the audit log (who, which sites, which month, format)."""
    from vigil import audit

    audit.record(
        "report.export",
        request=request,
        site=report.sites[0] if len(report.sites) == 1 else None,
        detail=export_detail(report, fmt),
    )


def export_detail(report: Report, fmt: str) -> dict:
    return {
        "sites": [site.pk for site in report.sites],
        "month": f"{report.period.start:%Y-%m}",
        "format": fmt,
    }


@require_GET
@allow(REPORT_ROLES)
def site_monthly(request, site_id: int, month: str, fmt: str):
    site = site_for(request.user, site_id)
    return _download(request, [site], site.name, month, fmt)


@require_GET
@allow(REPORT_ROLES)
def jurisdiction_monthly(request, jurisdiction_id: int, month: str, fmt: str):
    jurisdiction, sites = _jurisdiction_sites(request, jurisdiction_id)
    return _download(request, sites, jurisdiction.name, month, fmt)
