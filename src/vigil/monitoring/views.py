"""One-tap alarm actions from the floor board, and the alarm panel fragment."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from vigil.accounts.middleware import allow, floor_screen
from vigil.accounts.roles import CLINICAL, FLOOR_STAFF
from vigil.lib import clock
from vigil.monitoring import actions
from vigil.monitoring.alarms import OPENS_CARE_RECORD, AlarmError
from vigil.monitoring.labels import OUTCOME
from vigil.monitoring.models import Alarm, AlarmEvent, open_alarms_by_urgency
from vigil.sites.access import site_for, sites_for


def alarm_panel_context(site, now) -> dict:
    return {
        "alarms": open_alarms_by_urgency(site, now),
        "now": now,
        "outcomes": OUTCOME,
        "site": site,
    }


@allow(FLOOR_STAFF)
@floor_screen
@require_GET
def panel(request, site_id: int):
    site = site_for(request.user, site_id)
    return render(request, "monitoring/_alarms.html", alarm_panel_context(site, clock.now()))


def _alarm_for(user, pk: int) -> Alarm:
    return get_object_or_404(Alarm.objects.select_related("site"), pk=pk, site__in=sites_for(user))


def _answer(request, alarm: Alarm, error: str | None = None):
    if request.htmx:
        return HttpResponse(
            error or "", status=409 if error else 204, content_type="text/plain; charset=utf-8"
        )
    if error:
        messages.error(request, error)
    return redirect("floor:board", site_id=alarm.site_id)


def _act(request, pk: int, do):
    alarm = _alarm_for(request.user, pk)
    try:
        do(alarm)
    except AlarmError as exc:
        return _answer(request, alarm, str(exc))
    return _answer(request, alarm)


def _acknowledge(request, alarm: Alarm) -> None:
    screen = getattr(request, "floor_screen", None)
    if screen is None or request.user.pk is not None:
        actions.acknowledge(alarm, request.user)
        return
    # A locked floor screen: "Seen" is attributed to the screen, not to a person.
    actions.acknowledge(alarm, None)
    event = AlarmEvent.objects.filter(alarm=alarm, kind="acknowledged").order_by("-pk").first()
    if event is not None and event.by_id is None and not event.detail:
        event.detail = {"floor_screen": screen.name}
        event.save(update_fields=["detail"])


@allow(FLOOR_STAFF)
@floor_screen  # "Seen" never waits for a PIN: a silence blocked by a PIN screen can cost a life
@require_POST
def acknowledge(request, pk: int):
    return _act(request, pk, lambda alarm: _acknowledge(request, alarm))


@allow(FLOOR_STAFF)
@require_POST
def claim(request, pk: int):
    return _act(request, pk, lambda alarm: actions.claim(alarm, request.user))


@allow(FLOOR_STAFF)
@require_POST
def resolve(request, pk: int):
    outcome = request.POST.get("outcome", "")
    alarm = _alarm_for(request.user, pk)
    try:
        actions.resolve(alarm, outcome, request.user)
    except AlarmError as exc:
        return _answer(request, alarm, str(exc))
    if outcome in OPENS_CARE_RECORD and request.user.has_role(CLINICAL):
        # The responder goes straight on to the event record, prefilled from this alarm.
        record = reverse("care:event-from-alarm", args=[alarm.pk])
        return HttpResponseClientRedirect(record) if request.htmx else redirect(record)
    return _answer(request, alarm)
