"""The silent fraud defence: runs in the worker, never on the request path."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.utils import timezone

from petitions.metrics import signature_flagged_count
from petitions.models import Signature

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _disposable_domains() -> frozenset[str]:
    # Lazy: the blocklist is large, and only the worker's fraud check needs it.
    from disposable_email_domains import blocklist

    return frozenset(blocklist)


def signature_fraud_reason(signature: Signature) -> str:
    """Why the signature looks automated, or "". Windows end at the signature's own creation
    time, so the verdict does not depend on when the worker runs."""
    domain = signature.email_domain
    if domain and domain in {d.lower() for d in settings.PETITIONS_BLOCKED_EMAIL_DOMAINS}:
        return "domain_blocked"
    if domain and settings.PETITIONS_BLOCK_DISPOSABLE_DOMAINS and domain in _disposable_domains():
        return "domain_disposable"
    same_petition = Signature.objects.filter(
        petition_id=signature.petition_id, created_at__lte=signature.created_at
    )
    if signature.ip_hash:
        by_ip = same_petition.filter(ip_hash=signature.ip_hash)
        burst_since = signature.created_at - timedelta(seconds=settings.PETITIONS_IP_BURST_SECONDS)
        if by_ip.filter(created_at__gt=burst_since).count() > settings.PETITIONS_IP_BURST_LIMIT:
            return "ip_burst"
        sustained_since = signature.created_at - timedelta(seconds=settings.PETITIONS_IP_SUSTAINED_SECONDS)
        if by_ip.filter(created_at__gt=sustained_since).count() > settings.PETITIONS_IP_SUSTAINED_LIMIT:
            return "ip_sustained"
    if domain and domain not in {d.lower() for d in settings.PETITIONS_DOMAIN_ALLOWLIST}:
        since = signature.created_at - timedelta(seconds=settings.PETITIONS_DOMAIN_SECONDS)
        if (
            same_petition.filter(email_domain=domain, created_at__gt=since).count()
            > settings.PETITIONS_DOMAIN_LIMIT
        ):
            return "domain_rate"
    return ""


def signature_fraud_check(*, signature_id: int) -> None:
    """Runs the silent checks once per signature and flags it when one hits. Flagging is
    silent: the supporter still gets the mail and can confirm; the signature never counts."""
    now = timezone.now()
    # Claim the check, so a resent mail or a second worker does not run it again.
    if not Signature.objects.filter(pk=signature_id, fraud_checked_at__isnull=True).update(
        fraud_checked_at=now
    ):
        return
    signature = Signature.objects.filter(pk=signature_id).first()
    if signature is None or signature.status == Signature.Status.WITHDRAWN:
        return
    reason = signature_fraud_reason(signature)
    if reason:
        if Signature.objects.filter(pk=signature_id, is_flagged=False).update(
            is_flagged=True, flag_reason=reason, updated_at=now
        ):
            signature_flagged_count(reason)
        logger.info("signature %s flagged: %s", signature_id, reason)
