"""The hot queries use an index whatever the planner statistics say.

A petition's busiest hour (the one after a TV mention) is when its tables are big and their
statistics stale: autoanalyze runs late on big tables. Each test fills one petition with
50,000 signatures (and their outbox rows and tokens) *after* the statistics were taken, runs a
hot path (sign, send the confirmation mail with its fraud check and outbox claim, confirm, the
counter pass with its per-region totals), then replays every statement it ran under
`EXPLAIN (ANALYZE, FORMAT JSON)` and fails on a sequential scan of a big table or a filter that
throws away more than a handful of rows. Plans, not timings: a wrong plan shows up as rows
removed, however fast the machine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import psycopg
import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaign.models import OutgoingEmail
from campaign.outbox.sending import outgoing_email_send
from petitions.confirmation import signature_confirm
from petitions.counting import petition_counts_update
from petitions.models import Petition, Signature, SignatureToken
from petitions.selectors import petition_for_signing_get, signature_page_get
from petitions.signing import signature_create
from petitions.validation import signature_input_validate
from tests.fixtures.petitions import PetitionFactory

pytestmark = pytest.mark.django_db

ROWS = 50_000
HANDFUL = 5
BIG_TABLES = {
    Signature._meta.db_table,
    SignatureToken._meta.db_table,
    OutgoingEmail._meta.db_table,
}
# Domains of the fill; example.net is not on the fraud check's allow-list, so the domain
# window query runs for the new signer.
DOMAINS = ["gmail.com", "web.de", "gmx.de", "example.net", "t-online.de", "posteo.de", "example.net"]


def _signature_fill_sql() -> str:
    """One INSERT ... SELECT generate_series: ROWS signatures on %(petition_id)s over the last
    three days, 5,000 addresses signing ten times each, mostly confirmed and counted."""
    special = {
        "petition": "%(petition_id)s",
        "first_name": "'Vorname'",
        "last_name": "'Nachname-' || i",
        "email": "'signer' || i || '@' || (%(domains)s::text[])[1 + i %% 7]",
        "email_normalized": "'signer' || i || '@' || (%(domains)s::text[])[1 + i %% 7]",
        "email_domain": "(%(domains)s::text[])[1 + i %% 7]",
        "postcode": "'10115'",
        "country": "'DE'",
        "locale": "'de'",
        "status": "CASE WHEN i %% 25 = 0 THEN 'pending' ELSE 'confirmed' END",
        "counted": "(i %% 25 <> 0)",
        "consent_at": "now() - i * interval '1 minute'",
        "ip_hash": "md5((i %% 5000)::text) || md5((i %% 5000)::text)",
        "confirmed_at": "CASE WHEN i %% 25 = 0 THEN NULL ELSE now() - i * interval '1 minute' END",
        "fraud_checked_at": "now() - i * interval '1 minute'",
        "created_at": "now() - i * interval '1 minute'",
        "updated_at": "now() - i * interval '1 minute'",
    }
    columns, values = [], []
    for field in Signature._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.name in special:
            values.append(special[field.name])
        elif field.null:
            values.append("NULL")
        elif field.get_internal_type() == "BooleanField":
            values.append("false")
        elif "Integer" in field.get_internal_type():
            values.append("0")
        else:
            values.append("''")
    return (
        f"INSERT INTO {Signature._meta.db_table} ({', '.join(columns)}) "  # noqa: S608 - model metadata
        f"SELECT {', '.join(values)} FROM generate_series(1, {ROWS}) AS i"
    )


def _outbox_and_tokens_fill(petition_id: int, *, after_id: int = 0) -> None:
    """A sent outbox row and a used confirm token per signature, as a drained petition has."""
    signatures = Signature._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {OutgoingEmail._meta.db_table} (created_at, updated_at, kind, to_email, locale,
                context, status, at_most_once, attempts, enqueued_at, claimed_at, sent_at, message_id,
                last_error, subject_type, subject_id)
            SELECT created_at, created_at, 'petitions-signature-confirmation', '', 'de', '{{}}'::jsonb,
                'sent', false, 1, created_at, created_at, created_at, '', '', 'petitions.signature', id
            FROM {signatures} WHERE petition_id = %s AND id > %s
            """,  # noqa: S608 - model metadata
            [petition_id, after_id],
        )
        cursor.execute(
            f"""
            INSERT INTO {SignatureToken._meta.db_table} (signature_id, purpose, token_hash, created_at,
                expires_at, used_at)
            SELECT id, 'confirm', md5(id::text) || md5('t' || id::text), created_at,
                created_at + interval '7 days', confirmed_at
            FROM {signatures} WHERE petition_id = %s AND id > %s
            """,  # noqa: S608 - model metadata
            [petition_id, after_id],
        )


def _stale_statistics_take(petition: Petition, *, sample_rows: int, same_petition: bool) -> None:
    """Statistics as autoanalyze left them before the rush: taken over `sample_rows`
    signatures, of this petition when it was young or of another one. Autovacuum cannot
    refresh them during the test: the fill is not committed."""
    sampled = petition if same_petition else PetitionFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            _signature_fill_sql()
            .replace(f"generate_series(1, {ROWS})", f"generate_series(1, {sample_rows})")
            .replace("'signer' ||", "'early' ||"),
            {"petition_id": sampled.pk, "domains": DOMAINS},
        )
        if not same_petition:
            cursor.execute(
                f"UPDATE {Signature._meta.db_table} SET "  # noqa: S608 - model metadata
                "ip_hash = md5('other' || id::text) || md5(id::text) WHERE petition_id = %s",
                [sampled.pk],
            )
    _outbox_and_tokens_fill(sampled.pk)
    with connection.cursor() as cursor:
        for table in sorted(BIG_TABLES):
            cursor.execute(f"ANALYZE {table}")


@pytest.fixture(
    params=[(60, True), (300, False)],
    ids=["statistics-of-its-first-60-signatures", "statistics-of-300-signatures-elsewhere"],
)
def big_petition(request: Any) -> Petition:
    petition = PetitionFactory(consent_version="v1")
    sample_rows, same_petition = request.param
    _stale_statistics_take(petition, sample_rows=sample_rows, same_petition=same_petition)
    with connection.cursor() as cursor:
        cursor.execute(_signature_fill_sql(), {"petition_id": petition.pk, "domains": DOMAINS})
    # Only the new rows: the sample's outbox rows and tokens are there already.
    _outbox_and_tokens_fill(
        petition.pk,
        after_id=Signature.objects.filter(petition=petition).order_by("id")[sample_rows - 1].pk
        if same_petition
        else 0,
    )
    assert Signature.objects.filter(petition=petition).count() == ROWS + (sample_rows if same_petition else 0)
    return petition


# --- Capturing and replaying the statements a path runs -----------------------------------

Statement = tuple[str, Any]  # (sql, params): params None for the ORM's already interpolated SQL


@contextmanager
def statements_captured() -> Iterator[list[Statement]]:
    """Every statement run in the block, in order: the ORM's (CaptureQueriesContext, with the
    parameters interpolated as sent) and those of the signing's own psycopg cursor (SQL and
    parameters)."""
    own: list[tuple[int, Statement]] = []
    psycopg_execute = psycopg.Cursor.execute
    captured: list[Statement] = []

    with CaptureQueriesContext(connection) as orm:

        def recording(cursor: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
            if type(cursor) is psycopg.Cursor:  # not Django's cursor, which the ORM capture sees
                own.append((len(orm.captured_queries), (str(query), params)))
            return psycopg_execute(cursor, query, params, **kwargs)

        with mock.patch.object(psycopg.Cursor, "execute", recording):
            yield captured
    orm_statements: list[Statement] = [(query["sql"], None) for query in orm.captured_queries]
    for position, statement in reversed(own):
        orm_statements.insert(position, statement)
    captured.extend(orm_statements)


def _plan_problems(plan: dict[str, Any], sql: str) -> list[str]:
    problems = []
    loops = max(int(plan.get("Actual Loops", 1)), 1)
    relation = plan.get("Relation Name", "")
    if plan["Node Type"] == "Seq Scan" and relation in BIG_TABLES:
        problems.append(f"Seq Scan on {relation}")
    for key in ("Rows Removed by Filter", "Rows Removed by Index Recheck", "Rows Removed by Join Filter"):
        removed = int(plan.get(key, 0)) * loops
        if removed > HANDFUL:
            where = plan.get("Index Name") or relation or plan["Node Type"]
            problems.append(f"{key}: {removed} ({plan['Node Type']} {where})")
    for child in plan.get("Plans", []):
        problems += _plan_problems(child, sql)
    return problems


def replay_explained(run: Callable[[], Any]) -> tuple[Any, list[tuple[str, dict[str, Any]]]]:
    """Runs `run` in a savepoint, rolls it back, then runs the same statements again in order,
    each under EXPLAIN ANALYZE, so the database ends in the state `run` left and each plan is
    the one the real call got. Returns run's result and (sql, plan) per statement."""
    savepoint = connection.savepoint()
    with statements_captured() as captured:
        result = run()
    connection.savepoint_rollback(savepoint)
    plans = []
    for sql, params in captured:
        if not re.match(r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b", sql, re.IGNORECASE):
            continue  # SAVEPOINT, RELEASE: transaction control has no plan
        explain = "EXPLAIN (ANALYZE, FORMAT JSON) " + sql
        if params is None:
            with connection.cursor() as cursor:
                cursor.execute(explain.replace("%", "%%"))
                output = cursor.fetchone()[0]
        else:
            with psycopg.Cursor(connection.connection) as cursor:
                cursor.execute(explain, params)
                output = cursor.fetchone()[0]
        plan = output if isinstance(output, list) else json.loads(output)
        plans.append((sql, plan[0]["Plan"]))
    return result, plans


def assert_indexed(plans: list[tuple[str, dict[str, Any]]], *, touching: str) -> None:
    assert any(touching in sql for sql, _ in plans), (
        f"no statement on {touching}: the capture missed the path"
    )
    failures = [
        f"{problem}\n    in: {' '.join(sql.split())[:400]}"
        for sql, plan in plans
        for problem in _plan_problems(plan, sql)
    ]
    assert not failures, "plans that grow with the table:\n" + "\n".join(failures)


# --- The hot paths ----------------------------------------------------------------------------


def _sign(petition: Petition, n: int, *, domain: str = "example.net") -> None:
    for_signing = petition_for_signing_get(slug=petition.slug)
    data = signature_input_validate(
        {
            "first_name": "Erika",
            "last_name": "Mustermann",
            "email": f"new{n}@{domain}",
            "postcode": "10115",
            "country": "DE",
            "privacy_consent": True,
            "consent_version": for_signing.consent_version,
            "locale": "de",
        },
        consent_version=for_signing.consent_version,
    )
    signature_create(petition=for_signing, data=data, ip=f"2001:db8::{n:x}", origin="")


def test_signing_and_signing_again_use_indexes(big_petition):
    _, first = replay_explained(lambda: _sign(big_petition, 1))
    # The same address again: the resend branch of the same statement.
    _, again = replay_explained(lambda: _sign(big_petition, 1))

    assert Signature.objects.filter(email_normalized="new1@example.net").count() == 1
    assert_indexed(first, touching=Signature._meta.db_table)
    assert_indexed(again, touching=Signature._meta.db_table)


def test_the_confirmation_mail_with_its_fraud_check_and_claim_uses_indexes(big_petition):
    _sign(big_petition, 2)
    email = OutgoingEmail.objects.filter(status=OutgoingEmail.Status.QUEUED).get()

    sent, plans = replay_explained(lambda: outgoing_email_send(outgoing_email_id=email.pk))

    assert sent is True
    assert_indexed(plans, touching="ip_hash")  # the fraud window ran
    assert_indexed(plans, touching="email_domain")
    assert_indexed(plans, touching=OutgoingEmail._meta.db_table)


def test_confirming_and_the_counter_pass_use_indexes(big_petition):
    _sign(big_petition, 3)
    outgoing_email_send(outgoing_email_id=OutgoingEmail.objects.get(status=OutgoingEmail.Status.QUEUED).pk)
    token = re.search(r"/signatures/confirm/\?token=([\w-]+)", mail.outbox[-1].body)
    assert token is not None

    page, page_plans = replay_explained(
        lambda: signature_page_get(token=token.group(1), purpose=SignatureToken.Purpose.CONFIRM)
    )
    confirmed, confirm_plans = replay_explained(lambda: signature_confirm(token=token.group(1)))
    _, pass_plans = replay_explained(petition_counts_update)

    assert confirmed.status == Signature.Status.CONFIRMED
    assert page is not None
    assert_indexed(page_plans, touching=SignatureToken._meta.db_table)
    assert_indexed(confirm_plans, touching=SignatureToken._meta.db_table)
    assert_indexed(pass_plans, touching=Signature._meta.db_table)
    big_petition.refresh_from_db()
    assert big_petition.signature_count == 1  # the new one; the fill was counted before


def _drain_queries(petition: Petition, *, mails: int, first: int) -> int:
    for n in range(first, first + mails):
        _sign(petition, n, domain="gmail.com")  # allow-listed: no domain window
    queued = OutgoingEmail.objects.filter(status=OutgoingEmail.Status.QUEUED).order_by("pk")
    with CaptureQueriesContext(connection) as queries:
        assert outgoing_email_send(outgoing_email_id=queued[0].pk) is True
    assert not queued.exists()  # one task sent the whole batch
    return len(queries)


def test_a_batch_of_confirmation_mails_costs_the_same_queries_whatever_its_size(petition, settings):
    settings.OUTBOX_BATCH_SIZE = 100

    ten = _drain_queries(petition, mails=10, first=100)
    thirty = _drain_queries(petition, mails=30, first=200)

    # Claim, load, fraud claim and windows, tokens, final status: once per batch, not per mail.
    assert thirty == ten


def test_the_report_rollup_pass_and_the_report_read_use_indexes(big_petition):
    from petitions.report_rollup import signature_report_rollup_update
    from petitions.report_selectors import signature_report_get

    signature_report_rollup_update()  # the fill, as the first pass after the migration would
    for n in range(3):
        _sign(big_petition, 300 + n)  # signed since the pass: read from the partial index

    report, read_plans = replay_explained(lambda: signature_report_get(petition_ids=[big_petition.pk]))
    handled, pass_plans = replay_explained(signature_report_rollup_update)

    assert report["totals"]["signed"] == Signature.objects.filter(petition=big_petition).count()
    assert handled == 3
    assert_indexed(read_plans, touching=Signature._meta.db_table)
    assert_indexed(pass_plans, touching=Signature._meta.db_table)
