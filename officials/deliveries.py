"""Deliveries of the officials app: plans, snapshots, milestone and weekly deliveries.

Deliveries are rows with a unique (official, petition, trigger), handed to the outbox as
at-most-once mails, released under a per-campaign hourly cap.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from campaign.models import Campaign, OutgoingEmail
from campaign.outbox.queueing import outgoing_email_queue
from officials.imports import _int_or_none
from officials.models import (
    Delivery,
    DeliveryPlan,
    Official,
    RegionTotal,
)
from officials.recipients import delivery_plan_recipients
from petitions.models import Milestone

logger = logging.getLogger(__name__)

DELIVERY_EMAIL_KIND = "officials_delivery"
DELIVERY_SUBJECT_TYPE = "officials.delivery"


def _format_share(count: int, total: int) -> str:
    return f"{(100 * count / total):.1f}" if total else "0.0"


def delivery_totals_snapshot(
    *,
    petition: Any,
    official: Official,
    region_counts: Mapping[int, int],
    state_counts: Mapping[str, int] | None = None,
) -> dict:
    """The numbers one mail states, frozen into the delivery row: what was sent is on record.
    An official of a state (a Land) also gets the state's count."""
    online = petition.signature_count
    snapshot: dict[str, Any] = {
        "total": petition.total_count,
        "online": online,
        "offline": petition.offline_count,
        "as_of": timezone.now().isoformat(),
        "constituency": None,
    }
    constituency = official.constituency
    if constituency is not None:
        count = region_counts.get(constituency.pk, 0)
        snapshot["constituency"] = {
            "id": constituency.pk,
            "parliament": constituency.parliament,
            "number": constituency.number,
            "name": constituency.name,
            "state": constituency.state,
            "count": count,
            # Share of the online signatures: paper signatures carry no postcode.
            "share_percent": _format_share(count, online),
        }
    if official.state and state_counts is not None:
        count = state_counts.get(official.state, 0)
        snapshot["state"] = {
            "name": official.state,
            "count": count,
            "share_percent": _format_share(count, online),
        }
    return snapshot


def _constituency_counts(petition_id: int) -> dict[int, int]:
    return dict(
        RegionTotal.objects.filter(petition_id=petition_id, constituency__isnull=False).values_list(
            "constituency_id", "count"
        )
    )


def _state_counts(petition_id: int) -> dict[str, int]:
    rows = (
        RegionTotal.objects.filter(petition_id=petition_id, constituency__isnull=False)
        .order_by()
        .values("state")
        .annotate(n=Sum("count"))
        .values_list("state", "n")
    )
    return {state: int(n or 0) for state, n in rows}


def _deliveries_create(
    *,
    petition: Any,
    trigger: str,
    recipients: Sequence[tuple[Official, DeliveryPlan]],
) -> int:
    """Inserts one delivery per official for the trigger; an official who already has one for
    this (petition, trigger) keeps it (the unique constraint decides, also between racing
    transactions)."""
    if not recipients:
        return 0
    already = set(
        Delivery.objects.filter(petition=petition, trigger=trigger).values_list("official_id", flat=True)
    )
    region_counts = _constituency_counts(petition.pk)
    state_counts = _state_counts(petition.pk)
    rows = []
    seen: set[int] = set()
    for official, plan in recipients:
        if official.pk in already or official.pk in seen:
            continue
        seen.add(official.pk)
        rows.append(
            Delivery(
                official=official,
                petition=petition,
                plan=plan,
                campaign_id=petition.campaign_id,
                trigger=trigger,
                totals=delivery_totals_snapshot(
                    petition=petition,
                    official=official,
                    region_counts=region_counts,
                    state_counts=state_counts,
                ),
                include_names=plan.include_names,
            )
        )
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


@transaction.atomic
def deliveries_for_milestone_create(*, milestone_id: int, now: datetime | None = None) -> int:
    """Creates the deliveries of every active plan that lists the milestone's target, and
    hands those that fit under the hourly cap to the outbox, in the caller's transaction.
    Idempotent: a second call (a retried task, a count that crossed again) creates nothing."""
    milestone = Milestone.objects.select_related("petition").get(pk=milestone_id)
    petition = milestone.petition
    recipients: list[tuple[Official, DeliveryPlan]] = []
    for plan in DeliveryPlan.objects.filter(petition=petition, active=True).order_by("pk"):
        if milestone.target in {_int_or_none(str(t)) for t in (plan.milestones or [])}:
            recipients += [(official, plan) for official in delivery_plan_recipients(plan=plan)]
    created = _deliveries_create(
        petition=petition, trigger=f"milestone:{milestone.target}", recipients=recipients
    )
    if created:
        logger.info("milestone %s: %d deliveries created for petition %s", milestone.pk, created, petition.pk)
        deliveries_release(campaign_id=petition.campaign_id, now=now)
    return created


def period_key(moment: datetime) -> str:
    iso = moment.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def _plan_timezone(plan: DeliveryPlan) -> ZoneInfo:
    try:
        return ZoneInfo(plan.schedule_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


@transaction.atomic
def _plan_period_run(*, plan_id: int, now: datetime) -> int:
    # Lock the plan so two beat runs cannot evaluate the same week twice.
    plan = DeliveryPlan.objects.select_for_update().select_related("petition").get(pk=plan_id)
    if not plan.active or plan.schedule_weekday is None or plan.schedule_time is None:
        return 0
    tz = _plan_timezone(plan)
    local = now.astimezone(tz)
    period = period_key(local)
    if plan.last_period == period:
        return 0
    iso = local.isocalendar()
    slot = datetime.combine(
        date.fromisocalendar(iso.year, iso.week, plan.schedule_weekday + 1), plan.schedule_time, tzinfo=tz
    )
    if local < slot:
        return 0
    plan.last_period = period
    plan.save(update_fields=["last_period", "updated_at"])
    petition = plan.petition
    if petition.status == "draft":
        return 0
    trigger = f"period:{period}"
    recipients = []
    for official in delivery_plan_recipients(plan=plan):
        if plan.only_when_changed:
            previous = (
                Delivery.objects.filter(official=official, petition=petition, trigger__startswith="period:")
                .exclude(trigger=trigger)
                .exclude(status__in=[Delivery.Status.CANCELED, Delivery.Status.FAILED])  # never arrived
                .order_by("-created_at", "-pk")
                .values_list("totals", flat=True)
                .first()
            )
            previous_total = previous.get("total") if previous else 0
            if previous_total == petition.total_count:
                continue  # nothing new to report since this official's last weekly mail
        recipients.append((official, plan))
    created = _deliveries_create(petition=petition, trigger=trigger, recipients=recipients)
    if created:
        logger.info("plan %s period %s: %d deliveries created", plan.pk, period, created)
    return created


def deliveries_schedule_run(*, now: datetime | None = None) -> int:
    """Creates the weekly deliveries of plans whose slot (weekday and time in the plan's time
    zone) has come this ISO week and that were not evaluated for this week yet."""
    now = now or timezone.now()
    created = 0
    plan_ids = DeliveryPlan.objects.filter(active=True, schedule_weekday__isnull=False).values_list(
        "pk", flat=True
    )
    for plan_id in list(plan_ids):
        created += _plan_period_run(plan_id=plan_id, now=now)
    return created


def _campaign_hourly_cap(campaign_id: int) -> int:
    caps = DeliveryPlan.objects.filter(petition__campaign_id=campaign_id, active=True).values_list(
        "hourly_cap", flat=True
    )
    return min([cap for cap in caps if cap], default=settings.OFFICIALS_HOURLY_CAP)


@transaction.atomic
def _campaign_deliveries_release(*, campaign_id: int, now: datetime) -> int:
    # Lock the campaign row: two releases at once must not both fill the same hour's quota.
    Campaign.objects.select_for_update().filter(pk=campaign_id).values_list("pk", flat=True).first()
    cap = _campaign_hourly_cap(campaign_id)
    released_last_hour = Delivery.objects.filter(
        campaign_id=campaign_id, released_at__gt=now - timedelta(hours=1), released_at__lte=now
    ).count()
    # An official deactivated, or whose address is no longer verified, while their mail waited
    # for the cap does not get it: mails go only to verified addresses.
    Delivery.objects.filter(campaign_id=campaign_id, status=Delivery.Status.SCHEDULED).filter(
        Q(official__active=False) | ~Q(official__address_status=Official.AddressStatus.VERIFIED)
    ).update(status=Delivery.Status.CANCELED, updated_at=now)
    room = cap - released_last_hour
    if room <= 0:
        return 0
    batch = list(
        Delivery.objects.filter(campaign_id=campaign_id, status=Delivery.Status.SCHEDULED)
        .select_related("official")
        .order_by("created_at", "pk")[:room]
    )
    for delivery in batch:
        email = outgoing_email_queue(
            kind=DELIVERY_EMAIL_KIND,
            to_email=delivery.official.email,
            locale=delivery.official.language,
            context={},  # the builder reads the delivery row at send time
            at_most_once=True,
            subject_type=DELIVERY_SUBJECT_TYPE,
            subject_id=delivery.pk,
            campaign_id=delivery.campaign_id,
        )
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SCHEDULED).update(
            status=Delivery.Status.QUEUED, released_at=now, outgoing_email=email, updated_at=now
        )
    return len(batch)


def deliveries_release(*, campaign_id: int | None = None, now: datetime | None = None) -> int:
    """Hands scheduled deliveries to the outbox, oldest first, as far as each campaign's
    hourly cap allows; the rest wait for a later run."""
    now = now or timezone.now()
    if campaign_id is not None:
        campaign_ids = [campaign_id]
    else:
        campaign_ids = list(
            Delivery.objects.filter(status=Delivery.Status.SCHEDULED)
            .order_by()
            .values_list("campaign_id", flat=True)
            .distinct()
        )
    return sum(_campaign_deliveries_release(campaign_id=cid, now=now) for cid in campaign_ids)


_FINAL_EMAIL_STATUSES: dict[str, Delivery.Status] = {
    OutgoingEmail.Status.SENT: Delivery.Status.SENT,
    OutgoingEmail.Status.FAILED: Delivery.Status.FAILED,
    OutgoingEmail.Status.NEEDS_REVIEW: Delivery.Status.NEEDS_REVIEW,
    OutgoingEmail.Status.CANCELED: Delivery.Status.CANCELED,
}


def deliveries_sync(*, limit: int = 1000) -> int:
    """Copies the final state of each queued delivery's outbox row onto the delivery: sent
    (with time and Message-ID), failed, or needs_review when its worker died mid-send (the
    outbox sweeper decides that; such a mail is never sent again automatically)."""
    rows = list(
        Delivery.objects.filter(
            status=Delivery.Status.QUEUED, outgoing_email__status__in=list(_FINAL_EMAIL_STATUSES)
        ).values_list(
            "pk", "outgoing_email__status", "outgoing_email__sent_at", "outgoing_email__message_id"
        )[:limit]
    )
    now = timezone.now()
    for pk, email_status, sent_at, message_id in rows:
        Delivery.objects.filter(pk=pk, status=Delivery.Status.QUEUED).update(
            status=_FINAL_EMAIL_STATUSES[email_status],
            sent_at=sent_at,
            message_id=message_id or "",
            updated_at=now,
        )
    return len(rows)


def deliveries_process(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic step: reflect outbox results, create due weekly deliveries, release."""
    synced = deliveries_sync()
    scheduled = deliveries_schedule_run(now=now)
    released = deliveries_release(now=now)
    return {"synced": synced, "scheduled": scheduled, "released": released}


@transaction.atomic
def delivery_resend(*, delivery_id: int, now: datetime | None = None) -> bool:
    """Staff's explicit resend of a delivery that failed or needs review (after they checked
    with the official that it did not arrive). Ignores deliveries in any other state."""
    now = now or timezone.now()
    delivery = Delivery.objects.select_for_update().select_related("official").get(pk=delivery_id)
    if delivery.status not in {Delivery.Status.NEEDS_REVIEW, Delivery.Status.FAILED}:
        return False
    if not delivery.official.address_verified:
        return False  # mails go only to verified addresses
    email = outgoing_email_queue(
        kind=DELIVERY_EMAIL_KIND,
        to_email=delivery.official.email,
        locale=delivery.official.language,
        context={},
        at_most_once=True,
        subject_type=DELIVERY_SUBJECT_TYPE,
        subject_id=delivery.pk,
        campaign_id=delivery.campaign_id,
    )
    delivery.status = Delivery.Status.QUEUED
    delivery.outgoing_email = email
    delivery.released_at = now
    delivery.resend_count += 1
    delivery.save(update_fields=["status", "outgoing_email", "released_at", "resend_count", "updated_at"])
    logger.info("delivery %s resent by staff (outgoing email %s)", delivery.pk, email.pk)
    return True


@transaction.atomic
def delivery_cancel(*, delivery_id: int) -> bool:
    """Cancels a delivery that has not been handed to the outbox yet."""
    return bool(
        Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.SCHEDULED).update(
            status=Delivery.Status.CANCELED, updated_at=timezone.now()
        )
    )
