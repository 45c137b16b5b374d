"""Shared steps of the donations tests: start a gift through the API, save the payment method
as Stripe.js would, complete it."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient


def donation_payload(campaign_slug: str, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "campaign": campaign_slug,
        "amount": 2500,
        "cover_fees": False,
        "currency": "eur",
        "interval": "once",
        "payment_method": "card",
        "first_name": "Erika",
        "last_name": "Mustermann",
        "email": "erika@example.org",
        "wants_receipt": False,
        "newsletter_consent": False,
    }
    payload.update(overrides)
    return payload


def donation_start(client: APIClient, campaign_slug: str, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/donations/", donation_payload(campaign_slug, **overrides), format="json")
    assert response.status_code == 201, response.content
    return response.json()


def donation_complete(client: APIClient, donation_id: str) -> Any:
    return client.post(f"/api/v1/donations/{donation_id}/complete/", format="json")


RECEIPT_ADDRESS = {
    "wants_receipt": True,
    "street": "Musterstraße 1",
    "postcode": "10115",
    "city": "Berlin",
    "country": "DE",
}
