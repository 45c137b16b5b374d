"""Sealing the personal data that law makes us keep after an erasure (the copy of a donation
receipt, §50 EStDV, §147 AO): the text is encrypted (Fernet: AES-128-CBC with HMAC-SHA256)
with a key derived from PRIVACY_SECRET, so it rests in no table in clear text and is read only
by a deliberate `unseal` (a tax audit), which is what "processing restricted" means here.

Losing PRIVACY_SECRET loses the sealed texts: keep it with the other production secrets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet
from django.conf import settings

SEALED_PREFIX = "sealed:"


def _fernet() -> Fernet:
    raw = hmac.new(settings.PRIVACY_SECRET.encode(), b"seal-key", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(raw))


def seal(text: str) -> str:
    if not text or is_sealed(text):
        return text
    return SEALED_PREFIX + _fernet().encrypt(text.encode()).decode()


def unseal(text: str) -> str:
    if not is_sealed(text):
        return text
    return _fernet().decrypt(text[len(SEALED_PREFIX) :].encode()).decode()


def is_sealed(text: str) -> bool:
    return text.startswith(SEALED_PREFIX)
