"""Appending to the audit chain, keeping its head outside the database, verifying, exporting."""

from __future__ import annotations

import atexit
import fcntl
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from django.db import IntegrityError, connection, transaction
from django.db.models import Model

from vigil.audit import chain
from vigil.audit.chain import GENESIS, Entry, Head, Problem, Result
from vigil.audit.context import command_name, current_request, os_user
from vigil.audit.models import ActorKind, AuditEntry, AuditHead
from vigil.lib import clock
from vigil.lib.secrets import data_dir, secret_file

log = logging.getLogger(__name__)

ACTION = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
MAX_DETAIL = 2000  # characters of JSON: a detail says what kind of change, not its content


_keys: dict[tuple[str | None, str | None], bytes] = {}


def audit_key() -> bytes:
    """The HMAC key: VIGIL_AUDIT_KEY, else `secrets/audit-key` in the data dir (read once per
    place it comes from)."""
    where = (os.environ.get("VIGIL_AUDIT_KEY"), os.environ.get("VIGIL_DATA_DIR"))
    key = _keys.get(where)
    if key is None:
        key = _keys[where] = secret_file("audit-key").encode()
    return key


def head_path() -> Path:
    """Where the chain's head is written after each commit (VIGIL_AUDIT_HEAD overrides)."""
    override = os.environ.get("VIGIL_AUDIT_HEAD")
    return Path(override) if override else data_dir() / "audit-head.json"


# --- who, what, where ---------------------------------------------------------------------


def _actor(actor, request) -> tuple[str, int | None, str]:
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    if actor is not None and getattr(actor, "pk", None) is not None:
        return ActorKind.STAFF, actor.pk, actor.get_username()
    if request is not None:
        return ActorKind.ANONYMOUS, None, ""
    return ActorKind.OS_USER, None, os_user()


def _via(request) -> tuple[str, str]:
    if request is not None:
        path = getattr(request, "path", "") or ""
        return ("api" if path.startswith("/api/") else "web"), ""
    command = command_name()
    return (f"cli {command}" if command else "cli"), os_user()


def _subject(subject) -> tuple[str, int | None]:
    if subject is None:
        return "", None
    if isinstance(subject, Model):
        return subject._meta.label_lower, subject.pk
    label, pk = subject
    return str(label), (int(pk) if pk is not None else None)


def _participant_id(subject) -> int | None:
    """The participant an entry is about, from what the subject already holds (no query)."""
    if isinstance(subject, tuple):
        label, pk = subject
        return int(pk) if label == "participants.participant" and pk is not None else None
    if not isinstance(subject, Model):
        return None
    if subject._meta.label_lower == "participants.participant":
        return subject.pk
    value = getattr(subject, "participant_id", None)
    if isinstance(value, int):
        return value
    # A record reached through its visit (a drug check): only when the visit is already loaded.
    visit = subject._state.fields_cache.get("visit")
    value = getattr(visit, "participant_id", None)
    return value if isinstance(value, int) else None


def _site_id(site, subject) -> int | None:
    if site is not None:
        return site if isinstance(site, int) else site.pk
    if isinstance(subject, Model):
        if subject._meta.label_lower == "sites.site":
            return subject.pk
        value = getattr(subject, "site_id", None)
        return value if isinstance(value, int) else None
    return None


def _detail(detail) -> dict:
    if not detail:
        return {}
    if not isinstance(detail, dict):
        raise TypeError("an audit detail is a dict")
    text = json.dumps(detail, default=str, ensure_ascii=False)
    if len(text) > MAX_DETAIL:
        raise ValueError(f"an audit detail has at most {MAX_DETAIL} characters of JSON")
    if "\x00" in text or "\\u0000" in text:
        raise ValueError("an audit detail cannot hold NUL characters")
    return json.loads(text)


# --- appending ------------------------------------------------------------------------------


def _head_sql(suffix: str = "") -> str:
    table = connection.ops.quote_name(AuditHead._meta.db_table)
    return f"SELECT chain, seq, hash FROM {table} WHERE id = 1{suffix}"  # noqa: S608 - names from the model


def _locked_head() -> tuple[str, int, str]:
    """The head row (chain, seq, hash), locked until the caller's transaction ends (SQLite's
    writers are already one at a time under BEGIN IMMEDIATE). Made on first use; if it was
    lost while entries remain, it carries on from the newest entry under a new chain name, so
    appends go on and `verify` reports the head file that no longer matches.

    Plain SQL: this runs inside every audited action, and the ORM's query building would cost
    more than the queries."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(_head_sql(lock))
        row = cursor.fetchone()
    if row is not None:
        return row[0], int(row[1]), row[2]
    last = AuditEntry.objects.order_by("-seq").values("seq", "hash").first()
    try:
        with transaction.atomic():
            AuditHead.objects.create(
                pk=1,
                chain=uuid.uuid4().hex,
                seq=last["seq"] if last else 0,
                hash=last["hash"] if last else GENESIS,
            )
    except IntegrityError:
        pass  # another process made it a moment ago
    with connection.cursor() as cursor:
        cursor.execute(_head_sql(lock))
        row = cursor.fetchone()
    return row[0], int(row[1]), row[2]


def _insert(entry: AuditEntry) -> None:
    """INSERT the entry and move the head row to it. On PostgreSQL both go in one statement
    (a data-modifying WITH), so an audited action costs two round trips, not three."""
    fields = [f for f in AuditEntry._meta.concrete_fields if not f.primary_key]
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    head = connection.ops.quote_name(AuditHead._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    params = [f.get_db_prep_save(getattr(entry, f.attname), connection) for f in fields]
    insert = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 - names from the model
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH new AS ({insert} RETURNING seq, hash) "  # noqa: S608 - names from the model
                f"UPDATE {head} SET seq = new.seq, hash = new.hash FROM new WHERE {head}.id = 1",
                params,
            )
        else:
            cursor.execute(insert, params)
            _move_head(cursor, entry.seq, entry.hash)
    entry._state.adding = False  # it is written: saving it again is refused


def _move_head(cursor, seq: int, digest: str) -> None:
    table = connection.ops.quote_name(AuditHead._meta.db_table)
    cursor.execute(f"UPDATE {table} SET seq = %s, hash = %s WHERE id = 1", [seq, digest])  # noqa: S608


def _append(key: bytes, head: tuple[str, int, str], rows: list[dict]) -> list[AuditEntry]:
    chain_name, seq, prev = head
    made = []
    for values in rows:
        seq += 1
        entry = chain.sealed(
            key,
            Entry(
                seq=seq,
                at=chain.format_at(values["at"]),
                prev_hash=prev,
                **{k: v for k, v in values.items() if k != "at"},
            ),
        )
        made.append(AuditEntry(at=values["at"], **{k: getattr(entry, k) for k in _MODEL_FIELDS}))
        prev = entry.hash
    if len(made) == 1:
        _insert(made[0])
    else:
        AuditEntry.objects.bulk_create(made, batch_size=500)
        with connection.cursor() as cursor:
            _move_head(cursor, seq, prev)
    transaction.on_commit(lambda: head_writer.submit(chain_name, seq, prev))
    return made


_MODEL_FIELDS = [name for name in chain.SEALED if name != "at"] + ["hash"]


def _values(action, actor, request, subject, site, detail, at) -> dict:
    if not ACTION.match(action) or len(action) > 64:
        raise ValueError(f"not an audit action name: {action!r}")
    request = request if request is not None else current_request()
    actor_kind, actor_id, actor_name = _actor(actor, request)
    via, who = _via(request)
    subject_type, subject_id = _subject(subject)
    return {
        "at": at,
        "actor_kind": str(actor_kind),
        "actor_id": actor_id,
        "actor_name": actor_name[:150],
        "via": via[:60],
        "os_user": who[:64],
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "participant_id": _participant_id(subject),
        "site_id": _site_id(site, subject),
        "detail": _detail(detail),
    }


def record(
    action: str,
    *,
    actor: Any = None,
    request: Any = None,
    subject: Any = None,
    site: Any = None,
    detail: dict | None = None,
) -> AuditEntry:
    """Append one entry inside the caller's transaction (see vigil.audit.record)."""
    values = _values(action, actor, request, subject, site, detail, clock.now())
    key = audit_key()
    # No savepoint of its own: if the entry cannot be written, the caller's whole transaction
    # is rolled back, so a change is never committed without its entry.
    with transaction.atomic(savepoint=False):
        return _append(key, _locked_head(), [values])[0]


def record_many(
    action: str,
    items: Iterable[tuple[Any, dict | None]],
    *,
    actor: Any = None,
    request: Any = None,
    site: Any = None,
) -> list[AuditEntry]:
    """One entry per (subject, detail), appended together: for actions that write in bulk."""
    now = clock.now()
    rows = [_values(action, actor, request, s, site, d, now) for s, d in items]
    if not rows:
        return []
    key = audit_key()
    with transaction.atomic(savepoint=False):
        return _append(key, _locked_head(), rows)


# --- the head outside the database ----------------------------------------------------------


def read_head_file(path: Path | None = None) -> dict | None:
    path = path or head_path()
    try:
        values = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return {"chain": "", "seq": 0, "hash": "", "error": str(exc)}
    return values


_warned: set[tuple[Path, str]] = set()


def write_head(chain_name: str, seq: int, digest: str) -> None:
    """Write the head after a commit: temp file + rename, under a lock, never backwards (the
    file is a lower bound: commits of two processes may finish in either order)."""
    path = head_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            current = read_head_file(path)
            if current is not None and not current.get("error"):
                if current.get("chain") != chain_name:
                    if (path, chain_name) not in _warned:
                        _warned.add((path, chain_name))
                        log.warning(
                            "audit head file %s belongs to another log; not overwritten (see "
                            "`vigil audit verify`)",
                            path,
                        )
                    return
                if current.get("seq", 0) >= seq:
                    return
            temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump({"chain": chain_name, "seq": seq, "hash": digest}, handle)
            os.replace(temporary, path)
    except OSError:
        log.exception("the audit head could not be written to %s", path)


class HeadWriter:
    """Writes the head file on its own thread, so a commit never waits for the disk (replacing
    a file by rename costs milliseconds on ext4). Only the newest head is written: a burst of
    commits costs one write. `flush()` waits until the file is up to date; it runs at exit."""

    # A burst of commits within this time is written once; waking the thread for every commit
    # would cost the committing threads more than the write itself.
    GATHER_SECONDS = 0.05

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: tuple[str, int, str] | None = None
        self._busy = False
        self._waiting = False
        self._thread: threading.Thread | None = None

    def submit(self, chain_name: str, seq: int, digest: str) -> None:
        with self._cond:
            if self._pending is None or self._pending[0] != chain_name or seq > self._pending[1]:
                self._pending = (chain_name, seq, digest)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="vigil-audit-head", daemon=True
                )
                self._thread.start()
            if self._waiting:
                self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._waiting = True
                self._cond.wait_for(lambda: self._pending is not None)
                self._waiting = False
                self._busy = True
            time.sleep(self.GATHER_SECONDS)
            with self._cond:
                item, self._pending = self._pending, None
            try:
                assert item is not None
                write_head(*item)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(
                lambda: self._pending is None and not self._busy, timeout=timeout
            )


head_writer = HeadWriter()
atexit.register(head_writer.flush)


# --- reading, verifying, exporting ----------------------------------------------------------


def _entry(values: Mapping[str, Any]) -> Entry:
    return Entry(
        **{name: values[name] for name in chain.SEALED if name != "at"},
        at=chain.format_at(values["at"]),
        hash=values["hash"],
    )


def entries(since: int = 0) -> Iterator[Entry]:
    rows = AuditEntry.objects.filter(seq__gt=since).order_by("seq").values()
    for values in rows.iterator(chunk_size=2000):
        yield _entry(values)


def _find_by_hash(digest: str) -> Entry | None:
    values = AuditEntry.objects.filter(hash=digest).values().first()
    return _entry(values) if values else None


def verify_database() -> Result:
    """Walk the whole chain in the database against the head row and the head file."""
    key = audit_key()
    head_writer.flush()
    # Heads first, then the walk: whatever they say was committed before the walk began.
    head_row = AuditHead.objects.filter(pk=1).first()
    head_file = read_head_file()
    heads = []
    if head_row is not None:
        heads.append(Head(head_row.seq, head_row.hash, "head row in the database"))
    if head_file is not None and not head_file.get("error"):
        heads.append(
            Head(int(head_file["seq"]), str(head_file["hash"]), f"head file {head_path()}")
        )
    result = chain.verify(entries(), key, heads=heads, find_by_hash=_find_by_hash)
    if result.problem is not None:
        return result
    if head_file is None:
        if result.count:
            result.notes.append(
                f"warning: no head file at {head_path()}: deleting the newest entries could "
                "not be detected"
            )
    elif head_file.get("error"):
        result.problem = Problem(0, "head", f"the head file cannot be read: {head_file['error']}")
    elif head_row is not None and head_file.get("chain") != head_row.chain:
        result.problem = Problem(
            int(head_file.get("seq", 0)),
            "head",
            f"the head file {head_path()} belongs to another log (chain {head_file.get('chain')}, "
            f"this database's is {head_row.chain}): the database or its head row was replaced. "
            "If it was replaced on purpose, move the old head file aside.",
        )
    elif head_row is None and result.count:
        result.problem = Problem(
            result.last or 0, "head", "the head row is missing from the database"
        )
    return result


def read_export(lines: Iterable[str]) -> list[Entry]:
    found = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            found.append(Entry.from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"line {number} is not an audit entry: {exc}") from exc
    return found


def verify_export(lines: Iterable[str]) -> Result:
    """Verify an exported copy: a whole log from seq 1, or a part of one (then its first
    entry is taken on trust as the starting point)."""
    found = read_export(lines)
    by_hash = {e.hash: e for e in found}
    anchored = bool(found) and found[0].seq == 1
    result = chain.verify(
        sorted(found, key=lambda e: e.seq),
        audit_key(),
        anchored=anchored,
        find_by_hash=by_hash.get,
    )
    if found and not anchored and result.ok:
        result.notes.append(
            f"a partial export: it starts at seq {found[0].seq}, whose link to earlier entries "
            "is taken on trust"
        )
    return result


class Writer(Protocol):
    def write(self, text: str, /) -> Any: ...


def export(out: Writer, since: int = 0) -> tuple[int, int | None, int | None]:
    """Write entries after `since` as JSON Lines, hashes included. Returns (count, first, last)."""
    count, first, last = 0, None, None
    for entry in entries(since):
        out.write(entry.as_json() + "\n")
        count += 1
        first = entry.seq if first is None else first
        last = entry.seq
    return count, first, last
