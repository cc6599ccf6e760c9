"""A real `vigil serve` subprocess with its own data dir (and its own PostgreSQL database when
the suite runs on PostgreSQL), for end-to-end tests.

pytest-django's live_server is WSGI and cannot stream Server-Sent Events, so the browser talks
to the same server a site runs.
"""

import itertools
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

VIGIL = [sys.executable, "-m", "vigil"]
_databases = itertools.count(1)


def _fresh_postgres_database(base_url: str) -> str:
    """Create an empty database beside the test one and return its URL."""
    import psycopg

    name = f"vigil_e2e_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return base_url.rsplit("/", 1)[0] + "/" + name


class VigilServer:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.env = {**os.environ, "VIGIL_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        if os.environ.get("DATABASE_URL"):
            self.env["DATABASE_URL"] = _fresh_postgres_database(os.environ["DATABASE_URL"])
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.mllp_port = 0
        self.log = data_dir / "server.log"
        # Authenticator secrets read from the enrolment page, and the last TOTP step each
        # person used (a code is accepted once: a second sign-in in the same 30 s uses the next).
        self.totp_secrets: dict[str, str] = {}
        self._totp_steps: dict[str, int] = {}

    def vigil(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [*VIGIL, *args], env=self.env, input=stdin, capture_output=True, text=True, timeout=120
        )
        if result.returncode != 0:
            raise RuntimeError(f"vigil {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start(self, port: int = 0, mllp_port: int = 0) -> "VigilServer":
        log = open(self.log, "a")  # noqa: SIM115 - the child process writes to it until stopped
        self.process = subprocess.Popen(
            [
                *VIGIL,
                "serve",
                "--port",
                str(port),
                "--mllp-port",
                str(mllp_port),
                "--log-level",
                "warning",
            ],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        line = self.process.stdout.readline() if self.process.stdout else ""
        gateway = self.process.stdout.readline() if self.process.stdout else ""
        if "listening on" not in line or "Device gateway" not in gateway:
            self.stop()
            raise RuntimeError(
                f"vigil serve did not start: {line!r} {gateway!r}\n{self.log.read_text()}"
            )
        self.port = int(line.rsplit(":", 1)[1].strip().rstrip("/"))
        self.mllp_port = int(gateway.rsplit(":", 1)[1].strip())
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url("/healthz"), timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("vigil serve never became healthy")

    def totp_code(self, username: str) -> str:
        """What the person's authenticator app shows (django-otp's own TOTP arithmetic)."""
        import base64

        from django_otp.oath import TOTP

        if username not in self.totp_secrets:
            # Someone enrolled by `vigil seed-demo`, not through this browser: the demo prints
            # its codes (and only the demo does).
            for line in self.vigil("demo-codes").splitlines():
                if line.split()[:1] == [username]:
                    return line.split()[1]
            raise KeyError(f"no authenticator known for {username}")
        secret = self.totp_secrets[username]
        key = base64.b32decode(secret + "=" * (-len(secret) % 8))
        now = int(time.time()) // 30
        step = max(now, self._totp_steps.get(username, now - 1) + 1)
        if step > now + 1:  # both this step's code and the next one's are used: wait
            time.sleep((step - 1) * 30 - time.time() + 0.5)
        self._totp_steps[username] = step
        totp = TOTP(key, step=30)
        totp.time = step * 30
        return f"{totp.token():06d}"

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self, sig: int = signal.SIGTERM) -> "VigilServer":
        ports = self.port, self.mllp_port
        self.stop(sig)
        return self.start(*ports)


def run_async(coroutine, timeout: float = 300):
    """Run a coroutine to completion from a test. Playwright's sync API may already own this
    thread's event loop (the browser is session-wide), so the coroutine gets a thread of its own."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=timeout)
