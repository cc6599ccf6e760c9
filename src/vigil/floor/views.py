"""The floor board, its live stream, its one-tap actions, and the check-in desk."""

import asyncio
import hashlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
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

from vigil.accounts.middleware import allow, floor_screen
from vigil.accounts.roles import CHECK_IN, FLOOR_STAFF
from vigil.floor import actions
from vigil.floor.actions import FloorError, Intake, floor_topic
from vigil.floor.board import build_board, live_vitals
from vigil.floor.forms import EndVisitForm, IntakeForm
from vigil.floor.models import CheckResult, EndReason, Occupancy, Visit, VisitStatus
from vigil.lib import clock
from vigil.lib.dbthread import keep_connection
from vigil.lib.hub import hub
from vigil.participants import actions as registry
from vigil.participants.forms import RegisterForm
from vigil.participants.models import Participant
from vigil.sites.access import site_for
from vigil.sites.models import Place

# How often an open stream sends live vitals (and re-renders the alarm panel, so re-sounding
# alarms appear on time), the least time between two whole-board renders, how often the board
# is re-rendered with no change (so due checks move on), and how often it sends a heartbeat so
# a screen can tell it is still live.
TICK_SECONDS = 1.0
BOARD_MIN_INTERVAL = 0.5
BOARD_REFRESH_SECONDS = 5.0
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


def _tiles_html(request, site, place_ids: frozenset[int], csrf_value: str) -> str:
    """Only the tiles of `place_ids`, each marked to replace its old self on the screen (an
    out-of-band swap): what a screen needs when only those places' alarms changed."""
    board = build_board(site, clock.now(), only=place_ids)
    context = {
        "board": board,
        "end_reasons": EndReason.choices,
        "CheckResult": CheckResult,
        "csrf_value": csrf_value,
        "oob": True,
    }
    parts = []
    for group in board.groups:
        for tile in group.tiles:
            if tile.place.pk in place_ids:
                context.update(tile=tile, group_kind=group.kind)
                parts.append(render_to_string("floor/_tile.html", context, request=request))
    return "".join(parts)


@dataclass
class _Render:
    html: str
    at: float  # time.monotonic() when rendering started
    cost: float  # seconds it took


class SharedRenders:
    """One render per key per moment, shared by all the screens that ask for it.

    Rendering a large board costs hundreds of milliseconds; done once per screen per second it
    would starve the alarm path. A stream asks for a render no older than the last change it
    heard of; a render already made since then is reused, and an expensive one is redone on
    the timer only as often as a few times its own cost allows.
    """

    def __init__(self, min_age: float) -> None:
        self.min_age = min_age
        self._lock = threading.Lock()
        self._locks: dict[tuple, threading.Lock] = {}
        self._renders: dict[tuple, _Render] = {}

    def shared(self, key: tuple, not_before: float, render) -> str:
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            cached = self._renders.get(key)
            now = time.monotonic()
            if (
                cached
                and cached.at >= not_before
                and now - cached.at < max(self.min_age, 4 * cached.cost)
            ):
                return cached.html
            html = render()
            self._renders[key] = _Render(html=html, at=now, cost=time.monotonic() - now)
        if len(self._renders) > self.KEEP:
            self._forget_old(now)
        return html

    KEEP = 64  # renders kept before old ones are dropped (keys of changed tiles come and go)

    def _forget_old(self, now: float) -> None:
        with self._lock:
            for key, cached in list(self._renders.items()):
                if now - cached.at > 60 and not self._locks[key].locked():
                    del self._renders[key]
                    del self._locks[key]


def _with_token(html: str, request, token: str | None) -> str:
    """A shared render with this screen's CSRF token (default: a freshly masked one) in it."""
    return html.replace(CSRF_PLACEHOLDER, token or get_token(request))


class SharedBoards(SharedRenders):
    """The board of one site for one role (the forms differ by role); each form's CSRF token
    is filled in per screen."""

    def __init__(self) -> None:
        super().__init__(min_age=TICK_SECONDS)

    def get(self, request, site, not_before: float, token: str | None = None) -> str:
        """The board with `token` (default: a fresh one) in its forms. A stream passes the
        same token every time, so an unchanged board is byte for byte the same and is not
        sent again (each `get_token` call masks the token anew)."""
        keep_connection()  # executor threads keep their connection between renders
        html = self.shared(
            (site.pk, getattr(request.user, "role", "")),
            not_before,
            lambda: _board_html(request, site, CSRF_PLACEHOLDER),
        )
        return _with_token(html, request, token)

    def tiles(
        self, request, site, place_ids: frozenset[int], not_before: float, token: str | None = None
    ) -> str:
        keep_connection()
        html = self.shared(
            (site.pk, getattr(request.user, "role", ""), place_ids),
            not_before,
            lambda: _tiles_html(request, site, place_ids, CSRF_PLACEHOLDER),
        )
        return _with_token(html, request, token)


class SharedVitals(SharedRenders):
    """The `vitals` event of one site: the same for every role and screen."""

    def __init__(self) -> None:
        super().__init__(min_age=TICK_SECONDS * 0.9)

    def get(self, site) -> str:
        keep_connection()
        return self.shared(
            (site.pk,),
            time.monotonic() - TICK_SECONDS * 0.9,
            lambda: json.dumps(live_vitals(site, clock.now()), separators=(",", ":")),
        )


class SharedPanels(SharedRenders):
    """The alarm panel of one site: the same for every role and screen but for each form's
    CSRF token. After an alarm changes, the first screen renders it and the others take that
    render; on the tick, one render a second serves every screen."""

    def __init__(self) -> None:
        super().__init__(min_age=TICK_SECONDS * 0.9)

    def get(self, request, site, not_before: float, token: str | None = None) -> str:
        keep_connection()
        html = self.shared(
            (site.pk,), not_before, lambda: _alarms_html(request, site, CSRF_PLACEHOLDER)
        )
        return _with_token(html, request, token)


shared_boards = SharedBoards()
shared_vitals = SharedVitals()
shared_panels = SharedPanels()

# The alarm panel renders on threads of its own: behind a queue of board and tile renders on
# the shared executor, an alarm would wait for every one of them. Boards, tiles and vitals
# (shared among screens, so one render serves them all) get two threads: every CPU-bound
# thread more is one more contender for the interpreter when the alarm path needs it.
PANEL_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="vigil-panel")
RENDER_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="vigil-render")


@allow(FLOOR_STAFF)
@floor_screen
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
@floor_screen
@require_GET
def board_fragment(request, site_id: int):
    site = site_for(request.user, site_id)
    return HttpResponse(_board_html(request, site))


def _sse(event: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {event}\n{lines}\n"


def _alarms_html(request, site, csrf_value: str | None = None) -> str:
    """The alarm panel; a shared render carries a placeholder for each form's CSRF token."""
    from vigil.monitoring.views import alarm_panel_context

    context = alarm_panel_context(site, clock.now())
    if csrf_value is not None:
        context["csrf_token"] = csrf_value  # what {% csrf_token %} writes into each form
    return render_to_string("monitoring/_alarms.html", context, request=request)


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
@floor_screen
async def board_events(request, site_id: int):
    """Server-Sent Events for one site's floor screens.

    - `alarms`: the alarm panel, sent the moment an alarm changes (the life-critical path), and
      re-checked every tick so re-sounding alarms appear on time. It never waits for another
      render: boards, tiles and vitals render in tasks of their own, on other threads;
    - `board`: the whole board, on connect (so a reconnecting screen resynchronises), after
      floor changes (at most every BOARD_MIN_INTERVAL) and every BOARD_REFRESH_SECONDS so
      supervision timers move on;
    - `tiles`: only the tiles whose alarms changed, each replacing its old self (out of band);
    - `vitals`: every occupied place's latest vitals and trend as one small JSON object, each
      second when it changed (live vitals do not cost a whole board);
    - `heartbeat`: so a screen can tell it is still live.
    """
    user = await request.auser()
    site = await sync_to_async(site_for)(user, site_id)
    # Not thread-sensitive: the panel must not queue behind this stream's board render.
    render_board = sync_to_async(shared_boards.get, thread_sensitive=False, executor=RENDER_THREADS)
    render_alarms = sync_to_async(shared_panels.get, thread_sensitive=False, executor=PANEL_THREADS)
    render_vitals = sync_to_async(
        shared_vitals.get, thread_sensitive=False, executor=RENDER_THREADS
    )
    render_tiles = sync_to_async(
        shared_boards.tiles, thread_sensitive=False, executor=RENDER_THREADS
    )

    async def stream():
        from vigil.monitoring.actions import alarm_topic

        subscription = hub.subscribe(floor_topic(site.pk), alarm_topic(site.pk))
        loop = asyncio.get_running_loop()
        token = get_token(request)  # one per stream: unchanged renders stay identical
        sent = _Sent()
        last_beat = last_board = last_tick = 0.0
        board_due = alarms_due = True
        changed_at = 0.0  # when this stream last heard of a change: no older board will do
        alarms_changed_at = 0.0  # the same for the alarm panel
        # Everything but the alarm panel renders in tasks of its own, so the stream is free to
        # render the panel the moment an alarm changes, whatever else is being drawn.
        board_task: asyncio.Future[str] | None = None
        board_started = 0.0
        tiles_task: asyncio.Future[str] | None = None
        tiles_started = 0.0
        tiles_places: frozenset[int] = frozenset()
        vitals_task: asyncio.Future[str] | None = None
        tiles_due: set[int] = set()  # places whose alarms changed: send just their tiles
        tiles_sent_during_board: set[int] = set()  # to send again after an older board lands
        next_event: asyncio.Future[dict] | None = None
        try:
            yield "retry: 1000\n\n"
            while True:
                now = loop.time()
                tick = now - last_tick >= TICK_SECONDS
                if alarms_due or tick:
                    alarms_due = False
                    html = await render_alarms(request, site, alarms_changed_at, token)
                    if sent.changed("alarms", html):
                        yield _sse("alarms", html)
                if board_task is not None and board_task.done():
                    html = board_task.result()
                    board_task = None
                    if sent.changed("board", html):
                        yield _sse("board", html)
                    # The board began before those tiles' change: put them back on top.
                    tiles_due |= tiles_sent_during_board
                    tiles_sent_during_board.clear()
                if tiles_task is not None and tiles_task.done():
                    html = tiles_task.result()
                    tiles_task = None
                    # A board begun after these tiles is newer and brings them itself.
                    if html and board_started <= tiles_started:
                        yield _sse("tiles", html)
                        if board_task is not None:  # an older board, still being drawn
                            tiles_sent_during_board.update(tiles_places)
                if tiles_due and not board_due and tiles_task is None:
                    tiles_places = frozenset(tiles_due)
                    tiles_due.clear()
                    tiles_started = now
                    tiles_task = asyncio.ensure_future(
                        render_tiles(request, site, tiles_places, changed_at, token)
                    )
                if now - last_board >= BOARD_REFRESH_SECONDS:
                    board_due = True
                if board_due and board_task is None and now - last_board >= BOARD_MIN_INTERVAL:
                    board_due = False
                    last_board = board_started = now
                    tiles_due.clear()  # the whole board brings them
                    board_task = asyncio.ensure_future(
                        render_board(request, site, changed_at, token)
                    )
                if vitals_task is not None and vitals_task.done():
                    payload = vitals_task.result()
                    vitals_task = None
                    if sent.changed("vitals", payload):
                        yield _sse("vitals", payload)
                if tick:
                    last_tick = now
                    if vitals_task is None:
                        vitals_task = asyncio.ensure_future(render_vitals(site))
                if now - last_beat >= HEARTBEAT_SECONDS:
                    last_beat = now
                    yield _sse("heartbeat", json.dumps({"at": clock.now().isoformat()}))

                # Sleep until an event, a finished render, or the next timed job.
                wake = min(last_tick + TICK_SECONDS, last_board + BOARD_REFRESH_SECONDS)
                if board_due and board_task is None:
                    wake = min(wake, last_board + BOARD_MIN_INTERVAL)
                if next_event is None:
                    next_event = asyncio.ensure_future(subscription.get())
                waiting = {
                    task
                    for task in (next_event, board_task, tiles_task, vitals_task)
                    if task is not None
                }
                await asyncio.wait(
                    waiting,
                    timeout=max(0.0, wake - loop.time()),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if not next_event.done():
                    continue
                # Everything that queued up meanwhile is one change: render once for the burst.
                events = [next_event.result()]
                next_event = None
                while not subscription.queue.empty():
                    events.append(subscription.queue.get_nowait())
                if any(e.get("type") in ("alarm", "resync") for e in events):
                    alarms_due = True
                    alarms_changed_at = time.monotonic()
                # An alarm changes one tile; anything else (a check-in, a check, a notice, a
                # resync) may change the whole board.
                if all(e.get("type") == "alarm" and e.get("place") for e in events):
                    tiles_due.update(e["place"] for e in events)
                else:
                    board_due = True
                changed_at = time.monotonic()
        finally:
            for pending in (board_task, tiles_task, vitals_task, next_event):
                if pending is not None:
                    pending.cancel()
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
