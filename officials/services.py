"""Writes of the officials app: imports, per-region totals, deliveries.

Per-region totals are maintained only by the petitions counter pass (`region_totals_apply`,
called with the pass's change list under its lock) and rebuilt by the nightly recount
(`region_totals_recount`). Deliveries are rows with a unique (official, petition, trigger),
handed to the outbox as at-most-once mails, released under a per-campaign hourly cap.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.text import slugify

from campaign.exceptions import ApplicationError
from campaign.models import Campaign, OutgoingEmail
from campaign.services import outgoing_email_queue
from officials.models import (
    Constituency,
    Delivery,
    DeliveryPlan,
    Official,
    PostcodeArea,
    RegionTotal,
    postcode_normalize,
)
from petitions.models import Milestone, Signature

logger = logging.getLogger(__name__)

DELIVERY_EMAIL_KIND = "officials_delivery"
DELIVERY_SUBJECT_TYPE = "officials.delivery"


# --- CSV imports ----------------------------------------------------------------------------


def csv_rows_read(*, text: str, required: Sequence[str]) -> list[dict[str, str]]:
    """Parses CSV text (comma or semicolon separated, optional BOM) into dicts with stripped
    values; raises ApplicationError naming missing columns."""
    text = text.lstrip("\ufeff")
    try:
        dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [name for name in required if name not in header]
    if missing:
        raise ApplicationError(
            f"The CSV lacks the columns: {', '.join(missing)}.",
            fields={"file": [f"missing column {name}" for name in missing]},
        )
    rows = []
    for raw in reader:
        rows.append({(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()})
    return rows


class _RowErrors:
    """Collects per-line errors so an import reports all of them at once and writes nothing."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, line: int, message: str) -> None:
        self.errors.setdefault(f"line {line}", []).append(message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ApplicationError("The CSV has invalid rows; nothing was imported.", fields=self.errors)


def _int_or_none(value: str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@transaction.atomic
def constituencies_import(*, rows: Iterable[Mapping[str, str]]) -> dict[str, int]:
    """Creates or updates constituencies by (parliament, number). Columns: parliament, number,
    name, state."""
    errors = _RowErrors()
    parsed = []
    for line, row in enumerate(rows, start=2):
        parliament = slugify(row.get("parliament", ""))
        number = _int_or_none(row.get("number", ""))
        name = row.get("name", "")
        if not parliament:
            errors.add(line, "parliament is required")
        if number is None or number < 0:
            errors.add(line, "number must be a whole number")
        if not name:
            errors.add(line, "name is required")
        parsed.append((parliament, number, name[:200], row.get("state", "")[:100]))
    errors.raise_if_any()
    created = updated = 0
    for parliament, number, name, state in parsed:
        assert number is not None  # a row without a number was reported above
        _, was_created = Constituency.objects.update_or_create(
            parliament=parliament, number=number, defaults={"name": name, "state": state}
        )
        created += was_created
        updated += not was_created
    return {"created": created, "updated": updated}


@transaction.atomic
def postcode_areas_import(*, rows: Iterable[Mapping[str, str]], replace: bool = False) -> dict[str, int]:
    """Creates or updates (country, postcode, constituency, share) rows. Columns: country,
    postcode, parliament, constituency_number, share (0..1; default 1). With `replace`, the
    existing mapping of the imported countries and parliaments is deleted first."""
    errors = _RowErrors()
    constituencies = {(c.parliament, c.number): c.pk for c in Constituency.objects.all()}
    areas: dict[tuple[str, str, int], Decimal] = {}
    scopes: set[tuple[str, str]] = set()
    for line, row in enumerate(rows, start=2):
        country = row.get("country", "").upper()
        postcode = postcode_normalize(row.get("postcode", ""))
        parliament = slugify(row.get("parliament", ""))
        number = _int_or_none(row.get("constituency_number", ""))
        if len(country) != 2 or not country.isalpha():
            errors.add(line, "country must be an ISO 3166-1 alpha-2 code")
        if not postcode or len(postcode) > 16:
            errors.add(line, "postcode is required (at most 16 characters)")
        constituency_id = constituencies.get((parliament, number))  # type: ignore[arg-type]
        if constituency_id is None:
            errors.add(line, f"unknown constituency {parliament} {row.get('constituency_number', '')}")
        try:
            share = Decimal(row.get("share") or "1").quantize(Decimal("0.0001"))
        except InvalidOperation:
            share = Decimal(-1)
        if not (0 <= share <= 1):
            errors.add(line, "share must be a number from 0 to 1")
        if constituency_id is not None:
            areas[(country, postcode, constituency_id)] = share
            scopes.add((country, parliament))
    errors.raise_if_any()
    deleted = 0
    if replace:
        for country, parliament in scopes:
            deleted += PostcodeArea.objects.filter(
                country=country, constituency__parliament=parliament
            ).delete()[0]
    PostcodeArea.objects.bulk_create(
        [
            PostcodeArea(country=country, postcode=postcode, constituency_id=cid, share=share)
            for (country, postcode, cid), share in areas.items()
        ],
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["country", "postcode", "constituency"],
        update_fields=["share"],
    )
    return {"imported": len(areas), "deleted": deleted}


_TRUE = {"1", "true", "yes", "ja", "y", "x"}
_FALSE = {"0", "false", "no", "nein", "n", ""}


@transaction.atomic
def officials_import(*, rows: Iterable[Mapping[str, str]]) -> dict[str, int]:
    """Creates or updates officials by e-mail. Columns: name, email, and optionally salutation,
    role, organisation, parliament + constituency_number, language (de/en), active."""
    errors = _RowErrors()
    constituencies = {(c.parliament, c.number): c.pk for c in Constituency.objects.all()}
    parsed = []
    for line, row in enumerate(rows, start=2):
        name = row.get("name", "")
        email = row.get("email", "").lower()
        if not name:
            errors.add(line, "name is required")
        try:
            validate_email(email)
        except ValidationError:
            errors.add(line, "email is not a valid address")
        constituency_id = None
        if row.get("constituency_number"):
            key = (slugify(row.get("parliament", "")), _int_or_none(row.get("constituency_number", "")))
            constituency_id = constituencies.get(key)  # type: ignore[arg-type]
            if constituency_id is None:
                errors.add(line, f"unknown constituency {key[0]} {row.get('constituency_number')}")
        language = (row.get("language") or "de").lower()
        if language not in Official.Language.values:
            errors.add(line, "language must be de or en")
        active_raw = (row.get("active") or "true").lower()
        if active_raw not in _TRUE | _FALSE:
            errors.add(line, "active must be true or false")
        parsed.append(
            (
                email,
                {
                    "name": name[:200],
                    "salutation": row.get("salutation", "")[:200],
                    "role": row.get("role", "")[:200],
                    "organisation": row.get("organisation", "")[:200],
                    "constituency_id": constituency_id,
                    "language": language,
                    "active": active_raw in _TRUE,
                },
            )
        )
    errors.raise_if_any()
    created = updated = 0
    for email, values in parsed:
        _, was_created = Official.objects.update_or_create(email=email, defaults=values)
        created += was_created
        updated += not was_created
    return {"created": created, "updated": updated}


# --- Attribution and per-region totals ------------------------------------------------------


@dataclass(frozen=True)
class Region:
    bucket: str
    constituency_id: int | None
    country: str
    state: str


def _attributions_get(pairs: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, str]]:
    """(country, normalised postcode) -> (constituency id, state) of the largest share; a tie
    goes to the lower constituency number, so the choice is stable."""
    if not pairs:
        return {}
    countries = sorted({c for c, _ in pairs})
    postcodes = sorted({p for _, p in pairs})
    rows: list[tuple[str, str, int, Decimal, int, str]] = []
    for start in range(0, len(postcodes), 2000):  # bounded IN lists (SQLite caps parameters)
        rows += PostcodeArea.objects.filter(
            country__in=countries, postcode__in=postcodes[start : start + 2000]
        ).values_list(
            "country", "postcode", "constituency_id", "share", "constituency__number", "constituency__state"
        )
    best: dict[tuple[str, str], tuple[Decimal, int, int, str]] = {}
    for country, postcode, constituency_id, share, number, state in rows:
        key = (country, postcode)
        if key not in pairs:
            continue
        current = best.get(key)
        if current is None or (share, -number) > (current[0], -current[1]):
            best[key] = (share, number, constituency_id, state)
    return {key: (value[2], value[3]) for key, value in best.items()}


def _mapped_countries() -> set[str]:
    return set(PostcodeArea.objects.values_list("country", flat=True).distinct())


class RegionResolver:
    """Maps (country, postcode) to a region bucket with one mapping query per batch."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        normalised = {((c or "").upper(), postcode_normalize(p)) for c, p in pairs}
        self.attributions = _attributions_get(normalised)
        self.mapped_countries = _mapped_countries()

    def region(self, country: str, postcode: str) -> Region:
        country = (country or "").upper()
        found = self.attributions.get((country, postcode_normalize(postcode)))
        if found is not None:
            return Region(bucket=f"c:{found[0]}", constituency_id=found[0], country=country, state=found[1])
        if country in self.mapped_countries:
            # A country the mapping covers, but a postcode it does not know: "unassigned".
            return Region(bucket=f"u:{country}", constituency_id=None, country=country, state="")
        return Region(bucket=f"f:{country}", constituency_id=None, country=country, state="")


def region_for_postcode(*, country: str, postcode: str) -> Region:
    return RegionResolver([(country, postcode)]).region(country, postcode)


def _change_fields(change: Any) -> tuple[int, str, str, int]:
    """A change of the counter pass: a mapping with petition_id, postcode, country, delta, or
    a row (id, petition_id, postcode, country, delta) as the pass's RETURNING gives it."""
    if isinstance(change, Mapping):
        return (
            int(change["petition_id"]),
            change["postcode"] or "",
            change["country"] or "",
            int(change["delta"]),
        )
    if hasattr(change, "petition_id"):
        return int(change.petition_id), change.postcode or "", change.country or "", int(change.delta)
    values = tuple(change)
    if len(values) == 5:
        values = values[1:]
    petition_id, postcode, country, delta = values
    return int(petition_id), postcode or "", country or "", int(delta)


def _region_totals_upsert(increments: Mapping[tuple[int, Region], int], *, replace: bool = False) -> None:
    """One INSERT ... ON CONFLICT per 500 buckets (PostgreSQL and SQLite alike): adds the
    increments to the existing counts, or with `replace` sets them."""
    table = connection.ops.quote_name(RegionTotal._meta.db_table)
    now = timezone.now()
    # One row per (petition, bucket): a statement must not touch the same row twice.
    merged: dict[tuple[int, str], tuple[Region, int]] = {}
    for (petition_id, region), value in increments.items():
        key = (petition_id, region.bucket)
        merged[key] = (merged[key][0] if key in merged else region, merged.get(key, (region, 0))[1] + value)
    items = [((key[0], region), value) for key, (region, value) in merged.items() if value or replace]
    new_count = "EXCLUDED.count" if replace else f"{table}.count + EXCLUDED.count"
    with connection.cursor() as cursor:
        for start in range(0, len(items), 500):
            chunk = items[start : start + 500]
            placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
            params: list[Any] = []
            for (petition_id, region), value in chunk:
                params += [
                    petition_id,
                    region.bucket,
                    region.constituency_id,
                    region.country,
                    region.state,
                    value,
                    now,
                ]
            cursor.execute(
                f"INSERT INTO {table} (petition_id, bucket, constituency_id, country, state, count, updated_at) "  # noqa: S608 - identifiers are ours, values are parameters
                f"VALUES {placeholders} "
                f"ON CONFLICT (petition_id, bucket) DO UPDATE SET count = {new_count}, "
                "updated_at = EXCLUDED.updated_at",
                params,
            )


def region_totals_apply(*, changes: Iterable[Any]) -> int:
    """Applies the counter pass's change list (petition_id, postcode, country, delta) to the
    per-region totals: one mapping query and one upsert per 500 regions. Runs inside the
    pass's transaction and lock; returns the number of regions touched."""
    parsed = [_change_fields(change) for change in changes]
    if not parsed:
        return 0
    resolver = RegionResolver((country, postcode) for _, postcode, country, _ in parsed)
    increments: Counter[tuple[int, Region]] = Counter()
    for petition_id, postcode, country, delta in parsed:
        increments[(petition_id, resolver.region(country, postcode))] += delta
    _region_totals_upsert(increments)
    return sum(1 for value in increments.values() if value)


@transaction.atomic
def region_totals_recount(*, petition_ids: Iterable[int] | None = None) -> dict[str, int]:
    """Rebuilds the per-region totals from the signatures currently included in the counts
    (`counted`), healing any drift. The database groups by (petition, country, postcode);
    the attribution runs over those groups. Call it under the counter pass's lock (the nightly
    petition recount does)."""
    signatures = Signature.objects.filter(counted=True)
    totals = RegionTotal.objects.all()
    if petition_ids is not None:
        petition_ids = list(petition_ids)
        signatures = signatures.filter(petition_id__in=petition_ids)
        totals = totals.filter(petition_id__in=petition_ids)
    groups = list(
        signatures.order_by().values_list("petition_id", "country", "postcode").annotate(n=Count("id"))
    )
    resolver = RegionResolver((country, postcode) for _, country, postcode, _ in groups)
    desired: Counter[tuple[int, Region]] = Counter()
    for petition_id, country, postcode, n in groups:
        desired[(petition_id, resolver.region(country, postcode))] += n
    existing = {(row.petition_id, row.bucket): row.count for row in totals.select_for_update()}
    wanted = {(petition_id, region.bucket): value for (petition_id, region), value in desired.items()}
    corrected = sum(1 for key, value in wanted.items() if existing.get(key, 0) != value)
    stale = [key for key, value in existing.items() if key not in wanted and value != 0]
    corrected += len(stale)
    # Buckets no signature falls into any more (e.g. after a mapping change) go to zero.
    for petition_id, bucket in stale:
        RegionTotal.objects.filter(petition_id=petition_id, bucket=bucket).update(
            count=0, updated_at=timezone.now()
        )
    _region_totals_upsert(desired, replace=True)
    if corrected:
        logger.info("region totals recount corrected %d buckets", corrected)
    return {"buckets": len(wanted), "corrected": corrected}


# --- Deliveries -----------------------------------------------------------------------------


def delivery_plan_recipients(*, plan: DeliveryPlan) -> QuerySet[Official]:
    """The plan's chosen officials plus, when it names a parliament, all officials of it;
    active ones only."""
    condition = Q(pk__in=plan.officials.values("pk"))
    if plan.parliament:
        condition |= Q(constituency__parliament=plan.parliament)
    return Official.objects.filter(condition, active=True).select_related("constituency").distinct()


def _format_share(count: int, total: int) -> str:
    return f"{(100 * count / total):.1f}" if total else "0.0"


def delivery_totals_snapshot(*, petition: Any, official: Official, region_counts: Mapping[int, int]) -> dict:
    """The numbers one mail states, frozen into the delivery row: what was sent is on record."""
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
    return snapshot


def _constituency_counts(petition_id: int) -> dict[int, int]:
    return dict(
        RegionTotal.objects.filter(petition_id=petition_id, constituency__isnull=False).values_list(
            "constituency_id", "count"
        )
    )


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
                    petition=petition, official=official, region_counts=region_counts
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
    # An official deactivated while their mail waited for the cap does not get it.
    Delivery.objects.filter(
        campaign_id=campaign_id, status=Delivery.Status.SCHEDULED, official__active=False
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
    email = outgoing_email_queue(
        kind=DELIVERY_EMAIL_KIND,
        to_email=delivery.official.email,
        locale=delivery.official.language,
        context={},
        at_most_once=True,
        subject_type=DELIVERY_SUBJECT_TYPE,
        subject_id=delivery.pk,
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


def handover_report_download(
    *,
    petition: Any,
    user: Any,
    constituency: int | None = None,
    names: bool = False,
    table: str = "state",
    locale: str = "de",
) -> bytes:
    """Renders the handover report for staff and records the download in the export log
    (who, when, which options), since it can carry names."""
    # Imported here: the report pulls in fpdf, which only this staff download needs.
    from campaign.exports import export_log_finish, export_log_start
    from officials.reports import ReportOptions, handover_report_render

    chosen = None
    if constituency is not None:
        chosen = Constituency.objects.filter(pk=constituency).first()
        if chosen is None:
            raise ApplicationError(
                "Unknown constituency.", fields={"constituency": ["No constituency with this id."]}
            )
    filters = {"petition": petition.slug, "constituency": constituency, "names": names, "table": table}
    log = export_log_start(user=user, kind="officials.handover_report", format="pdf", filters=filters)
    pdf = handover_report_render(
        petition=petition,
        options=ReportOptions(constituency=chosen, include_names=names, table=table, locale=locale),
    )
    export_log_finish(export_log_id=log.pk, row_count=petition.signature_count, finished=True)
    return pdf


def sample_data_rows(name: str) -> list[dict[str, str]]:
    """Rows of a CSV file shipped in `officials/sample_data/`."""
    path = Path(__file__).resolve().parent / "sample_data" / name
    return csv_rows_read(text=path.read_text(encoding="utf-8"), required=[])


@transaction.atomic
def officials_demo_load(*, campaign: Campaign) -> None:
    """The sample constituencies, postcodes and officials (fictitious addresses), and a plan
    per petition of the demo campaign: every Bundestag member of the sample plus a ministry
    desk, on each milestone and weekly on Monday 09:00 Berlin time."""
    from datetime import time

    constituencies_import(rows=sample_data_rows("constituencies.csv"))
    postcode_areas_import(rows=sample_data_rows("postcodes.csv"))
    officials_import(rows=sample_data_rows("officials.csv"))
    ministry = Official.objects.filter(constituency__isnull=True, active=True)
    for petition in campaign.petitions.all():
        plan, _ = DeliveryPlan.objects.get_or_create(
            petition=petition,
            name="Bundestag und Ministerium",
            defaults={
                "parliament": "bundestag",
                "milestones": sorted(petition.milestones.values_list("target", flat=True)),
                "schedule_weekday": DeliveryPlan.Weekday.MONDAY,
                "schedule_time": time(9, 0),
                "schedule_timezone": "Europe/Berlin",
            },
        )
        plan.officials.add(*ministry)
    region_totals_recount(petition_ids=list(campaign.petitions.values_list("pk", flat=True)))
