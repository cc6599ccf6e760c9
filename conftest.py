"""Shared pytest set-up.

The PostgreSQL leg (VIGIL_DB_LEG=postgres) runs only the tests that touch the database: pure
logic and statistics run once, on the SQLite leg, and so do tests of SQLite itself
(`sqlite_only`).
"""

import os

import pytest

DB_FIXTURES = {"db", "transactional_db", "vigil_server"}


def _touches_database(item) -> bool:
    if item.get_closest_marker("django_db") or item.get_closest_marker("db_any"):
        return True
    return bool(DB_FIXTURES & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config, items):
    if os.environ.get("VIGIL_DB_LEG") != "postgres":
        return
    keep, drop = [], []
    for item in items:
        wanted = _touches_database(item) and not item.get_closest_marker("sqlite_only")
        (keep if wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(autouse=True)
def _data_dir(tmp_path_factory, monkeypatch):
    """Secrets and files of each test session live in a throw-away data dir."""
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path_factory.getbasetemp() / "data"))


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Argon2 is what ships (see accounts/tests/test_login.py); tests hash thousands of times."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _force_login_is_verified(monkeypatch):
    """`client.force_login(staff)` stands for a finished sign-in: password and, for the roles
    that need it, a second factor from a confirmed TOTP device (vigil.testing.verified_login).
    Tests of the sign-in steps themselves use `password_only_login` or the real forms."""
    from django.test import Client

    def force_login(client, user, backend=None):
        from vigil.testing import verified_login

        verified_login(client, user)

    monkeypatch.setattr(Client, "force_login", force_login)


class _SessionClock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, **delta):
        from datetime import timedelta

        self.now += timedelta(**delta)


@pytest.fixture
def session_clock(monkeypatch):
    """The wall clock of personal sessions, PIN unlocks and re-authentication, set by the test."""
    from django.utils import timezone

    from vigil.accounts import sessions

    clock = _SessionClock(timezone.now())
    monkeypatch.setattr(sessions, "fixed_clock", clock)
    return clock
