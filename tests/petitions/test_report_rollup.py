"""The report rollup (petitions/report_rollup.py): the report's signature figures read from the
rollup (plus the signatures not rolled up yet) equal the same figures aggregated directly over
the signature rows, after a pass, between passes, and after signatures were added, confirmed,
withdrawn, flagged, unflagged, erased and purged."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from petitions.models import REPORT_MISMATCH_Q, Signature, SignatureReportRollup
from petitions.privacy import signatures_erase
from petitions.report_rollup import signature_report_rollup_rebuild, signature_report_rollup_update
from petitions.report_selectors import signature_report_get
from petitions.retention import signatures_unconfirmed_purge

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 11, 2, 21, 30, tzinfo=dt.UTC)  # 22:30 in Berlin: days split by zone
SOURCES = [
    {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "nov"},
    {"utm_source": "social", "utm_medium": "post", "referrer": "https://WWW.Example.com:443/post/1?x=1"},
    {"referrer": "http://blog.example.net?p=2"},
    {"referrer": "not a url"},
    {},
]


def _domain(referrer: str) -> str:
    if "://" not in referrer:
        return ""
    return referrer.split("/")[2].split(":")[0].split("?")[0].lower()


def _direct(petition_ids: list[int]) -> dict[str, Any]:
    """The figures computed the plain way: every signature row, in Python."""
    zone = ZoneInfo(settings.TIME_ZONE)
    rows = list(Signature.objects.filter(petition_id__in=petition_ids))
    totals: Counter[str] = Counter()
    days: dict[dt.date, Counter[str]] = {}
    sources: dict[tuple[str, str, str], Counter[str]] = {}
    referrers: dict[str, Counter[str]] = {}
    for s in rows:
        confirmed = int(s.status == "confirmed" and not s.is_flagged)
        totals.update(
            signed=1,
            confirmed=confirmed,
            pending=int(s.status == "pending"),
            withdrawn=int(s.status == "withdrawn"),
            flagged=int(s.is_flagged),
        )
        day = s.created_at.astimezone(zone).date()
        days.setdefault(day, Counter()).update(
            signed=1, confirmed=confirmed, pending=int(s.status == "pending")
        )
        key = (s.utm_source, s.utm_medium, s.utm_campaign)
        sources.setdefault(key, Counter()).update(signed=1, confirmed=confirmed)
        referrers.setdefault(_domain(s.referrer), Counter()).update(signed=1, confirmed=confirmed)
    by_source = [
        {
            "utm_source": k[0],
            "utm_medium": k[1],
            "utm_campaign": k[2],
            "signed": c["signed"],
            "confirmed": c["confirmed"],
        }
        for k, c in sources.items()
    ]
    by_source.sort(key=lambda r: (-r["signed"], r["utm_source"], r["utm_medium"], r["utm_campaign"]))
    by_referrer = [
        {"domain": d, "signed": c["signed"], "confirmed": c["confirmed"]} for d, c in referrers.items()
    ]
    by_referrer.sort(key=lambda r: (-r["signed"], r["domain"]))
    return {
        "totals": {key: totals[key] for key in ("signed", "confirmed", "pending", "withdrawn", "flagged")},
        "by_day": [
            {"day": day, "signed": c["signed"], "confirmed": c["confirmed"], "pending": c["pending"]}
            for day, c in sorted(days.items())
        ],
        "by_source": by_source,
        "by_referrer": by_referrer[:20],
    }


def _signed(sign: Any, petition: Any, n: int, **fields: Any) -> Signature:
    signature = sign(petition, **SOURCES[n % len(SOURCES)], **fields)
    # Spread over hours and days (before any pass: the hour is part of the rollup's key).
    Signature.objects.filter(pk=signature.pk).update(created_at=START + dt.timedelta(minutes=47 * n))
    return signature


def _assert_equal(petition_ids: list[int]) -> None:
    assert signature_report_get(petition_ids=petition_ids) == _direct(petition_ids)


def test_the_rolled_up_figures_equal_a_direct_aggregation_through_every_change(make_petition: Any, sign: Any):
    petition, other = make_petition(), make_petition()
    ids = [petition.pk]
    signatures = [_signed(sign, petition, n, confirmed=n % 3 != 0) for n in range(40)]
    for n in range(5):
        _signed(sign, other, n)
    Signature.objects.filter(pk=signatures[7].pk).update(is_flagged=True, flag_reason="ip_burst")
    old_pending = sign(petition, confirmed=False, referrer="https://old.example.org/")
    Signature.objects.filter(pk=old_pending.pk).update(
        created_at=START - dt.timedelta(days=settings.PETITIONS_UNCONFIRMED_RETENTION_DAYS + 1)
    )
    _assert_equal(ids)  # nothing rolled up yet: every row is read as not rolled up

    assert signature_report_rollup_update() == 46
    assert not Signature.objects.filter(REPORT_MISMATCH_Q).exists()
    assert sum(SignatureReportRollup.objects.filter(petition=petition).values_list("count", flat=True)) == 41
    _assert_equal(ids)  # from the rollup alone
    _assert_equal([petition.pk, other.pk])
    assert signature_report_rollup_update() == 0  # idempotent

    # After the pass: new signatures, a confirmation, a withdrawal, a flag and an unflag.
    for n in range(40, 46):
        _signed(sign, petition, n, confirmed=n % 2 == 0)
    Signature.objects.filter(pk=signatures[0].pk).update(status="confirmed", confirmed_at=timezone.now())
    Signature.objects.filter(pk=signatures[1].pk).update(status="withdrawn", withdrawn_at=timezone.now())
    Signature.objects.filter(pk=signatures[2].pk).update(is_flagged=True, flag_reason="domain_burst")
    Signature.objects.filter(pk=signatures[7].pk).update(is_flagged=False, flag_reason="")
    before = signature_report_get(petition_ids=ids)
    _assert_equal(ids)  # the rollup plus the rows changed since the pass

    assert signature_report_rollup_update() == 10
    assert signature_report_get(petition_ids=ids) == before
    _assert_equal(ids)

    # An erasure blanks the referrer (a key of the rollup); the purge deletes old pending rows.
    signatures_erase(signatures[1].email)  # the social source, with a referrer
    assert signatures_unconfirmed_purge(now=START) == 1
    assert not Signature.objects.filter(pk=old_pending.pk).exists()
    _assert_equal(ids)
    signature_report_rollup_update()
    _assert_equal(ids)

    # The nightly rebuild changes no figure and drops the groups that fell to zero.
    signature_report_rollup_rebuild()
    assert not SignatureReportRollup.objects.filter(count=0).exists()
    _assert_equal(ids)


def test_a_stale_rollup_is_caught_by_the_comparison(make_petition: Any, sign: Any):
    """The comparison above can fail: a referrer blanked without releasing the signature
    first leaves the rollup holding the old domain."""
    petition = make_petition()
    for n in range(10):
        _signed(sign, petition, n)
    signature_report_rollup_update()
    Signature.objects.filter(petition=petition).update(referrer="")

    assert signature_report_get(petition_ids=[petition.pk]) != _direct([petition.pk])
