from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _generous_throttles(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests make many requests from one address; the throttle itself has its own test."""
    from campaign.throttles import FailOpenScopedRateThrottle

    monkeypatch.setattr(
        FailOpenScopedRateThrottle,
        "THROTTLE_RATES",
        {
            **FailOpenScopedRateThrottle.THROTTLE_RATES,
            "donate": "10000/minute",
            "token": "10000/minute",
            "manage_link": "10000/minute",
        },
    )
    yield
