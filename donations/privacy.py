"""What donations do for a person's privacy requests (registered with the core in
DonationsConfig.ready): erasure by e-mail address and the access export.

Order matters: active or paused monthly gifts are cancelled first (committed on their own, so
no charge can start while the rest runs), then the Stripe customers are deleted through the
Stripe API (with them the saved cards and SEPA mandates), then the local records.

Tax law makes us keep the booking records of every gift and a copy of each donation receipt
for ten years (§147 AO, §50 EStDV): donation rows (amounts, dates, status, Stripe ids) stay,
and the receipts' copy of name and address is sealed (encrypted, campaign.privacy.sealing),
the receipt and donor flagged `processing_restricted_at`. Everything else goes: the donor's
e-mail, name, postal address, newsletter flag, the cancel-link tokens, the raw Stripe event
payloads that name the person, and (by the core) the mails.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from campaign.exceptions import ApplicationError
from campaign.models import OutgoingEmail
from campaign.privacy.erasure import ErasureOutcome, KeptRecord
from campaign.privacy.sealing import is_sealed, seal
from donations import stripe_api
from donations.mandate_status import mandate_set_status
from donations.models import (
    Donation,
    Donor,
    DonorAccessToken,
    Mandate,
    MandateCancelToken,
    Receipt,
    StripeEvent,
)
from donations.retention import donor_anonymise

logger = logging.getLogger(__name__)

SUBJECT_TYPES = ("donations.donation", "donations.mandate", "donations.receipt", "donations.donor")
MONEY_STATUSES = [
    Donation.Status.SUCCEEDED,
    Donation.Status.PARTIALLY_REFUNDED,
    Donation.Status.REFUNDED,
    Donation.Status.DISPUTED,
    Donation.Status.DISPUTE_LOST,
]


def _donor_ids(email: str) -> list[int]:
    cleaned = (email or "").strip().lower()
    if "@" not in cleaned:
        return []  # never match the blanked rows of earlier erasures
    # email_normalized is the entered address stripped and lower-cased (donations.starting),
    # and indexed: no scan of every donor (this also runs for public requests).
    return list(Donor.objects.filter(email_normalized=cleaned).values_list("pk", flat=True))


def _mandates_cancel(donor_ids: list[int]) -> int:
    canceled = 0
    with transaction.atomic():
        for mandate in (
            Mandate.objects.select_for_update()
            .filter(donor_id__in=donor_ids)
            .exclude(status=Mandate.Status.CANCELED)
        ):
            mandate_set_status(mandate, Mandate.Status.CANCELED)
            canceled += 1
    return canceled


def _customer_ids(donor_ids: list[int]) -> set[str]:
    ids = set(Donation.objects.filter(donor_id__in=donor_ids).values_list("stripe_customer_id", flat=True))
    ids |= set(Mandate.objects.filter(donor_id__in=donor_ids).values_list("stripe_customer_id", flat=True))
    return {i for i in ids if i}


def _stripe_references(donor_ids: list[int], customer_ids: set[str]) -> set[str]:
    refs = set(customer_ids)
    for row in Donation.objects.filter(donor_id__in=donor_ids).values_list(
        "stripe_payment_intent_id", "stripe_setup_intent_id", "stripe_charge_id", "stripe_payment_method_id"
    ):
        refs |= {value for value in row if value}
    return refs


def _stripe_events_redact(references: set[str], email: str) -> int:
    """The raw payloads of Stripe events about the person's objects (they carry name, e-mail,
    billing address): only id, type and the object's id stay."""
    if not references and not email:
        return 0
    match = Q(payload__icontains=email.strip()) if email.strip() else Q(pk__in=[])
    for ref in references:
        match |= Q(payload__contains=ref)
    redacted = 0
    for event in StripeEvent.objects.filter(match).only("pk", "event_id", "type", "payload"):
        try:
            object_id = json.loads(event.payload).get("data", {}).get("object", {}).get("id", "")
        except (ValueError, AttributeError):
            object_id = ""
        body = json.dumps({"id": event.event_id, "type": event.type, "object": object_id, "redacted": True})
        if event.payload != body:
            StripeEvent.objects.filter(pk=event.pk).update(payload=body)
            redacted += 1
    return redacted


def donor_erase(email: str) -> ErasureOutcome:
    """Erases what donations hold about the address (see the module docstring). Idempotent;
    answers 503 (ApplicationError) when Stripe cannot be reached (run it again later:
    the mandates are cancelled already, nothing else has changed)."""
    donor_ids = _donor_ids(email)
    if not donor_ids:
        return ErasureOutcome(erased={"donors_anonymised": 0})
    mandates_canceled = _mandates_cancel(donor_ids)
    customer_ids = _customer_ids(donor_ids)
    try:
        for customer_id in sorted(customer_ids):
            stripe_api.customer_delete(customer_id)
    except stripe_api.StripeUnavailable:
        raise ApplicationError(
            "Stripe could not be reached: the erasure is not complete yet. Try again later.",
            code="erasure_incomplete",
            status_code=503,
        ) from None
    now = timezone.now()
    with transaction.atomic():
        events = _stripe_events_redact(_stripe_references(donor_ids, customer_ids), email)
        tokens, _ = MandateCancelToken.objects.filter(mandate__donor_id__in=donor_ids).delete()
        tokens += DonorAccessToken.objects.filter(email_normalized=email.strip().lower()).delete()[0]
        receipts = 0
        for receipt in Receipt.objects.select_for_update().filter(donor_id__in=donor_ids):
            if not is_sealed(receipt.donor_name) or not receipt.processing_restricted_at:
                receipt.donor_name = seal(receipt.donor_name)
                receipt.donor_address = seal(receipt.donor_address)
                receipt.processing_restricted_at = receipt.processing_restricted_at or now
                receipt.save(
                    update_fields=["donor_name", "donor_address", "processing_restricted_at", "updated_at"]
                )
            receipts += 1
        bookings = Donation.objects.filter(donor_id__in=donor_ids, status__in=MONEY_STATUSES).count()
        for donor_id in donor_ids:
            donor_anonymise(donor_id=donor_id)
        if receipts or bookings:
            Donor.objects.filter(pk__in=donor_ids, processing_restricted_at__isnull=True).update(
                processing_restricted_at=now
            )
        mails = OutgoingEmail.objects.filter(
            subject_type__in=SUBJECT_TYPES,
            subject_id__in=[
                *Donation.objects.filter(donor_id__in=donor_ids).values_list("pk", flat=True),
                *Mandate.objects.filter(donor_id__in=donor_ids).values_list("pk", flat=True),
                *Receipt.objects.filter(donor_id__in=donor_ids).values_list("pk", flat=True),
                *donor_ids,  # the donor's page link mails
            ],
        )
        unsent, _ = mails.exclude(
            status__in=[OutgoingEmail.Status.SENT, OutgoingEmail.Status.NEEDS_REVIEW]
        ).delete()
        blanked = mails.exclude(to_email="").update(to_email="", context={}, updated_at=now)
    logger.info(
        "erasure: %d donors anonymised, %d Stripe customers deleted", len(donor_ids), len(customer_ids)
    )
    kept = []
    if bookings:
        kept.append(
            KeptRecord(
                what="booking records of gifts (amount, date, status, payment references)",
                count=bookings,
                why="§147 AO: booking records are kept for 10 years; processing restricted",
            )
        )
    if receipts:
        kept.append(
            KeptRecord(
                what="copies of donation receipts (name and address sealed)",
                count=receipts,
                why="§50 EStDV with §147 AO: receipt copies are kept for 10 years; processing restricted",
            )
        )
    return ErasureOutcome(
        erased={
            "donors_anonymised": len(donor_ids),
            "mandates_canceled": mandates_canceled,
            "stripe_customers_deleted": len(customer_ids),
            "stripe_event_payloads_redacted": events,
            "cancel_tokens_deleted": tokens,
            "unsent_mails_deleted": unsent,
            "sent_mails_blanked": blanked,
        },
        kept=kept,
    )


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def donor_export(email: str) -> list[dict[str, Any]]:
    """The person's donor records with their gifts, monthly gifts and receipts (access)."""
    records = []
    for donor in Donor.objects.filter(pk__in=_donor_ids(email)).order_by("created_at"):
        records.append(
            {
                "first_name": donor.first_name,
                "last_name": donor.last_name,
                "email": donor.email,
                "street": donor.street,
                "postcode": donor.postcode,
                "city": donor.city,
                "country": donor.country,
                "newsletter_consent": donor.newsletter_consent,
                "created_at": _iso(donor.created_at),
                "donations": [
                    {
                        "campaign": d.campaign.slug,
                        "amount_cents": d.total_amount,
                        "currency": d.currency,
                        "method": d.method,
                        "interval": d.interval,
                        "status": d.status,
                        "succeeded_at": _iso(d.succeeded_at),
                        "wants_receipt": d.wants_receipt,
                    }
                    for d in donor.donations.select_related("campaign").order_by("created_at")
                ],
                "mandates": [
                    {
                        "reference": m.reference,
                        "amount_cents": m.total_amount,
                        "status": m.status,
                        "next_charge_on": _iso(m.next_charge_on),
                        "canceled_at": _iso(m.canceled_at),
                    }
                    for m in donor.mandates.order_by("created_at")
                ],
                "receipts": [
                    {
                        "number": r.number,
                        "kind": r.kind,
                        "amount_cents": r.amount,
                        "issued_at": _iso(r.issued_at),
                        "status": r.status,
                    }
                    for r in donor.receipts.order_by("issued_at")
                ],
            }
        )
    return records
