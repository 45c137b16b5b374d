"""The admin pages of donations, mandates, Stripe events and receipts open for staff."""

from __future__ import annotations

import pytest
from django.utils import timezone

from donations.models import Donation, Donor, Mandate, Receipt, StripeEvent
from tests.conftest import staff_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@example.org", "pw")
    staff_login(client, user)  # a session verified with the second factor
    return client


def test_the_admin_lists_and_shows_every_donations_model(admin_client, campaign):
    donor = Donor.objects.create(email="a@example.org", email_normalized="a@example.org", first_name="A")
    mandate = Mandate.objects.create(
        campaign=campaign,
        donor=donor,
        amount=1000,
        method="card",
        reference="R1",
        stripe_customer_id="cus_1",
        stripe_payment_method_id="pm_1",
    )
    receipt = Receipt.objects.create(
        year=2026,
        sequence=1,
        number="2026-000001",
        kind="single",
        donor=donor,
        donor_name="A",
        donor_address="x",
        amount=1000,
        donated_on=timezone.localdate(),
        issued_at=timezone.now(),
    )
    donation = Donation.objects.create(
        campaign=campaign, donor=donor, amount=1000, method="card", mandate=mandate, receipt=receipt
    )
    event = StripeEvent.objects.create(event_id="evt_1", type="charge.refunded", payload="{}")

    for name, obj in [
        ("donor", donor),
        ("mandate", mandate),
        ("receipt", receipt),
        ("donation", donation),
        ("stripeevent", event),
    ]:
        assert admin_client.get(f"/admin/donations/{name}/").status_code == 200
        assert admin_client.get(f"/admin/donations/{name}/{obj.pk}/change/").status_code == 200


def test_staff_refund_a_gift_from_the_admin_and_stripe_confirms_it(
    admin_client, api_client, client, campaign, localstripe, webhook_secret
):
    from tests.donations.helpers import RECEIPT_ADDRESS, donation_complete, donation_start
    from tests.donations.test_webhooks import charge_object, deliver

    body = donation_start(api_client, campaign.slug, amount=40000, **RECEIPT_ADDRESS)
    localstripe.save_card(body["client_secret"])
    donation_complete(api_client, body["id"])
    donation = Donation.objects.get(public_id=body["id"])

    response = admin_client.post(
        "/admin/donations/donation/", {"action": "refund", "_selected_action": [donation.pk]}
    )

    assert response.status_code == 302
    charge = charge_object(localstripe, donation.stripe_charge_id)
    assert charge["amount_refunded"] == 40000
    deliver(client, webhook_secret, "charge.refunded", charge)
    donation.refresh_from_db()
    assert donation.status == "refunded"
    assert donation.receipt.status == Receipt.Status.VOID


def test_staff_download_a_receipt_and_send_it_again(admin_client, campaign):
    from campaign.models import OutgoingEmail

    donor = Donor.objects.create(email="r@example.org", email_normalized="r@example.org", first_name="R")
    receipt = Receipt.objects.create(
        year=2026,
        sequence=9,
        number="2026-000009",
        kind="single",
        donor=donor,
        donor_name="R",
        donor_address="x",
        amount=50000,
        donated_on=timezone.localdate(),
        issued_at=timezone.now(),
    )

    pdf = admin_client.get(f"/admin/donations/receipt/{receipt.pk}/pdf/")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")

    response = admin_client.post(
        "/admin/donations/receipt/", {"action": "send_again", "_selected_action": [receipt.pk]}
    )
    assert response.status_code == 302
    assert OutgoingEmail.objects.filter(kind="donation_receipt", to_email="r@example.org").count() == 1


def test_the_pdf_is_for_staff_only(client, campaign):
    assert client.get("/admin/donations/receipt/1/pdf/").status_code == 302  # to the login page


def test_the_annual_receipts_command_reports_what_it_issued(campaign):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("donations_annual_receipts", "--year", "2025", stdout=out)
    assert "0 collective receipt(s) issued for 2025." in out.getvalue()
