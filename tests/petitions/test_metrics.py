"""The petitions' counters: a confirmation counted once, a flag counted with its reason."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from petitions.confirmation import signature_confirm
from petitions.models import SignatureToken
from petitions.tokens import signature_token_mint
from tests.fixtures.petitions import SignatureFactory, sign_payload

pytestmark = pytest.mark.django_db(transaction=True)


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_confirmation_is_counted_once(petition):
    signature = SignatureFactory(petition=petition)
    token = signature_token_mint(signature_id=signature.pk, purpose=SignatureToken.Purpose.CONFIRM)
    before = _value("campaign_signatures_confirmed_total")

    signature_confirm(token=token)
    signature_confirm(token=token)

    assert _value("campaign_signatures_confirmed_total") == before + 1


def test_signings_are_counted_and_a_honeypot_flag_with_its_reason(api_client, petition):
    created = _value("campaign_signatures_created_total")
    flagged = _value("campaign_signatures_flagged_total", reason="honeypot")

    for overrides in ({}, {"email": "bot@example.org", "website": "http://spam.example"}):
        response = api_client.post(
            f"/api/v1/petitions/{petition.slug}/signatures/", sign_payload(**overrides), format="json"
        )
        assert response.status_code == 202

    assert _value("campaign_signatures_created_total") == created + 2
    assert _value("campaign_signatures_flagged_total", reason="honeypot") == flagged + 1
