"""The request throttle of the signing endpoint: flood protection, not security, and it fails
open (signing must work with Redis down).

Counting is local first, shared through Redis: each process counts requests per client in
fixed windows and adds its counts to Redis (INCRBY, one pipelined round trip for all clients)
at most every `THROTTLE_SYNC_SECONDS`, learning the totals of all processes in the same round
trip. A request never waits on Redis except for the one that happens to flush. The price: the
processes learn each other's counts up to `THROTTLE_SYNC_SECONDS` late, so a flood spread over
N processes can get up to N times the rate through in its first moments; a window boundary can
let up to twice the rate through. For throttling floods (DRF's own docs call throttles
over-use protection, not security) that is fine; DRF's sliding log instead costs a GET and a
SET of the whole timestamp list on every request.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from campaign.throttles import FailOpenScopedRateThrottle
from petitions.shared_networks import email_domain_is_provider, ip_is_allowlisted
from petitions.validation import email_normalize

logger = logging.getLogger(__name__)

THROTTLE_SYNC_SECONDS = 0.25


@dataclass
class _Window:
    window: int
    ttl: int
    known_total: int = 0  # all processes' count, as of the last sync
    pending: int = 0  # this process's requests not yet added to Redis
    ends: float = 0.0  # when the window ends (the throttle's timer)


class _LocalCounts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.windows: dict[str, _Window] = {}
        self.synced_at = 0.0

    def clear(self) -> None:
        with self.lock:
            self.windows.clear()
            self.synced_at = 0.0


_counts = _LocalCounts()


def throttle_counts_clear() -> None:
    """Forgets this process's counts (tests)."""
    _counts.clear()


def _shared_incr(increments: dict[str, tuple[int, int]]) -> dict[str, int]:
    """Adds {key: (count, ttl)} to the shared counters and returns their new totals. On Redis:
    one pipelined round trip for all keys."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        full_keys = {key: cache.make_and_validate_key(key) for key in increments}
        client = cache._cache.get_client(next(iter(full_keys.values())), write=True)
        pipe = client.pipeline(transaction=False)
        for key, (count, ttl) in increments.items():
            pipe.incrby(full_keys[key], count)
            pipe.expire(full_keys[key], ttl)
        results = pipe.execute()
        return {key: int(results[2 * i]) for i, key in enumerate(increments)}
    totals = {}
    for key, (count, ttl) in increments.items():
        cache.add(key, 0, ttl)
        totals[key] = int(cache.incr(key, count))
    return totals


def _email_domain(request: Any) -> str:
    """The mail domain of the signing form (its validation comes later, in the view)."""
    data = request.data
    email = data.get("email") if isinstance(data, dict) else None
    return email_normalize(email)[1] if isinstance(email, str) else ""


class SignRateThrottle(FailOpenScopedRateThrottle):
    """`FailOpenScopedRateThrottle` counted locally first and shared through Redis in batches
    (see the module docstring), with two windows per client address: the scope's (`sign`,
    `THROTTLE_SIGN_RATE`), which signers from the big mail providers do not count against, and
    `sign_max` (`THROTTLE_SIGN_MAX_RATE`), which every signing counts against. Addresses in
    `PETITIONS_IP_ALLOWLIST` have neither (docs/petitions.md, "Shared networks")."""

    max_scope = "sign_max"
    _wait_seconds: float | None = None

    def allow_request(self, request: Any, view: Any) -> bool:
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        ident = self.get_ident(request)
        if ip_is_allowlisted(ident):
            return True
        scopes = [self.max_scope]
        if not email_domain_is_provider(_email_domain(request)):
            scopes.append(self.scope)
        now = self.timer()
        windows: list[tuple[str, int, float]] = []  # (key, limit, seconds left)
        for scope in scopes:
            rate = self.THROTTLE_RATES.get(scope)
            if rate is None:
                continue
            num_requests, duration = self.parse_rate(rate)
            assert num_requests is not None and duration is not None  # a set rate parses to numbers
            window = int(now // duration)
            key = f"throttle:{scope}:{ident}:{rate}:{window}"
            windows.append((key, num_requests, duration - (now % duration)))
            if scope == self.scope:
                self.rate, self.num_requests, self.duration = rate, num_requests, duration
        if not windows:
            return True
        monotonic = time.monotonic()
        with _counts.lock:
            entries = []
            for key, limit, left in windows:
                entry = _counts.windows.get(key)
                if entry is None:
                    entry = _counts.windows[key] = _Window(
                        window=int(key.rsplit(":", 1)[1]), ttl=int(left) + 2, ends=now + left
                    )
                if entry.known_total + entry.pending >= limit:
                    self._wait_seconds = left
                    return False
                entries.append(entry)
            for entry in entries:
                entry.pending += 1
            if monotonic - _counts.synced_at < THROTTLE_SYNC_SECONDS:
                return True
            _counts.synced_at = monotonic
            batch = {k: (w.pending, w.ttl) for k, w in _counts.windows.items() if w.pending}
            for w in _counts.windows.values():
                w.pending = 0
            # Windows that ended are of no further use.
            for stale in [k for k, w in _counts.windows.items() if w.ends <= now and k not in batch]:
                del _counts.windows[stale]
        self._sync(batch)
        return True

    def _sync(self, batch: dict[str, tuple[int, int]]) -> None:
        try:
            totals = _shared_incr(batch)
        except Exception as exc:  # noqa: BLE001 - any cache failure lets requests through
            logger.warning("throttle cache unavailable, letting requests through: %s", type(exc).__name__)
            return
        with _counts.lock:
            for key, total in totals.items():
                entry = _counts.windows.get(key)
                if entry is not None:
                    entry.known_total = max(entry.known_total, total)

    def wait(self) -> float | None:
        return self._wait_seconds
