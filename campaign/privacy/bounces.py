"""Delivery events from the mail provider: hard bounces, complaints and unsubscribes put the
address on the suppression list.

Two ways in: django-anymail's tracking webhooks (`/mail/anymail/<provider>/tracking/`, the
common providers, secured with HTTP basic auth `MAIL_WEBHOOK_SECRET`), whose `tracking` signal
arrives in `anymail_event_received`; and a generic JSON format for any other provider or a
bounce-mailbox script, signed with HMAC-SHA256 (`mail_events_signature_valid`, documented in
docs/privacy.md). A refusal by our own SMTP relay counts too (campaign.outbox.sending).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from django.conf import settings

from campaign.models import SuppressedAddress
from campaign.privacy.consent import MAIL_PURPOSES, consents_withdraw
from campaign.privacy.hashing import address_hash
from campaign.privacy.suppression import address_suppress

logger = logging.getLogger(__name__)

Reason = SuppressedAddress.Reason
# Event types (anymail's names and the generic format's) that suppress, and why.
SUPPRESSING_EVENTS: dict[str, str] = {
    "bounced": Reason.BOUNCED,
    "hard_bounce": Reason.BOUNCED,
    "complained": Reason.COMPLAINED,
    "complaint": Reason.COMPLAINED,
    "unsubscribed": Reason.UNSUBSCRIBED,
    "unsubscribe": Reason.UNSUBSCRIBED,
}


def mail_event_record(*, event_type: str, email: str) -> bool:
    """True when the event put the address on the list (soft bounces, deliveries, opens do not)."""
    reason = SUPPRESSING_EVENTS.get(event_type)
    if reason is None or not email or "@" not in email:
        return False
    address_suppress(email_hash=address_hash(email), reason=reason)
    if reason == Reason.UNSUBSCRIBED:
        # As a one-click unsubscribe: the mail consents end (and the CRM is told).
        consents_withdraw(how="unsubscribed", email_hash=address_hash(email), purposes=MAIL_PURPOSES)
    return True


def mail_events_signature_valid(body: bytes, header: str) -> bool:
    """`X-Mail-Events-Signature: sha256=<hex HMAC-SHA256 of the raw body with MAIL_WEBHOOK_SECRET>`."""
    secret = settings.MAIL_WEBHOOK_SECRET
    if not secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


def anymail_event_received(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    """django-anymail's `tracking` signal (connected in CampaignConfig.ready). Without a secret
    anymail would accept unauthenticated events: they are ignored."""
    if not settings.MAIL_WEBHOOK_SECRET:
        logger.warning("mail event from %s ignored: MAIL_WEBHOOK_SECRET is not set", esp_name)
        return
    event_type = str(event.event_type or "")
    if event_type == "rejected" and event.reject_reason in ("invalid", "bounced"):
        event_type = "bounced"  # the provider refuses the address itself: as permanent as a bounce
    # anymail's "bounced" is a refusal by the receiving server; temporary ones are "deferred".
    if mail_event_record(event_type=event_type, email=str(event.recipient or "")):
        logger.info("mail event from %s: %s, address suppressed", esp_name, event.event_type)
