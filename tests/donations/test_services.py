"""Totals, reconciliation of missed webhooks, the staff export, the throttle, anonymising."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from donations.amounts import donation_fee_compute
from donations.models import Donation, Donor
from donations.reconciliation import payments_reconcile
from donations.retention import donor_anonymise
from donations.selectors import campaign_donation_totals_get
from tests.donations.helpers import donation_complete, donation_start
from tests.fixtures.localstripe import CARD_3DS

pytestmark = pytest.mark.django_db


def make_donation(campaign: Any, email: str, amount: int, status: str, refunded: int = 0) -> Donation:
    donor, _ = Donor.objects.get_or_create(email_normalized=email, defaults={"email": email})
    return Donation.objects.create(
        campaign=campaign, donor=donor, amount=amount, method="card", status=status, amount_refunded=refunded
    )


def test_it_totals_settled_gifts_net_of_refunds_and_lost_disputes(campaign):
    make_donation(campaign, "a@example.org", 5000, "succeeded")
    make_donation(campaign, "a@example.org", 2000, "succeeded")
    make_donation(campaign, "b@example.org", 3000, "partially_refunded", refunded=1000)
    make_donation(campaign, "c@example.org", 9000, "refunded", refunded=9000)
    make_donation(campaign, "d@example.org", 9000, "dispute_lost")
    make_donation(campaign, "e@example.org", 9000, "failed")
    make_donation(campaign, "f@example.org", 9000, "processing")

    totals = campaign_donation_totals_get(campaign=campaign)

    assert totals == {"raised_amount": 5000 + 2000 + 3000 - 1000, "donor_count": 2}


def test_the_campaign_endpoint_shows_the_totals(api_client, campaign):
    make_donation(campaign, "a@example.org", 5000, "succeeded")

    body = api_client.get(f"/api/v1/campaigns/{campaign.slug}/").json()

    assert body["donation_totals"] == {"raised_amount": 5000, "donor_count": 1}


@pytest.mark.parametrize(
    ("amount", "method", "fee"),
    [(1000, "card", 41), (2500, "card", 64), (100000, "card", 1549), (1000, "sepa_debit", 35)],
)
def test_it_computes_the_fee_so_the_ngo_receives_the_whole_gift(amount, method, fee, settings):
    assert donation_fee_compute(amount=amount, method=method) == fee
    total = amount + fee
    if method == "card":
        # What Stripe keeps of the total leaves at least the gift.
        from decimal import ROUND_HALF_UP, Decimal

        stripe_fee = (Decimal(total) * Decimal("0.015")).quantize(Decimal(1), rounding=ROUND_HALF_UP) + 25
        assert total - stripe_fee >= amount


def test_it_repairs_a_donation_whose_webhook_was_missed(api_client, campaign, localstripe):
    # 3-D Secure done in the browser, but neither complete nor the webhook reached us.
    body = donation_start(api_client, campaign.slug)
    localstripe.save_card(body["client_secret"], CARD_3DS)
    client_secret = donation_complete(api_client, body["id"]).json()["client_secret"]
    localstripe.authenticate(client_secret)
    other = donation_start(api_client, campaign.slug)  # a donation without a charge stays as it is

    result = payments_reconcile()

    assert Donation.objects.get(public_id=body["id"]).status == "succeeded"
    assert Donation.objects.get(public_id=other["id"]).status == "created"
    assert result == {"seen": 1, "repaired": 1}
    assert payments_reconcile() == {"seen": 1, "repaired": 0}


def test_it_adopts_a_charge_whose_id_we_never_stored(api_client, campaign, localstripe):
    body = donation_start(api_client, campaign.slug)
    localstripe.save_card(body["client_secret"])
    donation_complete(api_client, body["id"])
    # As if the process died between Stripe's answer and our write.
    Donation.objects.filter(public_id=body["id"]).update(stripe_payment_intent_id="", status="created")

    payments_reconcile()

    donation = Donation.objects.get(public_id=body["id"])
    assert donation.status == "succeeded"
    assert donation.stripe_payment_intent_id.startswith("pi_")


def test_staff_export_streams_formula_safe_csv(staff_client, api_client, campaign):
    donation = make_donation(campaign, "a@example.org", 5000, "succeeded")
    Donation.objects.filter(pk=donation.pk).update(
        utm_source='=HYPERLINK("http://evil")', stripe_fee=100, net_amount=4900, fee_amount=100
    )

    response = staff_client.get("/api/v1/staff/donations/export.csv")

    assert response.status_code == 200
    assert response.streaming
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    header, row = rows[0], rows[1]
    values = dict(zip(header, row, strict=True))
    assert values["gross"] == "5100"
    assert values["fee_added"] == "100"
    assert values["stripe_fee"] == "100"
    assert values["net"] == "4900"
    assert values["status"] == "succeeded"
    assert values["method"] == "card"
    assert values["utm_source"].startswith("'=")  # a spreadsheet shows it as text
    assert "a@example.org" not in content
    from campaign.models import ExportLog

    log = ExportLog.objects.get()
    assert (log.kind, log.row_count) == ("donations.donations", 1)
    assert api_client.get("/api/v1/staff/donations/export.csv").status_code in (401, 403)
    bad = staff_client.get("/api/v1/staff/donations/export.csv?status=nonsense")
    assert bad.status_code == 400 and "status" in bad.json()["fields"]


def test_staff_export_writes_xlsx(staff_client, campaign):
    make_donation(campaign, "a@example.org", 5000, "succeeded")
    response = staff_client.get("/api/v1/staff/donations/export.xlsx")
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:2] == b"PK"


def test_it_throttles_starting_donations_per_address(api_client, campaign, localstripe, monkeypatch):
    from campaign.throttles import FailOpenScopedRateThrottle

    monkeypatch.setattr(FailOpenScopedRateThrottle, "THROTTLE_RATES", {"donate": "2/minute"})
    statuses = [
        api_client.post(
            "/api/v1/donations/", {"campaign": "x"}, format="json", REMOTE_ADDR="203.0.113.9"
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [400, 400, 429]


def test_it_anonymises_a_donor_and_stops_their_monthly_gifts(campaign):
    donation = make_donation(campaign, "a@example.org", 5000, "succeeded")
    Donor.objects.filter(pk=donation.donor_id).update(first_name="Erika", city="Berlin")

    donor_anonymise(donor_id=donation.donor_id)

    donor = Donor.objects.get(pk=donation.donor_id)
    assert (donor.email, donor.first_name, donor.city) == ("", "", "")
    assert donor.anonymised_at is not None
    assert campaign_donation_totals_get(campaign=campaign)["raised_amount"] == 5000


def test_it_erases_donors_who_never_gave_after_the_retention_period(campaign, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.DONATION_ABANDONED_RETENTION_DAYS = 30
    abandoned = make_donation(campaign, "abandoned@example.org", 5000, "created")
    failed = make_donation(campaign, "failed@example.org", 5000, "failed")
    paid = make_donation(campaign, "paid@example.org", 5000, "succeeded")
    make_donation(campaign, "paid@example.org", 5000, "created")  # a second, abandoned try
    from donations.retention import donors_abandoned_purge

    assert donors_abandoned_purge(now=timezone.now() + timedelta(days=29)) == 0
    assert donors_abandoned_purge(now=timezone.now() + timedelta(days=31)) == 2

    assert Donor.objects.get(pk=abandoned.donor_id).email == ""
    assert Donor.objects.get(pk=failed.donor_id).email == ""
    assert Donor.objects.get(pk=paid.donor_id).email == "paid@example.org"
    assert donors_abandoned_purge(now=timezone.now() + timedelta(days=31)) == 0


def test_staff_see_totals_by_day_source_and_method(staff_client, api_client, campaign):
    from django.utils import timezone

    from donations.models import Mandate

    today = timezone.now()
    a = make_donation(campaign, "a@example.org", 5000, "succeeded")
    b = make_donation(campaign, "b@example.org", 3000, "partially_refunded", refunded=1000)
    make_donation(campaign, "c@example.org", 9000, "failed")
    Donation.objects.filter(pk=a.pk).update(utm_source="newsletter", succeeded_at=today, stripe_fee=100)
    Donation.objects.filter(pk=b.pk).update(utm_source="", succeeded_at=today, method="sepa_debit")
    Mandate.objects.create(
        campaign=campaign,
        donor=a.donor,
        amount=1500,
        method="card",
        status="active",
        reference="R",
        stripe_customer_id="cus",
        stripe_payment_method_id="pm",
    )

    response = staff_client.get(f"/api/v1/staff/donations/summary/?campaign={campaign.slug}")

    assert response.status_code == 200
    body = response.json()
    assert (body["raised_amount"], body["donor_count"], body["donation_count"]) == (7000, 2, 2)
    assert body["stripe_fees"] == 100
    assert body["by_day"] == [{"day": timezone.localdate(today).isoformat(), "amount": 7000, "count": 2}]
    assert body["by_source"] == [
        {"source": "", "amount": 2000, "count": 1},
        {"source": "newsletter", "amount": 5000, "count": 1},
    ]
    assert body["by_method"] == [
        {"method": "card", "amount": 5000, "count": 1},
        {"method": "sepa_debit", "amount": 2000, "count": 1},
    ]
    assert (body["active_mandates"], body["monthly_amount"]) == (1, 1500)
    assert api_client.get(f"/api/v1/staff/donations/summary/?campaign={campaign.slug}").status_code in (
        401,
        403,
    )
    missing = staff_client.get("/api/v1/staff/donations/summary/")
    assert missing.status_code == 400 and "campaign" in missing.json()["fields"]
