"""The floor board, its live stream, its one-tap actions, and the check-in desk."""

import asyncio
import hashlib
import json
import threading
import time
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.http import HttpResponse, StreamingHttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from vigil.accounts.middleware import allow
from vigil.accounts.roles import CHECK_IN, FLOOR_STAFF
from vigil.floor import actions
from vigil.floor.actions import FloorError, Intake, floor_topic
from vigil.floor.board import build_board
from vigil.floor.forms import EndVisitForm, IntakeForm
from vigil.floor.models import CheckResult, EndReason, Occupancy, Visit, VisitStatus
from vigil.lib import clock
from vigil.lib.hub import hub
from vigil.participants import actions as registry
from vigil.participants.forms import RegisterForm
from vigil.participants.models import Participant
from vigil.sites.access import site_for
from vigil.sites.models import Place

# How often an open stream re-renders even without a change (so due checks, live vitals and
# re-sounding alarms appear on time), the least time between two whole-board renders, and how
# often it sends a heartbeat so a screen can tell it is still live.
TICK_SECONDS = 1.0
BOARD_MIN_INTERVAL = 0.5
HEARTBEAT_SECONDS = 10


CSRF_PLACEHOLDER = "__vigil_csrf__"


def _board_html(request, site, csrf_value: str | None = None) -> str:
    """The board for `request`'s role. A shared render carries a placeholder where each form's
    CSRF token goes (a tap that lands before htmx has loaded posts the form itself)."""
    board = build_board(site, clock.now())
    return render_to_string(
        "floor/_board.html",
        {
            "board": board,
            "end_reasons": EndReason.choices,
            "CheckResult": CheckResult,
            "csrf_value": csrf_value if csrf_value is not None else get_token(request),
        },
        request=request,
    )


@dataclass
class _Render:
    html: str
    at: float  # time.monotonic() when rendering started
    cost: float  # seconds it took


class SharedBoards:
    """One render of a site's board per moment, shared by all its screens of one role.

    Rendering a large board costs hundreds of milliseconds; done once per screen per second it
    would starve the alarm path. A stream asks for a board no older than the last change it
    heard of; a render already made since then is reused, and a big board is re-rendered on
    the timer only as often as a few times its own cost allows.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._locks: dict[tuple, threading.Lock] = {}
        self._renders: dict[tuple, _Render] = {}

    def get(self, request, site, not_before: float) -> str:
        key = (site.pk, getattr(request.user, "role", ""))
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            cached = self._renders.get(key)
            now = time.monotonic()
            if (
                cached
                and cached.at >= not_before
                and now - cached.at < max(TICK_SECONDS, 4 * cached.cost)
            ):
                return cached.html.replace(CSRF_PLACEHOLDER, get_token(request))
            html = _board_html(request, site, CSRF_PLACEHOLDER)
            cached = _Render(html=html, at=now, cost=time.monotonic() - now)
            self._renders[key] = cached
        return cached.html.replace(CSRF_PLACEHOLDER, get_token(request))


shared_boards = SharedBoards()


@allow(FLOOR_STAFF)
@require_GET
def board_page(request, site_id: int):
    site = site_for(request.user, site_id)
    return render(
        request,
        "floor/board.html",
        {
            "site": site,
            "board_html": _board_html(request, site),
            "alarms_html": _alarms_html(request, site),
        },
    )


@allow(FLOOR_STAFF)
@require_GET
def board_fragment(request, site_id: int):
    site = site_for(request.user, site_id)
    return HttpResponse(_board_html(request, site))


def _sse(event: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {event}\n{lines}\n"


def _alarms_html(request, site) -> str:
    from vigil.monitoring.views import alarm_panel_context

    return render_to_string(
        "monitoring/_alarms.html", alarm_panel_context(site, clock.now()), request=request
    )


class _Sent:
    """What a stream last sent for one event type, so unchanged renders are not resent."""

    def __init__(self) -> None:
        self.digests: dict[str, str] = {}

    def changed(self, event: str, html: str) -> bool:
        digest = hashlib.sha256(html.encode()).hexdigest()
        if self.digests.get(event) == digest:
            return False
        self.digests[event] = digest
        return True


@allow(FLOOR_STAFF)
async def board_events(request, site_id: int):
    """Server-Sent Events for one site's floor screens.

    - `alarms`: the alarm panel, sent the moment an alarm changes (the life-critical path);
    - `board`: the whole board, on connect (so a reconnecting screen resynchronises), after
      floor changes (at most once a second) and every tick when it differs from what was sent;
    - `heartbeat`: so a screen can tell it is still live.
    """
    user = await request.auser()
    site = await sync_to_async(site_for)(user, site_id)
    render_board = sync_to_async(shared_boards.get)
    render_alarms = sync_to_async(_alarms_html)

    async def stream():
        from vigil.monitoring.actions import alarm_topic

        subscription = hub.subscribe(floor_topic(site.pk), alarm_topic(site.pk))
        loop = asyncio.get_running_loop()
        sent = _Sent()
        last_beat = last_board = 0.0
        board_due = alarms_due = True
        changed_at = 0.0  # when this stream last heard of a change: no older board will do
        try:
            yield "retry: 1000\n\n"
            while True:
                if alarms_due:
                    html = await render_alarms(request, site)
                    if sent.changed("alarms", html):
                        yield _sse("alarms", html)
                    alarms_due = False
                if board_due and loop.time() - last_board >= BOARD_MIN_INTERVAL:
                    html = await render_board(request, site, changed_at)
                    last_board = loop.time()
                    board_due = False
                    if sent.changed("board", html):
                        yield _sse("board", html)
                if loop.time() - last_beat >= HEARTBEAT_SECONDS:
                    last_beat = loop.time()
                    yield _sse("heartbeat", json.dumps({"at": clock.now().isoformat()}))
                wait = TICK_SECONDS
                if board_due:
                    wait = max(0.0, BOARD_MIN_INTERVAL - (loop.time() - last_board))
                try:
                    event = await asyncio.wait_for(subscription.get(), timeout=wait)
                except TimeoutError:
                    board_due = alarms_due = True  # timers move on: re-render, send if changed
                    continue
                # Everything that queued up meanwhile is one change: render once for the burst.
                events = [event]
                while not subscription.queue.empty():
                    events.append(subscription.queue.get_nowait())
                if any(e.get("type") in ("alarm", "resync") for e in events):
                    alarms_due = True
                board_due = True
                changed_at = time.monotonic()
        finally:
            hub.unsubscribe(subscription)

    return StreamingHttpResponse(
        stream(),
        content_type="text/event-stream",
        headers={"Cache-Control": "no-cache, no-store", "X-Accel-Buffering": "no"},
    )


def _after_action(request, site, error: str | None = None, status: int = 200):
    """htmx callers get the fresh board (with the error, if any); plain forms are redirected."""
    if request.htmx:
        html = _board_html(request, site)
        if error:
            notice = render_to_string("floor/_notice.html", {"error": error})
            html = html.replace("<!--notice-->", notice, 1)
        return HttpResponse(html, status=status)
    if error:
        messages.error(request, error)
    return redirect("floor:board", site_id=site.pk)


def _visit(site, pk) -> Visit:
    return get_object_or_404(Visit.objects.select_related("participant"), pk=pk, site=site)


def _place(site, pk) -> Place:
    return get_object_or_404(Place, pk=pk, site=site)


def _floor_action(request, site_id: int, do):
    site = site_for(request.user, site_id)
    try:
        do(site)
    except FloorError as exc:  # PlaceTaken included
        return _after_action(request, site, str(exc), status=409)
    return _after_action(request, site)


@allow(FLOOR_STAFF)
@require_POST
def assign(request, site_id: int):
    def do(site):
        actions.assign_place(
            visit=_visit(site, request.POST.get("visit")),
            place=_place(site, request.POST.get("place")),
            by=request.user,
        )

    return _floor_action(request, site_id, do)


@allow(FLOOR_STAFF)
@require_POST
def check(request, site_id: int):
    def do(site):
        occupancy = get_object_or_404(
            Occupancy.objects.select_related("place"),
            pk=request.POST.get("occupancy"),
            place__site=site,
        )
        actions.record_check(
            occupancy=occupancy, result=request.POST.get("result", ""), by=request.user
        )

    return _floor_action(request, site_id, do)


@allow(FLOOR_STAFF)
@require_POST
def aftercare(request, site_id: int):
    def do(site):
        actions.move_to_aftercare(
            visit=_visit(site, request.POST.get("visit")),
            seat=_place(site, request.POST.get("place")),
            by=request.user,
        )

    return _floor_action(request, site_id, do)


@allow(FLOOR_STAFF)
@require_POST
def end(request, site_id: int):
    def do(site):
        form = EndVisitForm(request.POST)
        if not form.is_valid():
            raise FloorError(_("Choose how the visit ended."))
        actions.end_visit(
            visit=_visit(site, request.POST.get("visit")),
            reason=form.cleaned_data["reason"],
            by=request.user,
        )

    return _floor_action(request, site_id, do)


# --- The desk: find or register a participant, then check them in -------------------------


@allow(CHECK_IN)
@require_GET
def desk(request, site_id: int):
    site = site_for(request.user, site_id)
    query = request.GET.get("q", "").strip()
    found = registry.find(site.jurisdiction, query) if query else []
    open_visits = {
        v.participant_id: v
        for v in Visit.objects.filter(participant__in=found).exclude(status=VisitStatus.ENDED)
    }
    results = [(p, open_visits.get(p.pk)) for p in found]
    template = "floor/_desk_results.html" if request.htmx else "floor/desk.html"
    return render(request, template, {"site": site, "query": query, "results": results})


@allow(CHECK_IN)
def register(request, site_id: int):
    site = site_for(request.user, site_id)
    same_code: list[Participant] = []
    if request.method == "POST":
        form = RegisterForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                participant = registry.register(
                    jurisdiction=site.jurisdiction,
                    items=data["items"],
                    alias=data["alias"],
                    profile=registry.Profile(
                        age_band=data["age_band"],
                        gender=data["gender"],
                        housing=data["housing"],
                        language=data["language"],
                    ),
                    oriented=data["oriented"],
                    site=site,
                    different_person=data["different_person"],
                )
            except registry.SameCodeExists as exc:
                same_code = exc.existing
                form.add_error(None, str(exc))
            except registry.RegistryError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request, _("Registered as %(alias)s.") % {"alias": participant.alias}
                )
                return redirect("floor:intake", site_id=site.pk, participant_id=participant.pk)
    else:
        form = RegisterForm()
    return render(
        request, "floor/register.html", {"site": site, "form": form, "same_code": same_code}
    )


@allow(CHECK_IN)
def intake(request, site_id: int, participant_id: int):
    site = site_for(request.user, site_id)
    participant = get_object_or_404(
        Participant.objects.select_related("merged_into"),
        pk=participant_id,
        jurisdiction=site.jurisdiction,
    )
    if participant.merged_into_id:
        return redirect("floor:intake", site_id=site.pk, participant_id=participant.merged_into_id)
    board = build_board(site, clock.now())
    restrictions = registry.active_restrictions(participant, site)
    free = board.free_use_places
    if request.method == "POST":
        form = IntakeForm(request.POST, free_places=free, waiting=len(board.waiting))
        if form.is_valid():
            data = form.cleaned_data
            place = next((p for p in free if str(p.pk) == data["place"]), None)
            try:
                visit = actions.check_in(
                    site=site,
                    participant=participant,
                    by=request.user,
                    place=place,
                    intake=Intake(
                        substances=data["substances"],
                        route=data["route"],
                        otherwise_location=data["otherwise_location"],
                        otherwise_alone=data["otherwise_alone"],
                        drug_checked=data["drug_checked"],
                    ),
                )
            except FloorError as exc:
                form.add_error(None, str(exc))
            else:
                if visit.status == VisitStatus.WAITING and place is not None:
                    messages.warning(
                        request,
                        _("%(alias)s checked in → the wait list: %(place)s was just taken.")
                        % {"alias": participant.alias, "place": place.label},
                    )
                else:
                    where = place.label if place else _("the wait list")
                    messages.success(
                        request,
                        _("%(alias)s checked in → %(where)s.")
                        % {"alias": participant.alias, "where": where},
                    )
                return redirect(reverse("floor:desk", args=[site.pk]))
    else:
        form = IntakeForm(free_places=free, waiting=len(board.waiting))
    return render(
        request,
        "floor/intake.html",
        {
            "site": site,
            "participant": participant,
            "form": form,
            "restrictions": restrictions,
            "waiting": len(board.waiting),
        },
    )
