"""Every public page in Chromium at a phone (390×844) and a desktop (1280×800) size, on the demo
data `make run` loads: the landing page (the widget's demo page), the confirmation page with the
Wahlkreis line and the donate step it opens (and for a postcode outside the mapping), the
widget's thank-you after a gift, the address verification page of an official's office, the withdrawal page, the cancel page
of a monthly gift before and after. Nothing scrolls sideways, no text is cut off, the console
stays free of errors and no request leaves for a third party; a test keeps the list complete. A screenshot of each goes to test-output/screenshots/; `make screenshots` copies
the current set into docs/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from django.urls import URLResolver, get_resolver

from donations.mandates import mandate_cancel_token_mint
from donations.models import Donor, Mandate
from petitions.models import Petition, SignatureToken
from petitions.tokens import signature_token_mint
from tests.fixtures.localstripe import CARD_OK
from tests.fixtures.petitions import SignatureFactory
from tests.integration.test_widget_donate import fill_card

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


def _token(petition: Petition, purpose: str, **signature: Any) -> str:
    return signature_token_mint(
        signature_id=SignatureFactory(petition=petition, **signature).pk, purpose=purpose
    )


def _mandate_cancel_token(petition: Petition) -> str:
    """The cancel link of a monthly gift's thank-you mail."""
    donor = Donor.objects.create(
        email="monatlich@example.org", email_normalized="monatlich@example.org", first_name="Erika"
    )
    mandate = Mandate.objects.create(
        campaign=petition.campaign,
        donor=donor,
        amount=1000,
        method="sepa_debit",
        status=Mandate.Status.ACTIVE,
        reference="CAMPAIGN-PAGES-1",
        stripe_customer_id="cus_pages",
        stripe_payment_method_id="pm_pages",
    )
    return mandate_cancel_token_mint(mandate_id=mandate.pk)


def _donor_page_token(petition: Petition) -> str:
    """The link of the `donor_manage_link` mail, for a donor with a monthly gift."""
    from donations.donor_access import donor_access_token_mint

    _mandate_cancel_token(petition)
    return donor_access_token_mint(email_normalized="monatlich@example.org")


def _open_the_donor_page(page: Any) -> None:
    page.get_by_role("button", name="Meine Spenden anzeigen").click()
    page.get_by_text("CAMPAIGN-PAGES-1").wait_for()


def _donate_to_the_thank_you(page: Any) -> None:
    """From the confirmation page (the mail's link), through the donate step it opens, to the
    widget's thank-you."""
    form = page.locator("[data-campaign-widget] .cw-donate-form")
    form.wait_for()
    form.locator(".cw-amounts input[type=radio]").first.check()
    fill_card(form, CARD_OK)
    form.get_by_role("button", name=re.compile("spenden$")).click()
    page.get_by_role("heading", name="Vielen Dank für Ihre Spende!").wait_for()


def _stop_the_monthly_gift(page: Any) -> None:
    page.get_by_role("button", name="Monatliche Spende beenden").click()
    page.get_by_text("Ihre monatliche Spende wurde beendet.").wait_for()


def _stop_with_an_unknown_link(page: Any) -> None:
    page.get_by_role("button", name="Monatliche Spende beenden").click()
    page.get_by_text("Dieser Link ist nicht gültig.").wait_for()


@dataclass(frozen=True)
class PublicPage:
    path: str
    query: Callable[[Petition], str] = lambda petition: ""
    # Drives the page to the state the check looks at (after the page's own requests).
    then: Callable[[Any], None] | None = None
    # The path of an API the page asks and whose 4xx answer it explains (an unknown link).
    explained_answer: str = ""
    # The URL pattern, where the path fills in its parameters.
    route: str = ""


CONFIRM = SignatureToken.Purpose.CONFIRM
WITHDRAW = SignatureToken.Purpose.WITHDRAW
PAGES: dict[str, PublicPage] = {
    # The demo landing page, which is also the widget's demo page for integrators.
    "landing-de": PublicPage("/"),
    "landing-en": PublicPage("/", lambda petition: "?lang=en"),
    # The confirmation link of the mail; the page confirms, names the signer's Wahlkreis (10115,
    # Berlin-Mitte) and opens the donate step.
    "confirm": PublicPage("/signatures/confirm/", lambda petition: f"?token={_token(petition, CONFIRM)}"),
    # A well-formed postcode the mapping does not know: the lookup's 404 is a neutral line.
    "confirm-unmapped-postcode": PublicPage(
        "/signatures/confirm/",
        lambda petition: f"?token={_token(petition, CONFIRM, postcode='99999')}",
        explained_answer="/api/v1/regions/lookup/",
    ),
    "confirm-unknown-link": PublicPage(
        "/signatures/confirm/",
        lambda petition: "?token=unknown",
        explained_answer="/api/v1/signatures/confirm/",
    ),
    "donation-thank-you": PublicPage(
        "/signatures/confirm/",
        lambda petition: f"?token={_token(petition, CONFIRM)}",
        _donate_to_the_thank_you,
    ),
    "withdraw": PublicPage("/signatures/withdraw/", lambda petition: f"?token={_token(petition, WITHDRAW)}"),
    # The cancel link of a monthly gift's mail: the page, and the page once the gift is stopped.
    "donation-cancel": PublicPage(
        "/donations/cancel/", lambda petition: f"?token={_mandate_cancel_token(petition)}"
    ),
    "donation-cancel-done": PublicPage(
        "/donations/cancel/",
        lambda petition: f"?token={_mandate_cancel_token(petition)}",
        _stop_the_monthly_gift,
    ),
    "donation-cancel-unknown-link": PublicPage(
        "/donations/cancel/",
        lambda petition: "?token=unknown",
        _stop_with_an_unknown_link,
        explained_answer="/api/v1/donations/cancel/",
    ),
    "unsubscribe": PublicPage(
        "/unsubscribe/", lambda petition: "?" + urlencode({"t": _unsubscribe_token("de")})
    ),
    "unsubscribe-en": PublicPage(
        "/unsubscribe/", lambda petition: "?" + urlencode({"t": _unsubscribe_token("en")})
    ),
    "privacy-confirm": PublicPage("/privacy/confirm/", lambda petition: "?token=" + "a" * 43),
    "privacy-export": PublicPage("/privacy/export/", lambda petition: "?token=" + _export_token(petition)),
    # The link of the address verification mail an official's office receives.
    "official-address-verify": PublicPage(
        "/officials/verify-address/", lambda petition: "?token=" + "v" * 43
    ),
    # A campaign's own page (the root shows the default campaign).
    "campaign-page": PublicPage("/campaigns/stopstreamingexploitation/", route="/campaigns/<slug:slug>/"),
    # The donor's own page: the mailed link, the page it opens, and a session that has ended.
    "donor-page-link": PublicPage(
        "/donations/manage/", lambda petition: f"?token={_donor_page_token(petition)}"
    ),
    "donor-page": PublicPage(
        "/donations/manage/", lambda petition: f"?token={_donor_page_token(petition)}", _open_the_donor_page
    ),
    "donor-page-ended": PublicPage("/donations/manage/"),
}

# Routes that are no page a supporter opens: the API, its schema, the admin, health, metrics, icon.
# The staff pages (behind the login, tests/integration/test_staff_login.py) and the mail
# providers' webhooks are no supporter's pages either, nor the files other services fetch
# (Apple's domain check).
NOT_PUBLIC_PAGES = (
    "api/",
    "admin/",
    "healthz",
    "readyz",
    "metrics",
    "favicon.ico",
    "staff/",
    "mail/",
    ".well-known/",
)


def _page_routes(patterns: list[Any], prefix: str = "") -> set[str]:
    routes: set[str] = set()
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if route.startswith(NOT_PUBLIC_PAGES):
            continue
        if isinstance(pattern, URLResolver):
            routes |= _page_routes(pattern.url_patterns, route)
        else:
            routes.add("/" + route)
    return routes


def test_every_public_page_is_in_the_check() -> None:
    routes = _page_routes(get_resolver().url_patterns)

    assert "/donations/cancel/" in routes  # the walk really finds the pages
    assert routes == {page.route or page.path for page in PAGES.values()}


@pytest.mark.parametrize("size_name", list(SIZES))
@pytest.mark.parametrize("page_name", list(PAGES))
def test_the_public_page_fits_the_screen_and_stays_on_its_own_origin(
    page_name: str,
    size_name: str,
    live_server: Any,
    page: Any,
    demo_petition: Petition,
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
    public_page = PAGES[page_name]
    expected_answer = public_page.explained_answer

    def check_response(response: Any) -> None:
        if response.status >= 400 and not (
            expected_answer and urlsplit(response.url).path == expected_answer
        ):
            errors.append(f"{response.status}: {response.url}")

    page.on("response", check_response)
    width, height = SIZES[size_name]
    page.set_viewport_size({"width": width, "height": height})

    response = page.goto(live_server.url + public_page.path + public_page.query(demo_petition))
    page.wait_for_load_state("networkidle")
    if public_page.then is not None:
        public_page.then(page)
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
