"""The flood throttle: one Redis round trip per request, DRF's window elsewhere, open when the
cache is down."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

import pytest
from django.core.cache import caches
from rest_framework.test import APIRequestFactory

from campaign.throttles import FailOpenScopedRateThrottle
from tests.conftest import free_port


class _View:
    throttle_scope = "probe"


@pytest.fixture
def rate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FailOpenScopedRateThrottle, "THROTTLE_RATES", {"probe": "2/minute"})


def _requests(count: int, address: str) -> list[tuple[bool, Any]]:
    results = []
    for _ in range(count):
        request = APIRequestFactory().post("/", REMOTE_ADDR=address)
        request.user = None
        throttle = FailOpenScopedRateThrottle()
        allowed = throttle.allow_request(request, _View())
        # DRF asks for the wait (Retry-After) only of a throttle that said no.
        results.append((allowed, None if allowed else throttle.wait()))
    return results


def _address() -> str:
    # Each test its own client address: the counters live in the shared Redis for the run. In
    # its normalised form (no leading zeros), as the throttle keys it (campaign.client_ip).
    return str(ipaddress.ip_address(f"2001:db8::{uuid.uuid4().hex[:4]}"))


def test_on_redis_it_lets_the_rate_through_and_stops_the_rest(rate):
    address = _address()

    results = _requests(4, address)

    assert [allowed for allowed, _ in results] == [True, True, False, False]
    retry_after = results[2][1]
    assert 0 < retry_after <= 60
    # One counter with an expiry: nothing piles up in Redis.
    backend = caches["default"]
    key = backend.make_and_validate_key(f"throttle_probe_{address}")
    client = backend._cache.get_client(key)
    assert int(client.get(key)) == 4
    assert 0 < client.ttl(key) <= 60


def test_other_caches_use_drfs_window(rate, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

    results = _requests(3, _address())

    assert [allowed for allowed, _ in results] == [True, True, False]
    assert 0 < results[2][1] <= 60


def test_with_redis_down_every_request_goes_through(rate, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }

    results = _requests(4, _address())

    assert [allowed for allowed, _ in results] == [True, True, True, True]
