"""The keyed hash of an e-mail address: what privacy records store instead of the address.

An HMAC-SHA256 with PRIVACY_SECRET over the address lower-cased and stripped, so a stored
receipt or suppression entry can be matched when the same address comes again, but the address
cannot be read back, nor guessed from a list of addresses without the secret.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def address_clean(email: str) -> str:
    return (email or "").strip().lower()


def address_hash(email: str) -> str:
    key = settings.PRIVACY_SECRET.encode()
    return hmac.new(key, b"address:" + address_clean(email).encode(), hashlib.sha256).hexdigest()
