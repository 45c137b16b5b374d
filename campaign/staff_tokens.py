"""API tokens for staff: issued only from a session verified with the second factor, stored
as a SHA-256 of the key, expiring after STAFF_TOKEN_DAYS, revocable; creation and revocation
are audited. `StaffTokenAuthentication` is the only token scheme of the API."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from campaign.audit import audit_record
from campaign.models import StaffToken

# Writing last_used_at on every request would turn each read into a write.
LAST_USED_PRECISION = timedelta(minutes=5)


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def staff_token_create(
    *, user: Any, name: str = "", days: int | None = None, via: str = "session"
) -> tuple[StaffToken, str]:
    """A new token for `user`; returns the row and the key (shown once, never stored)."""
    key = secrets.token_urlsafe(32)
    token = StaffToken.objects.create(
        user=user,
        name=name[:100],
        key_hash=_key_hash(key),
        prefix=key[:8],
        expires_at=timezone.now() + timedelta(days=days if days is not None else settings.STAFF_TOKEN_DAYS),
    )
    audit_record(
        actor=user if via == "session" else None,
        action="token.create",
        object_type="campaign.stafftoken",
        object_id=token.pk,
        details={"user_id": user.pk, "expires_at": token.expires_at.isoformat(), "via": via},
    )
    return token, key


@transaction.atomic
def staff_token_revoke(*, token_id: int, user: Any) -> bool:
    """Revokes one of `user`'s own tokens (False when unknown or already revoked)."""
    revoked = StaffToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if revoked:
        audit_record(actor=user, action="token.revoke", object_type="campaign.stafftoken", object_id=token_id)
    return bool(revoked)


def staff_tokens_revoke_all(*, user: Any) -> int:
    return StaffToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


def staff_tokens_list(*, user: Any) -> list[StaffToken]:
    return list(StaffToken.objects.filter(user=user).order_by("-created_at")[:100])


class StaffTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`; an unknown, expired or revoked key is a 401, as is a key
    of an account that is no longer active staff."""

    def authenticate_credentials(self, key: str) -> tuple[Any, StaffToken]:
        token = StaffToken.objects.select_related("user").filter(key_hash=_key_hash(key)).first()
        now = timezone.now()
        if token is None or token.revoked_at is not None or token.expires_at <= now:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        if not (token.user.is_active and token.user.is_staff):
            raise exceptions.AuthenticationFailed("The token's account is not active staff.")
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
            StaffToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token
