"""Secrets generated on first start into the data dir, never committed."""

import os
import secrets
from pathlib import Path


def data_dir() -> Path:
    path = Path(os.environ.get("VIGIL_DATA_DIR", "./var")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def secret_file(name: str, nbytes: int = 48) -> str:
    """Read the secret `name` from the data dir, creating it (mode 0600) on first use.

    An environment variable VIGIL_<NAME> overrides the file, so a deployment can keep
    keys outside the data dir.
    """
    env = os.environ.get("VIGIL_" + name.upper().replace("-", "_"))
    if env:
        return env
    path = data_dir() / "secrets" / name
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    value = secrets.token_urlsafe(nbytes)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value
