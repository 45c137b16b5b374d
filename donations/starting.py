"""Starting a gift: the donor and donation rows, then the Stripe customer and the
SetupIntent the browser saves the payment method with."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaign.exceptions import ApplicationError
from campaign.models import Campaign
from campaign.switches import switch_message
from donations import stripe_api
from donations.amounts import donation_fee_compute
from donations.attribution import donation_attribution
from donations.models import Donation, Donor

logger = logging.getLogger(__name__)

S = Donation.Status


def _normalize_email(email: str) -> str:
    return email.strip().lower()


@dataclass(frozen=True)
class DonationStarted:
    donation: Donation
    client_secret: str


def _donor_create(*, data: dict[str, Any]) -> Donor:
    wants_address = bool(data.get("wants_receipt") or data.get("street"))
    return Donor.objects.create(
        email=data["email"].strip(),
        email_normalized=_normalize_email(data["email"]),
        first_name=data["first_name"],
        last_name=data["last_name"],
        locale=data.get("locale") or "de",
        newsletter_consent=bool(data.get("newsletter_consent")),
        street=data.get("street", "") if wants_address else "",
        postcode=data.get("postcode", "") if wants_address else "",
        city=data.get("city", "") if wants_address else "",
        country=(data.get("country") or "").upper() if wants_address else "",
    )


def donation_start(*, data: dict[str, Any]) -> DonationStarted:
    """Records the gift, then creates the Stripe customer and the SetupIntent the browser
    saves the payment method with. Validated input (the serializer) comes in. With
    DONATIONS_PAUSED on, no new gift starts (503 `donations_paused`)."""
    if settings.DONATIONS_PAUSED:
        raise ApplicationError(switch_message("donations_paused"), code="donations_paused", status_code=503)
    campaign = Campaign.objects.filter(slug=data["campaign"], status=Campaign.Status.LIVE).first()
    if campaign is None:
        raise ApplicationError(
            _("No open campaign with this slug."),
            fields={"campaign": [_("No open campaign with this slug.")]},
        )
    method = data["payment_method"]
    fee = donation_fee_compute(amount=data["amount"], method=method) if data.get("cover_fees") else 0
    with transaction.atomic():
        donor = _donor_create(data=data)
        donation = Donation.objects.create(
            campaign=campaign,
            donor=donor,
            amount=data["amount"],
            fee_amount=fee,
            currency=data["currency"],
            method=method,
            interval=data["interval"],
            wants_receipt=bool(data.get("wants_receipt")),
            utm_source=data.get("utm_source", ""),
            utm_medium=data.get("utm_medium", ""),
            utm_campaign=data.get("utm_campaign", ""),
            **donation_attribution(data),
        )
    # Outside the transaction: a slow Stripe must not hold database locks. Both creates carry
    # idempotency keys derived from the donation id.
    try:
        customer_id = stripe_api.customer_create(
            email=donor.email, name=donor.full_name, donation_id=donation.pk, locale=donor.locale
        )
        setup_intent = stripe_api.setup_intent_create(
            customer_id=customer_id, method=method, donation_id=donation.pk, public_id=str(donation.public_id)
        )
    except (stripe_api.StripeUnavailable, stripe_api.StripeRejected) as exc:
        # Nothing can be charged on this donation: close it, the donor starts again.
        Donation.objects.filter(pk=donation.pk, status=S.CREATED).update(
            status=S.CANCELED, failure_code=type(exc).__name__, updated_at=timezone.now()
        )
        logger.warning("donation %s: could not start payment (%s)", donation.pk, type(exc).__name__)
        if isinstance(exc, stripe_api.StripeRejected):
            raise ApplicationError(
                _("The payment provider refused these details."), code="payment_rejected", status_code=400
            ) from exc
        raise ApplicationError(
            _("The payment provider is not reachable. Please try again in a moment."),
            code="payment_provider_unavailable",
            status_code=503,
        ) from exc
    Donation.objects.filter(pk=donation.pk).update(
        stripe_customer_id=customer_id, stripe_setup_intent_id=setup_intent.id, updated_at=timezone.now()
    )
    donation.stripe_customer_id = customer_id
    donation.stripe_setup_intent_id = setup_intent.id
    logger.info("donation %s started (%s, %s)", donation.pk, method, donation.interval)
    return DonationStarted(donation=donation, client_secret=setup_intent.client_secret)
