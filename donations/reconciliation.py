"""Reconciliation: repairs donations whose Stripe webhook never arrived."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from donations import stripe_api
from donations.charging import donation_apply_payment_intent, donation_lock_by_stripe

logger = logging.getLogger(__name__)


def payments_reconcile(*, now: Any = None, max_pages: int = 50) -> dict[str, int]:
    """Lists recent PaymentIntents from Stripe and repairs donations whose webhook never
    arrived. Filters by `created` itself: the stand-in ignores the list filter, and pages are
    walked until Stripe says there are no more (bounded)."""
    now = now or timezone.now()
    since = int((now - timedelta(days=settings.STRIPE_RECONCILE_DAYS)).timestamp())
    seen = repaired = 0
    starting_after = ""
    for _ in range(max_pages):
        page = stripe_api.payment_intents_list(starting_after=starting_after, created_gte=since)
        for item in page.items:
            if item.created and item.created < since:
                continue
            donation_id = item.metadata.get("donation_id", "")
            if not donation_id:
                continue  # not ours
            seen += 1
            with transaction.atomic():
                donation = donation_lock_by_stripe(payment_intent_id=item.id, donation_id=donation_id)
                if donation is None:
                    continue
                before = (donation.status, donation.stripe_payment_intent_id)
                donation_apply_payment_intent(donation, stripe_api.payment_intent_get(item.id))
                if (donation.status, donation.stripe_payment_intent_id) != before:
                    repaired += 1
                    logger.info("reconcile: donation %s repaired to %s", donation.pk, donation.status)
        if not page.has_more or not page.items:
            break
        starting_after = page.items[-1].id
    return {"seen": seen, "repaired": repaired}
