"""Several campaigns side by side: each public one at its own page with its organisation's
imprint, the root at the configured default, and the mails, receipts and reports of a
campaign naming its organisation."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from django.db import transaction
from pypdf import PdfReader

from campaign.emails import email_render
from campaign.models import Campaign, Organisation, OutgoingEmail
from donations.models import Donation, Donor, Mandate, Receipt
from donations.receipts import annual_receipts_issue, receipt_issue_for_donation, receipt_pdf_render
from officials.reports import handover_report_render
from petitions.models import Signature, SignatureToken
from petitions.tokens import signature_token_mint
from tests.conftest import staff_login
from tests.factories import CampaignFactory
from tests.fixtures.petitions import PetitionFactory, sign_payload

pytestmark = pytest.mark.django_db


def organisation(name: str, **extra: str) -> Organisation:
    return Organisation.objects.create(
        name=name,
        address=f"{name}-Straße 1, 20095 Hamburg",
        email=f"kontakt@{name.lower()}.example.org",
        register=f"Amtsgericht Hamburg VR {len(name)}",
        representative=f"Vorstand {name}",
        **extra,
    )


@pytest.fixture
def two_campaigns(petitions_isolation: None) -> tuple[Campaign, Campaign]:
    """Two live campaigns run by two organisations; B, the newer, also receipts its gifts."""
    a = CampaignFactory(
        slug="kinder-schuetzen", title_de="Kinder schützen", organisation=organisation("Alpha")
    )
    b = CampaignFactory(
        slug="netz-sicher",
        title_de="Netz sicher machen",
        organisation=organisation(
            "Beta",
            tax_office="Finanzamt Hamburg-Nord",
            tax_number="17/123/45678",
            exemption_date="2024-06-30",
            exemption_period="2020 bis 2022",
            purpose="Förderung der Bildung",
            signatory="Die Geschäftsführung",
            place="Hamburg",
        ),
    )
    PetitionFactory(campaign=a, slug="petition-alpha")
    PetitionFactory(campaign=b, slug="petition-beta")
    return a, b


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_each_live_campaign_has_its_own_page_with_its_own_imprint(client: Any, two_campaigns: Any) -> None:
    a, b = two_campaigns

    page_a = client.get("/campaigns/kinder-schuetzen/").content.decode()
    page_b = client.get("/campaigns/netz-sicher/?lang=en").content.decode()

    assert "<title>Kinder schützen</title>" in page_a and 'data-petition="petition-alpha"' in page_a
    assert "Alpha-Straße 1, 20095 Hamburg" in page_a and "Vorstand Alpha" in page_a
    assert "Beta" not in page_a and "netz-sicher" not in page_a
    assert 'data-campaign="netz-sicher"' in page_b and 'data-petition="petition-beta"' in page_b
    assert "Imprint" in page_b and "Beta-Straße 1, 20095 Hamburg" in page_b
    assert "kontakt@beta.example.org" in page_b and "Alpha" not in page_b


def test_the_root_serves_the_configured_default_campaign(
    client: Any, two_campaigns: Any, settings: Any
) -> None:
    settings.DEFAULT_CAMPAIGN_SLUG = "kinder-schuetzen"
    assert "<title>Kinder schützen</title>" in client.get("/").content.decode()

    # Unset, or naming no public campaign: the newest live one, as before.
    settings.DEFAULT_CAMPAIGN_SLUG = ""
    assert "<title>Netz sicher machen</title>" in client.get("/").content.decode()
    settings.DEFAULT_CAMPAIGN_SLUG = "gibt-es-nicht"
    assert "<title>Netz sicher machen</title>" in client.get("/").content.decode()


def test_a_draft_campaign_has_no_page(client: Any, two_campaigns: Any, settings: Any) -> None:
    CampaignFactory(slug="entwurf", title_de="Geheimer Entwurf", status=Campaign.Status.DRAFT)
    settings.DEFAULT_CAMPAIGN_SLUG = "entwurf"

    assert client.get("/campaigns/entwurf/").status_code == 404
    assert client.get("/campaigns/unbekannt/").status_code == 404
    # Not even as the configured default.
    assert "Geheimer Entwurf" not in client.get("/").content.decode()


def test_a_campaign_without_an_organisation_carries_the_service_wide_imprint(
    client: Any, petitions_isolation: None, settings: Any
) -> None:
    CampaignFactory(slug="ohne-traeger")

    page = client.get("/campaigns/ohne-traeger/").content.decode()

    assert settings.ORGANISATION["name"] in page and settings.ORGANISATION["address"] in page


def test_the_widget_config_names_the_campaigns_organisation(
    api_client: Any, two_campaigns: Any, settings: Any
) -> None:
    assert api_client.get("/api/v1/widget/config/?campaign=netz-sicher").json()["organisation_name"] == "Beta"
    assert (
        api_client.get("/api/v1/widget/config/").json()["organisation_name"] == settings.ORGANISATION["name"]
    )
    bad = api_client.get("/api/v1/widget/config/?campaign=no%20slug")
    assert bad.status_code == 400 and "campaign" in bad.json()["fields"]
    assert api_client.get("/api/v1/widget/config/?campaign=unbekannt").status_code == 404


def test_the_confirmation_mail_and_page_of_campaign_b_carry_organisation_b(
    api_client: Any, client: Any, two_campaigns: Any, settings: Any
) -> None:
    signed = api_client.post("/api/v1/petitions/petition-beta/signatures/", sign_payload(), format="json")
    assert signed.status_code == 202
    email = OutgoingEmail.objects.get(kind="petitions-signature-confirm")

    message = email_render(email)

    # The sign path's one-statement insert records the campaign, so the imprint is B's.
    assert email.campaign_id == two_campaigns[1].pk
    assert "Beta-Straße 1, 20095 Hamburg" in message.body and "Alpha" not in message.body
    signature = Signature.objects.get()
    token = signature_token_mint(signature_id=signature.pk, purpose=SignatureToken.Purpose.WITHDRAW)
    page = client.get(f"/signatures/withdraw/?token={token}").content.decode()
    assert "Beta-Straße 1, 20095 Hamburg" in page and "Alpha" not in page
    # The confirmation page offers the donation and the sharing on campaign B's own page.
    token = signature_token_mint(signature_id=signature.pk, purpose=SignatureToken.Purpose.CONFIRM)
    page = client.get(f"/signatures/confirm/?token={token}").content.decode()
    assert 'href="/campaigns/netz-sicher/?petition=' in page and "#donate" in page
    shared = quote(f"{settings.PUBLIC_BASE_URL}/campaigns/netz-sicher/", safe="/")
    assert f'href="https://wa.me/?text={shared}"' in page  # the share links


def settled_donation(campaign: Campaign, *, amount: int = 50000, **extra: Any) -> Donation:
    donor = Donor.objects.create(
        email="spender@example.org",
        email_normalized="spender@example.org",
        first_name="Erika",
        last_name="Mustermann",
        street="Musterstraße 1",
        postcode="10115",
        city="Berlin",
        country="DE",
    )
    return Donation.objects.create(
        campaign=campaign,
        donor=donor,
        amount=amount,
        method="card",
        status="succeeded",
        wants_receipt=True,
        **extra,
    )


def test_the_receipt_of_a_gift_to_campaign_b_is_issued_by_organisation_b(
    two_campaigns: Any, settings: Any
) -> None:
    donation = settled_donation(two_campaigns[1])
    with transaction.atomic():
        receipt = receipt_issue_for_donation(Donation.objects.select_related("donor").get(pk=donation.pk))
    assert receipt is not None

    message = email_render(OutgoingEmail.objects.get(kind="donation_receipt"))
    text = pdf_text(message.attachments[0][1])

    assert "Beta · Beta-Straße 1, 20095 Hamburg" in text
    assert "Finanzamt Hamburg-Nord" in text and "17/123/45678" in text and "30.06.2024" in text
    assert "Die Geschäftsführung, Beta" in text
    assert settings.ORGANISATION["name"] not in text and settings.DONATION_RECEIPT["tax_number"] not in text
    assert "Beta-Straße 1, 20095 Hamburg" in message.body  # the mail's imprint


def test_an_organisation_without_a_tax_number_leaves_receipts_to_the_service_wide_one(
    two_campaigns: Any, settings: Any
) -> None:
    donation = settled_donation(two_campaigns[0])
    with transaction.atomic():
        receipt = receipt_issue_for_donation(Donation.objects.select_related("donor").get(pk=donation.pk))
    assert receipt is not None

    text = pdf_text(receipt_pdf_render(receipt))

    # Never one organisation's name with another's tax details.
    assert settings.ORGANISATION["name"] in text and settings.DONATION_RECEIPT["tax_number"] in text
    assert "Alpha" not in text


def test_annual_receipts_are_issued_per_issuing_organisation(two_campaigns: Any) -> None:
    donor = settled_donation(two_campaigns[0]).donor
    Donation.objects.all().delete()
    for campaign, amount in zip(two_campaigns, (1000, 2000), strict=True):
        mandate = Mandate.objects.create(
            campaign=campaign,
            donor=donor,
            amount=amount,
            method="card",
            status="active",
            reference=f"SPENDE-{campaign.slug}",
            stripe_customer_id="cus_1",
            stripe_payment_method_id="pm_1",
            wants_receipt=True,
        )
        Donation.objects.create(
            campaign=campaign,
            donor=donor,
            mandate=mandate,
            period="2025-03",
            amount=amount,
            method="card",
            interval="month",
            status="succeeded",
            succeeded_at=datetime(2025, 3, 5, 12, tzinfo=UTC),
        )

    # One donor, one year, two issuers: two collective receipts, one for each.
    assert annual_receipts_issue(year=2025) == 2
    texts = {r.amount: pdf_text(receipt_pdf_render(r)) for r in Receipt.objects.all()}
    assert "17/123/45678" in texts[2000] and "Beta" in texts[2000]
    assert "17/123/45678" not in texts[1000] and "Beta" not in texts[1000]


def test_the_handover_report_names_the_campaigns_organisation(two_campaigns: Any) -> None:
    from petitions.models import Petition

    text = pdf_text(handover_report_render(petition=Petition.objects.get(slug="petition-beta")))

    assert "Beta" in text and "Alpha" not in text


def test_staff_enter_an_organisation_and_give_it_a_campaign_in_the_admin(
    client: Any, admin_user: Any
) -> None:
    campaign = CampaignFactory(slug="gamma-kampagne")
    staff_login(client, admin_user)

    added = client.post(
        "/admin/campaign/organisation/add/",
        {"name": "Gamma e.V.", "address": "Gammaweg 3, 50667 Köln", "email": "info@gamma.example.org"},
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    gamma = Organisation.objects.get(name="Gamma e.V.")
    Campaign.objects.filter(pk=campaign.pk).update(organisation=gamma)

    assert client.get("/admin/campaign/campaign/").status_code == 200
    assert "Gamma e.V." in client.get(f"/admin/campaign/campaign/{campaign.pk}/change/").content.decode()
    assert "Gammaweg 3, 50667 Köln" in client.get("/campaigns/gamma-kampagne/").content.decode()
