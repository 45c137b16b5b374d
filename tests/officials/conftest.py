"""The officials tests use their own petition (from `make_petition` in
tests/fixtures/officials.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from petitions.models import Petition


@pytest.fixture
def petition(make_petition: Callable[..., Petition]) -> Petition:
    return make_petition()
