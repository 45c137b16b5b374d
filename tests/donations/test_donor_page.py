"""A donor's own page: the link by mail (always 202, no enumeration, throttled), a single-use
token that expires and opens a short session by a POST (a GET changes nothing), the list of
the donor's monthly gifts, gifts and receipts, stopping a monthly gift, asking for a receipt
and downloading one; nobody sees another donor's data."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from campaign.emails import email_render
from campaign.models import OutgoingEmail
from donations.models import Donation, Donor, DonorAccessToken, Mandate, Receipt

pytestmark = pytest.mark.django_db

LINK = "/api/v1/donations/manage-link/"


def donor_with_gifts(campaign: Any, email: str = "erika@example.org") -> tuple[Donation, Mandate]:
    donor = Donor.objects.create(
        email=email,
        email_normalized=email.lower(),
        first_name="Erika",
        last_name="Mustermann",
        street="Musterstraße 1",
        postcode="10115",
        city="Berlin",
        country="DE",
        locale="de",
    )
    mandate = Mandate.objects.create(
        campaign=campaign,
        donor=donor,
        amount=1500,
        method="sepa_debit",
        status="active",
        reference="SPENDE-OWN",
        stripe_customer_id="cus_1",
        stripe_payment_method_id="pm_1",
    )
    donation = Donation.objects.create(
        campaign=campaign,
        donor=donor,
        amount=4000,
        method="card",
        status="succeeded",
        succeeded_at=timezone.now(),
    )
    return donation, mandate


def mailed_token(client: Any, email: str) -> str:
    assert client.post(LINK, {"email": email}, content_type="application/json").status_code == 202
    mail = OutgoingEmail.objects.filter(kind="donor_manage_link").latest("pk")
    assert "token" not in str(mail.context)  # only minted when the mail is rendered
    body = email_render(mail).body
    match = re.search(r"/donations/manage/\?token=([\w-]+)", body)
    assert match is not None, body
    return match.group(1)


def open_session(client: Any, token: str) -> Any:
    return client.post("/donations/manage/", {"token": token})


def test_it_answers_the_same_for_known_and_unknown_addresses(client, campaign):
    donor_with_gifts(campaign)

    unknown = client.post(LINK, {"email": "nobody@example.org"}, content_type="application/json")
    known = client.post(LINK, {"email": " Erika@Example.org "}, content_type="application/json")

    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json() == {"status": "accepted"}
    assert list(OutgoingEmail.objects.values_list("kind", "to_email")) == [
        ("donor_manage_link", "erika@example.org")
    ]
    bad = client.post(LINK, {"email": "not an address"}, content_type="application/json")
    assert bad.status_code == 400 and "email" in bad.json()["fields"]


def test_it_throttles_link_requests_per_address(client, monkeypatch):
    from campaign.throttles import FailOpenScopedRateThrottle

    monkeypatch.setattr(FailOpenScopedRateThrottle, "THROTTLE_RATES", {"manage_link": "2/hour"})
    ip = f"198.51.100.{random.randint(1, 254)}"
    statuses = [
        client.post(
            LINK, {"email": "a@example.org"}, content_type="application/json", REMOTE_ADDR=ip
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [202, 202, 429]


def test_the_link_opens_a_session_once_and_a_get_changes_nothing(client, campaign):
    donor_with_gifts(campaign)
    token = mailed_token(client, "erika@example.org")

    landing = client.get(f"/donations/manage/?token={token}")
    assert landing.status_code == 200 and b'id="open"' in landing.content
    assert DonorAccessToken.objects.get().used_at is None  # mail scanners only GET
    assert landing["Cache-Control"] == "no-store"
    # Other sites never see the token; the page's own forms keep their Origin (no-referrer makes
    # Chromium send "Origin: null", which the CSRF check refuses).
    assert landing["Referrer-Policy"] == "same-origin"

    opened = open_session(client, token)
    assert opened.status_code == 303 and opened["Location"] == "/donations/manage/"
    cookie = opened.cookies["donor_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/donations/manage/"

    page = client.get("/donations/manage/").content.decode()
    assert "SPENDE-OWN" in page and "15,00" in page and "40,00" in page

    again = open_session(client.__class__(), token)
    assert again.status_code == 400


def test_an_expired_link_and_an_expired_session_open_nothing(client, campaign, settings):
    donor_with_gifts(campaign)
    token = mailed_token(client, "erika@example.org")
    DonorAccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert open_session(client, token).status_code == 400

    token = mailed_token(client, "erika@example.org")
    assert open_session(client, token).status_code == 303
    settings.DONOR_SESSION_MINUTES = -1
    page = client.get("/donations/manage/").content.decode()
    assert "SPENDE-OWN" not in page and "abgelaufen" in page


def test_the_donor_stops_a_monthly_gift_and_asks_for_a_receipt_then_downloads_it(client, campaign):
    donation, mandate = donor_with_gifts(campaign)
    open_session(client, mailed_token(client, "erika@example.org"))

    stopped = client.post("/donations/manage/", {"action": "cancel", "id": str(mandate.public_id)})
    assert stopped.status_code == 200 and "wurde beendet" in stopped.content.decode()
    mandate.refresh_from_db()
    assert mandate.status == "canceled"
    assert OutgoingEmail.objects.filter(kind="mandate_canceled").count() == 1

    asked = client.post("/donations/manage/", {"action": "receipt", "id": str(donation.public_id)})
    assert "ausgestellt" in asked.content.decode()
    receipt = Receipt.objects.get()
    assert receipt.amount == 4000

    pdf = client.get(f"/donations/manage/?receipt={receipt.number}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    tampered = client.post("/donations/manage/", {"action": "cancel", "id": "not-a-uuid"})
    assert tampered.status_code == 200 and "nicht geklappt" in tampered.content.decode()


def test_nobody_sees_or_changes_another_donors_gifts(client, campaign):
    donor_with_gifts(campaign)
    other_donation, other_mandate = donor_with_gifts(campaign, email="max@example.org")
    other_receipt = Receipt.objects.create(
        year=2026,
        sequence=1,
        number="2026-000001",
        kind="simplified",
        donor=other_donation.donor,
        donor_name="Max",
        donor_address="x",
        amount=4000,
        donated_on=datetime(2026, 1, 1, tzinfo=UTC).date(),
        issued_at=timezone.now(),
    )
    open_session(client, mailed_token(client, "erika@example.org"))

    page = client.get("/donations/manage/").content.decode()
    assert str(other_mandate.public_id) not in page and other_receipt.number not in page
    client.post("/donations/manage/", {"action": "cancel", "id": str(other_mandate.public_id)})
    other_mandate.refresh_from_db()
    assert other_mandate.status == "active"
    assert client.get(f"/donations/manage/?receipt={other_receipt.number}").status_code == 404
    # Without a session there is nothing to see.
    stranger = client.__class__().get(f"/donations/manage/?receipt={other_receipt.number}")
    assert stranger["Content-Type"].startswith("text/html") and b"%PDF" not in stranger.content


def test_the_session_forms_need_the_csrf_token_and_the_link_does_not(campaign):
    from django.test import Client

    _, mandate = donor_with_gifts(campaign)
    browser = Client(enforce_csrf_checks=True)
    token = mailed_token(Client(), "erika@example.org")

    assert open_session(browser, token).status_code == 303  # the token is the credential
    page = browser.get("/donations/manage/")
    forged = browser.post("/donations/manage/", {"action": "cancel", "id": str(mandate.public_id)})
    assert forged.status_code == 403
    mandate.refresh_from_db()
    assert mandate.status == "active"

    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert csrf is not None
    done = browser.post(
        "/donations/manage/",
        {"action": "cancel", "id": str(mandate.public_id), "csrfmiddlewaretoken": csrf.group(1)},
    )
    assert done.status_code == 200
    mandate.refresh_from_db()
    assert mandate.status == "canceled"


def test_the_donor_updates_the_address_their_next_receipts_state(client, campaign):
    from donations.collective_receipts import receipt_request

    donation, _ = donor_with_gifts(campaign)
    old = receipt_request(donation_id=donation.pk)
    assert old is not None and "Musterstraße 1" in old.donor_address
    later = Donation.objects.create(
        campaign=campaign,
        donor=donation.donor,
        amount=3000,
        method="card",
        status="succeeded",
        succeeded_at=timezone.now(),
    )
    open_session(client, mailed_token(client, "erika@example.org"))
    fields = {"action": "address", "street": "Neue Allee 5", "postcode": "20095", "city": "Hamburg"}

    assert (
        "nicht geklappt"
        in client.post("/donations/manage/", {**fields, "country": "Deutschland"}).content.decode()
    )
    saved = client.post("/donations/manage/", {**fields, "country": "de"}).content.decode()

    assert "wurde gespeichert" in saved and 'value="Neue Allee 5"' in saved
    # Confirmed by mail, once: the refused change told nobody anything.
    (told,) = OutgoingEmail.objects.filter(kind="donor_address_changed")
    assert told.to_email == "erika@example.org"
    assert "Neue Allee 5" in email_render(told).body
    old.refresh_from_db()
    assert "Musterstraße 1" in old.donor_address  # an issued receipt states what was true then
    new = receipt_request(donation_id=later.pk)
    assert new is not None and new.donor_address == "Neue Allee 5\n20095 Hamburg\nDE"


def test_an_erasure_ends_the_donors_links_and_their_page(client, campaign, localstripe):
    from donations.privacy import donor_erase

    donor_with_gifts(campaign)
    token = mailed_token(client, "erika@example.org")
    open_session(client, mailed_token(client, "erika@example.org"))

    donor_erase("Erika@example.org")

    assert not DonorAccessToken.objects.exists()
    assert open_session(client.__class__(), token).status_code == 400
    assert not OutgoingEmail.objects.filter(kind="donor_manage_link").exclude(to_email="").exists()
    assert "SPENDE-OWN" not in client.get("/donations/manage/").content.decode()
