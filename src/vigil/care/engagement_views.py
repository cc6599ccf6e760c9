"""Engagement pages: services and supplies (the quick-add), drug checks and floor notices,
referrals and follow-ups, a site's care lists, and a participant's timeline.

Who sees what (docs/data-dictionary.md, "Who sees what"):
- services, supplies, drug checks, floor notices, the timeline: everyone who works the floor;
  the front desk sees no clinical detail (medical events, health services and referrals appear
  without what they were);
- referrals and follow-ups: nurses, case managers, site managers. The front desk does not make
  referrals: the referral's type is clinical detail, and a peer worker hands over to a case
  manager or nurse, who is on the floor;
- a site's care lists: site managers;
- evaluators and administrators: none of these pages (they show participants by alias).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib import messages
from django.db.models import Count, Q, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from vigil.accounts.middleware import allow
from vigil.accounts.roles import FLOOR_STAFF, Role
from vigil.audit import record
from vigil.care import engagement_actions as actions
from vigil.care import referral_path
from vigil.care.engagement_actions import CareError, Given, label_for, substance_label
from vigil.care.engagement_forms import (
    AdvanceForm,
    CareSettingsForm,
    DirectToTreatmentForm,
    DrugCheckForm,
    DrugCheckResultForm,
    GiveForm,
    ReferralForm,
    list_text,
)
from vigil.care.lists import services_for, supplies_for
from vigil.care.models import (
    TREATMENT_KINDS,
    CareSettings,
    DrugCheck,
    FloorNotice,
    MedicalEvent,
    Referral,
    ReferralStatus,
    ReferralStep,
    ServiceGiven,
    Sign,
    SupplyGiven,
)
from vigil.floor.models import Visit, VisitStatus
from vigil.lib import clock
from vigil.participants.models import Participant
from vigil.sites.access import site_for, sites_for
from vigil.sites.models import Site

REFERRALS = frozenset({Role.NURSE, Role.CASE_MANAGER, Role.SITE_MANAGER})
SETTINGS = frozenset({Role.SITE_MANAGER})
# Services the front desk may see by name; any other (and any a site adds) is a health service.
NON_CLINICAL_SERVICES = frozenset({"basic_needs", "naloxone_training"})
TIMELINE_ROWS = 60
FOLLOW_UPS_SHOWN = 200


def sees_clinical(user) -> bool:
    return user.role != Role.FRONT_DESK


def can_refer(user) -> bool:
    return user.has_role(REFERRALS)


def _next_url(request, default: str) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return default


def _render(request, tz, template: str, context: dict, status: int = 200):
    """Times on these pages are the site's local times, as staff read them on the wall clock."""
    with timezone.override(tz):
        return render(request, template, context, status=status)


def _local_midnight(site, now: datetime) -> datetime:
    local = now.astimezone(site.tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _service_label(code: str, labels: dict[str, str], clinical: bool) -> str:
    if not clinical and code not in NON_CLINICAL_SERVICES:
        return _("Health service")
    return labels.get(code) or label_for(code, ())


def _my_sites(user):
    return sites_for(user).select_related("care_settings")


def _participant_for(user, pk: int) -> Participant:
    jurisdictions = {s.jurisdiction_id for s in sites_for(user)}
    return get_object_or_404(
        Participant.objects.select_related("merged_into", "jurisdiction"),
        pk=pk,
        jurisdiction__in=jurisdictions,
    )


def _same_person(participant: Participant, prefix: str = "participant") -> Q:
    """The person and any record merged into them (care records are not moved on a merge)."""
    return Q(**{prefix: participant}) | Q(**{f"{prefix}__merged_into": participant})


# --- Services and supplies: the quick-add -----------------------------------------------------


def _who(request, site: Site) -> tuple[Visit | None, Participant | None]:
    data = request.POST if request.method == "POST" else request.GET
    visit_id, participant_id = data.get("visit"), data.get("participant")
    if visit_id:
        visit = get_object_or_404(
            Visit.objects.select_related("participant"), pk=visit_id, site=site
        )
        return visit, visit.participant
    if participant_id:
        person = get_object_or_404(
            Participant.objects.select_related("merged_into"),
            pk=participant_id,
            jurisdiction=site.jurisdiction,
        )
        person = person.merged_into or person
        open_visit = (
            Visit.objects.filter(site=site, participant=person)
            .exclude(status=VisitStatus.ENDED)
            .first()
        )
        return open_visit, person
    return None, None


def _today_at(site: Site, now: datetime, clinical: bool) -> dict:
    since = _local_midnight(site, now)
    services = dict(services_for(site))
    supplies = dict(supplies_for(site))
    service_totals = [
        (_service_label(row["service"], services, clinical), row["n"])
        for row in ServiceGiven.objects.filter(site=site, at__gte=since)
        .values("service")
        .annotate(n=Count("id"))
        .order_by("-n", "service")
    ]
    given, returned = [], 0
    for row in (
        SupplyGiven.objects.filter(site=site, at__gte=since)
        .values("item", "returned")
        .annotate(n=Sum("quantity"))
        .order_by("-n", "item")
    ):
        if row["returned"]:
            returned += row["n"]
        else:
            given.append((label_for(row["item"], supplies.items()), row["n"]))
    recent = _given_entries(
        list(
            ServiceGiven.objects.filter(site=site, at__gte=since)
            .select_related("participant")
            .order_by("-at", "-pk")[:40]
        ),
        list(
            SupplyGiven.objects.filter(site=site, at__gte=since)
            .select_related("participant")
            .order_by("-at", "-pk")[:40]
        ),
        {site.pk: services},
        {site.pk: supplies},
        clinical,
    )
    return {
        "service_totals": service_totals,
        "supply_totals": given,
        "returned_total": returned,
        "recent": recent[:20],
    }


@allow(FLOOR_STAFF)
def services(request, site_id: int):
    """Services and supplies for one person (from a floor tile or the desk), or for someone
    not registered, with what this site gave out today."""
    site = site_for(request.user, site_id)
    visit, participant = _who(request, site)
    back = _next_url(request, reverse("care:services", args=[site.pk]))
    form = GiveForm(
        request.POST if request.method == "POST" else None,
        services=services_for(site),
        supplies=supplies_for(site),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.record_given(
                site=site,
                by=request.user,
                given=Given(
                    services=tuple(data["services"]),
                    supplies=data["supplies"],
                    returned=data["returned"],
                    visit=visit,
                    participant=participant,
                ),
            )
        except CareError as exc:
            form.add_error(None, str(exc))
        else:
            who = participant.alias if participant else _("someone not registered")
            messages.success(request, _("Recorded for %(who)s.") % {"who": who})
            return redirect(back)
    clinical = sees_clinical(request.user)
    context = {
        "site": site,
        "visit": visit,
        "participant": participant,
        "form": form,
        "next": back,
        "today": _today_at(site, clock.now(), clinical),
        "can_refer": can_refer(request.user),
        "treatments": actions.TREATMENT_CHOICES,
    }
    status = 400 if request.method == "POST" else 200
    return _render(request, site.tz, "care/engagement/services.html", context, status)


# --- Drug checks and floor notices -----------------------------------------------------------


def _check_rows(checks) -> list[dict]:
    return [
        {
            "check": c,
            "expected": [substance_label(s) for s in c.expected],
            "found": [substance_label(s) for s in c.found],
            "unexpected": set(c.unexpected_potent),
        }
        for c in checks
    ]


@allow(FLOOR_STAFF)
@require_GET
def drug_checks(request, site_id: int):
    site = site_for(request.user, site_id)
    now = clock.now()
    checks = (
        DrugCheck.objects.filter(site=site)
        .select_related("visit__participant", "by")
        .order_by("-result_pending", "-checked_at")[:100]
    )
    notices = FloorNotice.objects.filter(
        site=site, dismissed_at__isnull=True, expires_at__gt=now
    ).order_by("-posted_at")
    settings = CareSettings.objects.filter(site=site).first()
    context = {
        "site": site,
        "rows": _check_rows(checks),
        "notices": notices,
        "notify": settings.notify_unexpected if settings else True,
        "potent": [substance_label(s) for s in actions.potent_for(site)],
    }
    return _render(request, site.tz, "care/engagement/drug_checks.html", context)


def _open_visits(site):
    return (
        Visit.objects.filter(site=site)
        .exclude(status=VisitStatus.ENDED)
        .select_related("participant")
        .order_by("participant__alias")
    )


@allow(FLOOR_STAFF)
def drug_check_new(request, site_id: int):
    site = site_for(request.user, site_id)
    visits = list(_open_visits(site))
    if request.method == "POST":
        form = DrugCheckForm(request.POST, visits=visits)
        if form.is_valid():
            data = form.cleaned_data
            visit = next((v for v in visits if str(v.pk) == data["visit"]), None)
            try:
                check = actions.record_drug_check(
                    site=site,
                    by=request.user,
                    sample_code=data["sample_code"],
                    method=data["method"],
                    expected=data["expected_codes"],
                    found=data["found_codes"],
                    result_pending=data["result_pending"],
                    visit=visit,
                )
            except CareError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request, _("Sample %(code)s recorded.") % {"code": check.sample_code}
                )
                if (
                    check.unexpected_potent
                    and FloorNotice.objects.filter(drug_check=check).exists()
                ):
                    messages.warning(request, _("A notice went to every floor screen."))
                return redirect(_next_url(request, reverse("care:drug-checks", args=[site.pk])))
    else:
        form = DrugCheckForm(
            visits=visits,
            initial={
                "sample_code": actions.next_sample_code(site),
                "visit": request.GET.get("visit", ""),
                "method": "test_strip",
            },
        )
    status = 400 if request.method == "POST" else 200
    context = {"site": site, "form": form, "next": request.GET.get("next", "")}
    return _render(request, site.tz, "care/engagement/drug_check_form.html", context, status)


@allow(FLOOR_STAFF)
def drug_check_result(request, site_id: int, pk: int):
    site = site_for(request.user, site_id)
    check = get_object_or_404(DrugCheck, pk=pk, site=site)
    if not check.result_pending:
        messages.info(request, _("Sample %(code)s already has its result.") % {"code": check})
        return redirect("care:drug-checks", site_id=site.pk)
    form = DrugCheckResultForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            check = actions.record_drug_check_result(
                check=check, found=form.cleaned_data["found_codes"], by=request.user
            )
        except CareError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Result of %(code)s recorded.") % {"code": check})
            return redirect("care:drug-checks", site_id=site.pk)
    status = 400 if request.method == "POST" else 200
    context = {
        "site": site,
        "check": check,
        "expected": [substance_label(s) for s in check.expected],
        "form": form,
    }
    return _render(request, site.tz, "care/engagement/drug_check_result.html", context, status)


@allow(FLOOR_STAFF)
@require_POST
def notice_dismiss(request, site_id: int, pk: int):
    site = site_for(request.user, site_id)
    notice = get_object_or_404(FloorNotice, pk=pk, site=site)
    try:
        actions.dismiss_notice(notice=notice, by=request.user)
    except CareError as exc:
        if not request.htmx:
            messages.info(request, str(exc))
    if request.htmx:
        # The board fragment, so the screen that tapped sees the notice go at once.
        return redirect("floor:board-fragment", site_id=site.pk)
    return redirect(_next_url(request, reverse("floor:board", args=[site.pk])))


# --- A site's care lists -----------------------------------------------------------------------


@allow(SETTINGS)
def care_settings(request, site_id: int):
    site = site_for(request.user, site_id)
    stored = CareSettings.objects.filter(site=site).first()
    if request.method == "POST":
        form = CareSettingsForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.save_care_settings(
                    site=site,
                    services=data["services"],
                    supplies=data["supplies"],
                    potent=data["potent"],
                    notify=data["notify"],
                    by=request.user,
                )
            except CareError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("The lists of %(site)s are saved.") % {"site": site})
                return redirect("care:settings", site_id=site.pk)
    else:
        form = CareSettingsForm(
            initial={
                "services": list_text(services_for(site)),
                "supplies": list_text(supplies_for(site)),
                "potent": "\n".join(actions.potent_for(site)),
                "notify": stored.notify_unexpected if stored else True,
            }
        )
    status = 400 if request.method == "POST" else 200
    return _render(
        request, site.tz, "care/engagement/settings.html", {"site": site, "form": form}, status
    )


# --- Referrals and follow-ups ------------------------------------------------------------------


def _referral_for(user, pk: int) -> Referral:
    return get_object_or_404(
        Referral.objects.select_related("participant", "site", "referred_by", "visit"),
        pk=pk,
        site__in=sites_for(user),
    )


def _referral_sites(user, participant: Participant) -> list[Site]:
    return list(sites_for(user).filter(jurisdiction=participant.jurisdiction))


def _path(referral: Referral) -> list[tuple[str, datetime | None, bool]]:
    """The referral's path as (step, when, reached), for the little path diagram."""
    steps = [ReferralStatus.REFERRED, ReferralStatus.ACCEPTED, ReferralStatus.ATTENDED]
    if referral.kind in TREATMENT_KINDS:
        steps.append(ReferralStatus.ENTERED_TREATMENT)
    path: list[tuple[str, datetime | None, bool]] = []
    for status in steps:
        when = getattr(referral, referral_path.STAMP[status])
        path.append((str(status.label), when, when is not None))
    if referral.status in (ReferralStatus.DECLINED, ReferralStatus.LOST):
        path.append((referral.get_status_display(), referral.closed_at, True))
    return path


@allow(REFERRALS)
@require_GET
def referrals(request, pk: int):
    participant = _participant_for(request.user, pk)
    if participant.merged_into_id:
        return redirect("care:referrals", pk=participant.merged_into_id)
    sites = _referral_sites(request.user, participant)
    record("referrals.open", request=request, subject=participant)
    rows = list(
        Referral.objects.filter(_same_person(participant), site__in=sites)
        .select_related("site", "referred_by")
        .order_by("-referred_at")[:100]
    )
    open_visit = (
        Visit.objects.filter(participant=participant, site__in=sites)
        .exclude(status=VisitStatus.ENDED)
        .select_related("site")
        .first()
    )
    context = {
        "participant": participant,
        "rows": [(r, _path(r), referral_path.is_open(r.status, r.kind)) for r in rows],
        "open_visit": open_visit,
        "direct_site": open_visit.site if open_visit else (sites[0] if sites else None),
        "treatments": actions.TREATMENT_CHOICES,
    }
    tz = sites[0].tz if sites else timezone.get_current_timezone()
    return _render(request, tz, "care/engagement/referrals.html", context)


@allow(REFERRALS)
def referral_new(request, pk: int):
    participant = _participant_for(request.user, pk)
    if participant.merged_into_id:
        return redirect("care:referral-new", pk=participant.merged_into_id)
    sites = _referral_sites(request.user, participant)
    if not sites:
        raise Http404("No site of this participant's jurisdiction.")
    open_visit = (
        Visit.objects.filter(participant=participant, site__in=sites)
        .exclude(status=VisitStatus.ENDED)
        .first()
    )
    default_site = next((s for s in sites if open_visit and s.pk == open_visit.site_id), sites[0])
    today = clock.now().astimezone(default_site.tz).date()
    if request.method == "POST":
        form = ReferralForm(request.POST, sites=sites, today=today)
        if form.is_valid():
            data = form.cleaned_data
            site = next(s for s in sites if str(s.pk) == data["site"])
            try:
                referral = actions.make_referral(
                    site=site,
                    participant=participant,
                    by=request.user,
                    kind=data["kind"],
                    where=data["where"],
                    partner=data["partner"],
                    follow_up_due=data["follow_up_due"],
                    note=data["note"],
                )
            except CareError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    _("Referral to %(kind)s recorded for %(alias)s.")
                    % {"kind": referral.get_kind_display(), "alias": participant.alias},
                )
                return redirect("care:referral-detail", pk=referral.pk)
    else:
        form = ReferralForm(sites=sites, today=today, initial={"site": str(default_site.pk)})
    status = 400 if request.method == "POST" else 200
    context = {"participant": participant, "form": form, "one_site": len(sites) == 1}
    return _render(request, default_site.tz, "care/engagement/referral_form.html", context, status)


def _advance_form(referral: Referral, data=None) -> AdvanceForm:
    today = clock.now().astimezone(referral.site.tz).date()
    initial = {
        "at": clock.now().astimezone(referral.site.tz).strftime("%Y-%m-%dT%H:%M"),
        "follow_up_due": referral.follow_up_due
        if referral.follow_up_due and referral.follow_up_due >= today
        else today + timedelta(days=7),
    }
    return AdvanceForm(
        data,
        allowed=referral_path.allowed(referral.status, referral.kind),
        today=today,
        initial=initial,
    )


def _referral_page(request, referral: Referral, form: AdvanceForm, status: int = 200):
    context = {
        "referral": referral,
        "participant": referral.participant,
        "steps": referral.steps.select_related("by"),
        "path": _path(referral),
        "is_open": referral_path.is_open(referral.status, referral.kind),
        "form": form,
        "today": clock.now().astimezone(referral.site.tz).date(),
    }
    return _render(
        request, referral.site.tz, "care/engagement/referral_detail.html", context, status
    )


@allow(REFERRALS)
@require_GET
def referral_detail(request, pk: int):
    referral = _referral_for(request.user, pk)
    record("referral.open", request=request, subject=referral)
    return _referral_page(request, referral, _advance_form(referral))


@allow(REFERRALS)
@require_POST
def referral_advance(request, pk: int):
    referral = _referral_for(request.user, pk)
    form = _advance_form(referral, request.POST)
    with timezone.override(referral.site.tz):  # a typed time is the site's local time
        valid = form.is_valid()
    if valid:
        data = form.cleaned_data
        at = data["at"]
        now = clock.now()
        if at is not None and at <= now < at + timedelta(minutes=1):
            at = now  # the form's "now", left as it was: keep the seconds it lacks
        try:
            referral = actions.advance_referral(
                referral=referral,
                to=data["to"],
                by=request.user,
                at=at,
                note=data["note"],
                follow_up_due=data["follow_up_due"],
            )
        except CareError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("%(kind)s: %(status)s.")
                % {"kind": referral.get_kind_display(), "status": referral.get_status_display()},
            )
            return redirect("care:referral-detail", pk=referral.pk)
    referral.refresh_from_db()
    return _referral_page(request, referral, form, status=400)


@allow(REFERRALS)
@require_POST
def direct_to_treatment(request, pk: int):
    participant = _participant_for(request.user, pk)
    participant = participant.merged_into or participant
    back = _next_url(request, reverse("care:referrals", args=[participant.pk]))
    form = DirectToTreatmentForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, _("Nothing was recorded: %(errors)s") % {"errors": errors})
        return redirect(back)
    data = form.cleaned_data
    site = sites_for(request.user).filter(pk=data["site"]).first()
    if site is None:
        raise Http404("No such site.")
    visit = None
    if data.get("visit"):
        visit = get_object_or_404(Visit, pk=data["visit"], site=site)
    try:
        referral = actions.direct_to_treatment(
            site=site,
            participant=participant,
            by=request.user,
            kind=data["kind"],
            where=data["where"],
            visit=visit,
        )
    except CareError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Recorded: %(alias)s went directly from the room into %(kind)s.")
            % {"alias": participant.alias, "kind": referral.get_kind_display()},
        )
    return redirect(back)


def open_referrals():
    """Referrals still to follow up: not closed, and not a non-treatment referral attended."""
    return Referral.objects.filter(
        Q(status__in=[ReferralStatus.REFERRED, ReferralStatus.ACCEPTED])
        | Q(status=ReferralStatus.ATTENDED, kind__in=list(TREATMENT_KINDS))
    )


@allow(REFERRALS)
@require_GET
def follow_ups(request):
    sites = list(sites_for(request.user))
    mine = request.GET.get("mine") == "1"
    rows = open_referrals().filter(site__in=sites)
    if mine:
        rows = rows.filter(referred_by=request.user)
    total = rows.count()
    tz = sites[0].tz if sites else timezone.get_current_timezone()
    today = clock.now().astimezone(tz).date()
    shown = list(
        rows.select_related("participant", "site", "referred_by").order_by(
            "follow_up_due", "referred_at"
        )[:FOLLOW_UPS_SHOWN]
    )
    # Undated ones last: a referral with no date is easy to forget, but not yet late.
    shown.sort(key=lambda r: (r.follow_up_due is None, r.follow_up_due or today, r.referred_at))
    context = {
        "rows": shown,
        "total": total,
        "mine": mine,
        "today": today,
        "overdue": sum(1 for r in shown if r.follow_up_due and r.follow_up_due < today),
        "many_sites": len(sites) > 1,
    }
    return _render(request, tz, "care/engagement/follow_ups.html", context)


# --- The participant timeline -----------------------------------------------------------------


@dataclass
class Entry:
    at: datetime
    kind: str  # visit, medical, given, referral, drug-check: the CSS class and the legend
    title: str
    lines: list[str] = field(default_factory=list)
    site: Site | None = None
    url: str = ""
    alert: bool = False


@dataclass
class Timeline:
    entries: list[Entry]
    older: datetime | None  # the next page holds what is before this; None: nothing is


def _given_entries(service_rows, supply_rows, service_labels, supply_labels, clinical, sites=None):
    """Services and supplies recorded together (one quick-add) read as one entry."""
    groups: dict[tuple, Entry] = {}
    # Rows come newest first; within one quick-add they read in the order they were recorded.
    for row in reversed(service_rows):
        key = (row.at, row.participant_id, row.visit_id)
        entry = groups.setdefault(key, _given_entry(row, sites))
        entry.lines.append(_service_label(row.service, service_labels[row.site_id], clinical))
    for row in reversed(supply_rows):
        key = (row.at, row.participant_id, row.visit_id)
        entry = groups.setdefault(key, _given_entry(row, sites))
        if row.returned:
            entry.lines.append(_("%(n)d syringes returned") % {"n": row.quantity})
        else:
            label = label_for(row.item, supply_labels[row.site_id].items())
            entry.lines.append(f"{row.quantity} × {label}")
    return sorted(groups.values(), key=lambda e: e.at, reverse=True)


def _given_entry(row, sites) -> Entry:
    who = row.participant.alias if row.participant_id else _("someone not registered")
    return Entry(
        at=row.at,
        kind="given",
        title=_("Services and supplies") if sites else who,
        site=sites.get(row.site_id) if sites else None,
    )


def _visit_entry(visit: Visit, sites) -> Entry:
    lines = [f"{', '.join(visit.substance_labels())} · {visit.get_route_display()}"]
    if visit.ended_at:
        minutes = int((visit.ended_at - visit.checked_in_at).total_seconds() // 60)
        lines.append(
            _("%(how)s, after %(m)d min") % {"how": visit.get_end_reason_display(), "m": minutes}
        )
    else:
        lines.append(visit.get_status_display())
    return Entry(
        at=visit.checked_in_at,
        kind="visit",
        title=_("Visit"),
        lines=lines,
        site=sites.get(visit.site_id),
    )


def _medical_entry(event: MedicalEvent, sites, clinical: bool) -> Entry:
    if not clinical:
        return Entry(
            at=event.started_at,
            kind="medical",
            title=_("Medical event"),
            site=sites.get(event.site_id),
        )
    signs = dict(Sign.choices)
    lines = []
    if event.signs:
        lines.append(", ".join(str(signs.get(s, s)) for s in event.signs))
    for i in event.interventions.all():
        if i.removed_at:
            continue
        text = f"{i.get_kind_display()} {i.at.astimezone(sites[event.site_id].tz):%H:%M}"
        if i.dose_mg:
            text += f" · {i.dose_mg} mg {i.route}"
        lines.append(text)
    if event.ems_called_at:
        lines.append(_("EMS called"))
    if event.outcome:
        lines.append(event.get_outcome_display())
    return Entry(
        at=event.started_at,
        kind="medical",
        title=event.get_kind_display(),
        lines=lines,
        site=sites.get(event.site_id),
        alert=True,
    )


def _step_entry(step: ReferralStep, sites, clinical: bool, linked: bool) -> Entry | None:
    referral = step.referral
    if not clinical:
        if step.status != ReferralStatus.REFERRED:
            return None
        return Entry(
            at=step.at, kind="referral", title=_("Referral"), site=sites.get(referral.site_id)
        )
    if referral.direct_from_room and step.status == ReferralStatus.ENTERED_TREATMENT:
        title = _("Went directly from the room into treatment: %(kind)s") % {
            "kind": referral.get_kind_display()
        }
    elif referral.direct_from_room and step.status == ReferralStatus.REFERRED:
        return None  # the one-tap outcome reads as one entry
    else:
        title = _("%(kind)s — %(status)s") % {
            "kind": referral.get_kind_display(),
            "status": step.get_status_display(),
        }
    lines = []
    if step.status == ReferralStatus.REFERRED or referral.direct_from_room:
        where = referral.get_where_display()
        lines.append(f"{where} · {referral.partner}" if referral.partner else where)
    if step.note:
        lines.append(step.note)
    return Entry(
        at=step.at,
        kind="referral",
        title=title,
        lines=lines,
        site=sites.get(referral.site_id),
        url=reverse("care:referral-detail", args=[referral.pk]) if linked else "",
        alert=step.status == ReferralStatus.ENTERED_TREATMENT,
    )


def _check_entry(check: DrugCheck, sites) -> Entry:
    lines = [check.get_method_display()]
    if check.expected:
        lines.append(
            _("Expected: %(s)s") % {"s": ", ".join(substance_label(s) for s in check.expected)}
        )
    if check.result_pending:
        lines.append(_("Result pending"))
    else:
        found = ", ".join(substance_label(s) for s in check.found) or _("nothing detected")
        lines.append(_("Found: %(s)s") % {"s": found})
    return Entry(
        at=check.checked_at,
        kind="drug-check",
        title=_("Drug check %(code)s") % {"code": check.sample_code},
        lines=lines,
        site=sites.get(check.site_id),
        alert=bool(check.unexpected_potent),
    )


def build_timeline(
    participant: Participant,
    sites: list[Site],
    *,
    clinical: bool,
    linked: bool,
    before: datetime | None = None,
    rows: int = TIMELINE_ROWS,
) -> Timeline:
    """Visits, medical events, services and supplies, referral steps and drug checks of one
    person at `sites`, newest first, in a fixed number of queries (one per kind, plus the
    interventions of medical events for clinical staff).

    Each kind brings at most `rows` rows older than `before`. Where a kind was cut short, older
    entries of other kinds may still be missing, so the page ends at the newest such cut and
    the next page starts there: nothing is skipped and nothing repeats."""
    before = before or clock.now() + timedelta(days=1)
    by_site = {s.pk: s for s in sites}
    person = _same_person(participant)

    def newest(qs, at: str):
        return list(qs.filter(**{f"{at}__lt": before}).order_by(f"-{at}", "-pk")[:rows])

    visits = newest(Visit.objects.filter(person, site__in=sites), "checked_in_at")
    events_qs = MedicalEvent.objects.filter(person, site__in=sites)
    if clinical:
        events_qs = events_qs.prefetch_related("interventions")
    events = newest(events_qs, "started_at")
    services = newest(
        ServiceGiven.objects.filter(person, site__in=sites).select_related("participant"), "at"
    )
    supplies = newest(
        SupplyGiven.objects.filter(person, site__in=sites).select_related("participant"), "at"
    )
    steps = newest(
        ReferralStep.objects.filter(
            _same_person(participant, "referral__participant"), referral__site__in=sites
        ).select_related("referral"),
        "at",
    )
    checks = newest(
        DrugCheck.objects.filter(_same_person(participant, "visit__participant"), site__in=sites),
        "checked_at",
    )

    cut: datetime | None = None
    for found, at in (
        (visits, "checked_in_at"),
        (events, "started_at"),
        (services, "at"),
        (supplies, "at"),
        (steps, "at"),
        (checks, "checked_at"),
    ):
        if len(found) == rows:
            oldest = getattr(found[-1], at)
            cut = oldest if cut is None else max(cut, oldest)

    service_labels = {s.pk: dict(services_for(s)) for s in sites}
    supply_labels = {s.pk: dict(supplies_for(s)) for s in sites}
    entries: list[Entry] = [_visit_entry(v, by_site) for v in visits]
    entries += [_medical_entry(e, by_site, clinical) for e in events]
    entries += _given_entries(services, supplies, service_labels, supply_labels, clinical, by_site)
    entries += [e for s in steps if (e := _step_entry(s, by_site, clinical, linked))]
    entries += [_check_entry(c, by_site) for c in checks]
    if cut is not None:
        # Entries at the cut itself go to the next page too: one of their rows may be missing.
        entries = [e for e in entries if e.at > cut]
    entries.sort(key=lambda e: e.at, reverse=True)
    older = cut + timedelta(microseconds=1) if cut is not None else None
    return Timeline(entries=entries, older=older)


@allow(FLOOR_STAFF)
@require_GET
def timeline(request, pk: int):
    participant = _participant_for(request.user, pk)
    if participant.merged_into_id:
        return redirect("care:timeline", pk=participant.merged_into_id)
    record("timeline.open", request=request, subject=participant)
    sites = list(_my_sites(request.user).filter(jurisdiction=participant.jurisdiction))
    before = None
    if request.GET.get("before"):
        before = parse_datetime(request.GET["before"])
        if before is None or timezone.is_naive(before):
            raise Http404("Not a time.")
    clinical = sees_clinical(request.user)
    result = build_timeline(
        participant, sites, clinical=clinical, linked=can_refer(request.user), before=before
    )
    days: list[tuple[object, list[Entry]]] = []
    tz = sites[0].tz if sites else timezone.get_current_timezone()
    for entry in result.entries:
        day = entry.at.astimezone(tz).date()
        if not days or days[-1][0] != day:
            days.append((day, []))
        days[-1][1].append(entry)
    context = {
        "participant": participant,
        "days": days,
        "older": result.older.isoformat() if result.older else "",
        "clinical": clinical,
        "can_refer": can_refer(request.user),
        "paged": before is not None,
        "many_sites": len(sites) > 1,
    }
    return _render(request, tz, "care/engagement/timeline.html", context)
