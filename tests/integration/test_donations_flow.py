"""Donations end to end: localstripe as Stripe, its webhooks delivered live to the running
server, a real Celery worker processing events and sending mail to the real SMTP server."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from donations.models import Donation, Receipt, StripeEvent
from tests.conftest import wait_until
from tests.donations.helpers import RECEIPT_ADDRESS, donation_complete, donation_start
from tests.fixtures.localstripe import IBAN_FAILS

pytestmark = pytest.mark.integration

SECRET = "whsec_live_delivery"


@pytest.fixture
def live_webhooks(localstripe, live_server, settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    localstripe.webhook_register("live", f"{live_server.url}/api/v1/stripe/webhook/", SECRET)
    return localstripe


def test_a_bounced_sepa_debit_reaches_us_by_live_webhook(celery_worker, smtp_server, live_webhooks, campaign):
    from rest_framework.test import APIClient

    client = APIClient()
    email = "sepa-bounce@example.org"
    body = donation_start(client, campaign.slug, payment_method="sepa_debit", email=email, amount=3000)
    live_webhooks.save_sepa(body["client_secret"], IBAN_FAILS)

    assert donation_complete(client, body["id"]).json()["status"] == "processing"

    # localstripe fails the debit a moment later and posts payment_intent.payment_failed to the
    # running server; the worker re-reads the PaymentIntent and fails the donation.
    wait_until(lambda: Donation.objects.get(public_id=body["id"]).status == "failed", timeout=30)
    event = StripeEvent.objects.get(type="payment_intent.payment_failed")
    assert event.status == StripeEvent.Status.PROCESSED
    # The thank-you mail went out when the debit was under way; it is the pre-notification.
    (message,) = smtp_server.wait_for(email)
    text = message.get_body(("plain",)).get_content()
    assert "Vorabankündigung" in text
    assert "30,00 €" in text


def test_a_card_gift_gets_a_thank_you_and_a_receipt_once(celery_worker, smtp_server, live_webhooks, campaign):
    from rest_framework.test import APIClient

    client = APIClient()
    email = "receipt-card@example.org"
    body = donation_start(client, campaign.slug, email=email, amount=45000, locale="en", **RECEIPT_ADDRESS)
    live_webhooks.save_card(body["client_secret"])

    assert donation_complete(client, body["id"]).json()["status"] == "succeeded"
    assert donation_complete(client, body["id"]).json()["status"] == "succeeded"

    messages = smtp_server.wait_for(email, count=2, timeout=30)
    # The succeeded event arrives live too; it changes nothing and sends nothing more.
    wait_until(
        lambda: StripeEvent.objects.filter(
            type="payment_intent.succeeded", status=StripeEvent.Status.PROCESSED
        ).exists(),
        timeout=30,
    )
    receipt = Receipt.objects.get()
    subjects = sorted(str(m["Subject"]) for m in messages)
    assert subjects == ["Thank you for your donation", f"Your donation receipt {receipt.number}"]
    receipt_mail = next(m for m in messages if receipt.number in str(m["Subject"]))
    (attachment,) = list(receipt_mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    pdf = PdfReader(io.BytesIO(attachment.get_content()))
    text = " ".join(" ".join(page.extract_text() for page in pdf.pages).split())
    assert receipt.number in text
    assert "vierhundertfünfzig Euro" in text
    assert len(smtp_server.to(email)) == 2
    assert len(live_webhooks.request("GET", "/v1/payment_intents")["data"]) == 1


def test_the_monthly_schedule_runs_on_the_worker_and_mails_a_failed_charge(
    celery_worker, smtp_server, localstripe, campaign
):
    from rest_framework.test import APIClient

    from donations.models import Mandate
    from donations.tasks import mandates_charge_due_task

    client = APIClient()
    email = "monthly-fails@example.org"
    body = donation_start(client, campaign.slug, interval="month", email=email, amount=2000)
    localstripe.save_card(body["client_secret"])
    assert donation_complete(client, body["id"]).json()["status"] == "succeeded"
    smtp_server.wait_for(email)  # the thank-you with the cancel link
    mandate = Donation.objects.get(public_id=body["id"]).mandate
    Mandate.objects.filter(pk=mandate.pk).update(stripe_payment_method_id="pm_card_chargeCustomerFail")

    # The beat task, with the clock moved to the due day, fans out to the worker.
    mandates_charge_due_task.delay(mandate.next_charge_on.isoformat())

    messages = smtp_server.wait_for(email, count=2, timeout=30)
    assert "konnte nicht abgebucht werden" in str(messages[-1]["Subject"])
    mandate.refresh_from_db()
    assert mandate.failure_count == 1
