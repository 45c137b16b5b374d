"""Requests by the person (GDPR Art. 15 access, Art. 17 erasure), made with their address.

The answer to a request is always the same, known address or not (no enumeration). Only when
something is held about the address does a mail with a confirmation link go to it, so only the
mailbox's owner can confirm. At most PRIVACY_REQUESTS_PER_ADDRESS_PER_DAY requests a day per
address are acted upon (the API also throttles per IP). Confirming an access request mails a
link to the export (JSON and readable HTML), valid PRIVACY_EXPORT_VALID_DAYS; confirming an
erasure runs `person_erase`. The answer is due a month after the request.
"""

from __future__ import annotations

import calendar
import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaign.emails import PreparedEmail, register_email_builder
from campaign.exceptions import ApplicationError
from campaign.models import ErasureReceipt, OutgoingEmail, PrivacyRequest
from campaign.outbox.queueing import outgoing_email_queue
from campaign.privacy.access import person_export, person_is_known
from campaign.privacy.erasure import person_erase, privacy_audit_record
from campaign.privacy.hashing import address_hash
from campaign.privacy.sealing import seal, unseal

logger = logging.getLogger(__name__)

CONFIRM_EMAIL_KIND = "privacy-request-confirm"
EXPORT_EMAIL_KIND = "privacy-export-ready"
SUBJECT_TYPE = "privacy.request"
Status = PrivacyRequest.Status


def one_month_later(moment: datetime) -> datetime:
    """The same day next month, or its last day when the month is shorter (31 Jan -> 28 Feb)."""
    year, month = moment.year + moment.month // 12, moment.month % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def privacy_request_create(*, email: str, kind: str, locale: str = "de") -> None:
    """Records the request and, for a known address within the daily limit, mails the
    confirmation link. Returns nothing on purpose: the caller must answer the same in every case."""
    now = timezone.now()
    email_hash = address_hash(email)
    values: dict[str, Any] = {
        "kind": kind,
        "email_hash": email_hash,
        "locale": locale if locale in ("de", "en") else "de",
        "due_at": one_month_later(now),
    }
    with transaction.atomic():
        recent = PrivacyRequest.objects.filter(
            email_hash=email_hash, created_at__gte=now - timedelta(days=1)
        ).count()
        if recent >= settings.PRIVACY_REQUESTS_PER_ADDRESS_PER_DAY:
            PrivacyRequest.objects.create(status=Status.LIMITED, **values)
            return
        if not person_is_known(email):
            PrivacyRequest.objects.create(status=Status.UNKNOWN, **values)
            return
        request = PrivacyRequest.objects.create(status=Status.PENDING, email_sealed=seal(email), **values)
        outgoing_email_queue(
            kind=CONFIRM_EMAIL_KIND,
            to_email=email,
            locale=request.locale,
            context={"request_id": request.pk},
            subject_type=SUBJECT_TYPE,
            subject_id=request.pk,
        )
    logger.info("privacy request %s (%s) waits for confirmation", request.pk, kind)


def _confirm_expired(request: PrivacyRequest, now: Any) -> bool:
    return request.created_at + timedelta(days=settings.PRIVACY_REQUEST_CONFIRM_DAYS) <= now


def privacy_request_confirm(*, token: str) -> PrivacyRequest:
    """Confirms a request with the token of its mail. Idempotent: a completed request answers
    the same. An erasure runs here; an access request mails the export link."""
    now = timezone.now()
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise ApplicationError(_("This link is not valid."), code="token_invalid", status_code=404)
    with transaction.atomic():
        request = (
            PrivacyRequest.objects.select_for_update().filter(confirm_token_hash=_token_hash(token)).first()
        )
        if request is None:
            raise ApplicationError(_("This link is not valid."), code="token_invalid", status_code=404)
        if request.status == Status.COMPLETED:
            return request
        if request.status != Status.PENDING or _confirm_expired(request, now):
            _forget(request, status=Status.EXPIRED)
            raise ApplicationError(_("This link has expired."), code="token_expired", status_code=400)
        email = unseal(request.email_sealed)
        request.confirmed_at = now
        if request.kind == PrivacyRequest.Kind.ACCESS:
            request.status = Status.COMPLETED
            request.completed_at = now
            request.save(update_fields=["status", "confirmed_at", "completed_at"])
            outgoing_email_queue(
                kind=EXPORT_EMAIL_KIND,
                to_email=email,
                locale=request.locale,
                context={"request_id": request.pk},
                subject_type=SUBJECT_TYPE,
                subject_id=request.pk,
            )
            privacy_audit_record(action="privacy.access_request", object_id=request.pk, actor="")
            return request
        request.save(update_fields=["confirmed_at"])
    # Outside the row lock: the erasure owns its transactions (and calls Stripe).
    receipt = person_erase(email=email, origin=ErasureReceipt.Origin.PERSON)
    request.erasure_receipt = receipt
    request.completed_at = timezone.now()
    _forget(request, status=Status.COMPLETED)
    return request


def _forget(request: PrivacyRequest, *, status: str) -> None:
    request.status = status
    request.email_sealed = ""
    request.save(update_fields=["status", "email_sealed", "erasure_receipt", "completed_at", "confirmed_at"])


def privacy_export_get(*, token: str) -> dict[str, Any]:
    """Everything held about the person of an access request, while its link is valid."""
    now = timezone.now()
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise ApplicationError(_("This link is not valid."), code="token_invalid", status_code=404)
    request = PrivacyRequest.objects.filter(export_token_hash=_token_hash(token)).first()
    if request is None:
        raise ApplicationError(_("This link is not valid."), code="token_invalid", status_code=404)
    if not request.email_sealed or not request.export_expires_at or request.export_expires_at <= now:
        if request.email_sealed:
            PrivacyRequest.objects.filter(pk=request.pk).update(email_sealed="")
        raise ApplicationError(_("This link has expired."), code="token_expired", status_code=410)
    return {
        "generated_at": now.isoformat(),
        "valid_until": request.export_expires_at.isoformat(),
        "data": person_export(unseal(request.email_sealed)),
    }


def privacy_requests_expire(*, now: Any = None) -> int:
    """Forgets the sealed address of requests never confirmed in time and of exports past
    their validity (a beat task). Returns the number of requests touched."""
    now = now or timezone.now()
    pending = PrivacyRequest.objects.filter(
        status=Status.PENDING, created_at__lte=now - timedelta(days=settings.PRIVACY_REQUEST_CONFIRM_DAYS)
    ).update(status=Status.EXPIRED, email_sealed="")
    exports = (
        PrivacyRequest.objects.filter(export_expires_at__lte=now)
        .exclude(email_sealed="")
        .update(email_sealed="")
    )
    return pending + exports


def _page_url(path: str, token: str) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{path}?{urlencode({'token': token})}"


@register_email_builder(CONFIRM_EMAIL_KIND)
def _confirm_mail_build(email: OutgoingEmail) -> PreparedEmail:
    # The token is minted at send time and only its hash stored: it never rests in the outbox.
    token = secrets.token_urlsafe(32)
    request = PrivacyRequest.objects.get(pk=int(email.context["request_id"]))
    PrivacyRequest.objects.filter(pk=request.pk).update(confirm_token_hash=_token_hash(token))
    return PreparedEmail(
        context={
            "is_erasure": request.kind == PrivacyRequest.Kind.ERASURE,
            "confirm_url": _page_url("/privacy/confirm/", token),
            "valid_days": settings.PRIVACY_REQUEST_CONFIRM_DAYS,
        }
    )


@register_email_builder(EXPORT_EMAIL_KIND)
def _export_mail_build(email: OutgoingEmail) -> PreparedEmail:
    token = secrets.token_urlsafe(32)
    expires = timezone.now() + timedelta(days=settings.PRIVACY_EXPORT_VALID_DAYS)
    PrivacyRequest.objects.filter(pk=int(email.context["request_id"])).update(
        export_token_hash=_token_hash(token), export_expires_at=expires
    )
    return PreparedEmail(
        context={
            "export_url": _page_url("/privacy/export/", token),
            "valid_days": settings.PRIVACY_EXPORT_VALID_DAYS,
        }
    )
