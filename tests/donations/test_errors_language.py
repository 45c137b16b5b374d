"""Donation errors speak the donor's language: the `locale` field, else Accept-Language,
German by default; the codes and field names stay the same in every language."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.donations.helpers import donation_complete, donation_payload, donation_start

pytestmark = pytest.mark.django_db


def start(api_client: Any, body: dict[str, Any], language: str | None = None) -> Any:
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    return api_client.post("/api/v1/donations/", body, format="json", **headers)


def test_it_answers_validation_errors_in_german_by_default_and_in_english_on_request(
    api_client, campaign, settings
):
    body = donation_payload(campaign.slug, amount=1)
    body.pop("locale", None)

    german = start(api_client, body).json()
    english = start(api_client, body, "en-GB,en;q=0.9").json()

    assert german["code"] == english["code"] == "invalid"
    assert set(german["fields"]) == set(english["fields"]) == {"amount"}
    assert german["message"] == "Die Anfrage enthält ungültige Felder."
    assert english["message"] == "The request has invalid fields."
    minimum = settings.DONATION_MIN_AMOUNT
    assert german["fields"]["amount"] == [f"Der Mindestbetrag ist {minimum} Cent."]
    assert english["fields"]["amount"] == [f"The minimum is {minimum} cents."]
    german = start(api_client, {**body, "surprise": "x"}).json()
    english = start(api_client, {**body, "surprise": "x"}, "en").json()
    assert german["fields"] == {"surprise": ["Unbekanntes Feld."]}
    assert english["fields"] == {"surprise": ["Unknown field."]}


def test_the_locale_field_wins_over_accept_language(api_client, campaign):
    body = donation_payload(campaign.slug, wants_receipt=True, locale="en")

    english = start(api_client, body, "de-DE").json()
    german = start(api_client, {**body, "locale": "de"}, "en").json()

    assert english["fields"]["street"] == ["Required for a donation receipt."]
    assert german["fields"]["street"] == ["Für eine Zuwendungsbestätigung erforderlich."]
    assert set(english["fields"]) == set(german["fields"]) == {"street", "postcode", "city", "country"}


def test_it_translates_the_messages_of_business_rules_and_drf(api_client, campaign, localstripe):
    unknown_campaign = start(api_client, donation_payload("no-such-campaign"), "en").json()
    assert unknown_campaign["fields"]["campaign"] == ["No open campaign with this slug."]
    german = start(api_client, donation_payload("no-such-campaign")).json()
    assert german["fields"]["campaign"] == ["Es gibt keine laufende Kampagne mit dieser Kennung."]

    missing = donation_payload(campaign.slug)
    del missing["email"]
    assert start(api_client, missing).json()["fields"]["email"] == ["Dieses Feld ist zwingend erforderlich."]
    assert start(api_client, missing, "en").json()["fields"]["email"] == ["This field is required."]

    body = donation_start(api_client, campaign.slug)
    early_de = donation_complete(api_client, body["id"])
    early_en = api_client.post(f"/api/v1/donations/{body['id']}/complete/", {"locale": "en"}, format="json")
    assert early_de.status_code == early_en.status_code == 409
    assert early_de.json()["code"] == early_en.json()["code"] == "setup_incomplete"
    assert early_de.json()["message"] == "Die Zahlungsart wurde noch nicht gespeichert."
    assert early_en.json()["message"] == "The payment method has not been saved yet."

    url = f"/api/v1/donations/{uuid.uuid4()}/"
    assert api_client.get(url).json() == {"code": "not_found", "message": "Nicht gefunden."}
    assert api_client.get(url, {"locale": "en"}).json() == {"code": "not_found", "message": "Not found."}


def test_a_cancel_link_error_names_the_field_in_both_languages(api_client):
    german = api_client.post("/api/v1/donations/cancel/", {"token": "nope"}, format="json")
    english = api_client.post("/api/v1/donations/cancel/", {"token": "nope", "locale": "en"}, format="json")

    assert german.status_code == english.status_code == 400
    assert german.json()["code"] == english.json()["code"] == "invalid_token"
    assert german.json()["fields"] == {"token": ["Dieser Link ist ungültig."]}
    assert english.json()["fields"] == {"token": ["This link is not valid."]}


def test_a_request_in_english_leaves_the_next_one_german(api_client, campaign):
    body = donation_payload(campaign.slug, amount=1)
    assert start(api_client, {**body, "locale": "en"}).json()["message"] == "The request has invalid fields."
    assert start(api_client, body).json()["message"] == "Die Anfrage enthält ungültige Felder."
