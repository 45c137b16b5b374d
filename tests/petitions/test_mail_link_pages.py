"""The pages behind the mail links speak the signer's language, carry the campaign's name and
colour, say what happens next, and hand the signer's details to the donation step instead of
asking again. A GET changes nothing."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from petitions.models import Signature, SignatureToken
from petitions.tokens import signature_token_mint
from tests.fixtures.petitions import PetitionFactory, SignatureFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def english_signature(campaign: Any) -> Signature:
    campaign.title_en = "Stop livestreamed abuse"
    campaign.accent_color = "#123abc"
    campaign.save()
    return SignatureFactory(petition=PetitionFactory(campaign=campaign), locale="en", first_name="Jane")


def _get(client: Any, path: str, signature: Signature, purpose: str, extra: str = "") -> Any:
    token = signature_token_mint(signature_id=signature.pk, purpose=purpose)
    return client.get(f"{path}?token={token}{extra}")


def test_the_confirm_page_speaks_the_signers_language_with_the_campaigns_name_and_colour(
    client: Any, english_signature: Signature
) -> None:
    response = _get(client, "/signatures/confirm/", english_signature, SignatureToken.Purpose.CONFIRM)
    page = response.content.decode()

    assert response.status_code == 200
    assert response["Content-Language"] == "en"
    assert '<html lang="en">' in page
    assert "Thank you! Your signature is confirmed." in page
    assert "Danke!" not in page  # one language, not both side by side
    assert "Stop livestreamed abuse" in page
    assert "--accent: #123abc" in page
    assert "What happens next" in page and "wa.me" in page
    # The donation step gets the signer's details instead of asking again.
    data = re.search(r'<script id="signer-data" type="application/json">(.*?)</script>', page)
    assert data is not None
    assert json.loads(data.group(1)) == {
        "first_name": "Jane",
        "last_name": "Mustermann",
        "email": english_signature.email,
        "postcode": english_signature.postcode,
        "country": english_signature.country,
    }
    # A GET changes nothing.
    english_signature.refresh_from_db()
    assert english_signature.status == Signature.Status.PENDING


def test_the_language_switch_overrides_the_signers_language(
    client: Any, english_signature: Signature
) -> None:
    response = _get(
        client, "/signatures/confirm/", english_signature, SignatureToken.Purpose.CONFIRM, "&lang=de"
    )
    page = response.content.decode()

    assert '<html lang="de">' in page
    assert "Danke! Ihre Unterschrift ist bestätigt." in page
    assert 'id="lang-switch"' in page and "lang=en" in page


def test_the_withdraw_page_speaks_the_signers_language(client: Any, english_signature: Signature) -> None:
    response = _get(client, "/signatures/withdraw/", english_signature, SignatureToken.Purpose.WITHDRAW)
    page = response.content.decode()

    assert "Withdraw your signature" in page
    assert '<script id="signer-data"' not in page  # only the confirmation offers the donation


def test_an_unknown_link_gets_a_page_without_personal_data(client: Any) -> None:
    response = client.get("/signatures/confirm/?token=" + "x" * 40)
    page = response.content.decode()

    assert response.status_code == 200
    assert '<script id="signer-data"' not in page
    assert '<html lang="de">' in page
