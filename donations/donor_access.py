"""A donor's own page: the link asked for by e-mail address (always the same answer, so
nobody learns who gave), its single-use exchange for a short signed session, and what the
page shows and does (monthly gifts, gifts, receipts; stop a monthly gift, ask for a receipt).

A donor is everyone who gave with that e-mail address: the link goes to that address, so
whoever opens it reads that mailbox.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from campaign.emails import PreparedEmail, register_email_builder
from campaign.outbox.queueing import outgoing_email_queue
from donations.models import Donation, Donor, DonorAccessToken, Mandate, Receipt

logger = logging.getLogger(__name__)

SESSION_SALT = "donations.donor-session"
SHOWN_STATUSES = (
    Donation.Status.PROCESSING,
    Donation.Status.SUCCEEDED,
    Donation.Status.PARTIALLY_REFUNDED,
    Donation.Status.REFUNDED,
    Donation.Status.DISPUTED,
)


def email_normalize(email: str) -> str:
    return email.strip().lower()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def donor_manage_link_request(*, email: str, locale: str) -> None:
    """Mails the link if anyone gave with this address; otherwise does nothing. The caller
    answers the same either way."""
    normalized = email_normalize(email)
    donor = (
        Donor.objects.filter(email_normalized=normalized, anonymised_at__isnull=True)
        .filter(donations__status__in=SHOWN_STATUSES)
        .order_by("-created_at")
        .first()
    )
    if donor is None:
        logger.info("donor manage link: no donor for this address")
        return
    with transaction.atomic():
        outgoing_email_queue(
            kind="donor_manage_link",
            to_email=donor.email,
            locale=locale,
            context={"first_name": donor.first_name, "email_normalized": normalized},
            subject_type="donations.donor",
            subject_id=donor.pk,
            # The imprint of the campaign the donor last gave to.
            campaign_id=donor.donations.order_by("-created_at").values_list("campaign_id", flat=True).first(),
        )


def donor_access_token_mint(*, email_normalized: str) -> str:
    token = secrets.token_urlsafe(32)
    DonorAccessToken.objects.create(
        email_normalized=email_normalized,
        token_hash=_hash(token),
        expires_at=timezone.now() + timedelta(minutes=settings.DONOR_LINK_TTL_MINUTES),
    )
    return token


@register_email_builder("donor_manage_link")
def _manage_link_build(email: Any) -> PreparedEmail:
    token = donor_access_token_mint(email_normalized=str(email.context["email_normalized"]))
    return PreparedEmail(
        context={
            "manage_url": f"{settings.PUBLIC_BASE_URL}/donations/manage/?token={token}",
            "valid_minutes": settings.DONOR_LINK_TTL_MINUTES,
        }
    )


def donor_access_token_redeem(*, token: str) -> str | None:
    """The address a link opens, once, before it expires; None otherwise."""
    with transaction.atomic():
        row = DonorAccessToken.objects.select_for_update().filter(token_hash=_hash(token[:200])).first()
        if row is None or row.used_at is not None or row.expires_at <= timezone.now():
            return None
        row.used_at = timezone.now()
        row.save(update_fields=["used_at"])
        return row.email_normalized


def donor_session_make(*, email_normalized: str) -> str:
    return signing.dumps({"e": email_normalized}, salt=SESSION_SALT)


def donor_session_read(value: str) -> str | None:
    try:
        data = signing.loads(value, salt=SESSION_SALT, max_age=settings.DONOR_SESSION_MINUTES * 60)
    except signing.BadSignature:
        return None
    email = data.get("e") if isinstance(data, dict) else None
    return email if isinstance(email, str) and email else None


@dataclass(frozen=True)
class DonorOverview:
    mandates: list[Mandate]
    donations: list[Donation]
    receipts: list[Receipt]
    address: dict[str, str]


def donor_overview_get(*, email_normalized: str) -> DonorOverview:
    mine = {"donor__email_normalized": email_normalized, "donor__anonymised_at__isnull": True}
    return DonorOverview(
        mandates=list(Mandate.objects.filter(**mine).order_by("-created_at")),
        donations=list(
            Donation.objects.filter(**mine, status__in=SHOWN_STATUSES)
            .select_related("receipt")
            .order_by("-created_at")[:200]
        ),
        receipts=list(Receipt.objects.filter(**mine).order_by("-year", "-sequence")),
        address=_address(email_normalized),
    )


def _address(email_normalized: str) -> dict[str, str]:
    donor = (
        Donor.objects.filter(email_normalized=email_normalized, anonymised_at__isnull=True)
        .order_by("-created_at")
        .only("street", "postcode", "city", "country")
        .first()
    )
    if donor is None:
        return {}
    return {"street": donor.street, "postcode": donor.postcode, "city": donor.city, "country": donor.country}


def donor_mandate_cancel(*, email_normalized: str, mandate_public_id: Any) -> bool:
    """Stops one of the donor's own monthly gifts (confirmed by mail)."""
    from donations.mandates import mandate_cancel_locked

    with transaction.atomic():
        mandate = (
            Mandate.objects.select_for_update(of=("self",))
            .select_related("donor")
            .filter(public_id=mandate_public_id, donor__email_normalized=email_normalized)
            .first()
        )
        if mandate is None:
            return False
        if mandate.status != Mandate.Status.CANCELED:
            mandate_cancel_locked(mandate)
        return True


def donor_mandate_change(
    *, email_normalized: str, mandate_public_id: Any, amount: int | None, day_of_month: int | None
) -> bool:
    """Changes one of the donor's own running monthly gifts (told by mail; for SEPA the
    pre-notification). False when it is not theirs or not running; ApplicationError for a bad value."""
    from donations.mandate_changes import mandate_change

    with transaction.atomic():
        mandate = (
            Mandate.objects.select_for_update(of=("self",))
            .select_related("donor")
            .filter(public_id=mandate_public_id, donor__email_normalized=email_normalized)
            .first()
        )
        if mandate is None or mandate.status != Mandate.Status.ACTIVE:
            return False
        mandate_change(mandate, amount=amount, day_of_month=day_of_month, by="donor")
        return True


def donor_mandate_pause(*, email_normalized: str, mandate_public_id: Any, months: int | None) -> bool:
    """Pauses (months given) or resumes (None) one of the donor's own monthly gifts."""
    from donations.mandate_changes import mandate_pause, mandate_resume

    with transaction.atomic():
        mandate = (
            Mandate.objects.select_for_update(of=("self",))
            .select_related("donor")
            .filter(public_id=mandate_public_id, donor__email_normalized=email_normalized)
            .first()
        )
        if mandate is None:
            return False
        if months is None:
            mandate_resume(mandate)
        else:
            mandate_pause(mandate, months=months)
        return True


def donor_address_update(
    *, email_normalized: str, street: str, postcode: str, city: str, country: str
) -> int:
    """The address future receipts state, on every gift given with this address (issued
    receipts keep the address they were issued with); the donor is told by mail. Raises
    ValueError for a bad value."""
    values = {"street": street.strip(), "postcode": postcode.strip(), "city": city.strip()}
    country = country.strip().upper()
    limits = {"street": 200, "postcode": 20, "city": 100}
    if any(not v or len(v) > limits[k] for k, v in values.items()):
        raise ValueError("address incomplete or too long")
    if len(country) != 2 or not country.isalpha():
        raise ValueError("country must be two letters")
    mine = Donor.objects.filter(email_normalized=email_normalized, anonymised_at__isnull=True)
    with transaction.atomic():
        updated = mine.update(**values, country=country, updated_at=timezone.now())
        latest = mine.order_by("-created_at").first()
        if latest is not None:
            # Told at the address itself: a change the donor did not make shows up in their mailbox.
            outgoing_email_queue(
                kind="donor_address_changed",
                to_email=latest.email,
                locale=latest.locale,
                context={"first_name": latest.first_name, **values, "country": country},
                subject_type="donations.donor",
                subject_id=latest.pk,
                campaign_id=latest.donations.order_by("-created_at")
                .values_list("campaign_id", flat=True)
                .first(),
            )
    return updated


def _own_mandate_locked(email_normalized: str, mandate_public_id: Any) -> Mandate | None:
    return (
        Mandate.objects.select_for_update(of=("self",))
        .select_related("donor")
        .filter(public_id=mandate_public_id, donor__email_normalized=email_normalized)
        .first()
    )


def donor_payment_method_setup(*, email_normalized: str, mandate_public_id: Any) -> dict[str, str] | None:
    """What the page needs to save new details for one of the donor's own monthly gifts (a
    SetupIntent's secret), or None when it is not theirs."""
    from donations.mandate_changes import mandate_payment_method_setup

    mandate = (
        Mandate.objects.select_related("donor")
        .filter(public_id=mandate_public_id, donor__email_normalized=email_normalized)
        .first()
    )
    if mandate is None:
        return None
    from campaign.selectors import campaign_organisation_by_id_get

    setup = mandate_payment_method_setup(mandate)
    return {
        "mandate": str(mandate.public_id),
        "client_secret": setup.client_secret,
        "setup_intent": setup.id,
        "is_sepa": "true" if mandate.method == "sepa_debit" else "",
        "name": mandate.donor.full_name,
        "email": mandate.donor.email,
        # Named in the SEPA mandate text the page shows with the IBAN field.
        "organisation": campaign_organisation_by_id_get(campaign_id=mandate.campaign_id)["name"],
    }


def donor_payment_method_replace(
    *, email_normalized: str, mandate_public_id: Any, setup_intent_id: str
) -> bool:
    from donations.mandate_changes import mandate_payment_method_replace

    with transaction.atomic():
        mandate = _own_mandate_locked(email_normalized, mandate_public_id)
        if mandate is None:
            return False
        mandate_payment_method_replace(mandate, setup_intent_id=setup_intent_id[:255])
        return True


def donor_receipt_request(*, email_normalized: str, donation_public_id: Any) -> Receipt | None:
    from donations.collective_receipts import receipt_request

    donation = Donation.objects.filter(
        public_id=donation_public_id, donor__email_normalized=email_normalized
    ).first()
    return receipt_request(donation_id=donation.pk) if donation else None


def donor_receipt_get(*, email_normalized: str, number: str) -> Receipt | None:
    return Receipt.objects.filter(number=number, donor__email_normalized=email_normalized).first()
