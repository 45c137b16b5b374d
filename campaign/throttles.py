"""Request throttles for the public write endpoints. They protect the service against floods
and are not a security control. They fail open: when the cache (Redis) is unreachable the
request goes through, because signing must keep working with Redis down."""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import ScopedRateThrottle

from campaign.client_ip import request_client_ip

logger = logging.getLogger(__name__)


class FailOpenScopedRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle (rates from `DEFAULT_THROTTLE_RATES`, one counter per client
    address and scope). On Redis it costs one round trip instead of DRF's two (a GET and a SET
    of the pickled request history): a counter that starts with the first request and expires
    `duration` later (SET NX EX, INCR and TTL in one pipeline), so at most `num_requests` pass
    per window. Other caches (the embedded default's local memory) use DRF's own sliding window.
    """

    _retry_after: int | None = None

    def get_ident(self, request: Any) -> str:
        # The one client address of the service (trusted proxies only; campaign.client_ip).
        return request_client_ip(request)

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            # DRF's `cache` is Django's default-cache proxy; look at the backend behind it.
            backend = self.cache if isinstance(self.cache, BaseCache) else caches[DEFAULT_CACHE_ALIAS]
            if isinstance(backend, RedisCache):
                return self._allow_request_redis(request, view, backend)
            return super().allow_request(request, view)
        except Exception as exc:  # noqa: BLE001 - any cache failure must let the request through
            logger.warning("throttle cache unavailable, letting request through: %s", type(exc).__name__)
            return True

    def _allow_request_redis(self, request: Any, view: Any, backend: RedisCache) -> bool:
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        key = backend.make_and_validate_key(key)
        client = backend._cache.get_client(key, write=True)
        # redis-py types pipeline commands with the client's return types, not the pipeline
        # they really return, so queue them one by one instead of chaining.
        pipe = client.pipeline(transaction=False)
        pipe.set(key, 0, ex=self.duration, nx=True)
        pipe.incr(key)
        pipe.ttl(key)
        _, count, ttl = pipe.execute()
        if count <= self.num_requests:
            return True
        self._retry_after = ttl if ttl and ttl > 0 else self.duration
        return False

    def wait(self) -> float | None:
        if self._retry_after is not None:
            return self._retry_after
        return super().wait()
