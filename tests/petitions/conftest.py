from __future__ import annotations

from typing import Any

import pytest

from campaign.throttles import FailOpenScopedRateThrottle


@pytest.fixture(autouse=True)
def _petitions_isolation(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Throttle counters live in the shared cache for the whole run, and the count cache is
    per process: neither may carry over from one test to the next. The throttle itself is
    tested with its own low rate."""
    from petitions.selectors import petition_count_cache_clear

    rates = {**FailOpenScopedRateThrottle.THROTTLE_RATES, "sign": "100000/minute", "token": "100000/minute"}
    monkeypatch.setattr(FailOpenScopedRateThrottle, "THROTTLE_RATES", rates)
    petition_count_cache_clear()
    yield
    petition_count_cache_clear()
