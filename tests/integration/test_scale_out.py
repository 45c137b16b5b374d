"""Scaled out as `docker compose up --scale web=2 --scale worker=3` runs it: two gunicorn
processes and three Celery worker processes on the one PostgreSQL and Redis. Supporters sign
at the same time through both web processes and confirm; every confirmation mail must reach
the SMTP server exactly once, no outbox row may stay behind, and the count must equal the
confirmed signatures after the counter pass."""

from __future__ import annotations

import collections
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from campaign.models import OutgoingEmail
from petitions.counting import petition_counts_update
from petitions.models import Petition, Signature
from tests.conftest import REPO_ROOT, _worker_env, free_port, wait_until
from tests.fixtures.petitions import PetitionFactory, mail_link_token, sign_payload
from tests.processes import die_with_parent

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("petitions_isolation")]

SUPPORTERS = 100
WEB_PROCESSES = 2
WORKER_PROCESSES = 3
# Generous: every process shares two cores with the rest of the test run.
DRAIN_TIMEOUT = 90

RATES = {
    "THROTTLE_SIGN_RATE": "100000/minute",
    "THROTTLE_SIGN_MAX_RATE": "100000/minute",
    "THROTTLE_TOKEN_RATE": "100000/minute",
    # All supporters come from 127.0.0.1 with one mail domain: not a bot wave here.
    "PETITIONS_IP_BURST_LIMIT": "100000",
    "PETITIONS_IP_SUSTAINED_LIMIT": "100000",
    "PETITIONS_DOMAIN_LIMIT": "100000",
}


def _gunicorn(port: int, log_path: Path) -> subprocess.Popen:
    # Behind one proxy (as in docker compose), which passes each supporter's own address on.
    env = _worker_env({"ALLOWED_HOSTS": "127.0.0.1,localhost", "NUM_PROXIES": "1", **RATES})
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "campaign.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--timeout",
                "60",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )


@pytest.fixture
def web_urls(transactional_db: Any, tmp_path: Path) -> Iterator[list[str]]:
    """Two separate gunicorn processes (two containers of the `web` service)."""
    started: list[tuple[subprocess.Popen, Path, str]] = []
    try:
        for number in range(WEB_PROCESSES):
            port = free_port()
            log_path = tmp_path / f"web-{number}.log"
            started.append((_gunicorn(port, log_path), log_path, f"http://127.0.0.1:{port}"))
        for process, log_path, url in started:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(url + "/healthz", timeout=2).read()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(
                            "gunicorn did not start:\n" + log_path.read_text(errors="replace")[-3000:]
                        )
                    time.sleep(0.2)
        yield [url for _, _, url in started]
    finally:
        for process, _, _ in started:
            process.terminate()
            process.wait(timeout=20)


@pytest.fixture
def workers(start_worker: Callable[..., Any], smtp_server: Any, transactional_db: Any) -> list[Any]:
    """Three separate worker processes (three containers of the `worker` service)."""
    return [
        start_worker(env={**smtp_server.env, **RATES}, name=f"scale{number}", concurrency=2)
        for number in range(WORKER_PROCESSES)
    ]


def _post(url: str, payload: dict[str, Any], *, client_ip: str = "198.51.100.1") -> tuple[int, bytes]:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "X-Forwarded-For": client_ip},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_concurrent_signing_over_two_web_and_three_worker_processes_mails_once_and_counts_all(
    web_urls, workers, smtp_server
):
    petition: Petition = PetitionFactory()
    # Each supporter from an address and mail domain of their own, as real ones are: every
    # worker that renders a confirmation (any live worker may take a row in its batch) runs
    # the silent fraud checks, and none of these may trip them, whatever its limits.
    emails = [f"supporter{number}@mail{number}.example.org" for number in range(SUPPORTERS)]

    def sign(number: int) -> int:
        base = web_urls[number % len(web_urls)]
        status, body = _post(
            f"{base}/api/v1/petitions/{petition.slug}/signatures/",
            sign_payload(email=emails[number], first_name=f"Name{number}"),
            client_ip=f"198.51.100.{number + 1}",
        )
        assert status == 202, body
        return status

    with ThreadPoolExecutor(max_workers=16) as pool:
        assert list(pool.map(sign, range(SUPPORTERS))) == [202] * SUPPORTERS

    wait_until(lambda: len(smtp_server.messages) >= SUPPORTERS, timeout=DRAIN_TIMEOUT)

    def confirm(number: int) -> str:
        [mail] = smtp_server.to(emails[number])
        base = web_urls[(number + 1) % len(web_urls)]  # the other web process than the signing one
        status, body = _post(
            f"{base}/api/v1/signatures/confirm/",
            {"token": mail_link_token(mail, "confirm")},
            client_ip=f"198.51.100.{number + 1}",
        )
        assert status == 200, body
        return json.loads(body)["status"]

    with ThreadPoolExecutor(max_workers=16) as pool:
        assert set(pool.map(confirm, range(SUPPORTERS))) == {"confirmed"}

    # Every outbox row is sent, none stuck queued or in flight.
    wait_until(
        lambda: not OutgoingEmail.objects.exclude(status=OutgoingEmail.Status.SENT).exists(),
        timeout=DRAIN_TIMEOUT,
    )
    # Give a duplicate delivery the chance to show: a worker that picked a row twice would
    # have sent it by the time every row is marked sent, but wait a moment for stragglers.
    time.sleep(2)
    per_recipient = collections.Counter(str(message["To"]).lower() for message in smtp_server.messages)
    confirm_mails = OutgoingEmail.objects.filter(kind="petitions-signature-confirm")
    assert confirm_mails.count() == SUPPORTERS
    for email in emails:
        confirmations = [m for m in smtp_server.to(email) if mail_link_token_or_none(m) is not None]
        assert len(confirmations) == 1, (email, per_recipient[email])
    # No mail was sent that the outbox did not write.
    assert len(smtp_server.messages) == OutgoingEmail.objects.count()

    assert all(worker.process.poll() is None for worker in workers)
    confirmed = Signature.objects.filter(petition=petition, status=Signature.Status.CONFIRMED).count()
    assert confirmed == SUPPORTERS
    assert not Signature.objects.filter(petition=petition, is_flagged=True).exists()
    # A pass a worker runs meanwhile holds the lock (ours returns None): pass until one ran
    # after the last confirmation; then the count must be exact, not one more or less.
    wait_until(
        lambda: petition_counts_update() == {"changes": 0, "petitions": 0, "milestones": 0}, timeout=30
    )
    assert Petition.objects.get(pk=petition.pk).signature_count == confirmed


def mail_link_token_or_none(message: Any) -> str | None:
    body = message.get_body(preferencelist=("plain",)).get_content()
    return body if "/signatures/confirm/?token=" in body else None
