"""The donation endpoints against localstripe: start, save the payment method (as Stripe.js
does), complete; card success, declines, 3-D Secure, SEPA; bad input."""

from __future__ import annotations

from typing import Any

import pytest

from donations.models import Donation, Mandate
from tests.donations.helpers import donation_complete, donation_payload, donation_start
from tests.fixtures.localstripe import (
    CARD_3DS,
    CARD_DECLINED_ON_CHARGE,
    CARD_DECLINED_ON_SETUP,
    IBAN_FAILS,
    IBAN_OK,
)

pytestmark = pytest.mark.django_db


def _payment_intents(localstripe: Any) -> list[dict]:
    return localstripe.request("GET", "/v1/payment_intents?limit=100")["data"]


def test_it_starts_a_donation_with_a_setup_intent(api_client, campaign, localstripe):
    body = donation_start(api_client, campaign.slug, amount=5000)

    assert body["intent_type"] == "setup"
    assert body["client_secret"].startswith("seti_")
    assert body["publishable_key"] == "pk_test_local"
    assert (body["amount"], body["fee_amount"], body["total_amount"]) == (5000, 0, 5000)
    assert body["status"] == "created"
    donation = Donation.objects.get(public_id=body["id"])
    assert donation.stripe_customer_id.startswith("cus_")
    # The SetupIntent carries our id, so Stripe's objects can be matched back.
    setup_intent = localstripe.request("GET", f"/v1/setup_intents/{donation.stripe_setup_intent_id}")
    assert setup_intent["metadata"]["donation_id"] == str(donation.pk)
    assert setup_intent["payment_method_types"] == ["card"]


def test_it_charges_a_saved_card_once_even_when_completed_twice(api_client, campaign, localstripe):
    body = donation_start(api_client, campaign.slug)
    assert localstripe.save_card(body["client_secret"])["status"] == "succeeded"

    first = donation_complete(api_client, body["id"])
    second = donation_complete(api_client, body["id"])

    assert first.status_code == 200, first.content
    assert first.json()["status"] == "succeeded"
    assert first.json()["client_secret"] is None
    assert second.json()["status"] == "succeeded"
    # One charge at Stripe, not two.
    payment_intents = _payment_intents(localstripe)
    assert len(payment_intents) == 1
    assert payment_intents[0]["amount"] == 2500
    detail = api_client.get(f"/api/v1/donations/{body['id']}/")
    assert detail.status_code == 200
    assert detail.json()["status"] == "succeeded"


def test_it_adds_the_fee_when_the_donor_covers_it(api_client, campaign, localstripe):
    card = donation_start(api_client, campaign.slug, amount=10000, cover_fees=True)
    sepa = donation_start(
        api_client, campaign.slug, amount=10000, cover_fees=True, payment_method="sepa_debit"
    )

    # card: ceil((10000 + 25) / 0.985) = 10178; SEPA: 10000 + 35
    assert (card["fee_amount"], card["total_amount"]) == (178, 10178)
    assert (sepa["fee_amount"], sepa["total_amount"]) == (35, 10035)
    localstripe.save_card(card["client_secret"])
    donation_complete(api_client, card["id"])
    assert _payment_intents(localstripe)[0]["amount"] == 10178


def test_it_refuses_to_charge_before_the_payment_method_is_saved(api_client, campaign, localstripe):
    body = donation_start(api_client, campaign.slug)

    response = donation_complete(api_client, body["id"])

    assert response.status_code == 409
    assert response.json()["code"] == "setup_incomplete"
    assert _payment_intents(localstripe) == []


def test_it_reports_a_card_declined_when_saving(api_client, campaign, localstripe):
    body = donation_start(api_client, campaign.slug)
    saved = localstripe.save_card(body["client_secret"], CARD_DECLINED_ON_SETUP)
    assert saved["status_code"] == 402

    response = donation_complete(api_client, body["id"])

    assert response.status_code == 409
    assert Donation.objects.get(public_id=body["id"]).status == "created"


def test_it_marks_the_donation_failed_when_the_charge_is_declined(api_client, campaign, localstripe):
    body = donation_start(api_client, campaign.slug)
    localstripe.save_card(body["client_secret"], CARD_DECLINED_ON_CHARGE)

    response = donation_complete(api_client, body["id"])
    again = donation_complete(api_client, body["id"])

    assert response.status_code == 200
    assert response.json()["status"] == "failed"
    assert again.json()["status"] == "failed"
    donation = Donation.objects.get(public_id=body["id"])
    assert donation.failure_code == "card_declined"
    # The declined attempt is the only one: a second complete does not try again.
    assert len(_payment_intents(localstripe)) == 1


def test_it_hands_3d_secure_to_the_browser_and_then_succeeds(api_client, campaign, localstripe):
    body = donation_start(api_client, campaign.slug)
    localstripe.save_card(body["client_secret"], CARD_3DS)

    response = donation_complete(api_client, body["id"])

    assert response.json()["status"] == "requires_action"
    client_secret = response.json()["client_secret"]
    assert client_secret.startswith("pi_")
    assert localstripe.authenticate(client_secret)["status"] == "succeeded"
    after = donation_complete(api_client, body["id"])
    assert after.json()["status"] == "succeeded"
    assert after.json()["client_secret"] is None
    assert len(_payment_intents(localstripe)) == 1


def test_it_charges_sepa_debit(api_client, campaign, localstripe):
    body = donation_start(api_client, campaign.slug, payment_method="sepa_debit")
    assert localstripe.save_sepa(body["client_secret"], IBAN_OK)["status"] == "succeeded"

    response = donation_complete(api_client, body["id"])

    assert response.json()["status"] in ("processing", "succeeded")
    payment_method = _payment_intents(localstripe)[0]["payment_method"]
    assert localstripe.request("GET", f"/v1/payment_methods/{payment_method}")["type"] == "sepa_debit"


def test_it_records_a_sepa_debit_that_fails_later(api_client, campaign, localstripe):
    from tests.conftest import wait_until

    body = donation_start(api_client, campaign.slug, payment_method="sepa_debit")
    localstripe.save_sepa(body["client_secret"], IBAN_FAILS)

    response = donation_complete(api_client, body["id"])

    assert response.json()["status"] == "processing"
    # The bank returns the debit later; a repeated complete re-reads the PaymentIntent.
    wait_until(lambda: donation_complete(api_client, body["id"]).json()["status"] == "failed", timeout=10)
    assert Donation.objects.get(public_id=body["id"]).status == "failed"


def test_it_sets_up_a_monthly_mandate(api_client, campaign, localstripe):
    body = donation_start(api_client, campaign.slug, interval="month", payment_method="sepa_debit")
    localstripe.save_sepa(body["client_secret"])

    donation_complete(api_client, body["id"])

    donation = Donation.objects.select_related("mandate").get(public_id=body["id"])
    mandate = donation.mandate
    assert mandate is not None
    assert mandate.status == Mandate.Status.ACTIVE
    assert mandate.next_charge_on is not None
    assert mandate.stripe_payment_method_id == donation.stripe_payment_method_id


def test_it_answers_404_for_an_unknown_donation(api_client, localstripe):
    response = api_client.get("/api/v1/donations/7d1f7c1e-1b2a-4a39-9a4e-000000000000/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert donation_complete(api_client, "7d1f7c1e-1b2a-4a39-9a4e-000000000000").status_code == 404


BAD_INPUT = [
    ("amount", {"amount": 50}),
    ("amount", {"amount": 100_000_000}),
    ("amount", {"amount": "ten"}),
    ("amount", {"amount": 12.5}),
    ("amount", {"amount": None}),
    ("amount", {"amount": [1]}),
    ("currency", {"currency": "usd"}),
    ("interval", {"interval": "year"}),
    ("payment_method", {"payment_method": "paypal"}),
    ("email", {"email": "not-an-email"}),
    ("first_name", {"first_name": ""}),
    ("first_name", {"first_name": "x" * 101}),
    ("campaign", {"campaign": "no-such-campaign"}),
    ("campaign", {"campaign": "bad slug!"}),
    ("street", {"wants_receipt": True}),
    ("country", {"country": "Germany"}),
    ("cover_fees", {"cover_fees": "maybe"}),
    ("surprise", {"surprise": 1}),
]


@pytest.mark.parametrize(("field", "change"), BAD_INPUT)
def test_it_answers_bad_input_with_400_naming_the_field(api_client, campaign, localstripe, field, change):
    response = api_client.post("/api/v1/donations/", donation_payload(campaign.slug, **change), format="json")

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["fields"]
    assert Donation.objects.count() == 0


@pytest.mark.parametrize("body", ["[]", "null", '"text"', "{", "123"])
def test_it_answers_a_body_that_is_not_an_object_with_400(api_client, localstripe, body):
    response = api_client.post("/api/v1/donations/", body, content_type="application/json")
    assert response.status_code == 400


def test_it_requires_a_missing_field(api_client, campaign, localstripe):
    payload = donation_payload(campaign.slug)
    del payload["email"]
    response = api_client.post("/api/v1/donations/", payload, format="json")
    assert response.status_code == 400
    assert "email" in response.json()["fields"]


def test_a_gift_with_someone_elses_email_does_not_change_their_receipt_address(
    api_client, campaign, localstripe
):
    from tests.donations.helpers import RECEIPT_ADDRESS

    first = donation_start(api_client, campaign.slug, **RECEIPT_ADDRESS)
    donation_start(
        api_client,
        campaign.slug,
        street="Elsewhere 9",
        postcode="99999",
        city="Nowhere",
        country="DE",
        wants_receipt=True,
    )

    donor = Donation.objects.get(public_id=first["id"]).donor
    assert (donor.street, donor.city) == ("Musterstraße 1", "Berlin")


def test_it_answers_503_and_closes_the_donation_when_stripe_is_unreachable(api_client, campaign, settings):
    from tests.conftest import free_port

    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    response = api_client.post("/api/v1/donations/", donation_payload(campaign.slug), format="json")

    assert response.status_code == 503
    assert response.json()["code"] == "payment_provider_unavailable"
    assert Donation.objects.get().status == "canceled"


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_completes_charge_once(campaign, localstripe):
    import threading

    from django.db import connection
    from rest_framework.test import APIClient

    body = donation_start(APIClient(), campaign.slug)
    localstripe.save_card(body["client_secret"])
    barrier = threading.Barrier(2)
    answers: list[tuple[int, str]] = []

    def complete() -> None:
        try:
            barrier.wait()
            response = donation_complete(APIClient(), body["id"])
            answers.append((response.status_code, response.json()["status"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=complete) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == [(200, "succeeded"), (200, "succeeded")]
    assert len(_payment_intents(localstripe)) == 1
