"""Django's SQLite backend, with the database's write lock queued inside the process.

SQLite lets one writer at a time hold a database. A writer that finds it held is put to sleep
by SQLite's busy handler, for 1, 2, 5, 10, ... up to 100 ms at a time, and does not wake when
the lock is freed. Under `vigil serve` the gateway's readings, the alarm engine and staff's
requests all write, so an alarm's transaction could sleep hundreds of milliseconds behind a
lock held for two. Here every write transaction of the process (an `atomic` block, which
begins with BEGIN IMMEDIATE) first takes a Python lock for its database file, so writers of
one process queue and each is woken the moment the one before it commits or rolls back.

Other processes (command-line tools) still meet SQLite's own busy handling. A transaction that
cannot get the Python lock within the connection's timeout goes on to BEGIN anyway, as before.
"""

import threading

from django.db.backends.sqlite3 import base

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def write_lock(name: str) -> threading.Lock:
    """The one lock of this process for the database file `name`."""
    with _locks_guard:
        return _locks.setdefault(str(name), threading.Lock())


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_lock = False

    def _write_lock(self) -> threading.Lock:
        return write_lock(self.settings_dict["NAME"])

    def _start_transaction_under_autocommit(self):
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        self._holds_write_lock = self._write_lock().acquire(timeout=timeout)
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._release_write_lock()
            raise

    def _release_write_lock(self) -> None:
        if self._holds_write_lock:
            self._holds_write_lock = False
            self._write_lock().release()

    def _commit(self):
        try:
            return super()._commit()  # type: ignore[misc]
        finally:
            self._release_write_lock()

    def _rollback(self):
        try:
            return super()._rollback()  # type: ignore[misc]
        finally:
            self._release_write_lock()

    def _close(self):
        try:
            return super()._close()  # type: ignore[misc]
        finally:
            self._release_write_lock()
