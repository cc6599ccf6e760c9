"""Database connections of the long-lived worker threads (alarm engine, outbox, readings).

Django's `close_old_connections()` applies CONN_MAX_AGE=0 and so reconnects on every call,
which on PostgreSQL costs ~14 ms each time. A worker thread instead keeps its connection and
replaces it only when it has gone bad.
"""

from django.db import connection


def keep_connection() -> None:
    if connection.connection is not None and not connection.is_usable():
        connection.close()
