"""`make run` without Stripe keys: run_local starts the Stripe stand-in, points its webhooks at
the server, and a donation goes through; on exit the stand-in stops."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import requests

from tests.conftest import REPO_ROOT, free_port, wait_until

pytestmark = pytest.mark.integration


def _post(url: str, payload: dict) -> tuple[int, dict]:
    response = requests.post(url, json=payload, timeout=10)
    return response.status_code, response.json()


def test_the_local_run_starts_the_stripe_stand_in_and_takes_a_donation(tmp_path: Path):
    port, stripe_port = free_port(), free_port()
    stripe_base = f"http://127.0.0.1:{stripe_port}"
    removed = {
        "DATABASE_URL",
        "REDIS_URL",
        "DJANGO_SETTINGS_MODULE",
        "EMAIL_URL",
        "EMAIL_HOST",
        "CELERY_TASK_DEFAULT_QUEUE",
        "CACHE_KEY_PREFIX",
        "STRIPE_SECRET_KEY",
        "STRIPE_PUBLISHABLE_KEY",
    }
    env = {k: v for k, v in os.environ.items() if k not in removed}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        STRIPE_API_BASE=stripe_base,
        STRIPE_WEBHOOK_SECRET="whsec_local_run",
        PYTHONUNBUFFERED="1",
    )
    for command in (["migrate", "--noinput"], ["load_demo"]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=REPO_ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_local", "--addrport", f"127.0.0.1:{port}"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                return True
            except OSError:
                assert process.poll() is None, log_path.read_text()
                return False

        wait_until(up, timeout=40)
        # The stand-in serves Stripe.js for the browser, too.
        assert requests.get(f"{stripe_base}/js.stripe.com/v3/", timeout=5).status_code == 200

        status, body = _post(
            base + "/api/v1/donations/",
            {
                "campaign": "stopstreamingexploitation",
                "amount": 2500,
                "currency": "eur",
                "interval": "once",
                "payment_method": "card",
                "first_name": "Lokal",
                "last_name": "Spender",
                "email": "local-donor@example.org",
            },
        )
        assert status == 201, body
        seti = body["client_secret"].split("_secret_")[0]
        saved = requests.post(
            f"{stripe_base}/v1/setup_intents/{seti}/confirm",
            json={
                "key": body["publishable_key"],  # as Stripe.js sends it
                "client_secret": body["client_secret"],
                "use_stripe_sdk": True,
                "payment_method_data": {
                    "type": "card",
                    "card": {
                        "number": "4242424242424242",
                        "exp_month": "12",
                        "exp_year": "2034",
                        "cvc": "123",
                    },
                },
            },
            timeout=10,
        ).json()
        assert saved.get("status") == "succeeded", saved

        status, completed = _post(base + f"/api/v1/donations/{body['id']}/complete/", {})
        assert (status, completed["status"]) == (200, "succeeded")
        # The stand-in delivers payment_intent.succeeded to the local server's webhook.
        wait_until(
            lambda: (
                "stripe event" in log_path.read_text() and "payment_intent.succeeded" in log_path.read_text()
            ),
            timeout=20,
        )
        campaign = json.loads(
            urllib.request.urlopen(base + "/api/v1/campaigns/stopstreamingexploitation/", timeout=5).read()
        )
        assert campaign["donation_totals"]["raised_amount"] >= 2500
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    # The stand-in went away with the server.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            requests.get(f"{stripe_base}/js.stripe.com/v3/", timeout=1)
        except requests.RequestException:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the Stripe stand-in still runs after the local run stopped")
