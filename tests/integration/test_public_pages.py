"""Every public page in Chromium at a phone (390×844) and a desktop (1280×800) size: nothing
scrolls sideways, no text is cut off, the console stays free of errors and no request leaves for
a third party. A screenshot of each goes to test-output/screenshots/; `make screenshots` copies
the current set into docs/screenshots/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from petitions.models import Milestone, Petition, SignatureToken
from petitions.tokens import signature_token_mint
from tests.fixtures.petitions import SignatureFactory

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("petitions_isolation")]

SIZES = {"phone": (390, 844), "desktop": (1280, 800)}
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}

# Elements whose text is clipped: wider content than box, with the overflow hidden or clipped,
# or a box that reaches past the right edge of the viewport outside any sideways-scrolling box.
CUT_OFF_TEXT = """() => {
  const cut = [];
  for (const el of document.querySelectorAll('h1, h2, h3, p, a, button, label, li, td, th, pre, code')) {
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden' || !el.offsetParent && style.position !== 'fixed') continue;
    const rect = el.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0) continue;
    const clips = ['hidden', 'clip'].includes(style.overflowX) || style.textOverflow === 'ellipsis';
    // Inside a box that scrolls sideways (the embed snippet), wide content is reachable.
    let scrolls = false;
    for (let box = el; box && !scrolls; box = box.parentElement) {
      scrolls = ['auto', 'scroll'].includes(getComputedStyle(box).overflowX);
    }
    if ((clips && el.scrollWidth > el.clientWidth + 1) || (!scrolls && rect.right > innerWidth + 1)) {
      cut.push(el.tagName.toLowerCase() + ': ' + (el.textContent || '').trim().slice(0, 60));
    }
  }
  return cut;
}"""


@pytest.fixture
def live_petition(transactional_db: Any, campaign: Any) -> Petition:
    from petitions.selectors import petition_count_cache_clear

    petition_count_cache_clear()
    campaign.status = campaign.Status.LIVE
    campaign.save(update_fields=["status"])
    petition = Petition.objects.create(
        campaign=campaign,
        slug="public-pages-petition",
        title_de="#stopstreamingexploitation – Livestream-Missbrauch von Kindern stoppen",
        title_en="#stopstreamingexploitation – stop the livestreamed sexual exploitation of children",
        text_de="Wir fordern wirksame Gesetze gegen den Livestream-Missbrauch von Kindern.",
        text_en="We call for effective laws against the livestreamed abuse of children.",
        status=Petition.Status.OPEN,
        consent_text_de="Ich stimme zu, dass meine Angaben zur Durchführung der Petition verarbeitet werden.",
        consent_text_en="I agree that my details are processed to run the petition.",
        consent_version="2026-11",
        offline_count=1_234,
    )
    Milestone.objects.create(petition=petition, target=5_000)
    return petition


def _unsubscribe_token(locale: str) -> str:
    from campaign.privacy.suppression import unsubscribe_token_make

    return unsubscribe_token_make(email="a-very-long-supporter-address@example.org", locale=locale)


def _export_token(petition: Petition) -> str:
    """A valid access-export link of a signer with a long name and address."""
    import hashlib
    from datetime import timedelta

    from django.utils import timezone

    from campaign.models import PrivacyRequest
    from campaign.privacy.hashing import address_hash
    from campaign.privacy.sealing import seal

    email = "maximiliane.mustermann-ueberlang@example.org"
    SignatureFactory(petition=petition, email=email, email_normalized=email, status="confirmed")
    token = "e" * 43
    PrivacyRequest.objects.create(
        kind="access",
        status="completed",
        email_hash=address_hash(email),
        email_sealed=seal(email),
        due_at=timezone.now() + timedelta(days=30),
        export_token_hash=hashlib.sha256(token.encode()).hexdigest(),
        export_expires_at=timezone.now() + timedelta(days=7),
    )
    return token


def _token(petition: Petition, purpose: str) -> str:
    return signature_token_mint(signature_id=SignatureFactory(petition=petition).pk, purpose=purpose)


# An unknown link: the page asks the API, which answers 404, and the page explains it.
EXPECTED_API_ANSWERS = {"confirm-unknown-link": "/api/v1/signatures/confirm/"}

PAGES: dict[str, Callable[[Petition], str]] = {
    "landing-de": lambda petition: "/",
    "landing-en": lambda petition: "/?lang=en",
    "confirm": lambda petition: (
        f"/signatures/confirm/?token={_token(petition, SignatureToken.Purpose.CONFIRM)}"
    ),
    "withdraw": lambda petition: (
        f"/signatures/withdraw/?token={_token(petition, SignatureToken.Purpose.WITHDRAW)}"
    ),
    "confirm-unknown-link": lambda petition: "/signatures/confirm/?token=unknown",
    "donation-cancel": lambda petition: "/donations/cancel/?token=unknown",
    "unsubscribe": lambda petition: "/unsubscribe/?" + urlencode({"t": _unsubscribe_token("de")}),
    "unsubscribe-en": lambda petition: "/unsubscribe/?" + urlencode({"t": _unsubscribe_token("en")}),
    "privacy-confirm": lambda petition: "/privacy/confirm/?token=" + "a" * 43,
    "privacy-export": lambda petition: "/privacy/export/?token=" + _export_token(petition),
}


@pytest.mark.parametrize("size_name", list(SIZES))
@pytest.mark.parametrize("page_name", list(PAGES))
def test_the_public_page_fits_the_screen_and_stays_on_its_own_origin(
    page_name: str,
    size_name: str,
    live_server: Any,
    page: Any,
    live_petition: Petition,
    localstripe: Any,
    settings: Any,
    screenshot_dir: Path,
) -> None:
    settings.STRIPE_JS_URL = f"{localstripe.url}/js.stripe.com/v3/"
    errors: list[str] = []
    foreign_requests: list[str] = []
    # Chromium logs every 4xx answer as a console error too; those are checked one by one below.
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and not message.text.startswith("Failed to load resource: the server responded")
            and errors.append(message.text)
        ),
    )
    page.on("pageerror", lambda error: errors.append(str(error)))

    def record(request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in {"http", "https", "ws", "wss"} and parts.hostname not in LOOPBACK_HOSTS:
            foreign_requests.append(request.url)

    page.on("request", record)
    page.on("requestfailed", lambda request: errors.append("failed: " + request.url))
    expected_answer = EXPECTED_API_ANSWERS.get(page_name)

    def check_response(response: Any) -> None:
        if response.status >= 400 and not (expected_answer and response.url.endswith(expected_answer)):
            errors.append(f"{response.status}: {response.url}")

    page.on("response", check_response)
    width, height = SIZES[size_name]
    page.set_viewport_size({"width": width, "height": height})

    response = page.goto(live_server.url + PAGES[page_name](live_petition))
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => document.fonts.status === 'loaded'")

    assert response is not None and response.status < 500
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), (
        f"{page_name} scrolls sideways at {width}px: "
        f"{page.evaluate('() => document.documentElement.scrollWidth')}px wide"
    )
    assert page.evaluate(CUT_OFF_TEXT) == []
    assert errors == [], "\n".join(errors)
    assert foreign_requests == [], "\n".join(foreign_requests)
    page.screenshot(path=str(screenshot_dir / f"page-{page_name}-{size_name}.png"), full_page=True)
