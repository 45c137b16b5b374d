"""Throwaway servers the outage tests stop and start: a PostgreSQL from the installed server
binaries (initdb + pg_ctl on a temporary data directory and port, never the shared server), a
Redis on its own port, and gunicorn serving the project with the production settings."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.processes import die_with_parent

REPO_ROOT = Path(__file__).resolve().parent.parent


def _pg_bin() -> Path:
    for pattern in ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/usr/local/bin", "/usr/bin"):
        for folder in sorted(glob.glob(pattern), reverse=True):
            if (Path(folder) / "initdb").exists():
                return Path(folder)
    found = shutil.which("initdb")
    if found is None:
        raise RuntimeError("no initdb found: install the 'postgresql' package")
    return Path(found).parent


@dataclass
class ThrowawayPostgres:
    root: Path
    port: int
    bin: Path = field(default_factory=_pg_bin)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        run_as = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        subprocess.run([*run_as, *args], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.getuid() == 0:
            shutil.chown(self.root, "postgres")
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.root / "data"),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        )
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.root / "data"),
            "-l",
            str(self.root / "log"),
            "-o",
            options,
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class ThrowawayRedis:
    root: Path
    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        for _ in range(100):
            with contextlib.suppress(OSError):
                import socket

                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


def production_env(
    *, database_url: str, redis_url: str, run_id: str, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The settings a deployment runs with (DEBUG off), on the given servers."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_", "CELERY_", "CACHE_", "STRIPE_", "EMAIL_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "campaign.settings",
            "DEBUG": "false",
            "SECRET_KEY": "outage-test-secret-key-" + "x" * 40,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PUBLIC_BASE_URL": "http://127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "STRIPE_SECRET_KEY": "sk_test_local",
            "STRIPE_PUBLISHABLE_KEY": "pk_test_local",
            "STRIPE_WEBHOOK_SECRET": "whsec_local",
            "STRIPE_API_BASE": "http://127.0.0.1:9",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CONN_MAX_AGE": "60",
            "CACHE_KEY_PREFIX": f"outage-{run_id}",
            "CELERY_TASK_DEFAULT_QUEUE": f"outage-{run_id}",
            "PYTHONUNBUFFERED": "1",
            # The tests sign more often than one supporter would.
            "THROTTLE_SIGN_RATE": "10000/minute",
            "THROTTLE_DONATE_RATE": "10000/minute",
            "THROTTLE_TOKEN_RATE": "10000/minute",
            **(extra or {}),
        }
    )
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@dataclass
class Gunicorn:
    port: int
    env: dict[str, str]
    log_path: Path
    workers: int = 2
    # More gunicorn options (the compose file's access log format, a log level).
    extra_args: list[str] = field(default_factory=list)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "campaign.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--timeout",
                "60",
                *self.extra_args,
            ],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{self.log()[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
