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


@pytest.fixture
def gunicorn_url(transactional_db: Any, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = _worker_env(
        {
            # Far longer than the test: only the counts' generation can make a worker move on.
            "PETITIONS_COUNT_CACHE_SECONDS": "600",
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


def test_every_worker_serves_the_new_count_after_a_pass_and_none_goes_back(gunicorn_url):
    petition: Petition = PetitionFactory()
    # Every worker answers (and caches) the count a few times: connections are not kept, so
    # the kernel spreads them over the workers.
    seen = [_count(gunicorn_url, petition.slug)[0] for _ in range(8 * WORKERS)]
    assert set(seen) == {0}

    for confirmed in range(1, 6):
        SignatureFactory(petition=petition, status=Signature.Status.CONFIRMED)
        # Polled while the signature waits for the pass: still the old count everywhere.
        before = [_count(gunicorn_url, petition.slug)[0] for _ in range(2 * WORKERS)]
        assert petition_counts_update() is not None
        after = [_count(gunicorn_url, petition.slug)[0] for _ in range(4 * WORKERS)]

        assert before == [confirmed - 1] * len(before)
        # The pass has committed: every worker serves the new count, at once (no decrease
        # from one response to the next, whichever worker answers).
        assert after == [confirmed] * len(after), f"after pass {confirmed}: {after}"
        seen += before + after

    assert seen == sorted(seen)
