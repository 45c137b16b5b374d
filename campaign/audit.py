"""The audit trail: who of the staff read personal data or changed something, when, from which
(hashed) address, what, on which object, how many rows, with which filters.

Entries are append-only (see AuditEntry) and hold ids, counts and filters only. Each app calls
`audit_record()` where a staff member acts: the exports (campaign.exports), the admin actions,
the staff API, the role and 2FA changes. The IP hash comes from the request the
`AuditContextMiddleware` saw, so services need not pass the request down.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from campaign.client_ip import request_client_ip
from campaign.middleware import is_public_api_path
from campaign.models import AuditEntry

logger = logging.getLogger(__name__)

# The request being served (set by the middleware), for the hashed client address; hashed
# only when an entry is written.
_current_request: ContextVar[Any] = ContextVar("audit_current_request", default=None)

PURGE_SETTING = "campaign.audit_purge"


def ip_hash_compute(ip: str) -> str:
    """HMAC-SHA256 with HASH_SECRET, the same hash the petitions keep of signers' addresses."""
    if not ip:
        return ""
    return hmac.new(settings.HASH_SECRET.encode(), ip.encode(), hashlib.sha256).hexdigest()


def request_ip_hash(request: Any | None = None) -> str:
    request = request if request is not None else _current_request.get()
    return ip_hash_compute(request_client_ip(request)) if request is not None else ""


class AuditContextMiddleware:
    """Remembers the hashed client address of each request for the audit entries it writes
    (also those written while a streamed export ends, after the view returned)."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        # The public API (signing, the count) writes no audit entries: keep it out of there.
        _current_request.set(None if is_public_api_path(request.path_info) else request)
        return self.get_response(request)


def audit_record(
    *,
    actor: Any,
    action: str,
    object_type: str = "",
    object_id: Any = "",
    row_count: int | None = None,
    details: dict[str, Any] | None = None,
    request: Any | None = None,
) -> AuditEntry:
    """Appends one entry. `actor` is the staff user (None for the system, e.g. a command run
    without --actor); `details` holds filters and options, never personal data."""
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEntry.objects.create(
        actor_id=actor.pk if authenticated else None,
        actor_username=actor.get_username() if authenticated else "",
        ip_hash=request_ip_hash(request),
        action=action,
        object_type=object_type,
        object_id="" if object_id is None else str(object_id),
        row_count=row_count,
        details=details or {},
    )


def audit_entries_list(
    *, action: str = "", actor: str = "", since: datetime | None = None
) -> Iterator[AuditEntry]:
    entries = AuditEntry.objects.all()
    if action:
        entries = entries.filter(action=action)
    if actor:
        entries = entries.filter(actor_username=actor)
    if since is not None:
        entries = entries.filter(created_at__gte=since)
    return entries.iterator(chunk_size=2000)


def audit_export_header() -> list[str]:
    return [
        "id",
        f"created_at ({settings.TIME_ZONE})",
        "actor",
        "ip_hash",
        "action",
        "object_type",
        "object_id",
        "row_count",
        "details",
    ]


def audit_export_rows(**filters: Any) -> Iterator[list[Any]]:
    import json

    for entry in audit_entries_list(**filters):
        yield [
            entry.pk,
            entry.created_at,
            entry.actor_username,
            entry.ip_hash,
            entry.action,
            entry.object_type,
            entry.object_id,
            entry.row_count,
            json.dumps(entry.details, sort_keys=True, ensure_ascii=False),
        ]


def audit_entries_purge(*, now: datetime | None = None) -> int:
    """Deletes the entries older than AUDIT_RETENTION_DAYS (0 keeps them all). The only
    delete the trigger lets through: it is marked by a transaction-local setting."""
    days = settings.AUDIT_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    table = AuditEntry._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config(%s, 'on', true)", [PURGE_SETTING])
        cursor.execute(f"DELETE FROM {table} WHERE created_at < %s", [cutoff])  # noqa: S608 - our table name
        deleted = cursor.rowcount
    logger.info("audit purge: %s entries older than %s days deleted", deleted, days)
    return int(deleted)


def audit_selection(
    request: Any, action: str, object_type: str, ids: list[Any], row_count: int
) -> AuditEntry:
    """One entry for an admin action on selected rows: their ids (up to 1,000) and the count."""
    return audit_record(
        actor=request.user,
        action=action,
        object_type=object_type,
        row_count=row_count,
        details={"ids": [str(i) for i in ids[:1000]], "selected": len(ids)},
        request=request,
    )
