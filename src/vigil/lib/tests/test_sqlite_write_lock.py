"""Write transactions of one process queue on a Python lock before SQLite's own (see
vigil/lib/sqlite/base.py): the lock is held exactly while a transaction is open, whatever
ends it, and a writer waiting for it goes on as soon as it is freed."""

import threading

import pytest
from django.db import DatabaseError, connection, transaction

from vigil.lib.sqlite.base import write_lock
from vigil.sites.models import Jurisdiction

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sqlite_only]


def lock():
    return write_lock(connection.settings_dict["NAME"])


def test_the_lock_is_held_inside_a_transaction_and_freed_by_commit():
    assert not lock().locked()
    with transaction.atomic():
        Jurisdiction.objects.create(name="Held")
        assert lock().locked()
        with transaction.atomic():  # a savepoint does not take it again
            assert lock().locked()
    assert not lock().locked()
    assert Jurisdiction.objects.filter(name="Held").exists()


def test_a_rolled_back_transaction_frees_the_lock():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        Jurisdiction.objects.create(name="Gone")
        1 / 0  # noqa: B018
    assert not lock().locked()
    assert not Jurisdiction.objects.filter(name="Gone").exists()


def test_a_failed_begin_frees_the_lock(monkeypatch):
    from django.db.backends.sqlite3.base import DatabaseWrapper as Django

    def refuse(self):
        raise DatabaseError("database is locked")

    monkeypatch.setattr(Django, "_start_transaction_under_autocommit", refuse)
    with pytest.raises(DatabaseError), transaction.atomic():
        pass
    assert not lock().locked()


def test_closing_a_connection_mid_transaction_frees_the_lock():
    connection.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    assert lock().locked()
    connection.close()
    assert not lock().locked()


def test_a_second_writer_waits_for_the_first_and_then_writes():
    first_in, release = threading.Event(), threading.Event()
    order: list[str] = []

    def first():
        with transaction.atomic():
            Jurisdiction.objects.create(name="First")
            first_in.set()
            release.wait(10)
            order.append("first commits")
        connection.close()

    def second():
        first_in.wait(10)
        with transaction.atomic():
            order.append("second begins")
            Jurisdiction.objects.create(name="Second")
        connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_in.wait(10)
    # The second writer is parked on the lock, not inside SQLite.
    assert order == []
    release.set()
    for thread in threads:
        thread.join(10)
    assert order == ["first commits", "second begins"]
    assert set(Jurisdiction.objects.values_list("name", flat=True)) >= {"First", "Second"}
