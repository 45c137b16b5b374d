"""Self-hosted ALTCHA proof of work (PyPI `altcha`): challenges signed with ALTCHA_HMAC_KEY,
verified on signing for petitions that enable it. A solved challenge is accepted once."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

from altcha import ChallengeOptionsV1, create_challenge_v1, verify_solution_v1
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

logger = logging.getLogger(__name__)


def altcha_challenge_create() -> dict[str, Any]:
    challenge = create_challenge_v1(
        ChallengeOptionsV1(
            hmac_key=settings.ALTCHA_HMAC_KEY,
            max_number=settings.ALTCHA_MAX_NUMBER,
            expires=timezone.now() + timedelta(seconds=settings.ALTCHA_EXPIRES_SECONDS),
        )
    )
    data = challenge.to_dict()
    # The widget reads `maxnumber`; the library writes `maxNumber`. Send both.
    data["maxnumber"] = data.get("maxNumber", settings.ALTCHA_MAX_NUMBER)
    return data


def altcha_verify(payload: str) -> bool:
    """True for a valid, unexpired solution not used before."""
    if not payload:
        return False
    try:
        ok, _error = verify_solution_v1(payload, settings.ALTCHA_HMAC_KEY, check_expires=True)
    except Exception:  # noqa: BLE001 - malformed input from the public is simply invalid
        return False
    if not ok:
        return False
    key = "altcha-used:" + hashlib.sha256(payload.encode()).hexdigest()
    try:
        # Replay protection; without the cache (Redis down) the expiry still bounds reuse.
        return bool(cache.add(key, 1, timeout=settings.ALTCHA_EXPIRES_SECONDS + 60))
    except Exception as exc:  # noqa: BLE001
        logger.warning("altcha replay check skipped: %s", type(exc).__name__)
        return True
