"""Officials' address status: deliveries go only to verified addresses; staff verify by a
mail whose link the office confirms, or by recording a manual check."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from campaign.emails import email_render
from campaign.models import OutgoingEmail
from officials.deliveries import deliveries_release, delivery_resend
from officials.models import Delivery, Official
from officials.recipients import delivery_plan_recipient_counts
from officials.verification import (
    VERIFICATION_EMAIL_KIND,
    official_address_mark_verified,
    official_address_verification_send,
)
from petitions.counting import petition_counts_update
from tests.conftest import staff_login


@pytest.fixture
def admin_browser(db, django_user_model) -> Client:
    user = django_user_model.objects.create_superuser(
        username="admin", email="admin@example.org", password="pw"
    )
    client = Client()
    staff_login(client, user)
    return client


def _link(email: OutgoingEmail) -> str:
    match = re.search(r"/officials/verify-address/\?token=[\w-]+", email.context["link"])
    assert match is not None
    return match.group(0)


def test_no_delivery_goes_to_an_unverified_address(
    regions, petition, sign, make_official, make_plan, make_milestone
):
    verified = make_official(constituency=regions[75])
    guessed = make_official(constituency=regions[76], address_status=Official.AddressStatus.UNVERIFIED)
    plan = make_plan(petition, [verified, guessed], milestones=[1])
    make_milestone(petition, 1)
    sign(petition)

    petition_counts_update()

    assert list(Delivery.objects.values_list("official_id", flat=True)) == [verified.pk]
    assert set(OutgoingEmail.objects.values_list("to_email", flat=True)) == {verified.email}
    # The plan says how many of its recipients are still unverified.
    assert delivery_plan_recipient_counts(plan=plan) == {"verified": 1, "unverified": 1}


def test_the_plan_admin_shows_the_unverified_recipients(
    admin_browser, regions, petition, make_official, make_plan
):
    plan = make_plan(
        petition,
        [make_official(), make_official(address_status=Official.AddressStatus.UNVERIFIED)],
    )

    page = admin_browser.get(f"/admin/officials/deliveryplan/{plan.pk}/change/").content.decode()

    assert "1 verified, 1 unverified (not mailed)" in page


def test_a_waiting_delivery_whose_address_became_unverified_is_canceled(
    regions, petition, sign, make_official, make_plan, make_milestone
):
    official = make_official(constituency=regions[75])
    make_plan(petition, [official], milestones=[1], hourly_cap=1)
    make_plan(petition, [make_official()], name="B", milestones=[1], hourly_cap=1)
    make_milestone(petition, 1)
    sign(petition)
    petition_counts_update()  # one delivery released, the other waits for the cap
    waiting = Delivery.objects.get(status=Delivery.Status.SCHEDULED)
    Official.objects.filter(pk=waiting.official_id).update(address_status=Official.AddressStatus.UNVERIFIED)

    deliveries_release()

    waiting.refresh_from_db()
    assert waiting.status == Delivery.Status.CANCELED
    # Nor can staff resend to it.
    Delivery.objects.filter(pk=waiting.pk).update(status=Delivery.Status.FAILED)
    assert delivery_resend(delivery_id=waiting.pk) is False


def test_the_office_verifies_its_address_by_confirming_the_mailed_link(
    db, make_official, django_capture_on_commit_callbacks
):
    official = make_official(address_status=Official.AddressStatus.UNVERIFIED)
    with django_capture_on_commit_callbacks():
        email = official_address_verification_send(official_id=official.pk, staff_name="staff")
    official.refresh_from_db()
    assert (email.kind, email.to_email, official.address_status) == (
        VERIFICATION_EMAIL_KIND,
        official.email,
        "pending",
    )
    link = _link(email)
    message = email_render(email)
    assert message.subject.startswith("Bitte bestätigen Sie Ihre Adresse")
    assert link in message.body
    assert f"{official.salutation}," in message.body
    client = Client()

    # Opening the link (as a mail scanner would) verifies nothing: it asks to confirm.
    page = client.get(link)
    assert page.status_code == 200
    assert 'id="confirm"' in page.content.decode()
    official.refresh_from_db()
    assert official.address_status == "pending"

    token = link.split("token=")[1]
    done = client.post("/officials/verify-address/", {"token": token})
    assert 'data-result="verified"' in done.content.decode()
    official.refresh_from_db()
    assert (official.address_status, official.address_verification_method) == ("verified", "mail")
    assert official.address_verified_at is not None
    # The link works once.
    again = client.post("/officials/verify-address/", {"token": token})
    assert 'data-result="invalid"' in again.content.decode()


def test_a_wrong_token_verifies_nothing(db, make_official):
    official = make_official(address_status=Official.AddressStatus.UNVERIFIED)
    official_address_verification_send(official_id=official.pk, staff_name="staff")

    page = Client().post("/officials/verify-address/", {"token": "not-the-token"})

    assert 'data-result="invalid"' in page.content.decode()
    official.refresh_from_db()
    assert official.address_status == "pending"


def test_staff_record_a_manual_check_and_a_changed_address_is_unverified_again(admin_browser, make_official):
    official = make_official(address_status=Official.AddressStatus.UNVERIFIED, language="de")
    form = {
        "name": official.name,
        "salutation": official.salutation,
        "email": official.email,
        "role": official.role,
        "language": "de",
        "active": "on",
        "manual_check": "Telefonisch mit dem Büro bestätigt",
    }

    response = admin_browser.post(f"/admin/officials/official/{official.pk}/change/", form)

    assert response.status_code == 302
    official.refresh_from_db()
    assert (official.address_status, official.address_verification_method) == ("verified", "manual")
    assert official.address_verified_by == "admin"
    assert "Telefonisch" in official.address_verification_note

    admin_browser.post(
        f"/admin/officials/official/{official.pk}/change/",
        {**form, "manual_check": "", "email": "neu@bundestag.example.org"},
    )
    official.refresh_from_db()
    assert (official.email, official.address_status) == ("neu@bundestag.example.org", "unverified")


def test_a_manual_check_needs_a_note(db, make_official):
    from campaign.exceptions import ApplicationError

    official = make_official(address_status=Official.AddressStatus.UNVERIFIED)

    with pytest.raises(ApplicationError):
        official_address_mark_verified(official_id=official.pk, staff_name="staff", note="  ")


def test_the_admin_action_sends_verification_mails_to_unverified_addresses(admin_browser, make_official):
    unverified = make_official(address_status=Official.AddressStatus.UNVERIFIED)
    verified = make_official()

    admin_browser.post(
        "/admin/officials/official/",
        {"action": "send_verification_mails", "_selected_action": [unverified.pk, verified.pk]},
    )

    assert list(
        OutgoingEmail.objects.filter(kind=VERIFICATION_EMAIL_KIND).values_list("to_email", flat=True)
    ) == [unverified.email]
