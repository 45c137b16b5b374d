"""The signature of a CRM webhook: HMAC-SHA256 with CRM_WEBHOOK_SECRET over
`<timestamp>.<body>`, sent as `X-Signature: sha256=<hex>` with `X-Signature-Timestamp`.
The receiver recomputes it over the raw body (docs/privacy.md has a snippet)."""

from __future__ import annotations

import hashlib
import hmac


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_signature_valid(
    *, secret: str, timestamp: str, body: bytes, signature: str, now: float, tolerance: int = 300
) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent (a replayed
    request is refused)."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance:
        return False
    return hmac.compare_digest(webhook_signature(secret=secret, timestamp=sent, body=body), signature)
