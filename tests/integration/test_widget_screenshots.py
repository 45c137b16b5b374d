"""Screenshots of the widget in German and English at phone and desktop widths, embedded in a
page on another origin. Written to test-output/screenshots/ on every run; a current set is kept
in docs/screenshots/ for the README and docs/widget.md."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

WIDTHS = {"phone": 390, "desktop": 1280}


@pytest.fixture
def petition(transactional_db: Any, campaign: Any) -> Any:
    from petitions.models import Milestone, Petition
    from petitions.selectors import petition_count_cache_clear

    petition_count_cache_clear()
    petition = Petition.objects.create(
        campaign=campaign,
        slug=f"screenshots-{uuid.uuid4().hex[:8]}",
        title_de="Livestream-Missbrauch stoppen",
        title_en="Stop livestreamed abuse",
        status=Petition.Status.OPEN,
        consent_text_de="Ich stimme zu, dass meine Angaben zur Durchführung der Petition verarbeitet werden.",
        consent_text_en="I agree that my details are processed to run the petition.",
        consent_version="2026-11",
        offline_count=3_712,
    )
    for target in (1_000, 5_000, 10_000):
        Milestone.objects.create(petition=petition, target=target)
    return petition


@pytest.mark.parametrize("lang", ["de", "en"])
@pytest.mark.parametrize("width_name", list(WIDTHS))
def test_it_writes_screenshots_of_the_widget(
    lang: str,
    width_name: str,
    host_site: Any,
    live_server: Any,
    page: Any,
    petition: Any,
    screenshot_dir: Path,
) -> None:
    page.set_viewport_size({"width": WIDTHS[width_name], "height": 900})
    page.goto(host_site.widget_page(api=live_server.url, petition=petition.slug, lang=lang))
    widget = page.locator("[data-campaign-widget]")
    heading = "Jetzt unterschreiben" if lang == "de" else "Sign now"
    widget.get_by_role("heading", name=heading).wait_for()
    # The count and the progress towards the next milestone (5,000) are shown.
    assert widget.locator(".cw-count-number").text_content() == ("3.712" if lang == "de" else "3,712")
    assert widget.get_by_role("progressbar").get_attribute("aria-valuemax") == "5000"
    page.wait_for_function("() => document.fonts.status === 'loaded'")
    # The form fits the screen: nothing sticks out sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width_name]

    path = screenshot_dir / f"widget-{lang}-{width_name}.png"
    path.unlink(missing_ok=True)
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
