"""Attribution: a donation stores the petition it started from, the signing that led to it
(the signed reference from the confirmation page), utm_* and the referring page, and the
staff export lists them."""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.utils.html import escapejs

from campaign.attribution import SALT, signing_reference_make, signing_reference_read
from donations.models import Donation
from petitions.models import SignatureToken
from petitions.tokens import signature_token_mint
from tests.donations.helpers import donation_payload, donation_start
from tests.fixtures.petitions import PetitionFactory, SignatureFactory

pytestmark = pytest.mark.django_db


def test_it_stores_petition_utm_and_the_referrer_without_its_query(api_client, campaign, localstripe):
    body = donation_start(
        api_client,
        campaign.slug,
        petition="kinderschutz-jetzt",
        utm_source="newsletter",
        utm_medium="email",
        utm_campaign="dezember",
        utm_term="spende",
        utm_content="button-oben",
        referrer="https://blog.example.org/artikel/42?token=secret&email=a@b.de#kommentare",
    )

    donation = Donation.objects.get(public_id=body["id"])
    assert donation.petition_slug == "kinderschutz-jetzt"
    assert (donation.utm_source, donation.utm_medium, donation.utm_campaign) == (
        "newsletter",
        "email",
        "dezember",
    )
    assert (donation.utm_term, donation.utm_content) == ("spende", "button-oben")
    assert donation.referrer == "https://blog.example.org/artikel/42"
    assert donation.signature_ref == ""


def test_it_drops_a_referrer_that_is_not_a_web_address(api_client, campaign, localstripe):
    body = donation_start(api_client, campaign.slug, referrer="javascript:alert(1)")
    assert Donation.objects.get(public_id=body["id"]).referrer == ""


def test_a_signed_reference_links_the_donation_to_the_signing(api_client, campaign, localstripe):
    reference = signing_reference_make(signature_id=4711, petition_slug="kinderschutz-jetzt")

    body = donation_start(api_client, campaign.slug, signing_ref=reference)

    donation = Donation.objects.get(public_id=body["id"])
    assert (donation.signature_ref, donation.petition_slug) == ("4711", "kinderschutz-jetzt")


def test_a_reference_for_another_petition_is_left_out(api_client, campaign, localstripe):
    reference = signing_reference_make(signature_id=4711, petition_slug="kinderschutz-jetzt")

    body = donation_start(api_client, campaign.slug, petition="andere-petition", signing_ref=reference)

    donation = Donation.objects.get(public_id=body["id"])
    assert (donation.signature_ref, donation.petition_slug) == ("", "andere-petition")


@pytest.mark.parametrize(
    "reference",
    [
        "4711",  # not signed at all
        signing.dumps({"s": "4711", "p": "x"}, salt="another-purpose"),  # signed for something else
        signing_reference_make(signature_id=4711, petition_slug="x")[:-2] + "zz",  # altered
    ],
)
def test_a_forged_reference_is_a_400_naming_the_field(api_client, campaign, reference):
    response = api_client.post(
        "/api/v1/donations/", donation_payload(campaign.slug, signing_ref=reference), format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {"signing_ref": ["Dieser Link ist ungültig."]}
    assert Donation.objects.count() == 0


def test_an_expired_reference_reads_as_none(monkeypatch):
    reference = signing_reference_make(signature_id=1, petition_slug="p")
    assert signing_reference_read(reference) is not None
    monkeypatch.setattr("campaign.attribution.MAX_AGE_SECONDS", -1)
    assert signing_reference_read(reference) is None
    assert signing.loads(reference, salt=SALT)["s"] == "1"


def test_the_confirmation_page_carries_the_reference_to_its_signing(client, campaign):
    signature = SignatureFactory(petition=PetitionFactory(campaign=campaign))
    token = signature_token_mint(signature_id=signature.pk, purpose=SignatureToken.Purpose.CONFIRM)

    page = client.get(f"/signatures/confirm/?token={token}").content.decode()

    link = re.search(r'id="donate-link" href="([^"]+)"', page)
    assert link is not None
    query = parse_qs(urlsplit(html.unescape(link.group(1))).query)
    assert query["petition"] == [signature.petition.slug]
    reference = signing_reference_read(query["signing_ref"][0])
    assert reference is not None
    assert (reference.signature_id, reference.petition_slug) == (str(signature.pk), signature.petition.slug)
    assert f'"data-signing-ref", "{escapejs(query["signing_ref"][0])}"' in page
    # The withdrawal page offers no donation and so carries no reference.
    withdraw = signature_token_mint(signature_id=signature.pk, purpose=SignatureToken.Purpose.WITHDRAW)
    assert "signing_ref" not in client.get(f"/signatures/withdraw/?token={withdraw}").content.decode()


def test_the_staff_export_lists_the_attribution(api_client, staff_client, campaign, localstripe):
    reference = signing_reference_make(signature_id=99, petition_slug="kinderschutz-jetzt")
    donation_start(
        api_client,
        campaign.slug,
        utm_term="t",
        utm_content="c",
        referrer="https://x.example/a?b",
        signing_ref=reference,
    )

    response = staff_client.get("/api/v1/staff/donations/export.csv")

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 1
    row: dict[str, Any] = rows[0]
    assert (row["petition"], row["signature_ref"]) == ("kinderschutz-jetzt", "99")
    assert (row["utm_term"], row["utm_content"], row["referrer"]) == ("t", "c", "https://x.example/a")


def test_the_staff_summary_counts_gifts_by_petition_and_after_a_signing(
    api_client, staff_client, campaign, localstripe
):
    from tests.donations.helpers import donation_complete

    reference = signing_reference_make(signature_id=7, petition_slug="kinderschutz-jetzt")
    for overrides in ({"signing_ref": reference}, {"petition": "andere"}, {}):
        body = donation_start(api_client, campaign.slug, amount=2000, **overrides)
        localstripe.save_card(body["client_secret"])
        assert donation_complete(api_client, body["id"]).json()["status"] == "succeeded"

    summary = staff_client.get(f"/api/v1/staff/donations/summary/?campaign={campaign.slug}").json()

    assert summary["by_petition"] == [
        {"petition": "", "amount": 2000, "count": 1},
        {"petition": "andere", "amount": 2000, "count": 1},
        {"petition": "kinderschutz-jetzt", "amount": 2000, "count": 1},
    ]
    assert summary["after_signing"] == {"amount": 2000, "count": 1}
