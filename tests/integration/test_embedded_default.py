"""The embedded default (`make run`): SQLite, tasks in-process, mail on the console, no servers.
Runs the service as its own process, the way the local run does, and walks its main path."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator

import pytest

from tests.embedded import EmbeddedServer, embedded_server_running

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    with embedded_server_running(tmp_path_factory.mktemp("embedded")) as server:
        yield server


def test_the_embedded_default_serves_the_demo_campaign(embedded_server):
    status, body = embedded_server.get("/api/v1/campaigns/stopstreamingexploitation/")

    assert status == 200
    assert body["slug"] == "stopstreamingexploitation"


def test_the_embedded_default_is_ready_without_redis(embedded_server):
    status, body = embedded_server.get("/readyz")

    assert status == 200
    assert body["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}


def _staff_token(embedded_server, username: str) -> str:
    """A staff API token, made as the tokens page makes it after the second factor (no
    browser here to go through the login)."""
    return embedded_server.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; from campaign.staff_tokens import staff_token_create; "
        f"print(staff_token_create(user=User.objects.get(username='{username}'))[1])",
    ).split()[-1]


def test_the_embedded_default_sends_mail_in_process_to_the_console(embedded_server):
    embedded_server.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; User.objects.create_superuser('admin', 'a@example.org', 'pw')",
    )
    token = _staff_token(embedded_server, "admin")
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
        "from django.contrib.auth.models import Group; "
        "u = User.objects.create_user('exporter', 'e@example.org', 'pw', is_staff=True); "
        "u.groups.add(Group.objects.get(name='data export')); "
        "p = Petition.objects.get(slug='stopstreamingexploitation-petition'); "
        "Signature.objects.create(petition=p, first_name='=Jürgen', last_name='Groß', "
        "email='export@example.org', email_normalized='export@example.org', postcode='10115', "
        "country='DE', status='confirmed')",
    )
    token = _staff_token(embedded_server, "exporter")
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
    assert lines[0].startswith("id,created_at (Europe/Berlin),status,")
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
