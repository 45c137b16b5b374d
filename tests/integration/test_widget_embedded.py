"""The demo landing page on the embedded default, the way `make run` serves it: `manage.py
run_local` on SQLite with tasks in-process, mail on the console and the local Stripe stand-in it
starts itself. A supporter signs, confirms from the mail and donates, all in Chromium."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT, free_port, wait_until
from tests.fixtures.localstripe import CARD_OK

pytestmark = pytest.mark.integration


@dataclass
class LocalRun:
    base_url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.base_url + path, timeout=10) as response:
            return json.loads(response.read())


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRun]:
    tmp = tmp_path_factory.mktemp("local-run")
    port = free_port()
    removed = {
        "DATABASE_URL",
        "REDIS_URL",
        "DJANGO_SETTINGS_MODULE",
        "EMAIL_URL",
        "EMAIL_HOST",
        "CELERY_TASK_DEFAULT_QUEUE",
        "CACHE_KEY_PREFIX",
        "STRIPE_JS_URL",
    }
    env = {k: v for k, v in os.environ.items() if k not in removed}
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
            "PYTHONUNBUFFERED": "1",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            # A port of its own, so run_local starts (and stops) its own stand-in.
            "STRIPE_API_BASE": f"http://127.0.0.1:{free_port()}",
        }
    )
    for command in (["migrate", "--noinput"], ["load_demo"]):
        subprocess.run(
            [sys.executable, "manage.py", *command], cwd=REPO_ROOT, env=env, check=True, capture_output=True
        )
    run = LocalRun(base_url=f"http://127.0.0.1:{port}", log_path=tmp / "server.log")
    with open(run.log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_local", "--addrport", f"127.0.0.1:{port}"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(run.base_url + "/healthz", timeout=1)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(run.log()) from None
                time.sleep(0.2)
        yield run
    finally:
        # SIGINT lets run_local stop its stand-in; then make sure the whole group is gone.
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)


def test_make_run_shows_the_landing_page_where_a_supporter_signs_confirms_and_donates(
    local_run: LocalRun, page: Any
) -> None:
    slug = "stopstreamingexploitation"
    campaign = local_run.get(f"/api/v1/campaigns/{slug}/")
    petition = local_run.get(f"/api/v1/petitions/{campaign['petitions'][0]['slug']}/")
    raised_before = campaign["donation_totals"]["raised_amount"]

    page.goto(local_run.base_url + "/")
    widget = page.locator("[data-campaign-widget]")
    widget.get_by_label("Vorname", exact=True).fill("Erika")
    widget.get_by_label("Nachname", exact=True).fill("Mustermann")
    widget.get_by_label("E-Mail-Adresse", exact=True).fill("erika.local@example.org")
    widget.get_by_label("Postleitzahl", exact=True).fill("10115")
    widget.get_by_label(petition["consent_text"]["de"], exact=True).check()
    widget.get_by_role("button", name="Unterschreiben").click()
    widget.get_by_role("heading", name=re.compile("Bitte bestätigen Sie")).wait_for()

    # The confirmation mail is printed on the console; its link opens the confirmation page.
    link = wait_until(
        lambda: re.search(
            rf"{re.escape(local_run.base_url)}/signatures/confirm/\?token=[\w.~-]+", local_run.log()
        )
    )
    page.goto(link.group(0))
    page.get_by_role("heading", name="Danke! Ihre Unterschrift ist bestätigt.").wait_for()
    # In the embedded default the counter pass runs right after the confirmation.
    wait_until(lambda: local_run.get(f"/api/v1/petitions/{petition['slug']}/count/")["signature_count"] == 1)

    # The confirmation page offers the donate step, paid through the local Stripe stand-in.
    form = page.locator("[data-campaign-widget] .cw-donate-form")
    form.wait_for()
    form.get_by_label("Vorname", exact=True).fill("Erika")
    form.get_by_label("Nachname", exact=True).fill("Mustermann")
    form.get_by_label("E-Mail-Adresse", exact=True).fill("erika.local@example.org")
    card = form.locator(".cw-card-element")
    card.locator("input[placeholder=number]").fill(CARD_OK)
    card.locator("input[placeholder=exp_month]").fill("12")
    card.locator("input[placeholder=exp_year]").fill("34")
    card.locator("input[placeholder=cvc]").fill("123")
    form.get_by_role("button", name="25 € spenden").click()
    page.get_by_role("heading", name="Vielen Dank für Ihre Spende!").wait_for()
    wait_until(
        lambda: (
            local_run.get(f"/api/v1/campaigns/{slug}/")["donation_totals"]["raised_amount"]
            == raised_before + 2500
        )
    )

    page.goto(local_run.base_url + "/")
    page.wait_for_function("() => document.querySelector('[data-campaign-widget]').dataset.count === '1'")
