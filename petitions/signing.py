"""The sign path: the petition as it needs it, and recording a signature with its confirmation mail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from campaign.outbox.queueing import outgoing_email_insert_sql, outgoing_email_publish, outgoing_email_queue
from petitions.hashing import ip_hash_compute, ip_is_blocked, user_agent_hash_compute
from petitions.metrics import signature_flagged_count, signatures_created
from petitions.models import Petition, Signature
from petitions.shared_networks import ip_is_allowlisted
from petitions.validation import SignatureInput

CONFIRMATION_EMAIL_KIND = "petitions-signature-confirm"
SIGNATURE_SUBJECT_TYPE = "petitions.signature"


@dataclass(frozen=True)
class PetitionForSigning:
    """What the sign path needs of a petition, cached per process for a few seconds."""

    id: int
    campaign_id: int
    slug: str
    is_open: bool
    consent_version: str
    consent_hash_de: str
    consent_hash_en: str
    altcha_enabled: bool
    signing_paused: bool = False
    paused_message_de: str = ""
    paused_message_en: str = ""


def petition_is_open(petition: Petition, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return (
        petition.status == Petition.Status.OPEN
        and (petition.opens_at is None or petition.opens_at <= now)
        and (petition.closes_at is None or petition.closes_at > now)
    )


def _resend_allowed_before(now: datetime) -> datetime:
    return now - timedelta(minutes=settings.PETITIONS_CONFIRMATION_RESEND_MINUTES)


def signature_create(
    *, petition: PetitionForSigning, data: SignatureInput, ip: str, origin: str, user_agent: str = ""
) -> None:
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
        "updates_consent": data.updates_consent,
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
        "user_agent_hash": user_agent_hash_compute(user_agent),
        "ip_allowlisted": ip_is_allowlisted(ip),
        "counted": False,
        "confirmation_mail_count": 1,
        "confirmation_mail_at": now,
    }
    if connection.vendor == "postgresql":
        email_ids = _signature_create_postgresql(row, campaign_id=petition.campaign_id, now=now)
    else:
        email_ids = _signature_create_orm(row, campaign_id=petition.campaign_id, now=now)
    signatures_created.inc()
    if flag_reason:
        signature_flagged_count(flag_reason)
    for email_id in email_ids:
        # Published by a background thread: the request does not wait on Redis (the committed
        # outbox row guarantees the mail; see campaign.outbox.publisher).
        outgoing_email_publish(email_id, background=True)


def _signature_insert_sql() -> str:
    """One statement: insert the signature (or find it), bump the mail counter of an existing
    pending one within the caps, and write the outbox row for whichever needs a mail. A single
    statement is a single transaction, and costs one round trip."""
    signature_table = Signature._meta.db_table
    columns = (
        "created_at updated_at petition_id first_name last_name email email_normalized email_domain "
        "postcode country city locale status is_flagged flag_reason newsletter_consent updates_consent "
        "show_name_publicly share_name_with_officials utm_source utm_medium utm_campaign referrer "
        "consent_version consent_text_hash consent_at consent_origin ip_hash user_agent_hash ip_allowlisted "
        "counted "
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
            SELECT id, email, locale, jsonb_build_object('signature_id', id) AS context FROM ins
            UNION ALL
            SELECT id, email, locale, jsonb_build_object('signature_id', id) AS context FROM again
        )
        {outgoing_email_insert_sql(source="target")}
    """  # noqa: S608 - identifiers come from model metadata; every value is a parameter


_INSERT_SQL: str | None = None


def _signature_create_postgresql(row: dict[str, Any], *, campaign_id: int, now: datetime) -> list[int]:
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
        "campaign_id": campaign_id,
    }
    # No explicit transaction: the single statement is atomic on its own, and BEGIN/COMMIT
    # would add round trips to the hot path. A server-side prepared statement (psycopg's own
    # cursor, prepared on the connection's first use): PostgreSQL parses and plans the CTE once
    # per connection, and the parameters travel bound instead of quoted into the SQL text by
    # Django's client-side cursor (about a third less CPU per signing in the web worker).
    # Behind PgBouncer in transaction mode this needs max_prepared_statements (PgBouncer 1.21+).
    kept = connection.connection is not None
    try:
        return _insert_execute(_INSERT_SQL, params)
    except (OperationalError, InterfaceError):
        if not kept or connection.in_atomic_block or not _connection_lost():
            raise
    # A kept connection the server dropped (a database restart, a failover): the statement
    # runs again once on a new one. That is safe even when the first run committed and only
    # its answer was lost: the signature then exists, within the resend interval, so the
    # second run writes nothing (the committed outbox row goes out through the sweeper).
    connection.close()
    return _insert_execute(_INSERT_SQL, params)


def _insert_execute(sql: str, params: dict[str, Any]) -> list[int]:
    # Without Django's health check of a kept connection (CONN_HEALTH_CHECKS), which is a
    # `SELECT 1` round trip before the first query of every request, as long as the
    # statement itself: a dead connection is noticed by the statement and retried instead.
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return [r[0] for r in cursor.fetchall()]


def _connection_lost() -> bool:
    raw = connection.connection
    return raw is None or bool(raw.closed)


def _signature_create_orm(row: dict[str, Any], *, campaign_id: int, now: datetime) -> list[int]:
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
        outgoing_email_queue(
            kind=CONFIRMATION_EMAIL_KIND,
            to_email=signature.email,
            locale=signature.locale,
            context={"signature_id": signature.pk},
            subject_type=SIGNATURE_SUBJECT_TYPE,
            subject_id=signature.pk,
            campaign_id=campaign_id,
            background=True,
        )
        return []  # outgoing_email_queue has published it already
