"""Mail builders of the petitions app. They run at send time, in the worker: they mint the
link tokens (so no token rests in the outbox) and run the silent fraud checks once."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction

from campaign.emails import (
    PreparedEmail,
    register_bulk_kind,
    register_email_batch_builder,
    register_email_builder,
)
from petitions.fraud import signatures_fraud_check
from petitions.models import Petition, PetitionUpdate, Signature, SignatureToken
from petitions.reminders import REMINDER_EMAIL_KIND
from petitions.signing import CONFIRMATION_EMAIL_KIND
from petitions.tokens import signature_tokens_mint
from petitions.updates import UPDATE_EMAIL_KIND

if TYPE_CHECKING:
    from campaign.models import OutgoingEmail

logger = logging.getLogger(__name__)


class SignatureGone(Exception):
    """The signature was withdrawn or deleted before its mail went out."""


def _page_url(path: str, token: str) -> str:
    # The token goes in the query string, never the path: access logs omit query strings.
    return f"{settings.PUBLIC_BASE_URL}{path}?{urlencode({'token': token})}"


def _fraud_check_step(signatures: list[Signature]) -> None:
    """The silent fraud checks, a step of their own run before the mails are built (in the
    builder's transaction, so they share its commit)."""
    try:
        with transaction.atomic():  # a savepoint: a failing check must not undo the tokens
            signatures_fraud_check(signatures=signatures)
    except Exception:  # noqa: BLE001 - a failing check must not stop the confirmation mails
        logger.exception("fraud check failed for signatures %s", [s.pk for s in signatures])


@register_email_batch_builder(CONFIRMATION_EMAIL_KIND)
@register_email_batch_builder(REMINDER_EMAIL_KIND)
def signature_confirmations_build(emails: list[OutgoingEmail]) -> dict[int, PreparedEmail | Exception]:
    """The confirmation (or reminder) mails of a batch: one query for their signatures, one
    claim for their fraud checks, one INSERT for their tokens, one commit, so the cost per mail
    does not grow with the batch or the table."""
    results: dict[int, PreparedEmail | Exception] = {}
    wanted: dict[int, int] = {}
    for email in emails:
        try:
            wanted[email.pk] = int(email.context["signature_id"])
        except (KeyError, TypeError, ValueError) as exc:
            results[email.pk] = exc
    # One transaction for the checks and all tokens: one commit (one WAL flush) per batch; the
    # tokens are committed before the mails that carry them are sent.
    with transaction.atomic():
        # By id alone: with the default ordering (-created_at) or a join to the petition, stale
        # statistics let the planner walk another index of the signatures.
        found = Signature.objects.order_by().in_bulk(set(wanted.values()))
        petitions = Petition.objects.order_by().in_bulk({s.petition_id for s in found.values()})
        for loaded in found.values():
            loaded.petition = petitions[loaded.petition_id]
        live = [s for s in found.values() if s.status != Signature.Status.WITHDRAWN]
        _fraud_check_step(live)
        purposes = [SignatureToken.Purpose.CONFIRM, SignatureToken.Purpose.WITHDRAW]
        tokens = signature_tokens_mint(signature_ids=[s.pk for s in live], purposes=purposes)
    for email_id, signature_id in wanted.items():
        signature: Signature | None = found.get(signature_id)
        if signature is None or signature.status == Signature.Status.WITHDRAWN:
            results[email_id] = SignatureGone(f"signature {signature_id} is gone")
            continue
        email = next(e for e in emails if e.pk == email_id)
        petition = signature.petition
        title = petition.title_en if email.locale == "en" and petition.title_en else petition.title_de
        results[email_id] = PreparedEmail(
            context={
                "first_name": signature.first_name,
                "petition_title": title,
                "confirm_url": _page_url(
                    "/signatures/confirm/", tokens[(signature_id, SignatureToken.Purpose.CONFIRM)]
                ),
                "withdraw_url": _page_url(
                    "/signatures/withdraw/", tokens[(signature_id, SignatureToken.Purpose.WITHDRAW)]
                ),
                "token_days": settings.PETITIONS_CONFIRM_TOKEN_DAYS,
                "is_reminder": email.kind == REMINDER_EMAIL_KIND,
                # The link confirms each opt-in the mail names (each its own consent record).
                "updates_consent": signature.updates_consent,
                "newsletter_consent": signature.newsletter_consent,
            }
        )
    return results


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
