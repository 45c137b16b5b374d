"""Writes of the petitions app: signing, double opt-in, withdrawal, the batch counter pass,
milestones, silent fraud checks and staff invalidations."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import psycopg
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import CharField, Count, F, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from campaign.exceptions import ApplicationError
from campaign.models import OutgoingEmail
from campaign.publisher import outgoing_email_enqueue_background
from campaign.services import outgoing_email_queue
from petitions.models import COUNT_MISMATCH_Q, Invalidation, Milestone, Petition, Signature, SignatureToken
from petitions.signals import milestone_reached, signature_counts_changed, signature_counts_recounted
from petitions.validation import SignatureInput

logger = logging.getLogger(__name__)

CONFIRMATION_EMAIL_KIND = "petitions-signature-confirm"
REMINDER_EMAIL_KIND = "petitions-signature-reminder"
MILESTONE_EMAIL_KIND = "petitions-milestone-reached"
SIGNATURE_SUBJECT_TYPE = "petitions.signature"
COUNTS_LOCK_KEY = 0x5E7171  # pg advisory lock key of the counter pass ("petitions counts")


# --- hashing helpers --------------------------------------------------------------------------


def ip_hash_compute(ip: str) -> str:
    """HMAC-SHA256 of the IP with HASH_SECRET: enough to group requests from one address,
    useless for recovering it without the secret (and cheap, unlike a password hash)."""
    if not ip:
        return ""
    return hmac.new(settings.HASH_SECRET.encode(), ip.encode(), hashlib.sha256).hexdigest()


def token_hash(token: str) -> str:
    # Tokens carry 256 random bits, so a plain SHA-256 cannot be brute-forced.
    return hashlib.sha256(token.encode()).hexdigest()


def consent_text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@lru_cache(maxsize=8)
def _blocked_networks(ranges: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for value in ranges:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            # The system check (petitions.checks) reports it; signing must not fail on it.
            logger.error("PETITIONS_BLOCKED_IP_RANGES: %r is not an IP range; ignored", value)
    return tuple(networks)


def ip_is_blocked(ip: str) -> bool:
    if not settings.PETITIONS_BLOCKED_IP_RANGES or not ip:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(
        address in network for network in _blocked_networks(tuple(settings.PETITIONS_BLOCKED_IP_RANGES))
    )


# --- signing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PetitionForSigning:
    """What the sign path needs of a petition, cached per process for a few seconds."""

    id: int
    slug: str
    is_open: bool
    consent_version: str
    consent_hash_de: str
    consent_hash_en: str
    altcha_enabled: bool


def petition_is_open(petition: Petition, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return (
        petition.status == Petition.Status.OPEN
        and (petition.opens_at is None or petition.opens_at <= now)
        and (petition.closes_at is None or petition.closes_at > now)
    )


def _resend_allowed_before(now: datetime) -> datetime:
    return now - timedelta(minutes=settings.PETITIONS_CONFIRMATION_RESEND_MINUTES)


def signature_create(*, petition: PetitionForSigning, data: SignatureInput, ip: str, origin: str) -> None:
    """Records a signature and its confirmation mail in one transaction, or, for an address
    that already signed, re-sends the confirmation (capped: PETITIONS_CONFIRMATION_MAX_MAILS in
    total, one per PETITIONS_CONFIRMATION_RESEND_MINUTES). The caller answers the same for
    all cases, so nobody learns whether an address signed."""
    now = timezone.now()
    flag_reason = "honeypot" if data.honeypot_filled else "ip_blocked" if ip_is_blocked(ip) else ""
    consent_hash = petition.consent_hash_en if data.locale == "en" else petition.consent_hash_de
    row: dict[str, Any] = {
        "created_at": now,
        "updated_at": now,
        "petition_id": petition.id,
        "first_name": data.first_name,
        "last_name": data.last_name,
        "email": data.email,
        "email_normalized": data.email_normalized,
        "email_domain": data.email_domain,
        "postcode": data.postcode,
        "country": data.country,
        "city": data.city,
        "locale": data.locale,
        "status": Signature.Status.PENDING,
        "is_flagged": bool(flag_reason),
        "flag_reason": flag_reason,
        "newsletter_consent": data.newsletter_consent,
        "show_name_publicly": data.show_name_publicly,
        "share_name_with_officials": data.share_name_with_officials,
        "utm_source": data.utm_source,
        "utm_medium": data.utm_medium,
        "utm_campaign": data.utm_campaign,
        "referrer": data.referrer,
        "consent_version": data.consent_version,
        "consent_text_hash": consent_hash,
        "consent_at": now,
        "consent_origin": origin[:500],
        "ip_hash": ip_hash_compute(ip),
        "counted": False,
        "confirmation_mail_count": 1,
        "confirmation_mail_at": now,
    }
    if connection.vendor == "postgresql":
        email_ids = _signature_create_postgresql(row, now=now)
    else:
        email_ids = _signature_create_orm(row, now=now)
    for email_id in email_ids:
        # Published by a background thread: the request does not wait on Redis (the committed
        # outbox row guarantees the mail; see campaign.publisher).
        outgoing_email_enqueue_background(email_id)


def _signature_insert_sql() -> str:
    """One statement: insert the signature (or find it), bump the mail counter of an existing
    pending one within the caps, and write the outbox row for whichever needs a mail. A single
    statement is a single transaction, and costs one round trip."""
    signature_table = Signature._meta.db_table
    email_table = OutgoingEmail._meta.db_table
    columns = (
        "created_at updated_at petition_id first_name last_name email email_normalized email_domain "
        "postcode country city locale status is_flagged flag_reason newsletter_consent "
        "show_name_publicly share_name_with_officials utm_source utm_medium utm_campaign referrer "
        "consent_version consent_text_hash consent_at consent_origin ip_hash counted "
        "confirmation_mail_count confirmation_mail_at"
    ).split()
    placeholders = ", ".join(f"%({c})s" for c in columns)
    return f"""
        WITH ins AS (
            INSERT INTO {signature_table} ({", ".join(columns)}, withdrawn_at, confirmed_at,
                reminder_sent_at, fraud_checked_at)
            VALUES ({placeholders}, NULL, NULL, NULL, NULL)
            ON CONFLICT (petition_id, email_normalized) DO NOTHING
            RETURNING id, email, locale
        ), again AS (
            UPDATE {signature_table} AS s
            SET confirmation_mail_count = s.confirmation_mail_count + 1,
                confirmation_mail_at = %(now)s, updated_at = %(now)s
            WHERE s.petition_id = %(petition_id)s AND s.email_normalized = %(email_normalized)s
              AND NOT EXISTS (SELECT 1 FROM ins)
              AND s.status = 'pending'
              AND s.confirmation_mail_count < %(max_mails)s
              AND (s.confirmation_mail_at IS NULL OR s.confirmation_mail_at <= %(resend_before)s)
            RETURNING s.id, s.email, s.locale
        ), target AS (
            SELECT id, email, locale FROM ins UNION ALL SELECT id, email, locale FROM again
        )
        INSERT INTO {email_table} (created_at, updated_at, kind, to_email, locale, context, status,
            at_most_once, attempts, enqueued_at, claimed_at, sent_at, message_id, last_error,
            subject_type, subject_id)
        SELECT %(now)s, %(now)s, %(kind)s, target.email, target.locale,
            jsonb_build_object('signature_id', target.id), 'queued', false, 0, %(now)s, NULL, NULL,
            '', '', %(subject_type)s, target.id
        FROM target
        RETURNING id
    """  # noqa: S608 - identifiers come from model metadata; every value is a parameter


_INSERT_SQL: str | None = None


def _signature_create_postgresql(row: dict[str, Any], *, now: datetime) -> list[int]:
    global _INSERT_SQL
    if _INSERT_SQL is None:
        _INSERT_SQL = _signature_insert_sql()
    params = {
        **row,
        "now": now,
        "max_mails": settings.PETITIONS_CONFIRMATION_MAX_MAILS,
        "resend_before": _resend_allowed_before(now),
        "kind": CONFIRMATION_EMAIL_KIND,
        "subject_type": SIGNATURE_SUBJECT_TYPE,
    }
    # No explicit transaction: the single statement is atomic on its own, and BEGIN/COMMIT
    # would add round trips to the hot path. A server-side prepared statement (psycopg's own
    # cursor, prepared on the connection's first use): PostgreSQL parses and plans the CTE once
    # per connection, and the parameters travel bound instead of quoted into the SQL text by
    # Django's client-side cursor (about a third less CPU per signing in the web worker).
    # Behind PgBouncer in transaction mode this needs max_prepared_statements (PgBouncer 1.21+).
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_INSERT_SQL, params, prepare=True)
        return [r[0] for r in cursor.fetchall()]


def _signature_create_orm(row: dict[str, Any], *, now: datetime) -> list[int]:
    """The portable path (SQLite in the embedded default): the same outcome, more queries."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                signature = Signature.objects.create(**row)
        except IntegrityError:
            updated = Signature.objects.filter(
                Q(confirmation_mail_at__isnull=True)
                | Q(confirmation_mail_at__lte=_resend_allowed_before(now)),
                petition_id=row["petition_id"],
                email_normalized=row["email_normalized"],
                status=Signature.Status.PENDING,
                confirmation_mail_count__lt=settings.PETITIONS_CONFIRMATION_MAX_MAILS,
            ).update(
                confirmation_mail_count=F("confirmation_mail_count") + 1,
                confirmation_mail_at=now,
                updated_at=now,
            )
            if not updated:
                return []
            signature = Signature.objects.get(
                petition_id=row["petition_id"], email_normalized=row["email_normalized"]
            )
        email = OutgoingEmail.objects.create(
            kind=CONFIRMATION_EMAIL_KIND,
            to_email=signature.email,
            locale=signature.locale,
            context={"signature_id": signature.pk},
            subject_type=SIGNATURE_SUBJECT_TYPE,
            subject_id=signature.pk,
            enqueued_at=now,
        )
        return [email.pk]


# --- tokens -----------------------------------------------------------------------------------


def signature_token_mint(*, signature_id: int, purpose: str, now: datetime | None = None) -> str:
    """A fresh random token for a mail link; only its hash is stored."""
    now = now or timezone.now()
    days = (
        settings.PETITIONS_CONFIRM_TOKEN_DAYS
        if purpose == SignatureToken.Purpose.CONFIRM
        else settings.PETITIONS_WITHDRAW_TOKEN_DAYS
    )
    token = secrets.token_urlsafe(32)
    SignatureToken.objects.create(
        signature_id=signature_id,
        purpose=purpose,
        token_hash=token_hash(token),
        expires_at=now + timedelta(days=days),
    )
    return token


def _token_get(token: str, purpose: str) -> SignatureToken:
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise ApplicationError(_("This link is not valid."), code="token_invalid", status_code=404)
    found = (
        SignatureToken.objects.select_related("signature")
        .filter(token_hash=token_hash(token), purpose=purpose)
        .first()
    )
    if found is None:
        raise ApplicationError(_("This link is not valid."), code="token_invalid", status_code=404)
    return found


def _counts_refresh_in_process() -> None:
    """Where no beat runs the counter pass (the embedded default), it runs right after a
    confirmation or withdrawal commits."""
    if settings.PETITION_COUNTS_AFTER_EACH_CHANGE:
        from petitions.tasks import petition_counts_update_task

        transaction.on_commit(petition_counts_update_task.delay, robust=True)


@transaction.atomic
def signature_confirm(*, token: str) -> Signature:
    """Confirms the signature of a confirm token. Idempotent: an already confirmed signature
    answers the same. A flagged signature is confirmed too, but never counts."""
    now = timezone.now()
    found = _token_get(token, SignatureToken.Purpose.CONFIRM)
    signature = Signature.objects.select_for_update().get(pk=found.signature_id)
    if signature.status == Signature.Status.CONFIRMED:
        return signature
    if signature.status == Signature.Status.WITHDRAWN:
        raise ApplicationError(
            _("This signature was withdrawn."), code="signature_withdrawn", status_code=409
        )
    if found.expires_at <= now:
        raise ApplicationError(
            _("This confirmation link has expired. Please sign again to get a new one."),
            code="token_expired",
            status_code=400,
        )
    signature.status = Signature.Status.CONFIRMED
    signature.confirmed_at = now
    signature.save(update_fields=["status", "confirmed_at", "updated_at"])
    SignatureToken.objects.filter(pk=found.pk, used_at__isnull=True).update(used_at=now)
    logger.info("signature %s confirmed", signature.pk)
    _counts_refresh_in_process()
    return signature


@transaction.atomic
def signature_withdraw(*, token: str) -> Signature:
    """Withdraws a signature and erases its personal data. Idempotent.

    Kept: the row (so the next counter pass subtracts it), petition, status, timestamps, the
    consent version and hash, UTM source fields, country, and, for a counted signature, the
    postcode until the counter pass has subtracted it from the per-region totals (the pass then
    blanks it). Erased: names, e-mail (replaced by a tombstone that keeps the unique constraint
    satisfied and lets the address sign again), mail domain, city, IP hash, origin, referrer,
    all opt-ins, open tokens, and the address in the outbox rows about this signature.
    """
    now = timezone.now()
    found = _token_get(token, SignatureToken.Purpose.WITHDRAW)
    signature = Signature.objects.select_for_update().get(pk=found.signature_id)
    if signature.status == Signature.Status.WITHDRAWN:
        return signature
    if found.expires_at <= now:
        raise ApplicationError(_("This link has expired."), code="token_expired", status_code=400)
    signature.status = Signature.Status.WITHDRAWN
    signature.withdrawn_at = now
    signature.first_name = ""
    signature.last_name = ""
    signature.email = ""
    signature.email_normalized = f"withdrawn:{signature.pk}"
    signature.email_domain = ""
    signature.city = ""
    signature.ip_hash = ""
    signature.consent_origin = ""
    signature.referrer = ""
    signature.newsletter_consent = False
    signature.show_name_publicly = False
    signature.share_name_with_officials = False
    if not signature.counted:
        # Never in the region totals (or already out of them): the postcode can go now. A
        # counted one keeps it until the counter pass has subtracted it (under this row lock,
        # the pass cannot flip it meanwhile).
        signature.postcode = ""
    signature.save(
        update_fields=[
            "postcode",
            "status",
            "withdrawn_at",
            "first_name",
            "last_name",
            "email",
            "email_normalized",
            "email_domain",
            "city",
            "ip_hash",
            "consent_origin",
            "referrer",
            "newsletter_consent",
            "show_name_publicly",
            "share_name_with_officials",
            "updated_at",
        ]
    )
    SignatureToken.objects.filter(signature_id=signature.pk).exclude(pk=found.pk).delete()
    SignatureToken.objects.filter(pk=found.pk).update(used_at=now)
    emails = OutgoingEmail.objects.filter(subject_type=SIGNATURE_SUBJECT_TYPE, subject_id=signature.pk)
    emails.filter(status=OutgoingEmail.Status.QUEUED).update(
        status=OutgoingEmail.Status.CANCELED, updated_at=now
    )
    emails.update(to_email="", context={}, updated_at=now)
    logger.info("signature %s withdrawn", signature.pk)
    from petitions.selectors import petition_count_cache_clear

    # The name must leave this process's recent-signers cache now (others refresh within
    # PETITIONS_COUNT_CACHE_SECONDS).
    transaction.on_commit(petition_count_cache_clear)
    _counts_refresh_in_process()
    return signature


# --- silent fraud defence (runs in the worker, never on the request path) ----------------------


@lru_cache(maxsize=1)
def _disposable_domains() -> frozenset[str]:
    from disposable_email_domains import blocklist

    return frozenset(blocklist)


def signature_fraud_reason(signature: Signature) -> str:
    """Why the signature looks automated, or "". Windows end at the signature's own creation
    time, so the verdict does not depend on when the worker runs."""
    domain = signature.email_domain
    if domain and domain in {d.lower() for d in settings.PETITIONS_BLOCKED_EMAIL_DOMAINS}:
        return "domain_blocked"
    if domain and settings.PETITIONS_BLOCK_DISPOSABLE_DOMAINS and domain in _disposable_domains():
        return "domain_disposable"
    same_petition = Signature.objects.filter(
        petition_id=signature.petition_id, created_at__lte=signature.created_at
    )
    if signature.ip_hash:
        by_ip = same_petition.filter(ip_hash=signature.ip_hash)
        burst_since = signature.created_at - timedelta(seconds=settings.PETITIONS_IP_BURST_SECONDS)
        if by_ip.filter(created_at__gt=burst_since).count() > settings.PETITIONS_IP_BURST_LIMIT:
            return "ip_burst"
        sustained_since = signature.created_at - timedelta(seconds=settings.PETITIONS_IP_SUSTAINED_SECONDS)
        if by_ip.filter(created_at__gt=sustained_since).count() > settings.PETITIONS_IP_SUSTAINED_LIMIT:
            return "ip_sustained"
    if domain and domain not in {d.lower() for d in settings.PETITIONS_DOMAIN_ALLOWLIST}:
        since = signature.created_at - timedelta(seconds=settings.PETITIONS_DOMAIN_SECONDS)
        if (
            same_petition.filter(email_domain=domain, created_at__gt=since).count()
            > settings.PETITIONS_DOMAIN_LIMIT
        ):
            return "domain_rate"
    return ""


def signature_fraud_check(*, signature_id: int) -> None:
    """Runs the silent checks once per signature and flags it when one hits. Flagging is
    silent: the supporter still gets the mail and can confirm; the signature never counts."""
    now = timezone.now()
    # Claim the check, so a resent mail or a second worker does not run it again.
    if not Signature.objects.filter(pk=signature_id, fraud_checked_at__isnull=True).update(
        fraud_checked_at=now
    ):
        return
    signature = Signature.objects.filter(pk=signature_id).first()
    if signature is None or signature.status == Signature.Status.WITHDRAWN:
        return
    reason = signature_fraud_reason(signature)
    if reason:
        Signature.objects.filter(pk=signature_id, is_flagged=False).update(
            is_flagged=True, flag_reason=reason, updated_at=now
        )
        logger.info("signature %s flagged: %s", signature_id, reason)


# --- counters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureCountChange:
    """One signature entering (+1) or leaving (-1) the counts in a counter pass."""

    signature_id: int
    petition_id: int
    postcode: str
    country: str
    delta: int


def _advisory_lock() -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite serialises writers anyway
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [COUNTS_LOCK_KEY])
        return bool(cursor.fetchone()[0])


def _counted_flags_flip() -> list[SignatureCountChange]:
    """Flips `counted` on every signature whose inclusion changed and returns the changes.
    The WHERE is re-checked on each row's latest version, so a signature confirmed or
    withdrawn while the pass runs is never counted twice or missed: it is handled in this
    pass or the next one, including ones whose transaction committed late."""
    table = Signature._meta.db_table
    todo_sql, todo_params = Signature.objects.filter(COUNT_MISMATCH_Q).values("id").query.sql_with_params()
    if connection.vendor == "postgresql":
        sql = f"""
            UPDATE {table} SET counted = (status = 'confirmed' AND NOT is_flagged)
            WHERE id IN ({todo_sql}) AND counted <> (status = 'confirmed' AND NOT is_flagged)
            RETURNING id, petition_id, postcode, country, CASE WHEN counted THEN 1 ELSE -1 END
        """  # noqa: S608 - the subquery is ORM-generated with parameters
        with connection.cursor() as cursor:
            cursor.execute(sql, todo_params)
            rows = cursor.fetchall()
    else:
        rows = []
        for pk, petition_id, postcode, country, status, is_flagged in Signature.objects.filter(
            COUNT_MISMATCH_Q
        ).values_list("id", "petition_id", "postcode", "country", "status", "is_flagged"):
            should = status == Signature.Status.CONFIRMED and not is_flagged
            Signature.objects.filter(pk=pk).update(counted=should)
            rows.append((pk, petition_id, postcode, country, 1 if should else -1))
    return [SignatureCountChange(*row) for row in rows]


def _region_counts_apply(changes: list[SignatureCountChange]) -> None:
    """Per-region totals, in the same transaction as the petition counts. The officials app
    hooks in here through `signature_counts_changed`."""
    signature_counts_changed.send(sender=SignatureCountChange, changes=changes)


def _milestone_reached_hooks(milestone: Milestone) -> None:
    """Runs once per milestone, in the counter pass's transaction. The officials app hooks
    in here through `milestone_reached` (deliveries to officials)."""
    milestone_reached.send(sender=Milestone, milestone=milestone)


def petition_counts_update() -> dict[str, int] | None:
    """The batch counter pass: under an advisory lock, in one transaction, flips `counted`
    where it differs from (confirmed and not flagged), adds the deltas to each petition, hands
    the change list to the per-region totals, then records milestones. Returns None when
    another pass holds the lock."""
    now = timezone.now()
    with transaction.atomic():
        if not _advisory_lock():
            return None
        changes, deltas = _counted_flags_flip_and_apply(now=now)
        # Withdrawn signatures have left the region totals now: their postcode can go.
        withdrawn_ids = [c.signature_id for c in changes if c.delta < 0]
        if withdrawn_ids:
            Signature.objects.filter(pk__in=withdrawn_ids, status=Signature.Status.WITHDRAWN).update(
                postcode=""
            )
        reached = milestones_check(now=now)
    if changes:
        from petitions.selectors import petition_count_cache_clear

        petition_count_cache_clear()
        logger.info("counter pass: %d changes over %d petitions", len(changes), len(deltas))
    return {"changes": len(changes), "petitions": len(deltas), "milestones": reached}


def milestones_check(*, now: datetime | None = None) -> int:
    """Records each milestone whose target the total (online + offline) has reached, once:
    `reached_at` is set by a conditional update, so it never notifies twice."""
    now = now or timezone.now()
    candidates = Milestone.objects.filter(
        reached_at__isnull=True,
        target__lte=F("petition__signature_count") + F("petition__offline_count"),
    ).select_related("petition")
    reached = 0
    for milestone in candidates:
        if not Milestone.objects.filter(pk=milestone.pk, reached_at__isnull=True).update(reached_at=now):
            continue
        milestone.reached_at = now
        reached += 1
        logger.info("petition %s reached milestone %s", milestone.petition_id, milestone.target)
        for address in settings.STAFF_NOTIFICATION_EMAILS:
            outgoing_email_queue(
                kind=MILESTONE_EMAIL_KIND,
                to_email=address,
                context={
                    "petition_title": milestone.petition.title_de,
                    "petition_slug": milestone.petition.slug,
                    "target": milestone.target,
                    "total": milestone.petition.total_count,
                },
                subject_type="petitions.milestone",
                subject_id=milestone.pk,
            )
        _milestone_reached_hooks(milestone)
    return reached


def petition_counts_recount() -> dict[int, int]:
    """The nightly recount: runs a pass, then compares each petition's stored count with the
    signatures actually counted, corrects any difference and logs it. Returns the drift per
    petition id."""
    drift: dict[int, int] = {}
    with transaction.atomic():
        if not _advisory_lock():
            return drift
        _counted_flags_flip_and_apply(now=timezone.now())
        # One GROUP BY over the counted rows, not one COUNT per petition.
        counted = dict(
            Signature.objects.filter(counted=True)
            .values("petition_id")
            .annotate(n=Count("id"))
            .values_list("petition_id", "n")
        )
        for petition in Petition.objects.select_for_update().only("id", "signature_count"):
            actual = counted.get(petition.pk, 0)
            if actual != petition.signature_count:
                drift[petition.pk] = actual - petition.signature_count
                Petition.objects.filter(pk=petition.pk).update(
                    signature_count=actual, counts_updated_at=timezone.now()
                )
                logger.warning(
                    "recount: petition %s drifted by %d (stored %d, actual %d)",
                    petition.pk,
                    actual - petition.signature_count,
                    petition.signature_count,
                    actual,
                )
        # The per-region totals (officials app), healed under the same lock.
        signature_counts_recounted.send(sender=Petition, petition_ids=None)
    from petitions.selectors import petition_count_cache_clear

    petition_count_cache_clear()
    return drift


def _counted_flags_flip_and_apply(*, now: datetime) -> tuple[list[SignatureCountChange], dict[int, int]]:
    """Flips the flags, adds the summed deltas to each petition (one UPDATE per petition, not
    per signature) and hands the changes to the per-region totals."""
    changes = _counted_flags_flip()
    deltas: dict[int, int] = {}
    for change in changes:
        deltas[change.petition_id] = deltas.get(change.petition_id, 0) + change.delta
    for petition_id, delta in deltas.items():
        Petition.objects.filter(pk=petition_id).update(
            signature_count=F("signature_count") + delta, counts_updated_at=now
        )
    _region_counts_apply(changes)
    return changes, deltas


# --- reminders --------------------------------------------------------------------------------


def signature_reminders_send(*, now: datetime | None = None) -> int:
    """One reminder for each signature still unconfirmed after PETITIONS_REMINDER_AFTER_HOURS
    (off unless PETITIONS_REMINDER_ENABLED). Returns the number queued."""
    if not settings.PETITIONS_REMINDER_ENABLED:
        return 0
    now = now or timezone.now()
    due_before = now - timedelta(hours=settings.PETITIONS_REMINDER_AFTER_HOURS)
    not_before = now - timedelta(days=settings.PETITIONS_CONFIRM_TOKEN_DAYS)
    ids = list(
        Signature.objects.filter(
            status=Signature.Status.PENDING,
            reminder_sent_at__isnull=True,
            created_at__lte=due_before,
            created_at__gt=not_before,
        ).values_list("id", flat=True)[:1000]
    )
    queued = 0
    for signature_id in ids:
        with transaction.atomic():
            if not Signature.objects.filter(
                pk=signature_id, status=Signature.Status.PENDING, reminder_sent_at__isnull=True
            ).update(reminder_sent_at=now):
                continue
            signature = Signature.objects.only("email", "locale").get(pk=signature_id)
            outgoing_email_queue(
                kind=REMINDER_EMAIL_KIND,
                to_email=signature.email,
                locale=signature.locale,
                context={"signature_id": signature_id},
                subject_type=SIGNATURE_SUBJECT_TYPE,
                subject_id=signature_id,
            )
            queued += 1
    return queued


def signatures_unconfirmed_purge(*, now: datetime | None = None) -> int:
    """Deletes signatures never confirmed within PETITIONS_UNCONFIRMED_RETENTION_DAYS, with their
    tokens, and blanks the address in their outbox rows (the mail promises this). They never
    counted, so no count changes. Returns the number deleted."""
    now = now or timezone.now()
    before = now - timedelta(days=settings.PETITIONS_UNCONFIRMED_RETENTION_DAYS)
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                Signature.objects.select_for_update(skip_locked=True)
                .filter(status=Signature.Status.PENDING, counted=False, created_at__lt=before)
                .values_list("id", flat=True)[:1000]
            )
            if not ids:
                break
            OutgoingEmail.objects.filter(subject_type=SIGNATURE_SUBJECT_TYPE, subject_id__in=ids).update(
                to_email="", context={}, updated_at=now
            )
            Signature.objects.filter(pk__in=ids, status=Signature.Status.PENDING, counted=False).delete()
            deleted += len(ids)
    # Expired tokens are of no use to anyone (a link past its expiry answers "expired" only
    # while its row exists; after that, "invalid").
    expired, _ = SignatureToken.objects.filter(expires_at__lt=now - timedelta(days=7)).delete()
    if deleted or expired:
        logger.info("purged %d unconfirmed signatures and %d expired tokens", deleted, expired)
    return deleted


def signatures_retention_apply(*, now: datetime | None = None, batch_size: int = 2000) -> int:
    """Erases the personal data of every signature of a petition that ended more than
    PETITIONS_RETENTION_DAYS ago (0: never): names, e-mail (a tombstone), mail domain, city, IP
    hash, origin, referrer, and the address in its outbox rows. Status, counts, postcode and
    country stay, so totals and per-region totals do not change. Returns the number erased."""
    if settings.PETITIONS_RETENTION_DAYS <= 0:
        return 0
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.PETITIONS_RETENTION_DAYS)
    ended = Petition.objects.filter(
        Q(closes_at__lt=cutoff)
        | Q(status=Petition.Status.CLOSED, closes_at__isnull=True, updated_at__lt=cutoff)
    ).values("id")
    not_erased = ~Q(email="") | ~Q(first_name="") | ~Q(last_name="")
    erased = 0
    while True:
        with transaction.atomic():
            ids = list(
                Signature.objects.select_for_update(skip_locked=True)
                .filter(not_erased, petition_id__in=ended)
                .values_list("id", flat=True)[:batch_size]
            )
            if not ids:
                break
            Signature.objects.filter(pk__in=ids).update(
                first_name="",
                last_name="",
                email="",
                email_normalized=Concat(Value("erased:"), Cast("id", output_field=CharField())),
                email_domain="",
                city="",
                ip_hash="",
                consent_origin="",
                referrer="",
                updated_at=now,
            )
            SignatureToken.objects.filter(signature_id__in=ids).delete()
            OutgoingEmail.objects.filter(subject_type=SIGNATURE_SUBJECT_TYPE, subject_id__in=ids).update(
                to_email="", context={}, updated_at=now
            )
            erased += len(ids)
    if erased:
        logger.info("retention: erased the personal data of %d signatures", erased)
    return erased


# --- staff invalidation -----------------------------------------------------------------------


def _invalidation_queryset(
    *,
    petition: Petition,
    ip_hash: str = "",
    email_domain: str = "",
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> Any:
    if not (ip_hash or email_domain or created_from or created_to):
        raise ApplicationError(
            "Give at least one filter (ip_hash, email_domain, created_from, created_to).",
            code="filter_required",
            fields={"non_field_errors": ["At least one filter is required."]},
        )
    queryset = Signature.objects.filter(petition=petition, is_flagged=False).exclude(
        status=Signature.Status.WITHDRAWN
    )
    if ip_hash:
        queryset = queryset.filter(ip_hash=ip_hash)
    if email_domain:
        queryset = queryset.filter(email_domain=email_domain.lower())
    if created_from:
        queryset = queryset.filter(created_at__gte=created_from)
    if created_to:
        queryset = queryset.filter(created_at__lt=created_to)
    return queryset


def invalidation_preview(**filters: Any) -> int:
    """How many signatures an invalidation with these filters would flag."""
    return _invalidation_queryset(**filters).count()


def invalidation_create(*, petition: Petition, user: Any, reason: str = "", **filters: Any) -> Invalidation:
    """Flags every matching signature, records who did it with which filters, and runs the
    counter pass so the counts drop right away."""
    with transaction.atomic():
        invalidation = Invalidation.objects.create(
            petition=petition,
            created_by=user if getattr(user, "pk", None) else None,
            reason=reason,
            ip_hash=filters.get("ip_hash") or "",
            email_domain=(filters.get("email_domain") or "").lower(),
            created_from=filters.get("created_from"),
            created_to=filters.get("created_to"),
        )
        flagged = _invalidation_queryset(petition=petition, **filters).update(
            is_flagged=True, flag_reason=f"invalidation:{invalidation.pk}", updated_at=timezone.now()
        )
        invalidation.signature_count = flagged
        invalidation.save(update_fields=["signature_count", "updated_at"])
    logger.info("invalidation %s flagged %d signatures of petition %s", invalidation.pk, flagged, petition.pk)
    petition_counts_update()
    return invalidation


# --- demo data --------------------------------------------------------------------------------

DEMO_PETITION_SLUG = "stopstreamingexploitation-petition"


@transaction.atomic
def petitions_demo_load(*, campaign: Any) -> Petition:
    petition, _ = Petition.objects.update_or_create(
        slug=DEMO_PETITION_SLUG,
        defaults={
            "campaign": campaign,
            "title_de": "Livestream-Missbrauch von Kindern stoppen",
            "title_en": "Stop the livestreamed sexual exploitation of children",
            "text_de": (
                "Wir fordern Bundestag und Bundesregierung auf, Livestream-Missbrauch von Kindern "
                "wirksam zu verfolgen, Plattformen in die Pflicht zu nehmen und Betroffene zu unterstützen."
            ),
            "text_en": (
                "We call on the Bundestag and the federal government to prosecute the livestreamed "
                "abuse of children effectively, hold platforms to account and support survivors."
            ),
            "status": Petition.Status.OPEN,
            "consent_text_de": (
                "Ich stimme zu, dass meine Angaben zur Durchführung dieser Petition verarbeitet "
                "werden. Details in der Datenschutzerklärung."
            ),
            "consent_text_en": (
                "I agree that my details are processed to run this petition. Details in the privacy policy."
            ),
            "consent_version": "2026-01",
        },
    )
    for target in (1000, 10000, 50000, 100000):
        Milestone.objects.get_or_create(petition=petition, target=target)
    return petition
