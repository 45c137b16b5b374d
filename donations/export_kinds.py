"""The donations' background export (campaign.export_jobs), for the *finance* role."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from campaign.exceptions import ApplicationError
from campaign.export_jobs import ExportKind, export_kind_register
from campaign.models import Campaign
from campaign.permissions import MANAGE_FINANCE
from donations.models import Donation
from donations.selectors import donation_export_header, donation_export_rows

EXPORT_KIND = "donations.donations"


def donation_export_params_clean(params: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(params) - {"campaign", "status"})
    if unknown:
        raise ApplicationError(
            "Unknown parameters.", fields={name: ["Unknown parameter."] for name in unknown}
        )
    slug = params.get("campaign") or ""
    if not isinstance(slug, str) or (slug and not Campaign.objects.filter(slug=slug).exists()):
        raise ApplicationError("Unknown campaign.", fields={"campaign": ["Unknown campaign."]})
    status = params.get("status") or ""
    if not isinstance(status, str) or (status and status not in Donation.Status.values):
        raise ApplicationError("Unknown status.", fields={"status": ["Unknown status."]})
    return {key: value for key, value in (("campaign", slug), ("status", status)) if value}


def _campaign(params: dict[str, Any]) -> Campaign | None:
    return Campaign.objects.get(slug=params["campaign"]) if params.get("campaign") else None


def _count(params: dict[str, Any]) -> int:
    queryset = Donation.objects.all()
    if params.get("campaign"):
        queryset = queryset.filter(campaign__slug=params["campaign"])
    if params.get("status"):
        queryset = queryset.filter(status=params["status"])
    return int(queryset.count())


def _rows(params: dict[str, Any]) -> Iterable[Any]:
    return donation_export_rows(campaign=_campaign(params), status=params.get("status", ""))


export_kind_register(
    ExportKind(
        name=EXPORT_KIND,
        label="Donations",
        permission=MANAGE_FINANCE,
        header=donation_export_header,
        clean=donation_export_params_clean,
        count=_count,
        rows=_rows,
        filename=lambda params: f"donations-{params['campaign']}" if params.get("campaign") else "donations",
        fields=(("campaign", "Campaign (slug, optional)"), ("status", "Status (optional)")),
        sheet_name="Donations",
    )
)
