"""The demo landing page at `/`: the reference page for integrators, in German with an English
switch, under the Content-Security-Policy docs/widget.md asks host pages for."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

pytestmark = pytest.mark.integration


@pytest.fixture
def landing(demo_petition: Any, live_server: Any) -> Any:
    """The demo campaign `make run` shows, plus two confirmed signers (one agreed to be shown)."""
    from petitions.models import Signature

    widget_petition = demo_petition
    Signature.objects.create(
        petition=widget_petition,
        first_name="Anna",
        last_name="Schmidt",
        email="anna@example.org",
        email_normalized="anna@example.org",
        postcode="50667",
        country="DE",
        city="Köln",
        status=Signature.Status.CONFIRMED,
        confirmed_at=timezone.now(),
        show_name_publicly=True,
    )
    Signature.objects.create(
        petition=widget_petition,
        first_name="Verborgen",
        last_name="Person",
        email="hidden@example.org",
        email_normalized="hidden@example.org",
        postcode="10115",
        country="DE",
        city="Berlin",
        status=Signature.Status.CONFIRMED,
        confirmed_at=timezone.now(),
        show_name_publicly=False,
    )
    from petitions.counting import petition_counts_update

    petition_counts_update()
    return widget_petition


def test_it_shows_the_campaign_the_widget_and_recent_signers_in_german_and_english(
    live_server: Any, page: Any, landing: Any, screenshot_dir: Path
) -> None:
    violations: list[str] = []
    page.on(
        "console",
        lambda message: "Content Security Policy" in message.text and violations.append(message.text),
    )
    response = page.goto(live_server.url + "/")
    assert response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-src" in csp and "connect-src 'self'" in csp

    campaign = landing.campaign
    assert page.get_by_role("heading", level=1).text_content() == campaign.title_de
    widget = page.locator("[data-campaign-widget]")
    widget.get_by_role("heading", name="Jetzt unterschreiben").wait_for()
    recent = widget.locator(".cw-recent-list li")
    recent.first.wait_for()
    # Only signers who agreed are shown, by first name and initial.
    assert recent.count() == 1
    assert "Anna S." in recent.first.text_content() and "Köln" in recent.first.text_content()
    assert "Verborgen" not in widget.text_content()
    assert page.locator("progress").count() == 1
    page.wait_for_function("() => document.querySelector('[data-campaign-widget]').dataset.count === '2'")
    page.screenshot(path=str(screenshot_dir / "landing-de-desktop.png"), full_page=True)

    page.get_by_role("link", name="English").click()
    page.wait_for_url(re.compile(r"\?lang=en$"))
    assert page.get_by_role("heading", level=1).text_content() == campaign.title_en
    assert page.locator("html").get_attribute("lang") == "en"
    widget.get_by_role("heading", name="Sign now").wait_for()
    assert not violations, violations


def test_it_signs_on_the_landing_page(live_server: Any, page: Any, landing: Any) -> None:
    from petitions.models import Signature

    page.goto(live_server.url + "/")
    widget = page.locator("[data-campaign-widget]")
    widget.get_by_label("Vorname", exact=True).fill("Erika")
    widget.get_by_label("Nachname", exact=True).fill("Mustermann")
    widget.get_by_label("E-Mail-Adresse", exact=True).fill("erika@example.org")
    widget.get_by_label("Postleitzahl", exact=True).fill("10115")
    # The real 2025 data: the hint names the Wahlkreis and its directly elected member.
    hint = widget.locator(".cw-region")
    hint.filter(has_text="Wahlkreis 74 Berlin-Mitte (Berlin)").wait_for()
    assert "Hanna Steinmüller (GRÜNE)" in hint.text_content()
    widget.get_by_label(landing.consent_text_de, exact=True).check()
    widget.get_by_role("button", name="Unterschreiben").click()
    widget.get_by_role("heading", name=re.compile("Bitte bestätigen Sie")).wait_for()
    assert Signature.objects.filter(email="erika@example.org", status=Signature.Status.PENDING).count() == 1
