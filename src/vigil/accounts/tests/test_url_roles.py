"""Every URL × every role, with the expected answer written by hand.

A URL that is not in TABLE fails `test_every_url_is_in_the_table`, so a new page cannot ship
without someone deciding who may open it.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from vigil.accounts.roles import Role
from vigil.floor import actions
from vigil.monitoring import actions as alarm_actions
from vigil.monitoring.rules import Condition
from vigil.sites.models import PlaceKind
from vigil.testing import SiteFactory, StaffFactory, intake, participant

pytestmark = pytest.mark.django_db

ANON = "anonymous"
FD, NU, CM, SM, EV, AD = (
    Role.FRONT_DESK,
    Role.NURSE,
    Role.CASE_MANAGER,
    Role.SITE_MANAGER,
    Role.EVALUATOR,
    Role.ADMINISTRATOR,
)
ROLES = [ANON, FD, NU, CM, SM, EV, AD]

# Expected answers: 200; "go" = a redirect that is not to the login page (the action ran or
# the page sent the person on); "login" = redirected to sign in; 403; 405.
#            method  anon     FD     NU     CM     SM     EV     AD
TABLE = {
    "home":                      ("GET",  ["login", "go", "go", "go", "go", 200, "go"]),
    "healthz":                   ("GET",  [200, 200, 200, 200, 200, 200, 200]),
    "login":                     ("GET",  [200, "go", "go", "go", "go", "go", "go"]),
    "logout":                    ("POST", ["login"] * 7),
    "floor:board":               ("GET",  ["login", 200, 200, 200, 200, 403, 403]),
    "floor:board-fragment":      ("GET",  ["login", 200, 200, 200, 200, 403, 403]),
    "floor:events":              ("GET",  ["login", 200, 200, 200, 200, 403, 403]),
    "floor:assign":              ("POST", ["login", "go", "go", "go", "go", 403, 403]),
    "floor:check":               ("POST", ["login", "go", "go", "go", "go", 403, 403]),
    "floor:aftercare":           ("POST", ["login", "go", "go", "go", "go", 403, 403]),
    "floor:end":                 ("POST", ["login", "go", "go", "go", "go", 403, 403]),
    "floor:desk":                ("GET",  ["login", 200, 200, 403, 200, 403, 403]),
    "floor:register":            ("GET",  ["login", 200, 200, 403, 200, 403, 403]),
    "floor:intake":              ("GET",  ["login", 200, 200, 403, 200, 403, 403]),
    "participants:detail":       ("GET",  ["login", 200, 200, 200, 200, 403, 403]),
    "participants:restrict":     ("POST", ["login", "go", "go", 403, "go", 403, 403]),
    "participants:lift":         ("POST", ["login", "go", "go", 403, "go", 403, 403]),
    "participants:merge":        ("POST", ["login", 403, 403, 403, "go", 403, 403]),
    "monitoring:panel":          ("GET",  ["login", 200, 200, 200, 200, 403, 403]),
    "monitoring:acknowledge":    ("POST", ["login", "go", "go", "go", "go", 403, 403]),
    "monitoring:claim":          ("POST", ["login", "go", "go", "go", "go", 403, 403]),
    "monitoring:resolve":        ("POST", ["login", "go", "go", "go", "go", 403, 403]),
    # --- care: engagement ---
    # Services, supplies, drug checks and notices: everyone on the floor. Referrals and
    # follow-ups: nurse, case manager, site manager (the front desk does not refer: a
    # referral's type is clinical detail). Care lists: site managers. The evaluator and the
    # administrator see none of it: every page names participants by alias.
    "care:services":             ("GET",  ["login", 200, 200, 200, 200, 403, 403]),
    "care:drug-checks":          ("GET",  ["login", 200, 200, 200, 200, 403, 403]),
    "care:drug-check-new":       ("GET",  ["login", 200, 200, 200, 200, 403, 403]),
    "care:drug-check-result":    ("GET",  ["login", 200, 200, 200, 200, 403, 403]),
    "care:notice-dismiss":       ("POST", ["login", "go", "go", "go", "go", 403, 403]),
    "care:settings":             ("GET",  ["login", 403, 403, 403, 200, 403, 403]),
    "care:timeline":             ("GET",  ["login", 200, 200, 200, 200, 403, 403]),
    "care:referrals":            ("GET",  ["login", 403, 200, 200, 200, 403, 403]),
    "care:referral-new":         ("GET",  ["login", 403, 200, 200, 200, 403, 403]),
    "care:referral-detail":      ("GET",  ["login", 403, 200, 200, 200, 403, 403]),
    # The nurse moves the referral to "accepted"; the same step again is refused (400) and
    # changes nothing.
    "care:referral-advance":     ("POST", ["login", 403, "go", 400, 400, 403, 403]),
    "care:direct-to-treatment":  ("POST", ["login", 403, "go", "go", "go", 403, 403]),
    "care:follow-ups":           ("GET",  ["login", 403, 200, 200, 200, 403, 403]),
    # --- care: events ---
    # Overdose and medical event records: nurses and site managers record, amend and sign;
    # case managers read the list and the printable summaries; the front desk, the evaluator
    # and the administrator see none of it. The paper downtime sheets are blank forms with no
    # participant in them, for everyone on the floor.
    "care:event-list":           ("GET",  ["login", 403, 200, 200, 200, 403, 403]),
    "care:event-new":            ("GET",  ["login", 403, 200, 403, 200, 403, 403]),
    "care:event-from-alarm":     ("GET",  ["login", 403, 200, 403, 200, 403, 403]),
    "care:event-detail":         ("GET",  ["login", 403, 200, 403, 200, 403, 403]),
    "care:event-amend":          ("GET",  ["login", 403, 200, 403, 200, 403, 403]),
    "care:event-print":          ("GET",  ["login", 403, 200, 200, 200, 403, 403]),
    "care:downtime-floor":       ("GET",  ["login", 200, 200, 200, 200, 403, 403]),
    "care:downtime-overdose":    ("GET",  ["login", 200, 200, 200, 200, 403, 403]),
    # --- reports ---
    # Dashboards and monthly reports: site managers (raw counts on screen for their own sites)
    # and evaluators (small counts hidden); every download and every roll-up is protected.
    # Nobody else: the floor has its own board, the administrator manages accounts.
    "reports:index":                ("GET",  ["login", 403, 403, 403, 200, 200, 403]),
    "reports:site":                 ("GET",  ["login", 403, 403, 403, 200, 200, 403]),
    "reports:jurisdiction":         ("GET",  ["login", 403, 403, 403, 200, 200, 403]),
    "reports:site-monthly":         ("GET",  ["login", 403, 403, 403, 200, 200, 403]),
    "reports:jurisdiction-monthly": ("GET",  ["login", 403, 403, 403, 200, 200, 403]),
    # --- audit ---
    # Who opened a participant's record: site managers only (the administrator manages
    # accounts, not people; the evaluator never sees a participant).
    "audit:participant":         ("GET",  ["login", 403, 403, 403, 200, 403, 403]),
    # --- research: the evaluation studies (docs/research.md) ---
    # Evaluators, and site managers (who answer for the sites' figures), for the records of
    # the sites they work at; every figure is protected against small counts and no page
    # names a participant. Nobody else: the floor has no use for it, and the administrator
    # manages accounts, not people. Running a study (the demo, over the records, or of an
    # uploaded deaths CSV) redirects to its report ("go"); the de-identified export first asks
    # for the password and code again (@recent_auth: "go").
    "research:studies":          ("GET",  ["login", 403, 403, 403, 200, 200, 403]),
    "research:run-demo":         ("POST", ["login", 403, 403, 403, "go", "go", 403]),
    "research:run-records":      ("POST", ["login", 403, 403, 403, "go", "go", 403]),
    "research:run-upload":       ("POST", ["login", 403, 403, 403, "go", "go", 403]),
    "research:export":           ("GET",  ["login", 403, 403, 403, "go", "go", 403]),
    "research:run":              ("GET",  ["login", 403, 403, 403, 200, 200, 403]),
    "research:run-html":         ("GET",  ["login", 403, 403, 403, 200, 200, 403]),
    "research:run-pdf":          ("GET",  ["login", 403, 403, 403, 200, 200, 403]),
    "research:run-json":         ("GET",  ["login", 403, 403, 403, 200, 200, 403]),
    # --- accounts: sign-in steps, one's own account, floor screens (docs/sign-in.md) ---
    # The code and enrolment pages send a verified session on ("go"). Everyone has an account
    # page (PIN, backup codes) and re-authenticates there; the evaluator has no second factor,
    # so no backup codes. Site managers (and administrators) register and revoke floor
    # screens. Unlock and lock are for floor screens only: a personal session gets 403
    # (test_floor_screens_open_only_their_own_pages below has a locked screen's answers).
    "two-factor":                ("GET",  ["login", "go", "go", "go", "go", "go", "go"]),
    "two-factor-enrol":          ("GET",  ["login", "go", "go", "go", "go", "go", "go"]),
    "account":                   ("GET",  ["login", 200, 200, 200, 200, 200, 200]),
    "account-pin":               ("POST", ["login", "go", "go", "go", "go", "go", "go"]),
    "backup-codes":              ("POST", ["login", 200, 200, 200, 200, 403, 200]),
    "reauth":                    ("GET",  ["login", 200, 200, 200, 200, 200, 200]),
    "screens":                   ("GET",  ["login", 403, 403, 403, 200, 403, 200]),
    "screen-register":           ("GET",  ["login", 403, 403, 403, 200, 403, 200]),
    "screen-revoke":             ("POST", ["login", 403, 403, 403, "go", 403, "go"]),
    "screen-unlock":             ("GET",  ["login", 403, 403, 403, 403, 403, 403]),
    "screen-lock":               ("POST", ["login", 403, 403, 403, 403, 403, 403]),
    # The JSON API takes bearer tokens only (api/tests/ has the token cases): a browser session,
    # however privileged, gets 401. Its schema and docs are public.
    "api:ingest":                ("POST", [401] * 7),
    "api:places":                ("GET",  [401] * 7),
    "api:alarms":                ("GET",  [401] * 7),
    "api:acknowledge":           ("POST", [401] * 7),
    "api:claim":                 ("POST", [401] * 7),
    "api:openapi-json":          ("GET",  [200] * 7),
    "api:openapi-view":          ("GET",  [200] * 7),
    "api:api-root":              ("GET",  [404] * 7),
    # The Django admin is for administrators only; every admin URL follows admin:index.
    "admin:*":                   ("GET",  ["login", 403, 403, 403, 403, 403, 200]),
}  # fmt: skip


def all_url_names(resolver=None, namespace="") -> set[str]:
    resolver = resolver or get_resolver()
    names = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= all_url_names(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(namespace + pattern.name)
    return names


def test_every_url_is_in_the_table():
    missing = {n for n in all_url_names() if n not in TABLE and not n.startswith("admin:")}
    assert not missing, f"URLs with no row in the URL × role table: {sorted(missing)}"
    stale = {n for n in TABLE if n != "admin:*" and n not in all_url_names()}
    assert not stale, f"rows for URLs that no longer exist: {sorted(stale)}"


@pytest.fixture
def world():
    """A site with someone waiting, someone in a booth, and a restriction to lift."""
    site = SiteFactory(places={PlaceKind.BOOTH: 3, PlaceKind.AFTERCARE: 2})
    staff = {role: StaffFactory(role=role, sites=[site]) for role in Role if role != AD}
    staff[AD] = StaffFactory(role=AD, is_staff=True, is_superuser=True)
    nurse = staff[NU]
    waiting = actions.check_in(
        site=site, participant=participant(site, alias="Waiter"), intake=intake(), by=nurse
    )
    booth = site.places.get(label="B1")
    seated = actions.check_in(
        site=site,
        participant=participant(site, alias="Seated"),
        intake=intake(),
        by=nurse,
        place=booth,
    )
    person = seated.participant
    restriction = person.restrictions.model.objects.create(
        participant=person,
        site=site,
        reason="other",
        ends_at=seated.checked_in_at.replace(year=2099),
        created_by=nurse,
    )
    other = participant(site, alias="Other")
    alarm, _ = alarm_actions.raise_alarm(
        place=booth, kind=Condition.SPO2_CRITICAL, at=seated.checked_in_at
    )
    free = site.places.get(label="B2")
    seat = site.places.get(label="A1")
    args = {
        "floor:board": ({"site_id": site.pk}, {}),
        "floor:board-fragment": ({"site_id": site.pk}, {}),
        "floor:events": ({"site_id": site.pk}, {}),
        "floor:assign": ({"site_id": site.pk}, {"visit": waiting.pk, "place": free.pk}),
        "floor:check": (
            {"site_id": site.pk},
            {"occupancy": seated.occupancies.get().pk, "result": "ok"},
        ),
        "floor:aftercare": ({"site_id": site.pk}, {"visit": seated.pk, "place": seat.pk}),
        "floor:end": ({"site_id": site.pk}, {"visit": waiting.pk, "reason": "left_waiting"}),
        "floor:desk": ({"site_id": site.pk}, {}),
        "floor:register": ({"site_id": site.pk}, {}),
        "floor:intake": ({"site_id": site.pk, "participant_id": other.pk}, {}),
        "participants:detail": ({"pk": person.pk}, {}),
        "participants:restrict": (
            {"pk": person.pk},
            {"reason": "other", "hours": 1, "all_sites": "on"},
        ),
        "participants:lift": ({"pk": person.pk, "restriction_id": restriction.pk}, {}),
        "participants:merge": ({"pk": person.pk}, {"other": "Nobody"}),
        "monitoring:panel": ({"site_id": site.pk}, {}),
        "monitoring:acknowledge": ({"pk": alarm.pk}, {}),
        "monitoring:claim": ({"pk": alarm.pk}, {}),
        "monitoring:resolve": ({"pk": alarm.pk}, {"outcome": "person_okay"}),
        "api:places": ({"site_id": site.pk}, {}),
        "api:alarms": ({"site_id": site.pk}, {}),
        "api:acknowledge": ({"alarm_id": alarm.pk}, {}),
        "api:claim": ({"alarm_id": alarm.pk}, {}),
    }
    from vigil.care.tests.test_engagement_roles import engagement_args

    args.update(engagement_args(site, staff))
    from vigil.care.tests.test_event_roles import event_args

    args.update(event_args(site, staff))
    from vigil.reports.tests.test_report_views import report_args

    args.update(report_args(site))
    from vigil.audit.tests.test_access_log_page import audit_args

    args.update(audit_args(site, staff))
    from vigil.research.tests.test_study_pages import research_args

    args.update(research_args(site, staff))
    args.update(screen_args(site, staff))
    return staff, args


def outcome(response) -> object:
    if response.status_code == 302:
        return "login" if "/login/" in response["Location"] else "go"
    return response.status_code


@pytest.mark.parametrize("name", sorted(TABLE))
def test_url_answers_each_role_as_the_table_says(client, world, name):
    from django.urls import reverse

    staff, args = world
    method, expected = TABLE[name]
    url_name = "admin:index" if name == "admin:*" else name
    kwargs, data = args.get(url_name, ({}, {}))
    url = reverse(url_name, kwargs=kwargs)
    seen = []
    for role in ROLES:
        client.logout()
        if role != ANON:
            client.force_login(staff[role])
        response = client.post(url, data) if method == "POST" else client.get(url)
        seen.append(outcome(response))
    assert dict(zip(ROLES, seen, strict=True)) == dict(zip(ROLES, expected, strict=True))


def test_every_admin_page_is_for_administrators_only(client, world):
    from django.urls import reverse

    staff, _ = world
    pages = ["admin:index", "admin:sites_site_changelist", "admin:accounts_staff_changelist"]
    for role, member in staff.items():
        client.force_login(member)
        for page in pages:
            status = client.get(reverse(page)).status_code
            assert status == (200 if role == AD else 403), (role, page, status)


def test_staff_of_another_site_see_nothing_of_this_one(client, world):
    from django.urls import reverse

    staff, args = world
    neighbour = StaffFactory(role=NU, sites=[SiteFactory()])  # same jurisdiction, other site
    client.force_login(neighbour)
    for name in ("floor:board", "floor:desk", "floor:events"):
        kwargs, _ = args[name]
        assert client.get(reverse(name, kwargs=kwargs)).status_code == 404, name
    # One registry per jurisdiction: a neighbouring site's nurse may open the person's page,
    # since the same person visits both; another jurisdiction's staff may not.
    assert (
        client.get(
            reverse("participants:detail", kwargs=args["participants:detail"][0])
        ).status_code
        == 200
    )
    stranger = StaffFactory(role=NU, sites=[SiteFactory(jurisdiction__name="Elsewhere")])
    client.force_login(stranger)
    assert (
        client.get(
            reverse("participants:detail", kwargs=args["participants:detail"][0])
        ).status_code
        == 404
    )


# --- accounts: second factor and floor screens ---------------------------------------------


def screen_args(site, staff):
    from vigil.accounts.actions import register_screen

    screen, _ = register_screen(site=site, name="Wall", by=staff[SM])
    return {
        "account-pin": ({}, {"pin": "4826", "again": "4826"}),
        "screen-revoke": ({"pk": screen.pk}, {}),
    }


def _request(client, name, args):
    from django.urls import reverse

    method, _ = TABLE[name]
    kwargs, data = args.get(name, ({}, {}))
    url = reverse(name, kwargs=kwargs)
    return client.post(url, data) if method == "POST" else client.get(url)


def test_a_password_alone_opens_nothing_of_a_participant(client, world):
    """Each role that needs a second factor, signed in with its password only, is sent to the
    code page by every page its role may open, and is shown nothing of a participant."""
    from vigil.accounts.twofactor import TWO_FACTOR_ROLES
    from vigil.testing import password_only_login, totp_device

    staff, args = world
    for role in TWO_FACTOR_ROLES:
        totp_device(staff[role])
        column = ROLES.index(role)
        for name, (_, expected) in TABLE.items():
            if name in ("admin:*", "two-factor", "two-factor-enrol", "logout", "login"):
                continue
            if expected[column] not in (200, "go"):
                continue
            if name.startswith("api:") or name == "healthz":
                continue
            client.logout()
            password_only_login(client, staff[role])
            response = _request(client, name, args)
            assert response.status_code == 302, (role, name, response.status_code)
            assert response.url.startswith("/login/code"), (role, name, response.url)
            assert b"Seated" not in response.content and b"Waiter" not in response.content


# What a locked floor screen may open; everything else sends it to the PIN page or is refused.
SCREEN_OPENS = {
    "healthz",
    "home",  # sends the screen to its board
    "login",
    "floor:board",
    "floor:board-fragment",
    "floor:events",
    "monitoring:panel",
    "monitoring:acknowledge",  # "Seen" never waits for a PIN
    "screen-unlock",
    "screen-lock",
    "api:openapi-json",
    "api:openapi-view",
}


def test_floor_screens_open_only_their_own_pages(client, world):
    from vigil.testing import floor_screen

    staff, args = world
    site = staff[NU].sites.get()
    floor_screen(client, site)
    for name in sorted(TABLE):
        if name == "admin:*" or name.startswith("api:") and name not in SCREEN_OPENS:
            continue
        response = _request(client, name, args)
        status = response.status_code
        if name == "logout":
            # Signs no one out (the screen has no session): the screen stays, as the pages
            # after this one in the loop show.
            assert status == 302 and response.url == "/login/", status
        elif name in SCREEN_OPENS:
            assert status in (200, 204) or status == 302 and "/login/" not in response.url, name
        else:
            pin = status == 302 and response.url.startswith("/screen/unlock")
            assert pin or status in (403, 404), (name, status)
