"""The petitions' background export (campaign.export_jobs): a petition's signatures, for
the *data export* role."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from campaign.exceptions import ApplicationError
from campaign.export_jobs import ExportKind, export_kind_register
from campaign.permissions import EXPORT_PERSONAL_DATA
from petitions.exports import (
    EXPORT_KIND,
    SignatureExportFilters,
    signature_export_header,
    signature_export_queryset,
    signature_export_rows,
)
from petitions.models import Petition, Signature


def _petition(params: dict[str, Any]) -> Petition:
    return Petition.objects.get(slug=params["petition"])


def _filters(params: dict[str, Any]) -> SignatureExportFilters:
    return SignatureExportFilters(status=params.get("status") or None)


def signature_export_params_clean(params: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(params) - {"petition", "status"})
    if unknown:
        raise ApplicationError(
            "Unknown parameters.", fields={name: ["Unknown parameter."] for name in unknown}
        )
    slug = params.get("petition")
    if not isinstance(slug, str) or not slug:
        raise ApplicationError("Name the petition.", fields={"petition": ["This field is required."]})
    if not Petition.objects.filter(slug=slug).exists():
        raise ApplicationError("Unknown petition.", fields={"petition": ["Unknown petition."]})
    status = params.get("status") or ""
    if not isinstance(status, str) or (status and status not in Signature.Status.values):
        raise ApplicationError("Unknown status.", fields={"status": ["Unknown status."]})
    return {"petition": slug, **({"status": status} if status else {})}


def _count(params: dict[str, Any]) -> int:
    return int(signature_export_queryset(petition=_petition(params), filters=_filters(params)).count())


def _rows(params: dict[str, Any]) -> Iterable[Any]:
    return signature_export_rows(petition=_petition(params), filters=_filters(params))


export_kind_register(
    ExportKind(
        name=EXPORT_KIND,
        label="Signatures of a petition",
        permission=EXPORT_PERSONAL_DATA,
        header=signature_export_header,
        clean=signature_export_params_clean,
        count=_count,
        rows=_rows,
        filename=lambda params: f"signatures-{params['petition']}",
        fields=(("petition", "Petition (slug)"), ("status", "Status (optional)")),
        sheet_name="Signatures",
    )
)
