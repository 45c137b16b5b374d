"""The embedded default as `make run` serves it: `manage.py run_local` on SQLite, tasks
in-process, mail on the console and its own Stripe stand-in, as a process of its own."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO_ROOT, free_port
from tests.processes import die_with_parent

# Variables of the test run that must not reach the embedded default.
_TEST_RUN_VARIABLES = {
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_SETTINGS_MODULE",
    "EMAIL_URL",
    "EMAIL_HOST",
    "CELERY_TASK_DEFAULT_QUEUE",
    "CACHE_KEY_PREFIX",
    "STRIPE_JS_URL",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}


@dataclass
class EmbeddedServer:
    base_url: str
    env: dict[str, str]
    log_path: Path

    def _call(self, request: urllib.request.Request | str) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def get(self, path: str) -> tuple[int, dict]:
        return self._call(self.base_url + path)

    def post(self, path: str, payload: dict, headers: dict | None = None) -> tuple[int, dict]:
        return self._call(
            urllib.request.Request(
                self.base_url + path,
                data=json.dumps(payload).encode(),
                headers={"Content-Type": "application/json", **(headers or {})},
                method="POST",
            )
        )

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def embedded_server_running(directory: Path) -> Iterator[EmbeddedServer]:
    """Migrates a fresh SQLite database, loads the demo and serves it with `run_local`."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in _TEST_RUN_VARIABLES}
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{directory / 'db.sqlite3'}",
            "PYTHONUNBUFFERED": "1",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            # A port of its own, so run_local starts (and stops) its own stand-in.
            "STRIPE_API_BASE": f"http://127.0.0.1:{free_port()}",
        }
    )
    server = EmbeddedServer(base_url=f"http://127.0.0.1:{port}", env=env, log_path=directory / "server.log")
    server.manage("migrate", "--noinput")
    server.manage("load_demo")
    with open(server.log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_local", "--addrport", f"127.0.0.1:{port}"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(server.base_url + "/healthz", timeout=1)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(server.log()) from None
                time.sleep(0.2)
        yield server
    finally:
        # SIGINT lets run_local stop its stand-in; then make sure the whole group is gone.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
