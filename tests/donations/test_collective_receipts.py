"""Receipts for every case: one collective receipt per donor and year over one-off and monthly
gifts (when asked, or above the simplified-proof limit), a receipt asked for after the fact,
a partial refund that voids and corrects at once with the next number, and the finance
team's list of a year's receipts without gaps."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest

from campaign.models import OutgoingEmail
from donations.collective_receipts import annual_receipts_issue, receipt_request
from donations.models import Donation, Donor, Mandate, Receipt
from tests.donations.helpers import RECEIPT_ADDRESS
from tests.donations.test_receipts import pdf_text
from tests.donations.test_webhook_payloads import deliver, fixture, paid_card_donation

pytestmark = pytest.mark.django_db


def gift(
    campaign: Any,
    *,
    amount: int,
    month: int,
    year: int = 2025,
    wants_receipt: bool = False,
    street: str = "Musterstraße 1",
    email: str = "Erika@Example.org",
    mandate: Mandate | None = None,
    status: str = "succeeded",
) -> Donation:
    """A settled gift under its own Donor row, as every gift gets one."""
    donor = Donor.objects.create(
        email=email,
        email_normalized=email.lower(),
        first_name="Erika",
        last_name="Mustermann",
        street=street,
        postcode="10115",
        city="Berlin",
        country="DE",
    )
    return Donation.objects.create(
        campaign=campaign,
        donor=donor,
        mandate=mandate,
        period=f"{year}-{month:02d}" if mandate else "",
        interval="month" if mandate else "once",
        amount=amount,
        method="card",
        status=status,
        wants_receipt=wants_receipt,
        succeeded_at=datetime(year, month, 10, 12, tzinfo=UTC),
    )


def monthly(campaign: Any, donor_gift: Donation, *, wants_receipt: bool) -> Mandate:
    return Mandate.objects.create(
        campaign=campaign,
        donor=donor_gift.donor,
        amount=2000,
        method="sepa_debit",
        status="active",
        reference="SPENDE-COLLECT",
        stripe_customer_id="cus_1",
        stripe_payment_method_id="pm_1",
        wants_receipt=wants_receipt,
    )


def test_one_collective_receipt_covers_a_persons_one_off_and_monthly_gifts_above_the_limit(campaign):
    # Three one-off gifts without ticking wants_receipt and two monthly charges: 420 EUR.
    gifts = [gift(campaign, amount=10000, month=m) for m in (2, 5, 9)]
    mandate = monthly(campaign, gifts[0], wants_receipt=False)
    gifts += [gift(campaign, amount=6000, month=m, mandate=mandate) for m in (10, 11)]
    gift(campaign, amount=5000, month=3, status="refunded")  # left out
    gift(campaign, amount=5000, month=4, year=2024)  # another year

    assert annual_receipts_issue(year=2025) == 1
    assert annual_receipts_issue(year=2025) == 0

    receipt = Receipt.objects.get()
    assert (receipt.kind, receipt.amount) == (Receipt.Kind.ANNUAL, 42000)
    assert set(receipt.donations.values_list("pk", flat=True)) == {g.pk for g in gifts}
    assert receipt.donated_on.isoformat() == "2025-11-10"
    text = pdf_text(receipt)
    assert "vierhundertzwanzig Euro" in text
    assert "10.02.2025 Geldzuwendung nein 100,00 EUR" in text
    assert "10.11.2025 Geldzuwendung nein 60,00 EUR" in text
    assert OutgoingEmail.objects.filter(kind="donation_receipt").count() == 1


def test_below_the_limit_only_a_donor_who_asked_gets_one(campaign, settings):
    gift(campaign, amount=10000, month=1, email="a@example.org")
    gift(campaign, amount=10000, month=2, email="a@example.org")
    asked = gift(campaign, amount=2000, month=1, email="b@example.org")
    gift(campaign, amount=2000, month=6, email="b@example.org", wants_receipt=True)

    assert annual_receipts_issue(year=2025) == 1
    receipt = Receipt.objects.get()
    assert (receipt.amount, receipt.donor.email_normalized) == (4000, "b@example.org")
    assert asked.pk in set(receipt.donations.values_list("pk", flat=True))

    # The automatic part can be switched off: then above the limit nobody gets one unasked.
    settings.RECEIPT_ANNUAL_OVER_LIMIT = False
    gift(campaign, amount=40000, month=3, email="c@example.org")
    assert annual_receipts_issue(year=2025) == 0
    settings.RECEIPT_ANNUAL_OVER_LIMIT = True
    assert annual_receipts_issue(year=2025) == 1


def test_a_monthly_gift_that_asked_takes_the_persons_one_off_gifts_along(campaign):
    first = gift(campaign, amount=2000, month=1)
    mandate = monthly(campaign, first, wants_receipt=True)
    gift(campaign, amount=2000, month=2, mandate=mandate)
    gift(campaign, amount=1500, month=7)  # same person, a one-off
    gift(campaign, amount=1500, month=7, street="Andere Straße 9")  # another address: not them

    assert annual_receipts_issue(year=2025) == 1
    assert Receipt.objects.get().amount == 5500


def test_a_receipt_asked_for_after_the_fact(campaign):
    old = gift(campaign, amount=2500, month=4, year=2024)
    gift(campaign, amount=2500, month=8, year=2024)
    assert annual_receipts_issue(year=2024) == 0  # nobody asked, below the limit

    receipt = receipt_request(donation_id=old.pk)

    assert receipt is not None
    assert (receipt.kind, receipt.amount, receipt.year) == (Receipt.Kind.ANNUAL, 5000, receipt.year)
    assert receipt.period_start.year == 2024
    assert receipt_request(donation_id=old.pk) == receipt  # asking again gives the same one

    from django.utils import timezone

    this_year = gift(campaign, amount=4000, month=1, year=timezone.localdate().year)
    single = receipt_request(donation_id=this_year.pk)
    assert single is not None and single.kind == Receipt.Kind.SIMPLIFIED
    assert single.amount == 4000


def test_a_partial_refund_voids_the_receipt_and_corrects_it_with_the_next_number(
    api_client, client, campaign, localstripe, webhook_secret, staff_client
):
    donation = paid_card_donation(api_client, campaign, localstripe, amount=40000, **RECEIPT_ADDRESS)
    first = donation.receipt
    assert first is not None and first.kind == Receipt.Kind.SINGLE
    localstripe.refund(donation.stripe_payment_intent_id, amount=15000)
    charge = fixture(
        "charge",
        id=donation.stripe_charge_id,
        amount=40000,
        amount_refunded=15000,
        refunded=False,
        currency="eur",
        payment_intent=donation.stripe_payment_intent_id,
    )

    deliver(client, webhook_secret, "charge.refunded", charge)
    deliver(client, webhook_secret, "charge.refunded", charge)  # Stripe retries: nothing more

    first.refresh_from_db()
    donation.refresh_from_db()
    corrected = donation.receipt
    assert first.status == Receipt.Status.VOID
    assert corrected is not None and corrected.pk != first.pk
    assert (corrected.status, corrected.amount, corrected.replaces) == ("issued", 25000, first)
    assert corrected.kind == Receipt.Kind.SIMPLIFIED  # 250 EUR: within the simplified-proof limit
    assert (corrected.year, corrected.sequence) == (first.year, first.sequence + 1)
    assert corrected.number == f"{first.year}-{first.sequence + 1:06d}"
    assert f"ersetzt die zurückgezogene Bestätigung Nr. {first.number}" in pdf_text(corrected)
    assert OutgoingEmail.objects.filter(kind="donation_receipt").count() == 2
    assert OutgoingEmail.objects.filter(kind="donation_receipt_voided").count() == 1

    # The full refund of the rest voids the corrected one; nothing is left to receipt.
    localstripe.refund(donation.stripe_payment_intent_id, amount=25000)
    deliver(client, webhook_secret, "charge.refunded", {**charge, "amount_refunded": 40000, "refunded": True})
    assert list(Receipt.objects.order_by("sequence").values_list("status", flat=True)) == ["void", "void"]

    response = staff_client.get(f"/api/v1/staff/donations/receipts.csv?year={first.year}")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [int(r["sequence"]) for r in rows] == list(range(1, len(rows) + 1))  # no gaps
    assert [(r["number"], r["status"], r["event"], r["amount"]) for r in rows] == [
        (first.number, "void", "issued", "40000"),
        (corrected.number, "void", "corrected", "25000"),
    ]
    assert rows[0]["replaced_by"] == corrected.number
    assert rows[1]["replaces"] == first.number
    assert rows[0]["void_reason"] == "refund" and rows[0]["voided_on"]


def test_a_partial_refund_inside_a_collective_receipt_corrects_it_over_what_is_left(campaign):
    from django.db import transaction

    from donations.charging import donation_apply_refund

    gifts = [gift(campaign, amount=20000, month=m) for m in (1, 2)]
    annual_receipts_issue(year=2025)
    first = Receipt.objects.get()

    with transaction.atomic():
        locked = (
            Donation.objects.select_for_update(of=("self",)).select_related("receipt").get(pk=gifts[0].pk)
        )
        donation_apply_refund(locked, amount_refunded=5000, amount=20000)

    corrected = Receipt.objects.get(status="issued")
    assert (corrected.kind, corrected.amount, corrected.replaces_id) == (Receipt.Kind.ANNUAL, 35000, first.pk)
    assert corrected.sequence == first.sequence + 1
    assert "10.01.2025 Geldzuwendung nein 150,00 EUR" in pdf_text(corrected)


def test_the_receipt_list_answers_bad_input_and_strangers(api_client, staff_client):
    assert api_client.get("/api/v1/staff/donations/receipts.csv?year=2025").status_code in (401, 403)
    bad = staff_client.get("/api/v1/staff/donations/receipts.csv?year=last")
    assert bad.status_code == 400 and "year" in bad.json()["fields"]
    other = staff_client.get("/api/v1/staff/donations/receipts.csv?year=2025&who=me")
    assert other.status_code == 400 and "who" in other.json()["fields"]
    empty = staff_client.get("/api/v1/staff/donations/receipts.csv?year=2025")
    assert empty.status_code == 200
