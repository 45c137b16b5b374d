"""The link tokens of the confirmation mails: minting one, looking one up."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from campaign.exceptions import ApplicationError
from petitions.hashing import token_hash
from petitions.models import SignatureToken


def signature_token_mint(*, signature_id: int, purpose: str, now: datetime | None = None) -> str:
    """A fresh random token for a mail link; only its hash is stored."""
    now = now or timezone.now()
    days = (
        settings.PETITIONS_CONFIRM_TOKEN_DAYS
        if purpose == SignatureToken.Purpose.CONFIRM
        else settings.PETITIONS_WITHDRAW_TOKEN_DAYS
    )
    token = secrets.token_urlsafe(32)
    SignatureToken.objects.create(
        signature_id=signature_id,
        purpose=purpose,
        token_hash=token_hash(token),
        expires_at=now + timedelta(days=days),
    )
    return token


def signature_tokens_mint(*, signature_ids: list[int], purposes: Sequence[str]) -> dict[tuple[int, str], str]:
    """Fresh tokens for many mail links at once (one INSERT): (signature id, purpose) -> token."""
    now = timezone.now()
    days: dict[str, int] = {
        SignatureToken.Purpose.CONFIRM: settings.PETITIONS_CONFIRM_TOKEN_DAYS,
        SignatureToken.Purpose.WITHDRAW: settings.PETITIONS_WITHDRAW_TOKEN_DAYS,
    }
    tokens = {(sid, purpose): secrets.token_urlsafe(32) for sid in signature_ids for purpose in purposes}
    SignatureToken.objects.bulk_create(
        SignatureToken(
            signature_id=sid,
            purpose=purpose,
            token_hash=token_hash(token),
            expires_at=now + timedelta(days=days[purpose]),
        )
        for (sid, purpose), token in tokens.items()
    )
    return tokens


def signature_token_get(token: str, purpose: str) -> SignatureToken:
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise ApplicationError(_("This link is not valid."), code="token_invalid", status_code=404)
    # By the unique hash alone, without a join and without .first(): its ORDER BY id, or a
    # join to the signatures, lets a planner with stale statistics walk a whole table looking
    # for the hash (tests/petitions/test_query_plans.py). Callers load the signature by id.
    found = next(iter(SignatureToken.objects.filter(token_hash=token_hash(token), purpose=purpose)[:1]), None)
    if found is None:
        raise ApplicationError(_("This link is not valid."), code="token_invalid", status_code=404)
    return found
