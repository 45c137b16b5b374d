"""The webhook with bodies shaped like Stripe's published fixtures (tests/donations/fixtures/
stripe/, see SOURCE.md there): each object is Stripe's fixture with the ids and the fields of
the case laid over it, plus fields the code does not know; the envelope is Stripe's event
fixture with the pinned API version; signed as Stripe signs and posted to the real endpoint.
The objects also exist in localstripe, so the handlers' re-reads see the same state."""

from __future__ import annotations

import json
import logging
import time
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from campaign.models import OutgoingEmail
from donations.models import Donation, Mandate, StripeEvent
from donations.stripe_api import STRIPE_API_VERSION
from donations.webhooks import stripe_event_process
from tests.donations.helpers import donation_complete, donation_start
from tests.fixtures.localstripe import CARD_3DS, IBAN_FAILS, stripe_signature

pytestmark = pytest.mark.django_db

URL = "/api/v1/stripe/webhook/"
FIXTURES = Path(__file__).parent / "fixtures" / "stripe"
# What a newer API version or a new feature adds: the handlers must not trip over it.
UNKNOWN = {"x_future_field": {"nested": [1, "two", None]}, "x_future_flag": True}


@cache
def _fixture(name: str) -> str:
    return (FIXTURES / f"{name}.json").read_text()


def fixture(name: str, **fields: Any) -> dict[str, Any]:
    obj = json.loads(_fixture(name))
    obj.update(UNKNOWN)
    obj.update(fields)
    return obj


def event_body(event_type: str, obj: dict[str, Any], **envelope: Any) -> bytes:
    event = json.loads(_fixture("event"))
    event.update(
        id=f"evt_{uuid.uuid4().hex[:24]}",
        api_version=STRIPE_API_VERSION,
        created=int(time.time()),
        type=event_type,
        data={"object": obj, **envelope.pop("data", {})},
        **envelope,
    )
    event.update(UNKNOWN)
    return json.dumps(event).encode()


def deliver(client: Any, secret: str, event_type: str, obj: dict[str, Any], **envelope: Any) -> str:
    payload = event_body(event_type, obj, **envelope)
    response = client.post(
        URL, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=stripe_signature(payload, secret)
    )
    assert response.status_code == 200, response.content
    row = StripeEvent.objects.get(event_id=json.loads(payload)["id"])
    stripe_event_process(stripe_event_id=row.pk)
    row.refresh_from_db()
    return row.outcome


def payment_intent(localstripe: Any, donation: Donation, **fields: Any) -> dict[str, Any]:
    real = localstripe.request("GET", f"/v1/payment_intents/{donation.stripe_payment_intent_id}")
    case = {
        "id": real["id"],
        "amount": real["amount"],
        "currency": real["currency"],
        "customer": real["customer"],
        "payment_method": real["payment_method"],
        "client_secret": real["client_secret"],
        "latest_charge": real.get("latest_charge"),
        "metadata": real["metadata"],
        "status": real["status"],
    }
    return fixture("payment_intent", **{**case, **fields})


def paid_card_donation(api_client: Any, campaign: Any, localstripe: Any, **overrides: Any) -> Donation:
    body = donation_start(api_client, campaign.slug, **overrides)
    localstripe.save_card(body["client_secret"])
    assert donation_complete(api_client, body["id"]).json()["status"] == "succeeded"
    return Donation.objects.get(public_id=body["id"])


def monthly_mandate(api_client: Any, campaign: Any, localstripe: Any, method: str = "sepa_debit") -> Mandate:
    body = donation_start(api_client, campaign.slug, interval="month", payment_method=method, amount=1500)
    if method == "card":
        localstripe.save_card(body["client_secret"])
    else:
        localstripe.save_sepa(body["client_secret"])
    donation_complete(api_client, body["id"])
    mandate = Donation.objects.get(public_id=body["id"]).mandate
    assert mandate is not None
    return mandate


def test_it_books_payment_intent_succeeded_after_3d_secure(
    api_client, client, campaign, localstripe, webhook_secret
):
    body = donation_start(api_client, campaign.slug, amount=4200)
    localstripe.save_card(body["client_secret"], CARD_3DS)
    localstripe.authenticate(donation_complete(api_client, body["id"]).json()["client_secret"])
    donation = Donation.objects.get(public_id=body["id"])
    assert donation.status == "requires_action"

    outcome = deliver(
        client, webhook_secret, "payment_intent.succeeded", payment_intent(localstripe, donation)
    )

    donation.refresh_from_db()
    assert outcome == f"donation {donation.pk}: succeeded"
    assert (donation.status, donation.stripe_charge_id != "") == ("succeeded", True)
    assert OutgoingEmail.objects.filter(kind="donation_thanks").count() == 1


def test_it_keeps_a_sepa_debit_processing_then_fails_it_on_payment_failed(
    api_client, client, campaign, localstripe, webhook_secret
):
    from tests.conftest import wait_until

    body = donation_start(api_client, campaign.slug, payment_method="sepa_debit")
    localstripe.save_sepa(body["client_secret"], IBAN_FAILS)
    assert donation_complete(api_client, body["id"]).json()["status"] == "processing"
    donation = Donation.objects.get(public_id=body["id"])

    processing = payment_intent(localstripe, donation, status="processing", processing={"type": "sepa_debit"})
    # localstripe may already have bounced the debit; the handler believes Stripe, not the body.
    deliver(client, webhook_secret, "payment_intent.processing", processing)
    donation.refresh_from_db()
    assert donation.status in ("processing", "failed")

    wait_until(
        lambda: (
            localstripe.request("GET", f"/v1/payment_intents/{donation.stripe_payment_intent_id}")["status"]
            == "requires_payment_method"
        ),
        timeout=10,
    )
    failed = payment_intent(
        localstripe,
        donation,
        last_payment_error={"type": "card_error", "code": "card_declined", "x_unknown": 1},
    )
    deliver(client, webhook_secret, "payment_intent.payment_failed", failed)

    donation.refresh_from_db()
    assert (donation.status, donation.failure_code) == ("failed", "card_declined")


def test_it_books_a_partial_refund_from_charge_refunded(
    api_client, client, campaign, localstripe, webhook_secret
):
    donation = paid_card_donation(api_client, campaign, localstripe, amount=5000)
    localstripe.refund(donation.stripe_payment_intent_id, amount=1250)
    charge = fixture(
        "charge",
        id=donation.stripe_charge_id,
        amount=5000,
        amount_captured=5000,
        amount_refunded=1250,
        refunded=False,
        captured=True,
        currency="eur",
        payment_intent=donation.stripe_payment_intent_id,
        metadata={"donation_id": str(donation.pk)},
    )

    outcome = deliver(
        client,
        webhook_secret,
        "charge.refunded",
        charge,
        data={"previous_attributes": {"amount_refunded": 0}},
    )

    donation.refresh_from_db()
    assert outcome == f"donation {donation.pk}: partially_refunded"
    assert (donation.status, donation.amount_refunded) == ("partially_refunded", 1250)


def test_it_follows_a_dispute_from_created_to_closed_won(
    api_client, client, campaign, localstripe, webhook_secret
):
    donation = paid_card_donation(api_client, campaign, localstripe)

    def dispute(status: str) -> dict[str, Any]:
        return fixture(
            "dispute",
            amount=donation.total_amount,
            currency="eur",
            charge=donation.stripe_charge_id,
            payment_intent=donation.stripe_payment_intent_id,
            status=status,
            reason="fraudulent",
        )

    deliver(client, webhook_secret, "charge.dispute.created", dispute("needs_response"))
    donation.refresh_from_db()
    assert (donation.status, donation.dispute_status) == ("disputed", "needs_response")

    deliver(client, webhook_secret, "charge.dispute.closed", dispute("won"))
    donation.refresh_from_db()
    assert (donation.status, donation.dispute_status) == ("succeeded", "won")


def test_it_records_the_payment_method_from_setup_intent_succeeded(
    api_client, client, campaign, localstripe, webhook_secret
):
    body = donation_start(api_client, campaign.slug)
    saved = localstripe.save_card(body["client_secret"])
    setup_intent = fixture(
        "setup_intent",
        id=saved["id"],
        client_secret=saved["client_secret"],
        customer=saved["customer"],
        payment_method=saved["payment_method"],
        status="succeeded",
        last_setup_error=None,
        next_action=None,
    )

    deliver(client, webhook_secret, "setup_intent.succeeded", setup_intent)

    donation = Donation.objects.get(public_id=body["id"])
    assert (donation.stripe_payment_method_id, donation.status) == (saved["payment_method"], "created")


def test_it_stops_a_monthly_gift_whose_sepa_mandate_became_inactive(
    api_client, client, campaign, localstripe, webhook_secret
):
    mandate = monthly_mandate(api_client, campaign, localstripe)
    other = monthly_mandate(api_client, campaign, localstripe)

    def stripe_mandate(status: str) -> dict[str, Any]:
        return fixture(
            "mandate",
            id=mandate.stripe_mandate_id or "mandate_unknown_to_the_stand_in",
            payment_method=mandate.stripe_payment_method_id,
            status=status,
        )

    assert deliver(client, webhook_secret, "mandate.updated", stripe_mandate("active")) == (
        "mandate active: nothing to do"
    )
    outcome = deliver(
        client,
        webhook_secret,
        "mandate.updated",
        stripe_mandate("inactive"),
        data={"previous_attributes": {"status": "active"}},
    )

    assert outcome == "1 mandate(s) stopped"
    mandate.refresh_from_db()
    other.refresh_from_db()
    assert (mandate.status, mandate.next_charge_on) == ("canceled", None)
    assert other.status == "active"
    # Again (Stripe retries): nothing more happens.
    assert deliver(client, webhook_secret, "mandate.updated", stripe_mandate("inactive")) == (
        "no matching mandate"
    )


def test_it_stops_a_monthly_gift_whose_card_was_detached(
    api_client, client, campaign, localstripe, webhook_secret
):
    mandate = monthly_mandate(api_client, campaign, localstripe, method="card")
    localstripe.request("POST", f"/v1/payment_methods/{mandate.stripe_payment_method_id}/detach")
    payment_method = fixture("payment_method", id=mandate.stripe_payment_method_id, customer=None)

    outcome = deliver(
        client,
        webhook_secret,
        "payment_method.detached",
        payment_method,
        data={"previous_attributes": {"customer": mandate.stripe_customer_id}},
    )

    assert outcome == "1 mandate(s) stopped"
    mandate.refresh_from_db()
    assert mandate.status == "canceled"


def test_it_stops_the_monthly_gifts_of_a_deleted_customer_and_keeps_the_gifts(
    api_client, client, campaign, localstripe, webhook_secret
):
    mandate = monthly_mandate(api_client, campaign, localstripe)
    localstripe.request("DELETE", f"/v1/customers/{mandate.stripe_customer_id}")

    outcome = deliver(
        client, webhook_secret, "customer.deleted", fixture("deleted_customer", id=mandate.stripe_customer_id)
    )

    assert outcome == "1 mandate(s) stopped"
    mandate.refresh_from_db()
    assert mandate.status == "canceled"
    assert mandate.donations.get().status in ("processing", "succeeded")


def test_it_answers_200_and_logs_event_types_it_does_not_handle(client, webhook_secret, caplog):
    caplog.set_level(logging.INFO, logger="donations.webhooks")
    # Stripe's event fixture exactly as published (a plan.created), and a type from the future.
    published = json.loads(_fixture("event"))
    published["created"] = int(time.time())
    payload = json.dumps(published).encode()
    response = client.post(
        URL,
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_signature(payload, webhook_secret),
    )
    assert response.status_code == 200
    stripe_event_process(stripe_event_id=StripeEvent.objects.get(event_id=published["id"]).pk)
    outcome = deliver(client, webhook_secret, "v2.core.future_thing.created", fixture("payment_method"))

    assert outcome == "unhandled type"
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {StripeEvent.Status.IGNORED}
    assert sum("unhandled type" in record.getMessage() for record in caplog.records) == 2


def test_every_vendored_fixture_is_the_published_shape_with_its_object_name():
    expected = {
        "payment_intent": "payment_intent",
        "charge": "charge",
        "dispute": "dispute",
        "setup_intent": "setup_intent",
        "mandate": "mandate",
        "payment_method": "payment_method",
        "deleted_customer": "customer",
        "event": "event",
    }
    for name, object_name in expected.items():
        obj = json.loads(_fixture(name))
        assert obj["object"] == object_name, name
        assert obj["id"], name
    assert json.loads(_fixture("deleted_customer"))["deleted"] is True
