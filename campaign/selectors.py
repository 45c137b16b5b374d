from __future__ import annotations

import logging

from django.conf import settings
from django.shortcuts import get_object_or_404

from campaign.models import Campaign, Organisation

logger = logging.getLogger(__name__)

# What an imprint names, and what a donation receipt states of its issuer's tax exemption: the
# keys of settings.ORGANISATION and settings.DONATION_RECEIPT, and fields of Organisation.
IMPRINT_FIELDS = ("name", "address", "email", "phone", "website", "register", "representative")
RECEIPT_FIELDS = (
    "tax_office",
    "tax_number",
    "exemption_date",
    "exemption_period",
    "purpose",
    "signatory",
    "place",
)


def campaign_public_get(*, slug: str) -> Campaign:
    """A campaign the public may see: drafts are 404."""
    return get_object_or_404(
        Campaign.objects.exclude(status=Campaign.Status.DRAFT).select_related("organisation"), slug=slug
    )


def campaign_default_get() -> Campaign | None:
    """The campaign the root page shows: DEFAULT_CAMPAIGN_SLUG when that one is public, else
    the newest live campaign (None when none is live)."""
    public = Campaign.objects.exclude(status=Campaign.Status.DRAFT).select_related("organisation")
    if settings.DEFAULT_CAMPAIGN_SLUG:
        campaign = public.filter(slug=settings.DEFAULT_CAMPAIGN_SLUG).first()
        if campaign is not None:
            return campaign
        logger.warning("DEFAULT_CAMPAIGN_SLUG names no public campaign; showing the newest live one")
    return public.filter(status=Campaign.Status.LIVE).order_by("-created_at").first()


def _organisation_imprint(organisation: Organisation | None) -> dict[str, str]:
    if organisation is None:
        return {key: settings.ORGANISATION.get(key) or "" for key in IMPRINT_FIELDS}
    return {key: getattr(organisation, key) for key in IMPRINT_FIELDS}


def campaign_organisation_get(*, campaign: Campaign | None) -> dict[str, str]:
    """The imprint of a campaign's pages, mails and reports: its organisation's, or the
    service-wide ORG_* settings for a campaign without one (or for no campaign)."""
    return _organisation_imprint(campaign.organisation if campaign is not None else None)


def campaign_organisation_by_id_get(*, campaign_id: int | None) -> dict[str, str]:
    """The same, for a campaign known by id (an outbox row's); an unknown id gets the
    service-wide imprint."""
    campaign = (
        Campaign.objects.select_related("organisation").filter(pk=campaign_id).first()
        if campaign_id is not None
        else None
    )
    return campaign_organisation_get(campaign=campaign)


def campaign_receipt_issuer_get(*, campaign: Campaign | None) -> dict[str, dict[str, str]]:
    """Who issues the donation receipts of a campaign: `organisation` (the imprint) and `tax`
    (its exemption). A campaign's organisation issues them once it has a tax number; until
    then the service-wide organisation does, so a receipt never names one organisation with
    another's tax details."""
    organisation = campaign.organisation if campaign is not None else None
    if organisation is None or not organisation.tax_number:
        return {
            "organisation": _organisation_imprint(None),
            "tax": {key: settings.DONATION_RECEIPT.get(key) or "" for key in RECEIPT_FIELDS},
        }
    return {
        "organisation": _organisation_imprint(organisation),
        "tax": {key: getattr(organisation, key) for key in RECEIPT_FIELDS},
    }
