"""Mail builders of the petitions app. They run at send time, in the worker: they mint the
link tokens (so no token rests in the outbox) and run the silent fraud checks once."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction

from campaign.emails import PreparedEmail, register_bulk_kind, register_email_builder
from petitions.fraud import signature_fraud_check
from petitions.models import PetitionUpdate, Signature, SignatureToken
from petitions.reminders import REMINDER_EMAIL_KIND
from petitions.signing import CONFIRMATION_EMAIL_KIND
from petitions.tokens import signature_token_mint
from petitions.updates import UPDATE_EMAIL_KIND

if TYPE_CHECKING:
    from campaign.models import OutgoingEmail

logger = logging.getLogger(__name__)


class SignatureGone(Exception):
    """The signature was withdrawn or deleted before its mail went out."""


def _page_url(path: str, token: str) -> str:
    # The token goes in the query string, never the path: access logs omit query strings.
    return f"{settings.PUBLIC_BASE_URL}{path}?{urlencode({'token': token})}"


def _fraud_check_step(signature_id: int) -> None:
    """The silent fraud check, a step of its own run before the mail is built (in the
    builder's transaction, so it shares its commit)."""
    try:
        with transaction.atomic():  # a savepoint: a failing check must not undo the tokens
            signature_fraud_check(signature_id=signature_id)
    except Exception:  # noqa: BLE001 - a failing check must not stop the confirmation mail
        logger.exception("fraud check failed for signature %s", signature_id)


@register_email_builder(CONFIRMATION_EMAIL_KIND)
@register_email_builder(REMINDER_EMAIL_KIND)
def signature_confirmation_build(email: OutgoingEmail) -> PreparedEmail:
    signature_id = int(email.context["signature_id"])
    # One transaction for the check and both tokens: one commit (one WAL flush) per mail instead
    # of one per write; the tokens are committed before the mail that carries them is sent.
    with transaction.atomic():
        _fraud_check_step(signature_id)
        signature = Signature.objects.select_related("petition").filter(pk=signature_id).first()
        if signature is None or signature.status == Signature.Status.WITHDRAWN:
            raise SignatureGone(f"signature {signature_id} is gone")
        petition = signature.petition
        confirm = signature_token_mint(signature_id=signature_id, purpose=SignatureToken.Purpose.CONFIRM)
        withdraw = signature_token_mint(signature_id=signature_id, purpose=SignatureToken.Purpose.WITHDRAW)
    title = petition.title_en if email.locale == "en" and petition.title_en else petition.title_de
    return PreparedEmail(
        context={
            "first_name": signature.first_name,
            "petition_title": title,
            "confirm_url": _page_url("/signatures/confirm/", confirm),
            "withdraw_url": _page_url("/signatures/withdraw/", withdraw),
            "token_days": settings.PETITIONS_CONFIRM_TOKEN_DAYS,
            "is_reminder": email.kind == REMINDER_EMAIL_KIND,
            # The link confirms each opt-in the mail names (each its own consent record).
            "updates_consent": signature.updates_consent,
            "newsletter_consent": signature.newsletter_consent,
        }
    )


# Not transactional: they honour the suppression list and carry List-Unsubscribe (RFC 8058).
register_bulk_kind(UPDATE_EMAIL_KIND)
register_bulk_kind(REMINDER_EMAIL_KIND)


@register_email_builder(UPDATE_EMAIL_KIND)
def petition_update_build(email: OutgoingEmail) -> PreparedEmail:
    update = PetitionUpdate.objects.select_related("petition").get(pk=int(email.context["update_id"]))
    first_name = ""
    if not email.context.get("test"):
        signature = Signature.objects.filter(pk=int(email.context["signature_id"])).first()
        # Withdrawn, erased or the consent taken back since the mail was queued: not sent.
        if (
            signature is None
            or signature.status != Signature.Status.CONFIRMED
            or not signature.updates_consent
        ):
            raise SignatureGone(f"signature {email.context['signature_id']} no longer takes updates")
        first_name = signature.first_name
    subject, body = update.text(email.locale)
    petition = update.petition
    return PreparedEmail(
        context={
            "first_name": first_name,
            "subject": subject,
            "body_text": body,
            "petition_title": petition.title_en
            if email.locale == "en" and petition.title_en
            else petition.title_de,
            "is_test": bool(email.context.get("test")),
        }
    )
