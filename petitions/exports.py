"""The staff export of a petition's signatures (CSV and XLSX).

On PostgreSQL the CSV is written by the database itself (`COPY (SELECT ...) TO STDOUT`): cells
made formula-safe and timestamps formatted in SQL, the rows never become Python objects, and
memory stays flat at any size. Elsewhere (the embedded SQLite default) and for XLSX, rows come
from a plain query read in chunks. Both paths write the same text for the same signatures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.db.models import Field
from django.http import StreamingHttpResponse
from django.utils import timezone

from campaign.exceptions import ApplicationError
from campaign.exports import (
    csv_copy_stream,
    csv_rows_stream,
    csv_safe_sql,
    export_response,
    timestamp_header,
    timestamp_sql,
    xlsx_rows_stream,
)
from petitions.models import Petition, Signature

EXPORT_KIND = "petitions.signatures"

# (column, how PostgreSQL writes it): "text" cells are made formula-safe, "timestamp" cells
# written as `YYYY-MM-DD HH:MM:SS` in the campaign's time zone (named in their header), "bool" as true/false; "plain" ones as they are (ids,
# choices, and values the sign path validated to a fixed form: country, locale, consent
# version; the Python path escapes every string anyway, and the two agree on these).
SIGNATURE_EXPORT_COLUMNS: list[tuple[str, str]] = [
    ("id", "plain"),
    ("created_at", "timestamp"),
    ("status", "plain"),
    ("confirmed_at", "timestamp"),
    ("is_flagged", "bool"),
    ("flag_reason", "text"),
    ("first_name", "text"),
    ("last_name", "text"),
    ("email", "text"),
    ("postcode", "text"),
    ("country", "plain"),
    ("city", "text"),
    ("locale", "plain"),
    ("newsletter_consent", "bool"),
    ("show_name_publicly", "bool"),
    ("share_name_with_officials", "bool"),
    ("utm_source", "text"),
    ("utm_medium", "text"),
    ("utm_campaign", "text"),
    ("referrer", "text"),
    ("consent_version", "plain"),
    ("consent_text_hash", "plain"),
    ("consent_at", "timestamp"),
    ("consent_origin", "text"),
    ("withdrawn_at", "timestamp"),
]
SIGNATURE_EXPORT_FIELDS = [name for name, _ in SIGNATURE_EXPORT_COLUMNS]


def signature_export_header() -> list[str]:
    """The header row: the field names, date-time columns with their time zone."""
    return [
        timestamp_header(name) if kind == "timestamp" else name for name, kind in SIGNATURE_EXPORT_COLUMNS
    ]


@dataclass(frozen=True)
class SignatureExportFilters:
    status: str | None = None
    is_flagged: bool | None = None
    # Calendar days in the project's time zone, both inclusive.
    created_from: dt.date | None = None
    created_to: dt.date | None = None

    def as_log(self) -> dict[str, Any]:
        return {
            key: value.isoformat() if isinstance(value, dt.date) else value
            for key, value in self.__dict__.items()
            if value is not None
        }

    def created_range(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """[start, end) as aware datetimes: from the first day's midnight to the midnight after
        the last day, local time."""
        tz = timezone.get_default_timezone()
        start = dt.datetime.combine(self.created_from, dt.time.min, tzinfo=tz) if self.created_from else None
        end = (
            dt.datetime.combine(self.created_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
            if self.created_to
            else None
        )
        return start, end


def signature_export_rows(*, petition: Petition, filters: SignatureExportFilters) -> Iterator[tuple]:
    """The rows as Python values, read with a server-side cursor in chunks."""
    queryset = signature_export_queryset(petition=petition, filters=filters)
    return queryset.order_by("id").values_list(*SIGNATURE_EXPORT_FIELDS).iterator(chunk_size=2000)


def signature_export_queryset(*, petition: Petition, filters: SignatureExportFilters) -> Any:
    queryset = Signature.objects.filter(petition=petition)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.is_flagged is not None:
        queryset = queryset.filter(is_flagged=filters.is_flagged)
    start, end = filters.created_range()
    if start:
        queryset = queryset.filter(created_at__gte=start)
    if end:
        queryset = queryset.filter(created_at__lt=end)
    return queryset


def signature_export_copy_query(
    *, petition: Petition, filters: SignatureExportFilters
) -> tuple[str, list[Any]]:
    """The SELECT for `COPY ... TO STDOUT`, with its parameters (bound client-side by psycopg)."""
    quote = connections[router.db_for_read(Signature)].ops.quote_name
    selects = []
    for name, kind in SIGNATURE_EXPORT_COLUMNS:
        field = Signature._meta.get_field(name)
        # The export columns are concrete fields, which always have a database column.
        assert isinstance(field, Field) and field.column is not None
        column = quote(field.column)
        if kind == "text":
            selects.append(csv_safe_sql(column))
        elif kind == "timestamp":
            selects.append(timestamp_sql(column))
        elif kind == "bool":
            selects.append(f"{column}::text")
        else:
            selects.append(column)
    where = [f"{quote('petition_id')} = %s"]
    params: list[Any] = [petition.pk]
    if filters.status:
        where.append(f"{quote('status')} = %s")
        params.append(filters.status)
    if filters.is_flagged is not None:
        where.append(f"{quote('is_flagged')} = %s")
        params.append(filters.is_flagged)
    start, end = filters.created_range()
    if start:
        where.append(f"{quote('created_at')} >= %s")
        params.append(start)
    if end:
        where.append(f"{quote('created_at')} < %s")
        params.append(end)
    # Quoted identifiers and fixed expressions only; every value is a parameter.
    sql = (
        f"SELECT {', '.join(selects)} FROM {quote(Signature._meta.db_table)} "  # noqa: S608
        f"WHERE {' AND '.join(where)} ORDER BY {quote('id')}"
    )
    return sql, params


def signature_export_stream(
    *, petition: Petition, filters: SignatureExportFilters, format: str, counter: list[int]
) -> Iterator[bytes]:
    if format == "xlsx":
        return xlsx_rows_stream(
            header=signature_export_header(),
            rows=signature_export_rows(petition=petition, filters=filters),
            counter=counter,
            sheet_name="Signatures",
        )
    using = router.db_for_read(Signature)
    if connections[using].vendor == "postgresql":
        sql, params = signature_export_copy_query(petition=petition, filters=filters)
        return csv_copy_stream(
            header=signature_export_header(), sql=sql, params=params, counter=counter, using=using
        )
    return csv_rows_stream(
        header=signature_export_header(),
        rows=signature_export_rows(petition=petition, filters=filters),
        counter=counter,
    )


def signature_export_response(
    *, petition: Petition, filters: SignatureExportFilters, format: str, user: Any
) -> StreamingHttpResponse:
    """The streamed download of the petition's signatures, recorded in ExportLog."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return export_response(
        user=user,
        kind=EXPORT_KIND,
        format=format,
        filters={"petition": petition.slug, **filters.as_log()},
        filename=f"signatures-{petition.slug}-{stamp}.{format}",
        stream=lambda counter: signature_export_stream(
            petition=petition, filters=filters, format=format, counter=counter
        ),
    )


def petition_export_get(*, slug: str) -> Petition:
    """Any petition, drafts included (staff export); 404 when unknown."""
    petition = Petition.objects.filter(slug=slug).first()
    if petition is None:
        raise ApplicationError("No such petition.", code="petition_not_found", status_code=404)
    return petition


def signature_queryset_export_response(*, queryset: Any, format: str, user: Any) -> StreamingHttpResponse:
    """The download of a chosen set of signatures (the admin action), recorded in ExportLog."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    rows = queryset.order_by("id").values_list(*SIGNATURE_EXPORT_FIELDS).iterator(chunk_size=2000)

    def stream(counter: list[int]) -> Iterator[bytes]:
        if format == "xlsx":
            return xlsx_rows_stream(
                header=signature_export_header(), rows=rows, counter=counter, sheet_name="Signatures"
            )
        return csv_rows_stream(header=signature_export_header(), rows=rows, counter=counter)

    return export_response(
        user=user,
        kind=EXPORT_KIND,
        format=format,
        filters={"source": "admin", **_selection_summary(queryset)},
        filename=f"signatures-selected-{stamp}.{format}",
        stream=stream,
    )


def _selection_summary(queryset: Any) -> dict[str, Any]:
    """Which rows an admin selection covered, for the audit: the ids of a page selection; for
    "select all" only that (the admin's search terms may be e-mail addresses: no personal data
    in the audit)."""
    ids = list(queryset.order_by("id").values_list("id", flat=True)[:1001])
    if len(ids) <= 1000:
        return {"ids": ids}
    return {"selection": "all rows matching the admin filters"}
