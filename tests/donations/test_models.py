"""The donation status machine: money states never go back."""

from __future__ import annotations

import pytest

from donations.models import Donation

S = Donation.Status


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (S.CREATED, S.SUCCEEDED, True),
        (S.PROCESSING, S.SUCCEEDED, True),
        (S.SUCCEEDED, S.REFUNDED, True),
        (S.PARTIALLY_REFUNDED, S.REFUNDED, True),
        (S.DISPUTED, S.SUCCEEDED, True),  # a won dispute
        (S.DISPUTED, S.DISPUTE_LOST, True),
        (S.SUCCEEDED, S.PROCESSING, False),  # a late "processing" event
        (S.SUCCEEDED, S.FAILED, False),  # a late "failed" event
        (S.REFUNDED, S.SUCCEEDED, False),
        (S.REFUNDED, S.PARTIALLY_REFUNDED, False),
        (S.DISPUTE_LOST, S.SUCCEEDED, False),
        (S.CANCELED, S.SUCCEEDED, False),
        (S.CREATED, S.REFUNDED, False),
    ],
)
def test_it_allows_only_the_defined_transitions(current, target, allowed):
    assert Donation(status=current).can_move_to(target) is allowed


def test_every_status_has_its_transitions_defined():
    assert set(Donation.ALLOWED_TRANSITIONS) == set(S.values)
    assert all(set(targets) <= set(S.values) for targets in Donation.ALLOWED_TRANSITIONS.values())
