from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _petitions_isolation(petitions_isolation: None) -> None:
    """Every petitions test starts with fresh throttle rates and count caches."""
