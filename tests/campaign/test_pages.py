"""The landing page, the widget's config endpoint and the widget's published size."""

from __future__ import annotations

import gzip
import re
from typing import Any

import pytest

from tests.conftest import REPO_ROOT

WIDGET_DIR = REPO_ROOT / "campaign" / "static" / "widget"


def test_it_tells_the_widget_where_stripe_js_is_and_the_publishable_key(
    api_client: Any, settings: Any
) -> None:
    settings.STRIPE_JS_URL = "http://127.0.0.1:8420/js.stripe.com/v3/"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_widget"
    response = api_client.get("/api/v1/widget/config/", HTTP_ORIGIN="https://ngo.example.org")
    assert response.status_code == 200
    assert response.json() == {
        "stripe_publishable_key": "pk_test_widget",
        "stripe_js_url": "http://127.0.0.1:8420/js.stripe.com/v3/",
        "organisation_name": settings.ORGANISATION["name"],
        # The covered card fee, so the wallet sheet can show the total the server will charge.
        "card_fee_percent": settings.DONATION_FEE_CARD_PERCENT,
        "card_fee_fixed": settings.DONATION_FEE_CARD_FIXED,
    }
    # No secret ever goes to the browser.
    assert "sk_" not in response.content.decode()


def test_it_answers_the_config_cross_origin_only_for_allowed_origins(api_client: Any, settings: Any) -> None:
    settings.CORS_ALLOWED_ORIGINS = ["https://ngo.example.org"]
    allowed = api_client.get("/api/v1/widget/config/", HTTP_ORIGIN="https://ngo.example.org")
    other = api_client.get("/api/v1/widget/config/", HTTP_ORIGIN="https://evil.example.com")
    assert allowed["Access-Control-Allow-Origin"] == "https://ngo.example.org"
    assert "Access-Control-Allow-Origin" not in other


@pytest.mark.django_db
def test_it_shows_a_hint_when_no_campaign_is_live(client: Any) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "load_demo" in response.content.decode()


@pytest.mark.django_db
def test_it_serves_the_landing_page_in_german_and_english_under_a_strict_csp(
    client: Any, campaign: Any, settings: Any
) -> None:
    settings.STRIPE_JS_URL = "https://js.stripe.com/v3/"
    settings.STRIPE_API_BASE = None
    german = client.get("/")
    english = client.get("/?lang=en")
    assert german.status_code == english.status_code == 200
    assert campaign.title_de in german.content.decode() and '<html lang="de">' in german.content.decode()
    assert campaign.title_en in english.content.decode() and '<html lang="en">' in english.content.decode()
    csp = german["Content-Security-Policy"]
    assert "script-src 'self' https://js.stripe.com" in csp
    assert "connect-src 'self' https://api.stripe.com" in csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    # No inline script or style attribute: the policy above would block them.
    assert not re.search(r"<script>|<script [^>]*>[^<]", german.content.decode())
    assert " style=" not in german.content.decode()
    # The donation progress is a number the browser understands, also on the German page.
    assert re.search(r'<progress max="100" value="\d+(\.\d+)?"', german.content.decode())


def test_it_states_the_widget_size_in_the_widget_guide() -> None:
    guide = (REPO_ROOT / "docs" / "widget.md").read_text()
    for name in ("campaign-widget.js", "campaign-widget.css"):
        data = (WIDGET_DIR / name).read_bytes()
        raw, gzipped = len(data), len(gzip.compress(data, compresslevel=9))
        stated = re.search(rf"`?{re.escape(name)}`? (?:is )?([\d,]+)\s+bytes \(([\d,]+) gzipped\)", guide)
        assert stated, f"docs/widget.md does not state the size of {name}"
        assert (int(stated.group(1).replace(",", "")), int(stated.group(2).replace(",", ""))) == (
            raw,
            gzipped,
        )
