"""Erasure by e-mail address (issue: privacy duties): a person who signed two petitions, gave
once with a receipt and monthly with a card, got mails, and appears in a Stripe event is erased
through the staff API. Afterwards no text column of any table holds the address or the name,
the Stripe customers are gone, the monthly gift is cancelled, and every count agrees."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from campaign.models import ErasureReceipt, OutgoingEmail, SuppressedAddress
from campaign.outbox.sending import outgoing_email_send
from campaign.permissions import ROLES
from campaign.privacy.hashing import address_hash
from campaign.privacy.sealing import unseal
from donations.models import Donation, Mandate, Receipt, StripeEvent
from officials.models import RegionTotal
from officials.regions import region_totals_recount
from petitions.confirmation import signature_confirm
from petitions.counting import petition_counts_recount, petition_counts_update
from petitions.models import Milestone, Petition, Signature
from tests.conftest import staff_api_client, staff_login, staff_user_create
from tests.donations.helpers import RECEIPT_ADDRESS, donation_complete, donation_start
from tests.fixtures.petitions import PetitionFactory, mail_link_token, sign_payload

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "Zora.Quellenberg@Example.org"
FIRST, LAST = "Zoraide", "Quellenberg"
NEEDLES = [EMAIL.lower(), FIRST, LAST]
TEXT_TYPES = {"CharField", "TextField", "JSONField", "SlugField", "EmailField", "GenericIPAddressField"}


def text_columns_holding(needles: list[str]) -> list[tuple[str, str, str]]:
    """Every (table, column, needle) where a text or JSON column holds a needle, found by
    introspecting every table of the database."""
    hits = []
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        for table in tables:
            for column in connection.introspection.get_table_description(cursor, table):
                try:
                    kind = connection.introspection.get_field_type(column.type_code, column)
                except KeyError:
                    continue
                if kind not in TEXT_TYPES:
                    continue
                name = connection.ops.quote_name(column.name)
                for needle in needles:
                    cursor.execute(
                        f"SELECT count(*) FROM {connection.ops.quote_name(table)} "  # noqa: S608 - names from introspection
                        f"WHERE {name}::text ILIKE %s",
                        [f"%{needle}%"],
                    )
                    if cursor.fetchone()[0]:
                        hits.append((table, column.name, needle))
    return hits


@pytest.fixture
def privacy_officer(django_user_model: Any) -> Any:
    return staff_user_create(django_user_model, "dpo", "privacy officer")


def _sign_and_confirm(
    api_client: Any, smtp_server: Any, petition: Petition, email: str, first: str, last: str
) -> None:
    response = api_client.post(
        f"/api/v1/petitions/{petition.slug}/signatures/",
        sign_payload(email=email, first_name=first, last_name=last, updates_consent=True),
        format="json",
    )
    assert response.status_code == 202, response.content
    for row in OutgoingEmail.objects.filter(status=OutgoingEmail.Status.QUEUED):
        outgoing_email_send(outgoing_email_id=row.pk)
    message = smtp_server.wait_for(email.lower())[-1]
    signature_confirm(token=mail_link_token(message, "confirm"))


def _counts() -> dict[str, Any]:
    return {
        "petitions": dict(Petition.objects.values_list("slug", "signature_count")),
        "regions": sorted(RegionTotal.objects.values_list("petition_id", "bucket", "count")),
        "milestones": sorted(Milestone.objects.values_list("pk", "reached_at")),
        "counted": Signature.objects.filter(counted=True).count(),
    }


def test_an_erasure_leaves_no_trace_of_the_person_and_every_count_unchanged(
    api_client, smtp_server, localstripe, campaign, petitions_isolation, privacy_officer, regions
):
    first, second = PetitionFactory(campaign=campaign), PetitionFactory(campaign=campaign)
    Milestone.objects.create(petition=first, target=1)
    _sign_and_confirm(api_client, smtp_server, first, EMAIL, FIRST, LAST)
    _sign_and_confirm(api_client, smtp_server, second, EMAIL.lower(), FIRST, LAST)
    _sign_and_confirm(api_client, smtp_server, first, "someone.else@example.org", "Bystander", "Person")
    # One more signing mail that is still waiting to be sent.
    api_client.post(
        f"/api/v1/petitions/{first.slug}/signatures/",
        sign_payload(email=EMAIL, first_name=FIRST, last_name=LAST),
        format="json",
    )

    gift = donation_start(
        api_client, campaign.slug, email=EMAIL, first_name=FIRST, last_name=LAST, **RECEIPT_ADDRESS
    )
    localstripe.save_card(gift["client_secret"])
    assert donation_complete(api_client, gift["id"]).status_code == 200
    monthly = donation_start(
        api_client, campaign.slug, email=EMAIL, first_name=FIRST, last_name=LAST, interval="month"
    )
    localstripe.save_card(monthly["client_secret"])
    assert donation_complete(api_client, monthly["id"]).status_code == 200
    donation = Donation.objects.get(public_id=gift["id"])
    StripeEvent.objects.create(
        event_id="evt_erasure_1",
        type="payment_intent.succeeded",
        payload=json.dumps(
            {
                "data": {
                    "object": {"id": donation.stripe_payment_intent_id, "receipt_email": EMAIL, "name": LAST}
                }
            }
        ),
    )
    petition_counts_update()
    mandate = Mandate.objects.get(donor__donations__public_id=monthly["id"])
    assert mandate.status == Mandate.Status.ACTIVE
    assert Receipt.objects.filter(donations=donation).exists()
    customers = {donation.stripe_customer_id, mandate.stripe_customer_id}
    before = _counts()
    assert before["counted"] == 3 and Milestone.objects.get(petition=first).reached_at
    # The scan finds the person everywhere before (the search works).
    tables = {table for table, _, _ in text_columns_holding(NEEDLES)}
    assert {"petitions_signature", "donations_donor", "donations_receipt", "campaign_outgoingemail"} <= tables

    client = staff_api_client(privacy_officer)
    response = client.post("/api/v1/staff/privacy/erasures/", {"email": EMAIL}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["erased"]["petitions"]["signatures_anonymised"] == 2
    assert body["erased"]["donations"]["stripe_customers_deleted"] == 2
    assert body["erased"]["donations"]["mandates_canceled"] == 1
    assert {k["why"].split(":")[0] for k in body["kept"] if k["area"] == "donations"} == {
        "§147 AO",
        "§50 EStDV with §147 AO",
    }
    assert text_columns_holding(NEEDLES) == []
    # What tax law keeps is sealed, not gone: readable for that duty only.
    receipt = Receipt.objects.get(donations=donation)
    assert receipt.processing_restricted_at and LAST in unseal(receipt.donor_name)
    for customer_id in customers:
        assert localstripe.request("GET", f"/v1/customers/{customer_id}")["status_code"] == 404
    mandate.refresh_from_db()
    assert mandate.status == Mandate.Status.CANCELED
    # Counts, per-region totals and milestones are unchanged, and a recount agrees.
    assert _counts() == before
    assert petition_counts_recount() == {}
    assert region_totals_recount()["corrected"] == 0
    assert _counts() == before
    # The bystander is untouched; the receipt holds a keyed hash, not the address.
    assert Signature.objects.filter(email="someone.else@example.org", first_name="Bystander").count() == 1
    stored = ErasureReceipt.objects.get(pk=body["id"])
    assert stored.email_hash == address_hash(EMAIL) and EMAIL.lower() not in json.dumps(body).lower()
    assert SuppressedAddress.objects.filter(email_hash=address_hash(EMAIL)).exists()


def test_an_erasure_runs_again_without_error_and_erases_nothing_more(campaign, capsys):
    call_command("privacy_erase", "nobody-known@example.org")
    call_command("privacy_erase", "nobody-known@example.org")
    receipts = ErasureReceipt.objects.filter(origin=ErasureReceipt.Origin.COMMAND)
    assert receipts.count() == 2
    assert receipts.first().erased["petitions"] == {"signatures_anonymised": 0}
    assert "nobody-known" not in capsys.readouterr().out


def test_only_a_privacy_officer_may_erase(django_user_model, api_client):
    roles = [role for role in ROLES if role != "privacy officer"]
    other_staff = staff_api_client(staff_user_create(django_user_model, "not-dpo", *roles))
    assert (
        other_staff.post("/api/v1/staff/privacy/erasures/", {"email": EMAIL}, format="json").status_code
        == 403
    )
    assert api_client.post(
        "/api/v1/staff/privacy/erasures/", {"email": EMAIL}, format="json"
    ).status_code in (401, 403)


def test_a_bad_address_is_a_400_naming_the_field(privacy_officer):
    response = staff_api_client(privacy_officer).post(
        "/api/v1/staff/privacy/erasures/", {"email": "not an address"}, format="json"
    )
    assert response.status_code == 400
    assert "email" in json.dumps(response.json())


def test_the_admin_lists_the_privacy_records_without_addresses(client, privacy_officer):
    staff_login(client, privacy_officer)
    call_command("privacy_erase", "listed@example.org")
    for path in ("erasurereceipt", "suppressedaddress", "privacyrequest"):
        page = client.get(f"/admin/campaign/{path}/")
        assert page.status_code == 200 and b"listed@example.org" not in page.content
