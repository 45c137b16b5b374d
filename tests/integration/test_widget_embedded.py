"""The demo landing page on the embedded default, the way `make run` serves it: `manage.py
run_local` on SQLite with tasks in-process, mail on the console and the local Stripe stand-in it
starts itself. A supporter signs, confirms from the mail and donates, all in Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import wait_until
from tests.embedded import EmbeddedServer, embedded_server_running
from tests.fixtures.localstripe import CARD_OK

pytestmark = pytest.mark.integration


class LocalRun(EmbeddedServer):
    def get(self, path: str) -> dict:  # type: ignore[override]
        status, body = super().get(path)
        assert status == 200, body
        return body


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRun]:
    with embedded_server_running(tmp_path_factory.mktemp("local-run")) as server:
        yield LocalRun(base_url=server.base_url, env=server.env, log_path=server.log_path)


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
