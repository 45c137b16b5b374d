"""The Stripe webhook with signed fixtures (signed exactly as Stripe signs): verification,
duplicates, any order, each handled event; objects are real ones in localstripe, so the
handlers' re-reads see Stripe's current state."""

from __future__ import annotations

import time
from typing import Any

import pytest

from campaign.models import OutgoingEmail
from donations.models import Donation, Receipt, StripeEvent
from donations.webhooks import stripe_event_process
from tests.donations.helpers import RECEIPT_ADDRESS, donation_complete, donation_start
from tests.fixtures.localstripe import CARD_3DS, IBAN_FAILS, stripe_event, stripe_signature

pytestmark = pytest.mark.django_db

URL = "/api/v1/stripe/webhook/"


def post_event(client: Any, payload: bytes, secret: str, timestamp: int | None = None) -> Any:
    return client.post(
        URL,
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_signature(payload, secret, timestamp),
    )


def process_pending() -> list[str]:
    ids = (
        StripeEvent.objects.filter(status=StripeEvent.Status.RECEIVED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return [stripe_event_process(stripe_event_id=pk) for pk in ids]


def deliver(client: Any, secret: str, event_type: str, obj: dict, event_id: str | None = None) -> Any:
    response = post_event(client, stripe_event(event_type, obj, event_id), secret)
    process_pending()
    return response


def paid_card_donation(api_client: Any, campaign: Any, localstripe: Any, **overrides: Any) -> Donation:
    body = donation_start(api_client, campaign.slug, **overrides)
    localstripe.save_card(body["client_secret"])
    assert donation_complete(api_client, body["id"]).json()["status"] == "succeeded"
    return Donation.objects.get(public_id=body["id"])


def pi_object(localstripe: Any, payment_intent_id: str) -> dict:
    return localstripe.request("GET", f"/v1/payment_intents/{payment_intent_id}")


def charge_object(localstripe: Any, charge_id: str) -> dict:
    return localstripe.request("GET", f"/v1/charges/{charge_id}")


def mails(kind: str) -> int:
    return OutgoingEmail.objects.filter(kind=kind).count()


# --- Verification ---------------------------------------------------------------------------


def test_it_rejects_a_forged_signature(client, webhook_secret):
    response = post_event(client, stripe_event("payment_intent.succeeded", {"id": "pi_x"}), "whsec_forged")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"
    assert StripeEvent.objects.count() == 0


def test_it_rejects_a_stale_timestamp(client, webhook_secret):
    payload = stripe_event("payment_intent.succeeded", {"id": "pi_x"})
    response = post_event(client, payload, webhook_secret, timestamp=int(time.time()) - 3600)

    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0


def test_it_rejects_a_missing_signature_and_a_tampered_body(client, webhook_secret):
    payload = stripe_event("payment_intent.succeeded", {"id": "pi_x"})
    assert client.post(URL, payload, content_type="application/json").status_code == 400
    signature = stripe_signature(payload, webhook_secret)
    tampered = payload.replace(b"pi_x", b"pi_y")
    response = client.post(URL, tampered, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
    assert response.status_code == 400


def test_it_accepts_every_configured_secret_during_a_rotation(client, webhook_secret, settings):
    settings.STRIPE_WEBHOOK_SECRET = "whsec_new, whsec_old"
    assert post_event(client, stripe_event("ping.unknown", {}), "whsec_old").status_code == 200
    assert post_event(client, stripe_event("ping.unknown", {}), "whsec_new").status_code == 200
    assert post_event(client, stripe_event("ping.unknown", {}), "whsec_other").status_code == 400


def test_it_records_an_unknown_type_and_answers_200(client, webhook_secret):
    response = deliver(client, webhook_secret, "customer.created", {"id": "cus_1"})

    assert response.status_code == 200
    assert StripeEvent.objects.get().status == StripeEvent.Status.IGNORED


def test_it_enqueues_processing_after_commit(client, webhook_secret, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        post_event(client, stripe_event("customer.created", {"id": "cus_1"}), webhook_secret)
    assert len(callbacks) == 1


# --- Duplicates and order -------------------------------------------------------------------


def test_it_processes_the_same_event_three_times_once(
    api_client, client, campaign, localstripe, webhook_secret
):
    donation = paid_card_donation(api_client, campaign, localstripe, amount=40000, **RECEIPT_ADDRESS)
    refund = localstripe.refund(donation.stripe_payment_intent_id)
    assert refund["status"] == "succeeded"
    payload = stripe_event(
        "charge.refunded", charge_object(localstripe, donation.stripe_charge_id), "evt_same"
    )

    answers = [post_event(client, payload, webhook_secret).json()["status"] for _ in range(3)]
    process_pending()
    process_pending()

    assert answers == ["received", "duplicate", "duplicate"]
    assert StripeEvent.objects.filter(event_id="evt_same").count() == 1
    donation.refresh_from_db()
    assert donation.status == "refunded"
    # One receipt, voided once, one mail about it.
    assert Receipt.objects.get().status == Receipt.Status.VOID
    assert mails("donation_receipt") == 1
    assert mails("donation_receipt_voided") == 1


def test_it_ends_in_one_state_when_events_arrive_in_reverse_order(
    api_client, client, campaign, localstripe, webhook_secret
):
    donation = paid_card_donation(api_client, campaign, localstripe)
    obj = pi_object(localstripe, donation.stripe_payment_intent_id)

    deliver(client, webhook_secret, "payment_intent.succeeded", {**obj, "status": "succeeded"})
    deliver(client, webhook_secret, "payment_intent.processing", {**obj, "status": "processing"})

    donation.refresh_from_db()
    assert donation.status == "succeeded"
    assert mails("donation_thanks") == 1


def test_it_applies_a_webhook_that_arrives_before_complete(
    api_client, client, campaign, localstripe, webhook_secret
):
    # 3-D Secure: complete answers requires_action, the browser authenticates, and the
    # succeeded event arrives before the browser calls complete again.
    body = donation_start(api_client, campaign.slug)
    localstripe.save_card(body["client_secret"], CARD_3DS)
    client_secret = donation_complete(api_client, body["id"]).json()["client_secret"]
    localstripe.authenticate(client_secret)
    donation = Donation.objects.get(public_id=body["id"])

    deliver(
        client,
        webhook_secret,
        "payment_intent.succeeded",
        pi_object(localstripe, donation.stripe_payment_intent_id),
    )
    donation.refresh_from_db()
    assert donation.status == "succeeded"

    assert donation_complete(api_client, body["id"]).json()["status"] == "succeeded"
    assert len(localstripe.request("GET", "/v1/payment_intents")["data"]) == 1
    assert mails("donation_thanks") == 1


def test_it_treats_a_stale_payload_as_a_trigger_and_reads_stripe(
    api_client, client, campaign, localstripe, webhook_secret
):
    donation = paid_card_donation(api_client, campaign, localstripe)
    stale = {**pi_object(localstripe, donation.stripe_payment_intent_id), "status": "requires_payment_method"}

    deliver(client, webhook_secret, "payment_intent.payment_failed", stale)

    donation.refresh_from_db()
    assert donation.status == "succeeded"  # Stripe says succeeded; the old payload does not win


# --- Each handled event ---------------------------------------------------------------------


def test_it_fails_a_sepa_donation_when_the_debit_bounces(
    api_client, client, campaign, localstripe, webhook_secret
):
    from tests.conftest import wait_until

    body = donation_start(api_client, campaign.slug, payment_method="sepa_debit")
    localstripe.save_sepa(body["client_secret"], IBAN_FAILS)
    assert donation_complete(api_client, body["id"]).json()["status"] == "processing"
    donation = Donation.objects.get(public_id=body["id"])
    wait_until(
        lambda: (
            pi_object(localstripe, donation.stripe_payment_intent_id)["status"] == "requires_payment_method"
        ),
        timeout=10,
    )

    deliver(
        client,
        webhook_secret,
        "payment_intent.payment_failed",
        pi_object(localstripe, donation.stripe_payment_intent_id),
    )

    donation.refresh_from_db()
    assert donation.status == "failed"
    assert donation.failure_code == "card_declined"  # what localstripe reports for a bounced debit


def test_it_records_a_partial_then_a_full_refund(api_client, client, campaign, localstripe, webhook_secret):
    donation = paid_card_donation(api_client, campaign, localstripe, amount=5000)

    localstripe.refund(donation.stripe_payment_intent_id, amount=1000)
    deliver(client, webhook_secret, "charge.refunded", charge_object(localstripe, donation.stripe_charge_id))
    donation.refresh_from_db()
    assert (donation.status, donation.amount_refunded) == ("partially_refunded", 1000)

    localstripe.refund(donation.stripe_payment_intent_id, amount=4000)
    deliver(client, webhook_secret, "charge.refunded", charge_object(localstripe, donation.stripe_charge_id))
    donation.refresh_from_db()
    assert (donation.status, donation.amount_refunded) == ("refunded", 5000)


def _dispute(donation: Donation, status: str) -> dict:
    return {
        "id": "dp_1",
        "object": "dispute",
        "amount": donation.total_amount,
        "charge": donation.stripe_charge_id,
        "payment_intent": donation.stripe_payment_intent_id,
        "status": status,
        "reason": "fraudulent",
    }


def test_it_voids_the_receipt_when_a_dispute_is_lost(
    api_client, client, campaign, localstripe, webhook_secret
):
    donation = paid_card_donation(api_client, campaign, localstripe, **RECEIPT_ADDRESS)
    assert donation.receipt is not None

    deliver(client, webhook_secret, "charge.dispute.created", _dispute(donation, "needs_response"))
    donation.refresh_from_db()
    assert donation.status == "disputed"

    deliver(client, webhook_secret, "charge.dispute.closed", _dispute(donation, "lost"))
    donation.refresh_from_db()
    assert donation.status == "dispute_lost"
    assert donation.receipt.status == Receipt.Status.VOID
    assert mails("donation_receipt_voided") == 1


def test_it_restores_a_won_dispute_even_when_closed_arrives_first(
    api_client, client, campaign, localstripe, webhook_secret
):
    donation = paid_card_donation(api_client, campaign, localstripe)

    deliver(client, webhook_secret, "charge.dispute.closed", _dispute(donation, "won"))
    deliver(client, webhook_secret, "charge.dispute.created", _dispute(donation, "needs_response"))

    donation.refresh_from_db()
    assert donation.status == "succeeded"
    assert donation.dispute_status == "won"


def test_it_records_the_payment_method_of_a_succeeded_setup_intent(
    api_client, client, campaign, localstripe, webhook_secret
):
    body = donation_start(api_client, campaign.slug)
    saved = localstripe.save_card(body["client_secret"])

    deliver(client, webhook_secret, "setup_intent.succeeded", saved)

    donation = Donation.objects.get(public_id=body["id"])
    assert donation.stripe_payment_method_id == saved["payment_method"]
    # Saving a payment method never charges it: that takes the donor's complete.
    assert donation.status == "created"
    assert localstripe.request("GET", "/v1/payment_intents")["data"] == []


def test_it_answers_200_for_an_event_of_an_unknown_donation(client, webhook_secret, localstripe):
    response = deliver(
        client, webhook_secret, "charge.dispute.created", {"id": "dp_x", "charge": "ch_unknown"}
    )

    assert response.status_code == 200
    assert StripeEvent.objects.get().outcome == "no matching donation"


# --- Concurrency ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_processes_two_concurrent_deliveries_of_one_event_once(campaign, localstripe, webhook_secret):
    import threading

    from django.db import connection
    from django.test import Client

    payload = stripe_event("customer.created", {"id": "cus_1"}, "evt_concurrent")
    barrier = threading.Barrier(2)
    answers: list[int] = []
    statuses: list[str] = []

    def deliver_once() -> None:
        try:
            barrier.wait()
            response = post_event(Client(), payload, webhook_secret)
            answers.append(response.status_code)
            statuses.append(response.json()["status"])
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == [200, 200]
    assert sorted(statuses) == ["duplicate", "received"]
    assert StripeEvent.objects.filter(event_id="evt_concurrent").count() == 1

    # Two workers given the same event: one claims it, the other finds nothing to do.
    pk = StripeEvent.objects.get().pk
    outcomes: list[str] = []

    def process_once() -> None:
        try:
            barrier.wait()
            outcomes.append(stripe_event_process(stripe_event_id=pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=process_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ignored", "not claimable"]


def test_it_accepts_events_while_the_broker_is_down_and_sweeps_them_later(
    client, webhook_secret, django_capture_on_commit_callbacks
):
    from datetime import timedelta
    from unittest import mock

    from django.utils import timezone

    from donations.webhooks import stripe_events_sweep
    from tests.conftest import broker_unreachable

    with broker_unreachable(), django_capture_on_commit_callbacks(execute=True):
        response = post_event(client, stripe_event("customer.created", {"id": "cus_1"}), webhook_secret)

    assert response.status_code == 200  # Stripe must not retry for our broker's sake
    event = StripeEvent.objects.get()
    assert event.status == StripeEvent.Status.RECEIVED
    with mock.patch("donations.webhooks._enqueue") as enqueue:
        assert stripe_events_sweep(now=timezone.now()) == 0  # too fresh
        assert stripe_events_sweep(now=timezone.now() + timedelta(minutes=10)) == 1
    enqueue.assert_called_once_with(event.pk)


def test_it_keeps_the_money_when_a_fraud_warning_closes(
    api_client, client, campaign, localstripe, webhook_secret
):
    donation = paid_card_donation(api_client, campaign, localstripe)

    deliver(client, webhook_secret, "charge.dispute.created", _dispute(donation, "warning_needs_response"))
    deliver(client, webhook_secret, "charge.dispute.closed", _dispute(donation, "warning_closed"))

    donation.refresh_from_db()
    assert donation.status == "succeeded"


def test_it_blanks_processed_event_bodies_after_the_retention_period(client, webhook_secret, settings):
    from datetime import timedelta

    from django.utils import timezone

    from donations.webhooks import stripe_event_payloads_purge

    settings.STRIPE_EVENT_PAYLOAD_RETENTION_DAYS = 30
    deliver(client, webhook_secret, "customer.created", {"id": "cus_1", "email": "private@example.org"})
    post_event(client, stripe_event("customer.updated", {"id": "cus_2"}), webhook_secret)  # not processed yet

    assert stripe_event_payloads_purge(now=timezone.now() + timedelta(days=29)) == 0
    assert stripe_event_payloads_purge(now=timezone.now() + timedelta(days=31)) == 1

    processed = StripeEvent.objects.get(type="customer.created")
    assert processed.payload == ""
    assert (processed.event_id, processed.status) != ("", "")
    assert StripeEvent.objects.get(type="customer.updated").payload != ""


def test_it_accepts_an_event_larger_than_the_public_body_limit(client, webhook_secret, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    payload = stripe_event("customer.updated", {"id": "cus_1", "metadata": {"note": "x" * 200_000}})

    response = post_event(client, payload, webhook_secret)

    assert response.status_code == 200
    assert StripeEvent.objects.get().payload == payload.decode()


def test_it_never_books_a_payment_of_another_amount_as_the_gift(
    api_client, client, campaign, localstripe, webhook_secret
):
    body = donation_start(api_client, campaign.slug, amount=5000)
    localstripe.save_card(body["client_secret"])
    donation = Donation.objects.get(public_id=body["id"])
    # A payment made elsewhere on the account that names our donation in its metadata.
    other = localstripe.request(
        "POST",
        "/v1/payment_intents",
        amount=100,
        currency="eur",
        customer=donation.stripe_customer_id,
        payment_method="pm_card_visa",
        confirm=True,
        metadata={"donation_id": str(donation.pk)},
    )
    assert other["status"] == "succeeded"

    deliver(client, webhook_secret, "payment_intent.succeeded", other)

    donation.refresh_from_db()
    assert (donation.status, donation.stripe_payment_intent_id) == ("created", "")
    # The donor's own charge still goes through.
    assert donation_complete(api_client, body["id"]).json()["status"] == "succeeded"
    donation.refresh_from_db()
    assert pi_object(localstripe, donation.stripe_payment_intent_id)["amount"] == 5000
