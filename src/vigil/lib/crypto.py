"""Encrypted free-text fields and the key ring that opens them.

Free text that staff type about a person (an event's notes, an amendment's reason, a referral's
note) may hold identifying details however often the form says not to. Those fields are stored
as Fernet tokens (AES-128-CBC + HMAC-SHA256, from `cryptography`), so a copy of the database
alone (a stolen disk, a subpoenaed dump) shows no free text.

The key ring is a JSON file in the data dir, `secrets/field-keys` (mode 0600), or the
environment variable VIGIL_FIELD_KEYS (comma-separated Fernet keys, newest first) for a
deployment that keeps keys elsewhere. The newest key encrypts; every key in the ring decrypts
(MultiFernet), so `vigil keys rotate` can add a key while the server runs and re-encrypt the
rows afterwards. Every process re-reads the file when it changes (a stat per use), so a
running `vigil serve` encrypts with the new key as soon as `vigil keys rotate` writes it.

An encrypted field can be read and written, never searched or ordered: the same text gives a
different token each time. The empty string is stored as the empty string, so "no note" stays
a cheap test (`notes=""`); nothing else about the text is visible.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.core.exceptions import FieldError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

ENV = "VIGIL_FIELD_KEYS"
FILE_NAME = "field-keys"
# Every Fernet token starts with the version byte 0x80 and a 64-bit timestamp whose high bytes
# are zero for the next few thousand years: base64 "gAAAAA".
TOKEN_PREFIX = "gAAAAA"  # noqa: S105 - a format marker, not a secret


class KeyRingError(Exception):
    """The key ring cannot be read or written, or a value cannot be opened with it."""


@dataclass(frozen=True)
class Key:
    id: str
    key: str
    added: str

    @functools.cached_property
    def fernet(self) -> Fernet:
        return Fernet(self.key.encode())


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[Key, ...]  # newest first
    from_env: bool = False

    @property
    def primary(self) -> Key:
        return self.keys[0]

    @functools.cached_property
    def multi(self) -> MultiFernet:
        return MultiFernet([k.fernet for k in self.keys])

    def encrypt(self, text: str) -> str:
        return self.multi.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self.multi.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise KeyRingError(
                "An encrypted value cannot be opened with any key in the ring (was the key "
                "ring replaced, or an old key retired before every row was re-encrypted?)."
            ) from exc

    def opens_with_primary(self, token: str) -> bool:
        try:
            self.primary.fernet.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def to_json(self) -> str:
        return json.dumps(
            {"keys": [{"id": k.id, "key": k.key, "added": k.added} for k in self.keys]}, indent=1
        )


@functools.lru_cache(maxsize=8)
def _ring_path_in(home: str, cwd: str) -> Path:
    return (Path(cwd) / home).resolve() / "secrets" / FILE_NAME


def ring_path() -> Path:
    """The ring's file (the data dir as `lib.secrets.data_dir` finds it). Asked on every
    encrypt and decrypt, so without a mkdir or a symlink walk each time."""
    home = os.environ.get("VIGIL_DATA_DIR", "./var")
    return _ring_path_in(home, "" if os.path.isabs(home) else os.getcwd())


def _now_text() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _new_key(existing: tuple[Key, ...] = ()) -> Key:
    used = {k.id for k in existing}
    n = len(existing) + 1
    while f"k{n}" in used:
        n += 1
    # Ids only tell keys apart in `vigil keys status`; they carry no secret.
    return Key(id=f"k{n}", key=Fernet.generate_key().decode(), added=_now_text())


def _parse(text: str, source: str) -> KeyRing:
    try:
        data = json.loads(text)
        keys = tuple(Key(id=k["id"], key=k["key"], added=k.get("added", "")) for k in data["keys"])
        for k in keys:
            k.fernet  # noqa: B018 - validates the key's format
    except (ValueError, KeyError, TypeError) as exc:
        raise KeyRingError(f"The key ring {source} is not valid: {exc}") from exc
    if not keys:
        raise KeyRingError(f"The key ring {source} holds no key.")
    return KeyRing(keys=keys)


def _write_new(path: Path, ring: KeyRing) -> None:
    """Write the ring under a temporary name, then move it into place (readers never see a
    half-written file)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(ring.to_json() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _create_if_absent(path: Path) -> None:
    """The first process to need a key creates the ring; a second one racing it keeps the
    first one's (a hard link fails if the name exists)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(KeyRing(keys=(_new_key(),)).to_json() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


_lock = threading.Lock()
_cache: dict[str, Any] = {"stamp": None, "ring": None}


def ring() -> KeyRing:
    """The current key ring, re-read whenever its file or the environment changes."""
    env = os.environ.get(ENV, "").strip()
    if env:
        stamp: Any = ("env", env)
    else:
        path = ring_path()
        try:
            st = path.stat()
        except FileNotFoundError:
            _create_if_absent(path)
            st = path.stat()
        stamp = (str(path), st.st_ino, st.st_mtime_ns, st.st_size)
    with _lock:
        if _cache["stamp"] == stamp:
            return _cache["ring"]
        if env:
            keys = tuple(
                Key(id=f"env{i + 1}", key=k.strip(), added="")
                for i, k in enumerate(env.split(","))
                if k.strip()
            )
            try:
                for k in keys:
                    k.fernet  # noqa: B018 - validates the key's format
            except ValueError as exc:
                raise KeyRingError(f"{ENV} holds a value that is not a Fernet key.") from exc
            current = KeyRing(keys=keys, from_env=True)
        else:
            current = _parse(ring_path().read_text(), str(ring_path()))
        _cache.update(stamp=stamp, ring=current)
        return current


def _writable_ring() -> KeyRing:
    current = ring()
    if current.from_env:
        raise KeyRingError(
            f"The key ring comes from the environment ({ENV}); change it there: put a new key "
            "(`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key()"
            ".decode())'`) first and keep the old ones after it until `vigil keys rotate` has run."
        )
    return current


def add_key() -> KeyRing:
    """Put a new key at the front of the ring: it encrypts from now on, the old ones still
    open what they encrypted."""
    current = _writable_ring()
    new = KeyRing(keys=(_new_key(current.keys), *current.keys))
    _write_new(ring_path(), new)
    return ring()


def retire_old_keys() -> tuple[Key, ...]:
    """Drop every key but the newest from the ring; returns the keys dropped. Call only after
    every value was re-encrypted with the newest key (`vigil keys rotate` checks this)."""
    current = _writable_ring()
    if len(current.keys) == 1:
        return ()
    _write_new(ring_path(), KeyRing(keys=(current.primary,)))
    ring()
    return current.keys[1:]


def looks_encrypted(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)


def encrypt(text: str) -> str:
    return "" if text == "" else ring().encrypt(text)


def decrypt(value: str) -> str:
    """The text of a stored value. A value that is not a Fernet token is plaintext written
    before its field was encrypted (the migration encrypts every such row; this only keeps a
    half-migrated database readable)."""
    if value == "" or not looks_encrypted(value):
        return value
    return ring().decrypt(value)


# --- model fields ---------------------------------------------------------------------------

_ALLOWED_LOOKUPS = {"isnull", "exact"}


class _Encrypted:
    """Stores a text column holding a Fernet token; Python code only ever sees the text."""

    def get_internal_type(self) -> str:
        # A token is longer than its text and its length is not the text's: always a text
        # column; `max_length` (when given) is checked on the text by the form and full_clean.
        return "TextField"

    def get_lookup(self, lookup_name: str):
        if lookup_name not in _ALLOWED_LOOKUPS:
            raise FieldError(
                f"{self.__class__.__name__} {getattr(self, 'name', '')!r} is encrypted and "
                f"cannot be searched with {lookup_name!r}."
            )
        return super().get_lookup(lookup_name)  # type: ignore[misc]

    def _text(self, value: Any) -> str:
        return str(value)

    def _from_text(self, text: str) -> Any:
        return text

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return self._from_text(decrypt(value))

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None:
            return None
        if hasattr(value, "as_sql") or hasattr(value, "resolve_expression"):
            return value
        return encrypt(self._text(value))


class EncryptedTextField(_Encrypted, models.TextField):
    pass


class EncryptedCharField(_Encrypted, models.CharField):
    pass


class EncryptedJSONField(_Encrypted, models.TextField):
    """JSON kept encrypted as a whole (e.g. a record's earlier version with its notes)."""

    # For django-stubs: the field holds JSON values (dicts, lists…), not text.
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def _text(self, value: Any) -> str:
        return json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True)

    def _from_text(self, text: str) -> Any:
        return json.loads(text) if text else None

    def to_python(self, value):
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def value_to_string(self, obj):
        return self._text(self.value_from_object(obj))

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None:
            return None
        if hasattr(value, "as_sql") or hasattr(value, "resolve_expression"):
            return value
        return ring().encrypt(self._text(value))


def encrypted_fields() -> list[tuple[type[models.Model], models.Field]]:
    """Every (model, field) of the project that is stored encrypted, for rotation and checks."""
    from django.apps import apps

    found: list[tuple[type[models.Model], Any]] = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, _Encrypted):
                found.append((model, field))
    return found


# --- rewriting stored values (migrations, rotation) -----------------------------------------


def rewrite_column(connection, table: str, pk_column: str, column: str, change, batch: int = 500):
    """Apply `change(stored) -> new stored value or None (keep)` to every non-empty value of a
    column, `batch` rows per transaction, walking the primary key so an interrupted run can
    simply be started again. Returns (rows seen, rows changed)."""
    from django.db import transaction

    q = connection.ops.quote_name
    select = (
        f"SELECT {q(pk_column)}, {q(column)} FROM {q(table)} "  # noqa: S608 - names quoted
        f"WHERE {q(pk_column)} > %s AND {q(column)} IS NOT NULL AND {q(column)} <> '' "
        f"ORDER BY {q(pk_column)}"
    )
    # Compare-and-set: a row someone changed between our read and our write keeps their
    # value (written with the newest key by then) instead of getting ours back.
    update = (
        f"UPDATE {q(table)} SET {q(column)} = %s "  # noqa: S608 - names quoted
        f"WHERE {q(pk_column)} = %s AND {q(column)} = %s"
    )
    last, seen, changed = -1, 0, 0
    while True:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(f"{select} LIMIT {int(batch)}", [last])
            rows = cursor.fetchall()
            updates = []
            for pk, value in rows:
                new = change(value)
                if new is not None and new != value:
                    updates.append((new, pk, value))
            if updates:
                cursor.executemany(update, updates)
        if not rows:
            return seen, changed
        seen += len(rows)
        changed += len(updates)
        last = rows[-1][0]


def _stored_columns(apps, app_label: str, model_name: str, fields: tuple[str, ...]):
    model = apps.get_model(app_label, model_name)
    meta = model._meta
    return meta.db_table, meta.pk.column, [meta.get_field(f).column for f in fields]


def encrypt_existing(app_label: str, model_name: str, *fields: str):
    """A migration operation that encrypts the plaintext values already stored in `fields`
    (and decrypts them again when the migration is reversed), so no plaintext remains once
    the migration has run."""
    from django.db import migrations

    def rewriting(transform):
        def run(apps, schema_editor):
            table, pk, columns = _stored_columns(apps, app_label, model_name, fields)
            for column in columns:
                rewrite_column(schema_editor.connection, table, pk, column, transform)

        return run

    forward = rewriting(lambda v: None if looks_encrypted(v) else ring().encrypt(v))
    backward = rewriting(lambda v: ring().decrypt(v) if looks_encrypted(v) else None)
    return migrations.RunPython(forward, backward, elidable=False)
