"""The suppression list and one-click unsubscribe (RFC 8058).

Every non-transactional mail kind (registered with `campaign.emails.register_bulk_kind`:
supporter updates, reminders, newsletters) is checked against the list when it is sent, and
carries `List-Unsubscribe` (an https link and a mailto) and `List-Unsubscribe-Post:
List-Unsubscribe=One-Click`. The link's token is a signed keyed hash of the address (and the
mail's language), so neither the link nor the list holds the address.
"""

from __future__ import annotations

import logging
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core import signing

from campaign.models import SuppressedAddress
from campaign.privacy.hashing import address_hash

logger = logging.getLogger(__name__)

_SALT = "campaign.privacy.unsubscribe"


def unsubscribe_token_make(*, email: str, locale: str) -> str:
    return signing.dumps({"h": address_hash(email), "l": locale}, salt=_SALT, compress=True)


def unsubscribe_token_read(token: str) -> tuple[str, str] | None:
    """(address hash, language) of a valid token, or None. Tokens do not expire: RFC 8058
    links must keep working as long as the mail can be found in a mailbox."""
    try:
        data = signing.loads(token, salt=_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("h"), str) or len(data["h"]) != 64:
        return None
    locale = data.get("l")
    return data["h"], locale if locale in ("de", "en") else "de"


def unsubscribe_url(*, email: str, locale: str) -> str:
    token = unsubscribe_token_make(email=email, locale=locale)
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/unsubscribe/?{urlencode({'t': token})}"


def unsubscribe_headers(*, email: str, locale: str) -> dict[str, str]:
    token = unsubscribe_token_make(email=email, locale=locale)
    link = f"{settings.PUBLIC_BASE_URL.rstrip('/')}/unsubscribe/?{urlencode({'t': token})}"
    mailto = f"mailto:{settings.UNSUBSCRIBE_MAILTO}?subject={quote('unsubscribe ' + token)}"
    return {
        "List-Unsubscribe": f"<{link}>, <{mailto}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def address_suppress(*, email_hash: str, reason: str) -> bool:
    """Puts the address on the list (idempotent). True when it was not there yet."""
    _, created = SuppressedAddress.objects.get_or_create(email_hash=email_hash, defaults={"reason": reason})
    if created:
        logger.info("address suppressed (%s)", reason)
    return created


def address_is_suppressed(email: str) -> bool:
    return SuppressedAddress.objects.filter(email_hash=address_hash(email)).exists()


def addresses_suppressed(emails: list[str]) -> set[str]:
    """The addresses of `emails` that are on the list (one query)."""
    by_hash = {address_hash(e): e for e in emails}
    found = SuppressedAddress.objects.filter(email_hash__in=list(by_hash)).values_list(
        "email_hash", flat=True
    )
    return {by_hash[h] for h in found}
