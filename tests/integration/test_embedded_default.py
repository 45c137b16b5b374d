"""The embedded default (`make run`): SQLite, tasks in-process, mail on the console, no servers.
Runs the service as its own process, the way the local run does, and walks its main path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, free_port

pytestmark = pytest.mark.integration


@dataclass
class EmbeddedServer:
    base_url: str
    env: dict[str, str]
    log_path: Path

    def get(self, path: str) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def post(self, path: str, payload: dict, headers: dict | None = None) -> tuple[int, dict]:
        request = urllib.request.Request(
            self.base_url + path,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

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


@pytest.fixture(scope="module")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    tmp = tmp_path_factory.mktemp("embedded")
    port = free_port()
    removed = {
        "DATABASE_URL",
        "REDIS_URL",
        "DJANGO_SETTINGS_MODULE",
        "EMAIL_URL",
        "EMAIL_HOST",
        "CELERY_TASK_DEFAULT_QUEUE",
        "CACHE_KEY_PREFIX",
    }
    env = {k: v for k, v in os.environ.items() if k not in removed}
    env.update({"DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}", "PYTHONUNBUFFERED": "1"})
    server = EmbeddedServer(base_url=f"http://127.0.0.1:{port}", env=env, log_path=tmp / "server.log")
    server.manage("migrate", "--noinput")
    server.manage("load_demo")
    with open(server.log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
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
        process.terminate()
        process.wait(timeout=10)


def test_the_embedded_default_serves_the_demo_campaign(embedded_server):
    status, body = embedded_server.get("/api/v1/campaigns/stopstreamingexploitation/")

    assert status == 200
    assert body["slug"] == "stopstreamingexploitation"


def test_the_embedded_default_is_ready_without_redis(embedded_server):
    status, body = embedded_server.get("/readyz")

    assert status == 200
    assert body["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}


def test_the_embedded_default_sends_mail_in_process_to_the_console(embedded_server):
    embedded_server.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; User.objects.create_superuser('admin', 'a@example.org', 'pw')",
    )
    token = embedded_server.manage("drf_create_token", "admin").split()[2]
    status, body = embedded_server.post(
        "/api/v1/staff/test-email/",
        {"email": "console@example.org"},
        headers={"Authorization": f"Token {token}"},
    )

    assert status == 202, body
    deadline = time.monotonic() + 10
    while "console@example.org" not in embedded_server.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "To: console@example.org" in embedded_server.log()


def test_the_embedded_default_exports_signatures_from_sqlite(embedded_server):
    # SQLite has no COPY: the export reads rows in chunks and writes the same formula-safe CSV.
    embedded_server.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; "
        "from petitions.models import Petition, Signature; "
        "User.objects.create_user('exporter', 'e@example.org', 'pw', is_staff=True); "
        "p = Petition.objects.get(slug='stopstreamingexploitation-petition'); "
        "Signature.objects.create(petition=p, first_name='=Jürgen', last_name='Groß', "
        "email='export@example.org', email_normalized='export@example.org', postcode='10115', "
        "country='DE', status='confirmed')",
    )
    token = embedded_server.manage("drf_create_token", "exporter").split()[2]
    request = urllib.request.Request(
        embedded_server.base_url + "/api/v1/staff/petitions/stopstreamingexploitation-petition/signatures.csv"
        "?status=confirmed",
        headers={"Authorization": f"Token {token}"},
    )

    with urllib.request.urlopen(request, timeout=10) as response:
        content_type = response.headers["Content-Type"]
        body = response.read()

    assert content_type == "text/csv; charset=utf-8"
    assert body.startswith("\ufeff".encode())
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("id,created_at,status,")
    rows = [line for line in lines[1:] if "export@example.org" in line]
    assert len(rows) == 1
    assert ",'=Jürgen,Groß,export@example.org,10115,DE," in rows[0]


def _console_token(log: str, page: str, after: int) -> str | None:
    import re

    match = re.search(rf"/signatures/{page}/\?token=([A-Za-z0-9_\-]+)", log[after:])
    return match.group(1) if match else None


def test_the_embedded_default_signs_confirms_and_counts(embedded_server):
    slug = "stopstreamingexploitation-petition"
    status, petition = embedded_server.get(f"/api/v1/petitions/{slug}/")
    assert status == 200, petition
    _, before = embedded_server.get(f"/api/v1/petitions/{slug}/count/")
    log_start = len(embedded_server.log())

    status, body = embedded_server.post(
        f"/api/v1/petitions/{slug}/signatures/",
        {
            "first_name": "Lokal",
            "last_name": "Test",
            "email": "embedded-signer@example.org",
            "postcode": "10115",
            "country": "DE",
            "privacy_consent": True,
            "consent_version": petition["consent_version"],
            "show_name_publicly": True,
        },
    )
    assert (status, body) == (202, {"status": "pending_confirmation"})

    # The mail went out in-process, to the console.
    deadline = time.monotonic() + 10
    while _console_token(embedded_server.log(), "confirm", log_start) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    token = _console_token(embedded_server.log(), "confirm", log_start)
    assert token, embedded_server.log()[-3000:]

    status, body = embedded_server.post("/api/v1/signatures/confirm/", {"token": token})
    assert (status, body["status"]) == (200, "confirmed")

    # Without a beat, the counter pass runs right after the confirmation commits.
    status, after = embedded_server.get(f"/api/v1/petitions/{slug}/count/")
    assert status == 200
    confirmed = embedded_server.manage(
        "shell",
        "-c",
        "from petitions.models import Signature; "
        f"print(Signature.objects.filter(petition__slug='{slug}', status='confirmed', is_flagged=False).count())",
    )
    # The count holds every confirmed signature, this one included (other tests add theirs).
    assert after["signature_count"] == int(confirmed.split()[-1]) >= before["signature_count"] + 1
    _, signers = embedded_server.get(f"/api/v1/petitions/{slug}/recent-signers/")
    assert signers[0]["name"] == "Lokal T."
