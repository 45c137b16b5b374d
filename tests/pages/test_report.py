"""The campaign report (pages/report.py) through its JSON endpoint, the XLSX download and the
server-rendered page, against a known data set."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from campaign.models import AuditEntry
from donations.models import Donation, Donor, Mandate
from petitions.counting import petition_counts_update
from petitions.models import Signature
from tests.conftest import staff_api_client, staff_login, staff_user_create

pytestmark = pytest.mark.django_db

BERLIN = dt.timezone(dt.timedelta(hours=1))  # December: CET
DAY_1 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=BERLIN)


def _signed(sign: Any, petition: Any, *, day: int, confirmed: bool = True, **fields: Any) -> Signature:
    signature = sign(petition, confirmed=confirmed, **fields)
    at = DAY_1 + dt.timedelta(days=day)
    Signature.objects.filter(pk=signature.pk).update(created_at=at)
    return signature


def _donated(campaign: Any, *, petition: Any, day: int, amount: int, **fields: Any) -> Donation:
    donor = Donor.objects.create(
        email=f"d{amount}-{day}@example.org", email_normalized=f"d{amount}-{day}@example.org"
    )
    return Donation.objects.create(
        campaign=campaign,
        donor=donor,
        amount=amount,
        method=Donation.Method.CARD,
        status=Donation.Status.SUCCEEDED,
        succeeded_at=DAY_1 + dt.timedelta(days=day),
        petition_slug=petition.slug,
        **fields,
    )


@pytest.fixture
def data_set(regions: Any, make_petition: Any, sign: Any, campaign: Any) -> Any:
    """Day 0: three in Berlin (one pending) from the newsletter; day 2: two in Hamburg from
    a social post with a referrer, one in Bavaria direct, one withdrawn. Donations: two after
    the newsletter (one of them refunded in part), one direct, one on another petition."""
    petition = make_petition(campaign=campaign)
    other = make_petition(campaign=campaign)
    newsletter = {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "nov"}
    social = {"utm_source": "social", "utm_medium": "post", "referrer": "https://WWW.Example.com/post/1?x=1"}
    _signed(sign, petition, day=0, postcode="10115", **newsletter)
    _signed(sign, petition, day=0, postcode="10115", **newsletter)
    _signed(sign, petition, day=0, postcode="10115", confirmed=False, **newsletter)
    _signed(sign, petition, day=2, postcode="20095", **social)
    _signed(sign, petition, day=2, postcode="20095", **social)
    _signed(sign, petition, day=2, postcode="80939")
    withdrawn = _signed(sign, petition, day=2, postcode="80939")
    Signature.objects.filter(pk=withdrawn.pk).update(status=Signature.Status.WITHDRAWN, confirmed_at=None)
    _signed(sign, other, day=1, postcode="10115")
    petition_counts_update()
    _donated(campaign, petition=petition, day=0, amount=2000, utm_source="newsletter", signature_ref="1")
    _donated(campaign, petition=petition, day=0, amount=5000, utm_source="newsletter", amount_refunded=1000)
    _donated(campaign, petition=petition, day=3, amount=1500)
    _donated(campaign, petition=other, day=3, amount=9900)
    failed = _donated(campaign, petition=petition, day=3, amount=7700)
    Donation.objects.filter(pk=failed.pk).update(status=Donation.Status.FAILED)
    donor = Donor.objects.create(email="m@example.org", email_normalized="m@example.org")
    mandate = Mandate.objects.create(
        campaign=campaign,
        donor=donor,
        amount=1200,
        method="sepa_debit",
        status=Mandate.Status.ACTIVE,
        reference="REF1",
        stripe_customer_id="cus_1",
        stripe_payment_method_id="pm_1",
    )
    _donated(
        campaign,
        petition=petition,
        day=3,
        amount=1200,
        mandate=mandate,
        period="2026-11",
        interval=Donation.Interval.MONTH,
    )
    return petition


def test_it_reports_the_figures_of_a_petition(data_set: Any, django_user_model: Any):
    viewer = staff_user_create(django_user_model, "viewer1", "viewer")

    response = staff_api_client(viewer).get(f"/api/v1/staff/petitions/{data_set.slug}/report/")

    assert response.status_code == 200, response.content
    report = response.json()
    assert report["totals"] == {
        "signed": 7,
        "confirmed": 5,
        "pending": 1,
        "withdrawn": 1,
        "flagged": 0,
        "confirmation_rate": 71.4,
    }
    assert report["signatures_by_day"] == [
        {"day": "2026-11-02", "signed": 3, "confirmed": 2, "pending": 1},
        {"day": "2026-11-03", "signed": 0, "confirmed": 0, "pending": 0},
        {"day": "2026-11-04", "signed": 4, "confirmed": 3, "pending": 0},
    ]
    assert {row["state"]: row["count"] for row in report["states"]} == {
        "Berlin": 2,
        "Hamburg": 2,
        "Bayern": 1,
    }
    assert [(row["number"], row["count"]) for row in report["constituencies"]] == [(18, 2), (75, 2), (217, 1)]
    assert report["sources"][0] == {
        "utm_source": "newsletter",
        "utm_medium": "email",
        "utm_campaign": "nov",
        "signed": 3,
        "confirmed": 2,
    }
    assert {row["domain"]: row["signed"] for row in report["referrers"]} == {"": 5, "www.example.com": 2}
    donations = report["donations"]
    assert (donations["amount"], donations["count"]) == (2000 + 4000 + 1500 + 1200, 4)
    assert (donations["monthly_donors"], donations["monthly_amount"]) == (1, 1200)
    assert donations["by_day"][0] == {"day": "2026-11-02", "amount": 6000, "count": 2}
    assert donations["by_day"][-1] == {"day": "2026-11-05", "amount": 2700, "count": 2}
    funnel = {
        row["source"]: (row["signed"], row["confirmed"], row["donated"], row["donated_amount"])
        for row in report["funnel"]
    }
    assert funnel == {"newsletter": (3, 2, 2, 6000), "social": (2, 2, 0, 0), "(direct)": (2, 1, 2, 2700)}


def test_the_campaign_report_adds_up_every_petition(data_set: Any, django_user_model: Any):
    viewer = staff_user_create(django_user_model, "viewer2", "viewer")

    response = staff_api_client(viewer).get(f"/api/v1/staff/campaigns/{data_set.campaign.slug}/report/")

    assert response.status_code == 200, response.content
    report = response.json()
    assert report["totals"]["signed"] == 8
    assert {row["state"]: row["count"] for row in report["states"]} == {
        "Berlin": 3,
        "Hamburg": 2,
        "Bayern": 1,
    }
    assert report["donations"]["count"] == 5
    assert [row["day"] for row in report["signatures_by_day"]] == ["2026-11-02", "2026-11-03", "2026-11-04"]


def test_an_unknown_petition_is_404_and_a_role_less_account_403(data_set: Any, django_user_model: Any):
    viewer = staff_api_client(staff_user_create(django_user_model, "viewer3", "viewer"))
    nobody = staff_api_client(staff_user_create(django_user_model, "nobody3"))

    assert viewer.get("/api/v1/staff/petitions/no-such-petition/report/").status_code == 404
    assert nobody.get(f"/api/v1/staff/petitions/{data_set.slug}/report/").status_code == 403
    assert nobody.get(f"/api/v1/staff/petitions/{data_set.slug}/report.xlsx").status_code == 403


def test_the_xlsx_has_one_sheet_per_table_and_is_audited(data_set: Any, django_user_model: Any):
    from tests.campaign.test_exports import read_xlsx

    viewer = staff_user_create(django_user_model, "viewer4", "viewer")

    response = staff_api_client(viewer).get(f"/api/v1/staff/petitions/{data_set.slug}/report.xlsx")

    assert response.status_code == 200
    workbook = read_xlsx(response.content)
    assert list(workbook) == [
        "Übersicht",
        "Pro Tag",
        "Spenden pro Tag",
        "Bundesländer",
        "Wahlkreise",
        "Quellen",
        "Verweise",
        "Funnel",
    ]
    days = workbook["Pro Tag"]
    assert [value for _, value in days[0]] == ["Tag", "Unterschrieben", "Bestätigt", "Unbestätigt"]
    assert days[1] == [("text", "2026-11-02"), ("n", "3"), ("n", "2"), ("n", "1")]
    entry = AuditEntry.objects.get(action="report.xlsx")
    assert (entry.actor_username, entry.object_id) == ("viewer4", data_set.slug)


def test_the_page_renders_the_charts_for_a_viewer_only(data_set: Any, django_user_model: Any):
    viewer = staff_login(Client(), staff_user_create(django_user_model, "viewer5", "viewer"))
    nobody = staff_login(Client(), staff_user_create(django_user_model, "nobody5"))

    page = viewer.get(f"/staff/reports/{data_set.slug}/")
    campaign_page = viewer.get(f"/staff/reports/campaigns/{data_set.campaign.slug}/")

    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("<svg") == 4
    assert 'data-region="Berlin"' in html and 'data-day="2026-11-04"' in html
    assert "<script" not in html
    assert campaign_page.status_code == 200
    assert nobody.get(f"/staff/reports/{data_set.slug}/").status_code == 403
    anonymous = Client().get(f"/staff/reports/{data_set.slug}/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/staff/login/")
