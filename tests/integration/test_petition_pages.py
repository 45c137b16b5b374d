"""The pages behind the mail links, in Chromium against the live server: the page's script
POSTs the token (a GET alone changes nothing), then offers the donation."""

from __future__ import annotations

from typing import Any

import pytest

from petitions.models import Signature, SignatureToken
from petitions.tokens import signature_token_mint
from tests.fixtures.petitions import PetitionFactory, SignatureFactory

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("petitions_isolation")]


@pytest.fixture
def pending_signature(transactional_db: Any) -> Signature:
    return SignatureFactory(petition=PetitionFactory())


def test_the_confirm_page_confirms_by_script_and_offers_the_donation(
    live_server: Any, page: Any, pending_signature: Signature
) -> None:
    token = signature_token_mint(signature_id=pending_signature.pk, purpose=SignatureToken.Purpose.CONFIRM)

    page.goto(f"{live_server.url}/signatures/confirm/?token={token}")
    page.locator("#state-done").wait_for(state="visible")

    assert Signature.objects.get().status == Signature.Status.CONFIRMED
    # The donation is offered: the link to the landing page's donate section, or the
    # embedded widget's donate step in its place.
    donate_link = page.locator("#donate-link")
    donate_step = page.locator('[data-campaign-widget][data-step="donate"]')
    assert donate_link.is_visible() or donate_step.count() == 1
    # The link goes to the campaign's page, names the petition and carries the signed
    # reference to this signing.
    href = donate_link.get_attribute("href") or ""
    campaign_path = f"/campaigns/{pending_signature.petition.campaign.slug}/"
    assert href.startswith(f"{campaign_path}?petition={pending_signature.petition.slug}&signing_ref=")
    assert href.endswith("#donate")


def test_the_withdraw_page_withdraws_by_script(
    live_server: Any, page: Any, pending_signature: Signature
) -> None:
    token = signature_token_mint(signature_id=pending_signature.pk, purpose=SignatureToken.Purpose.WITHDRAW)

    page.goto(f"{live_server.url}/signatures/withdraw/?token={token}")
    page.locator("#state-done").wait_for(state="visible")

    signature = Signature.objects.get()
    assert signature.status == Signature.Status.WITHDRAWN
    assert signature.email == ""


def test_the_confirm_page_explains_an_unknown_link(
    live_server: Any, page: Any, pending_signature: Signature
) -> None:
    page.goto(f"{live_server.url}/signatures/confirm/?token={'x' * 43}")
    page.locator("#state-error").wait_for(state="visible")

    assert "ungültig" in page.locator("#error-text").text_content()
    assert Signature.objects.get().status == Signature.Status.PENDING
