"""Web hardening: security headers, the Content Security Policy, no-store, CSRF everywhere, and
the production profile's `vigil check --deploy`."""

import os
import re
import subprocess
import sys

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from vigil.accounts.models import ApiToken
from vigil.accounts.tests.test_url_roles import ROLES, TABLE, world  # noqa: F401 - fixture
from vigil.accounts.tests.test_url_roles import outcome as role_outcome

NU, AD = "nurse", "administrator"


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in header.split(";")) if part
    }


def assert_hardened(response):
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert "'self'" in csp["script-src"]
    for directive, sources in csp.items():
        assert "'unsafe-eval'" not in sources, directive
        assert "'unsafe-inline'" not in sources, directive
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_every_kind_of_page_carries_the_security_headers(client, world):  # noqa: F811
    staff, args = world
    assert_hardened(client.get(reverse("login")))
    client.force_login(staff[NU])
    for name in ("floor:board", "participants:detail", "care:timeline", "monitoring:panel"):
        kwargs, _ = args[name]
        response = client.get(reverse(name, kwargs=kwargs))
        assert response.status_code == 200, name
        assert_hardened(response)
    client.force_login(staff[AD])
    assert_hardened(client.get(reverse("admin:index")))
    client.logout()
    _, token = ApiToken.issue(staff[NU], "headers")
    api = client.get(
        reverse("api:places", kwargs=args["api:places"][0]), HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert api.status_code == 200
    assert "no-store" in api["Cache-Control"]
    assert api["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_script_tags_carry_this_requests_nonce(client, world):  # noqa: F811
    staff, args = world
    client.force_login(staff[NU])
    url = reverse("floor:board", kwargs=args["floor:board"][0])
    nonces = []
    for _ in range(2):
        response = client.get(url)
        sources = policy(response)["script-src"]
        (nonce,) = [s[len("'nonce-") : -1] for s in sources if s.startswith("'nonce-")]
        html = response.content.decode()
        assert f'nonce="{nonce}"' in html
        assert html.count(f'nonce="{nonce}"') >= 2  # htmx and its SSE extension
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def test_static_files_stay_cacheable(client):
    response = client.get("/static/vigil/vigil.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<style|\sstyle\s*=", re.I)


@pytest.mark.django_db
def test_no_page_needs_unsafe_inline(client, world):  # noqa: F811
    """Every page in the URL × role table, opened by the first role that may open it, has no
    inline script, event handler or style the policy would refuse."""
    staff, args = world
    seen = 0
    for name, (method, expected) in sorted(TABLE.items()):
        if method != "GET" or name.startswith("api:") or name in {"floor:events"}:
            continue
        url_name = "admin:index" if name == "admin:*" else name
        role = next((r for r, e in zip(ROLES, expected, strict=True) if e == 200), None)
        if role is None:
            continue
        client.logout()
        if role != "anonymous":
            client.force_login(staff[role])
        response = client.get(reverse(url_name, kwargs=args.get(url_name, ({}, {}))[0]))
        assert role_outcome(response) == 200, name
        assert "no-store" in response["Cache-Control"], name
        if not response["Content-Type"].startswith("text/html") or response.get(
            "Content-Disposition", ""
        ).startswith("attachment"):
            continue  # a download (PDF, spreadsheet, a report file): opened outside the site
        html = response.content.decode()
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER, INLINE_STYLE):
            found = pattern.search(html)
            assert found is None, f"{name}: {html[found.start() : found.start() + 120]!r}"
        seen += 1
    assert seen >= 20


def _views(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _views(pattern, inner)
        elif isinstance(pattern, URLPattern):
            yield namespace + (pattern.name or str(pattern.pattern)), pattern.callback


def test_only_the_token_api_is_exempt_from_csrf():
    """A bearer token is not sent by the browser on its own, so a forged cross-site request
    cannot carry one: the API needs no CSRF token. Everything that takes a session does."""
    exempt = {name for name, view in _views() if getattr(view, "csrf_exempt", False)}
    assert exempt, "the API's views should be found"
    assert all(name.startswith("api:") for name in exempt), sorted(exempt)


@pytest.mark.django_db
def test_a_post_without_its_csrf_token_is_refused(world):  # noqa: F811
    from django.test import Client

    from vigil.floor.models import Visit

    staff, args = world
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff[NU])
    kwargs, data = args["floor:end"]
    response = client.post(reverse("floor:end", kwargs=kwargs), data)
    assert response.status_code == 403
    assert Visit.objects.get(pk=data["visit"]).status != "ended"


def _vigil(env: dict, *args: str, code: str | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "vigil", *args]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIL_", "DJANGO_"))}
    return subprocess.run(
        command, env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


def production_env(tmp_path) -> dict:
    return {
        "VIGIL_PROFILE": "production",
        "VIGIL_DATA_DIR": str(tmp_path / "data"),
        "VIGIL_ALLOWED_HOSTS": "vigil.site.lan",
    }


def test_check_deploy_is_clean_for_the_production_profile(tmp_path):
    result = _vigil(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    # The same check without the profile does warn: the test can fail.
    dev = _vigil({"VIGIL_DATA_DIR": str(tmp_path / "data")}, "check", "--deploy")
    assert "security.W004" in dev.stderr + dev.stdout  # no HSTS


PROBE = """
import django, os
os.environ["DJANGO_SETTINGS_MODULE"] = "vigil.settings"
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
c = Client(HTTP_HOST="vigil.site.lan")
plain = c.get("/login/")
print("plain", plain.status_code, plain.get("Location"))
tls = c.get("/login/", HTTP_X_FORWARDED_PROTO="https", secure=False)
print("tls", tls.status_code, tls.get("Strict-Transport-Security"))
print("cookie", tls.cookies["csrftoken"]["secure"], tls.cookies["csrftoken"]["httponly"])
"""


def test_production_profile_redirects_to_https_and_sets_hsts_and_secure_cookies(tmp_path):
    result = _vigil(production_env(tmp_path), code=PROBE)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.strip().splitlines())
    assert lines["plain"] == "301 https://vigil.site.lan/login/"
    status, hsts = lines["tls"].split(" ", 1)
    assert status == "200" and hsts.startswith("max-age=31536000") and "includeSubDomains" in hsts
    assert lines["cookie"] == "True True"


def test_an_upload_over_the_limit_is_refused_with_the_limit_said(settings):
    from django.core.exceptions import ValidationError
    from django.core.files.uploadedfile import SimpleUploadedFile

    from vigil.lib.http import validate_upload_size

    settings.MAX_UPLOAD_BYTES = 1000
    validate_upload_size(SimpleUploadedFile("study.csv", b"x" * 1000))
    with pytest.raises(ValidationError) as refused:
        validate_upload_size(SimpleUploadedFile("study.csv", b"x" * 2048))
    assert refused.value.messages == [
        "The file is 2.0\xa0KB; the largest accepted is 1000\xa0bytes."
    ]


@pytest.mark.django_db
def test_a_request_body_over_one_mebibyte_is_refused(client, world):  # noqa: F811
    from vigil.monitoring import actions

    _, device_token = actions.add_device(device_id="big-1", with_token=True)
    big = '{"spo2": 97, "pad": "' + "x" * (1024 * 1024) + '"}'
    response = client.post(
        "/api/ingest",
        big,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {device_token}",
    )
    assert response.status_code in (400, 413), response.status_code
