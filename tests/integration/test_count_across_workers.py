"""The count never goes back from one request to the next, whichever gunicorn worker answers.

Each worker keeps the count in its own memory (the fastest read there is); without a shared
signal, one that loaded the count before a counter pass keeps serving the old value while
another serves the new one, and a supporter refreshing the page sees 13, then 12 again. Here
several real gunicorn workers serve the count with a cache period far longer than the test,
while signatures are confirmed and counter passes run: every response after a pass must show
the new count, and no response may show less than one before it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from petitions.counting import petition_counts_update
from petitions.models import Petition, Signature
from tests.conftest import REPO_ROOT, _worker_env, free_port
from tests.fixtures.petitions import PetitionFactory, SignatureFactory
from tests.processes import die_with_parent

pytestmark = pytest.mark.integration

WORKERS = 4
PERIOD = 2


@pytest.fixture
def gunicorn_url(transactional_db: Any, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = _worker_env(
        {
            # Each worker caches the count for this long (aligned count periods).
            "PETITIONS_COUNT_CACHE_SECONDS": str(PERIOD),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
        }
    )
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "campaign.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(WORKERS),
                "--worker-class",
                "sync",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/healthz", timeout=2).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("gunicorn did not start:\n" + log_path.read_text(errors="replace")[-3000:])
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def _count(url: str, slug: str) -> tuple[int, str]:
    with urllib.request.urlopen(f"{url}/api/v1/petitions/{slug}/count/", timeout=10) as response:
        return json.loads(response.read())["signature_count"], response.headers["ETag"]


def test_the_count_polled_across_workers_never_goes_back_while_signatures_are_confirmed(
    gunicorn_url, settings
):
    settings.PETITIONS_COUNT_CACHE_SECONDS = PERIOD  # the counter pass runs here, with the same period
    petition: Petition = PetitionFactory()
    # Every worker answers (and caches) the count: connections are not kept, so the kernel
    # spreads them over the workers.
    seen = [_count(gunicorn_url, petition.slug)[0] for _ in range(8 * WORKERS)]
    assert set(seen) == {0}

    for confirmed in range(1, 5):
        SignatureFactory(petition=petition, status=Signature.Status.CONFIRMED)
        assert petition_counts_update() is not None
        # Poll until every worker shows the new count: each response must show at least what
        # any response before it showed, whichever worker answers.
        deadline = time.monotonic() + 4 * PERIOD + 5
        streak = 0
        while streak < 4 * WORKERS:
            value = _count(gunicorn_url, petition.slug)[0]
            assert value >= seen[-1], f"the count went back from {seen[-1]} to {value}: {seen[-40:]}"
            seen.append(value)
            streak = streak + 1 if value == confirmed else 0
            assert time.monotonic() < deadline, f"not every worker shows {confirmed}: {seen[-40:]}"
            time.sleep(0.005)

    assert seen == sorted(seen)
