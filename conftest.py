"""Shared pytest set-up.

The PostgreSQL leg (VIGIL_DB_LEG=postgres) runs only the tests that touch the database: pure
logic and statistics run once, on the SQLite leg.
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
        (keep if _touches_database(item) else drop).append(item)
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
