"""Request throttles for the public write endpoints. They protect the service against floods
and are not a security control. They fail open: when the cache (Redis) is unreachable the
request goes through, because signing must keep working with Redis down."""

from __future__ import annotations

import logging
from typing import Any

from rest_framework.throttling import ScopedRateThrottle

logger = logging.getLogger(__name__)


class FailOpenScopedRateThrottle(ScopedRateThrottle):
    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception as exc:  # noqa: BLE001 - any cache failure must let the request through
            logger.warning("throttle cache unavailable, letting request through: %s", type(exc).__name__)
            return True
