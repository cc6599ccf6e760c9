"""Encrypted, verified backups and their restore.

A backup is one sealed file (keeping/sealed.py: AES-256-GCM in 1 MiB frames) holding a tar
stream:

    database.sqlite3 | database.pgdump   SQLite online-backup copy, or `pg_dump -Fc`
    secrets/<name>                       the data dir's secrets (code key, field key ring,
                                         audit key...): without them the codes, the encrypted
                                         fields and the audit chain are useless
    extra/audit-head.json                the audit chain's head kept outside the database
                                         (copied before the database, so it is never ahead
                                         of it: it is a lower bound the chain must reach)
    manifest.json                        last: SHA-256 and size of every part above

The backup key lives apart from the data dir (a thief who takes the server's disk must not
find it beside the backups it opens): `--key-file`, else $VIGIL_BACKUP_KEY_FILE, else
~/.config/vigil/backup.key, created on first use. A key file inside the data dir is refused.

Every backup is read back after writing: decrypted frame by frame, each part's hash checked
against the manifest, the SQLite copy's `PRAGMA integrity_check` run, a PostgreSQL dump listed
by `pg_restore --list`. Plaintext copies made on the way (the database copy, the dump) are
written only inside the data dir, where the database itself already is, and removed after.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from django.apps import apps
from django.db import connection, connections

from vigil.keeping import sealed
from vigil.lib.secrets import data_dir

FORMAT = 1
KEY_ENV = "VIGIL_BACKUP_KEY_FILE"
DEFAULT_KEY_FILE = Path("~/.config/vigil/backup.key")


class BackupError(Exception):
    """The backup or restore was refused or failed; the message says why and what to do."""


# --- the backup key ---------------------------------------------------------------------------


def key_file_path(explicit: str | os.PathLike | None = None) -> Path:
    chosen = explicit or os.environ.get(KEY_ENV) or DEFAULT_KEY_FILE
    path = Path(chosen).expanduser().resolve()
    home = data_dir().resolve()
    if path == home or home in path.parents:
        raise BackupError(
            f"The backup key file {path} is inside the data dir {home}: a copy of the data dir "
            "would then carry the key that opens its backups. Keep it elsewhere (--key-file, "
            f"${KEY_ENV}, or the default {DEFAULT_KEY_FILE})."
        )
    return path


def load_key(path: Path, *, create: bool) -> tuple[bytes, bool]:
    """The backup key in `path`, created (mode 0600) when missing and `create` is set.
    Returns (key, created)."""
    try:
        return sealed.decode_key(path.read_text()), False
    except FileNotFoundError:
        if not create:
            raise BackupError(
                f"No backup key at {path}. Give the key the backup was made with (--key-file)."
            ) from None
    except sealed.SealError as exc:
        raise BackupError(f"{path}: {exc}") from exc
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = sealed.new_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return sealed.decode_key(path.read_text()), False
    with os.fdopen(fd, "w") as handle:
        handle.write(sealed.encode_key(key) + "\n")
    return key, True


# --- what goes in -----------------------------------------------------------------------------


def vendor() -> str:
    return connection.vendor


def _pg_command(program: str, settings: dict) -> tuple[list[str], dict]:
    """Arguments and environment for a PostgreSQL client tool, from Django's connection
    settings. The password goes in PGPASSWORD, never on the command line (`ps` shows it)."""
    args = [program]
    if settings.get("HOST"):
        args += ["-h", str(settings["HOST"])]
    if settings.get("PORT"):
        args += ["-p", str(settings["PORT"])]
    if settings.get("USER"):
        args += ["-U", str(settings["USER"])]
    env = dict(os.environ)
    if settings.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings["PASSWORD"])
    options = settings.get("OPTIONS") or {}
    for name in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
        if options.get(name):  # from DATABASE_URL's query string, e.g. ?sslmode=require
            env["PG" + name.upper()] = str(options[name])
    return args, env


def _run(args: list[str], env: dict, what: str) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(args, env=env, capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise BackupError(
            f"{args[0]} is not installed (it comes with PostgreSQL's client tools)."
        ) from exc
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.decode(errors='replace').strip()}")
    return done


def _integrity_check(path: Path) -> None:
    db = sqlite3.connect(path)
    try:
        rows = db.execute("PRAGMA integrity_check").fetchall()
    finally:
        db.close()
    if rows != [("ok",)]:
        raise BackupError(f"The database copy fails its integrity check: {rows[:5]}")


def _copy_database(workdir: Path) -> Path:
    settings = connection.settings_dict
    if vendor() == "sqlite":
        target = workdir / "database.sqlite3"
        # The online backup API copies a consistent state while the site keeps writing.
        source = sqlite3.connect(settings["NAME"])
        copy = sqlite3.connect(target)
        try:
            with copy:
                source.backup(copy, pages=1024)
        finally:
            copy.close()
            source.close()
        _integrity_check(target)
        return target
    if vendor() == "postgresql":
        target = workdir / "database.pgdump"
        args, env = _pg_command("pg_dump", settings)
        args += ["-Fc", "--no-owner", "--no-privileges", "-f", str(target), settings["NAME"]]
        _run(args, env, "pg_dump")
        return target
    raise BackupError(f"Backups of a {vendor()} database are not supported.")


def _secret_files() -> list[Path]:
    folder = data_dir() / "secrets"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def _extra_files() -> dict[str, Path]:
    """Small state kept outside the database that must match it: the audit chain's head."""
    found = {}
    if apps.is_installed("vigil.audit"):
        from vigil.audit.log import head_path

        found["audit-head.json"] = head_path()
    return found


def env_secrets() -> list[str]:
    """Secrets set by environment variables: they are not in the data dir, so not in a backup."""
    names = ["VIGIL_FIELD_KEYS"] + [
        "VIGIL_" + p.name.upper().replace("-", "_") for p in _secret_files()
    ]
    return sorted(n for n in set(names) if os.environ.get(n))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(sealed.CHUNK_SIZE), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    """A private directory inside the data dir for plaintext copies, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=".keeping-", dir=data_dir()))
    os.chmod(path, 0o700)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@dataclass
class BackupResult:
    path: Path
    size: int
    parts: dict[str, dict]
    vendor: str
    key_id: str
    env_secrets: list[str] = field(default_factory=list)


def _add(archive: tarfile.TarFile, name: str, path: Path, parts: dict) -> None:
    parts[name] = {"sha256": _sha256(path), "size": path.stat().st_size}
    info = archive.gettarinfo(str(path), arcname=name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o600
    with path.open("rb") as handle:
        archive.addfile(info, handle)


def write_backup(out_path: str | os.PathLike, key: bytes) -> BackupResult:
    """Write a sealed backup of the database and the secrets to `out_path`, then verify it.
    The file appears under its name only once verified."""
    out_path = Path(out_path)
    partial = out_path.with_name(out_path.name + ".partial")
    created = datetime.now(UTC).replace(microsecond=0).isoformat()
    parts: dict[str, dict] = {}
    with _workdir() as work:
        extras = {}
        for name, source in _extra_files().items():
            if source.is_file():
                extras[name] = work / name
                shutil.copyfile(source, extras[name])
        db_copy = _copy_database(work)
        try:
            with partial.open("wb") as raw:
                os.chmod(partial, 0o600)
                writer = sealed.SealedWriter(raw, key, {"created": created, "format": FORMAT})
                with tarfile.open(fileobj=writer, mode="w|") as archive:
                    _add(archive, db_copy.name, db_copy, parts)
                    db_copy.unlink()
                    for secret in _secret_files():
                        _add(archive, f"secrets/{secret.name}", secret, parts)
                    for name, copy in extras.items():
                        _add(archive, f"extra/{name}", copy, parts)
                    manifest = json.dumps(
                        {
                            "format": FORMAT,
                            "created": created,
                            "vendor": vendor(),
                            "database": db_copy.name,
                            "parts": parts,
                        },
                        indent=1,
                        sort_keys=True,
                    ).encode()
                    info = tarfile.TarInfo("manifest.json")
                    info.size = len(manifest)
                    info.mode = 0o600
                    archive.addfile(info, io.BytesIO(manifest))
                writer.close()
                raw.flush()
                os.fsync(raw.fileno())
            verify(partial, key)
            os.replace(partial, out_path)
        finally:
            partial.unlink(missing_ok=True)
    return BackupResult(
        path=out_path,
        size=out_path.stat().st_size,
        parts=parts,
        vendor=vendor(),
        key_id=sealed.key_id(key),
        env_secrets=env_secrets(),
    )


# --- reading back -----------------------------------------------------------------------------


def _unpack(source: BinaryIO, key: bytes, folder: Path, *, keep_all: bool) -> dict:
    """Decrypt and walk the archive, checking every part against the manifest. The database
    copy is written under `folder` (to check it); the other parts too when `keep_all`."""
    try:
        reader = sealed.SealedReader(source, key)
    except sealed.SealError as exc:
        raise BackupError(str(exc)) from exc
    seen: dict[str, dict] = {}
    manifest: dict | None = None
    database: Path | None = None
    try:
        with tarfile.open(fileobj=reader, mode="r|") as archive:
            for member in archive:
                if not member.isfile():
                    raise BackupError(f"The backup holds an unexpected entry {member.name!r}.")
                name = member.name
                if name.startswith("/") or ".." in Path(name).parts:
                    raise BackupError(f"The backup holds an unsafe name {name!r}.")
                handle = archive.extractfile(member)
                assert handle is not None
                if name == "manifest.json":
                    manifest = json.loads(handle.read())
                    continue
                digest = hashlib.sha256()
                size = 0
                target = None
                if keep_all or name.startswith("database."):
                    target = folder / name
                    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                out = target.open("wb") if target else None
                try:
                    while block := handle.read(sealed.CHUNK_SIZE):
                        digest.update(block)
                        size += len(block)
                        if out:
                            out.write(block)
                finally:
                    if out:
                        out.close()
                        os.chmod(target, 0o600)  # type: ignore[arg-type]
                seen[name] = {"sha256": digest.hexdigest(), "size": size}
                if name.startswith("database."):
                    database = target
        reader.drain()
    except sealed.SealError as exc:
        raise BackupError(str(exc)) from exc
    except (tarfile.TarError, ValueError, OSError) as exc:
        raise BackupError(f"The backup's content is damaged: {exc}") from exc
    if manifest is None:
        raise BackupError("The backup has no manifest: it is incomplete.")
    if manifest.get("parts") != seen:
        missing = sorted(set(manifest.get("parts", {})) - set(seen))
        bad = sorted(n for n in seen if manifest.get("parts", {}).get(n) != seen[n])
        raise BackupError(
            f"The backup does not match its manifest (missing {missing}, differing {bad})."
        )
    if database is None:
        raise BackupError("The backup holds no database.")
    if database.name == "database.sqlite3":
        _integrity_check(database)
    elif database.name == "database.pgdump":
        args, env = _pg_command("pg_restore", connection.settings_dict)
        _run([args[0], "--list", str(database)], env, "Reading the dump (pg_restore --list)")
    return manifest


def verify(path: str | os.PathLike, key: bytes) -> dict:
    """Read a backup through, checking every frame, every part's hash and the database copy.
    Returns its manifest."""
    with _workdir() as work, Path(path).open("rb") as source:
        return _unpack(source, key, work, keep_all=False)


# --- restore ----------------------------------------------------------------------------------


def vigil_row_counts() -> dict[str, int]:
    """Rows in each of Vigil's own tables (not Django's bookkeeping), by model label."""
    existing = set(connection.introspection.table_names())
    counts = {}
    for model in apps.get_models():
        if not model.__module__.startswith("vigil.") or model._meta.proxy:
            continue
        if model._meta.db_table in existing:
            counts[model._meta.label] = model._default_manager.count()
    return counts


def database_is_empty() -> bool:
    return not any(vigil_row_counts().values())


def _restore_sqlite(copy: Path) -> None:
    target = connection.settings_dict["NAME"]
    connections.close_all()
    source = sqlite3.connect(copy)
    dest = sqlite3.connect(target, timeout=30)
    try:
        # The backup API replaces every page of the target under its write lock, WAL included.
        with dest:
            source.backup(dest, pages=1024)
    finally:
        dest.close()
        source.close()
    _integrity_check(Path(target))


def _restore_postgresql(dump: Path) -> None:
    settings = connection.settings_dict
    connections.close_all()
    args, env = _pg_command("pg_restore", settings)
    args += [
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        "-d",
        settings["NAME"],
        str(dump),
    ]
    _run(args, env, "pg_restore")


def _put_file(folder: Path, source: Path, name: str | None = None) -> None:
    name = name or source.name
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = folder / f".{name}.restoring"
    shutil.copyfile(source, tmp)
    os.chmod(tmp, 0o600)
    os.replace(tmp, folder / name)


def restore(path: str | os.PathLike, key: bytes, *, force: bool = False) -> dict:
    """Bring back the database and the secrets of a backup. Refuses to overwrite a database
    that holds records unless `force`. Returns the manifest."""
    with _workdir() as work, Path(path).open("rb") as source:
        manifest = _unpack(source, key, work, keep_all=True)
        if manifest.get("vendor") != vendor():
            raise BackupError(
                f"This is a {manifest.get('vendor')} backup; this Vigil runs on {vendor()}."
            )
        if not force and not database_is_empty():
            raise BackupError(
                "The database already holds records; restoring would replace them. Run again "
                "with --force if that is what you want (make a backup of it first)."
            )
        database = work / manifest["database"]
        if manifest["database"] == "database.sqlite3":
            _restore_sqlite(database)
        else:
            _restore_postgresql(database)
        for name, current in _extra_files().items():
            if f"extra/{name}" not in manifest["parts"] and current.is_file():
                # It describes the database just replaced, not the one restored: set aside.
                os.replace(current, current.with_name(current.name + ".before-restore"))
        for name in manifest["parts"]:
            if name.startswith("secrets/"):
                _put_file(data_dir() / "secrets", work / name)
            elif name.startswith("extra/"):
                destination = _extra_files().get(name.removeprefix("extra/"))
                if destination is not None:
                    _put_file(destination.parent, work / name, destination.name)
    return manifest
