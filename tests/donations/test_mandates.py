"""Monthly gifts: set up on-session, charged off-session by the schedule with a clock the test
moves, bounded retries then a pause, cancelling by the link in the mail."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone

from campaign.emails import email_render
from campaign.models import OutgoingEmail
from donations import stripe_api
from donations.amounts import month_add
from donations.mandates import mandate_charge, mandates_due
from donations.models import Donation, Mandate, MandateCancelToken
from tests.donations.helpers import donation_complete, donation_start

pytestmark = pytest.mark.django_db


def monthly_mandate(api_client: Any, campaign: Any, localstripe: Any, method: str = "card") -> Mandate:
    body = donation_start(api_client, campaign.slug, interval="month", payment_method=method, amount=1500)
    if method == "card":
        localstripe.save_card(body["client_secret"])
    else:
        localstripe.save_sepa(body["client_secret"])
    donation_complete(api_client, body["id"])
    return Donation.objects.get(public_id=body["id"]).mandate


def charge_due(today: date) -> list[str]:
    return [mandate_charge(mandate_id=pk, today=today) for pk in mandates_due(today=today)]


def test_it_charges_a_monthly_mandate_off_session_for_three_months(api_client, campaign, localstripe):
    mandate = monthly_mandate(api_client, campaign, localstripe)
    start = timezone.localdate()
    assert mandate.next_charge_on == month_add(start, 1, day_of_month=mandate.day_of_month)

    results = []
    for months in (1, 2, 3):
        day = month_add(start, months, day_of_month=mandate.day_of_month)
        assert charge_due(day - timedelta(days=1)) == []  # not due yet
        results += charge_due(day)
        results += charge_due(day)  # a second run the same day charges nothing

    assert results == ["charged", "charged", "charged"]
    donations = Donation.objects.filter(mandate=mandate).order_by("pk")
    assert [d.status for d in donations] == ["succeeded"] * 4
    assert len({d.period for d in donations}) == 4
    payment_intents = localstripe.request("GET", "/v1/payment_intents?limit=100")["data"]
    assert len(payment_intents) == 4
    assert all(pi["amount"] == 1500 for pi in payment_intents)
    # Only the first month gets a thank-you; the schedule was announced there.
    assert OutgoingEmail.objects.filter(kind="donation_thanks").count() == 1


def test_it_uses_one_idempotency_key_per_mandate_month_and_attempt(api_client, campaign, localstripe):
    mandate = monthly_mandate(api_client, campaign, localstripe)
    day = mandate.next_charge_on

    with mock.patch.object(
        stripe_api, "payment_intent_create", wraps=stripe_api.payment_intent_create
    ) as spy:
        charge_due(day)

    period = f"{day.year:04d}-{day.month:02d}"
    assert spy.call_args.kwargs["idempotency_key"] == f"mandate-{mandate.pk}-{period}-attempt-1"
    assert spy.call_args.kwargs["off_session"] is True


def test_it_retries_a_failed_month_then_pauses_and_tells_the_donor(
    api_client, campaign, localstripe, settings
):
    settings.MANDATE_MAX_FAILURES = 3
    settings.MANDATE_RETRY_DAYS = 3
    mandate = monthly_mandate(api_client, campaign, localstripe)
    # The card is now declined (a test payment method that fails when charged).
    Mandate.objects.filter(pk=mandate.pk).update(stripe_payment_method_id="pm_card_chargeCustomerFail")
    day = mandate.next_charge_on
    period = f"{day.year:04d}-{day.month:02d}"

    with mock.patch.object(
        stripe_api, "payment_intent_create", wraps=stripe_api.payment_intent_create
    ) as spy:
        assert charge_due(day) == ["failed"]
        mandate.refresh_from_db()
        assert (mandate.failure_count, mandate.next_charge_on) == (1, day + timedelta(days=3))
        assert charge_due(day + timedelta(days=3)) == ["failed"]
        assert charge_due(day + timedelta(days=6)) == ["failed"]

    mandate.refresh_from_db()
    assert mandate.status == Mandate.Status.PAUSED
    assert charge_due(day + timedelta(days=40)) == []  # paused: never charged again
    keys = [call.kwargs["idempotency_key"] for call in spy.call_args_list]
    assert keys == [f"mandate-{mandate.pk}-{period}-attempt-{n}" for n in (1, 2, 3)]
    # One donation for the month, failed; two "we will retry" mails and one "paused".
    assert Donation.objects.filter(mandate=mandate, period=period).get().status == "failed"
    assert OutgoingEmail.objects.filter(kind="donation_charge_failed").count() == 2
    assert OutgoingEmail.objects.filter(kind="mandate_paused").count() == 1


def test_it_recovers_after_a_failed_attempt(api_client, campaign, localstripe):
    mandate = monthly_mandate(api_client, campaign, localstripe)
    good_payment_method = mandate.stripe_payment_method_id
    Mandate.objects.filter(pk=mandate.pk).update(stripe_payment_method_id="pm_card_chargeCustomerFail")
    day = mandate.next_charge_on
    assert charge_due(day) == ["failed"]

    Mandate.objects.filter(pk=mandate.pk).update(stripe_payment_method_id=good_payment_method)
    assert charge_due(day + timedelta(days=3)) == ["charged"]

    mandate.refresh_from_db()
    assert mandate.failure_count == 0
    assert mandate.next_charge_on == month_add(day, 1, day_of_month=mandate.day_of_month)
    assert Donation.objects.filter(mandate=mandate, status="succeeded").count() == 2


def test_it_announces_sepa_debits_in_the_thank_you_mail(api_client, campaign, localstripe, settings):
    mandate = monthly_mandate(api_client, campaign, localstripe, method="sepa_debit")
    email = OutgoingEmail.objects.get(kind="donation_thanks")

    message = email_render(email)

    body = message.body
    assert "Vorabankündigung" in body
    assert mandate.reference in body
    assert settings.SEPA_CREDITOR_ID in body
    assert "15,00 €" in body
    assert mandate.next_charge_on.isoformat() in body
    # The cancel link carries a fresh token; only its hash is stored.
    assert "/donations/cancel/?token=" in body
    token = body.split("/donations/cancel/?token=")[1].split()[0]
    assert not MandateCancelToken.objects.filter(token_hash=token).exists()
    assert MandateCancelToken.objects.filter(mandate=mandate).count() == 1


def cancel_token(mandate: Mandate) -> str:
    from donations.mandates import mandate_cancel_token_mint

    return mandate_cancel_token_mint(mandate_id=mandate.pk)


def test_it_cancels_a_monthly_gift_with_the_token(api_client, campaign, localstripe):
    mandate = monthly_mandate(api_client, campaign, localstripe)
    token = cancel_token(mandate)

    first = api_client.post("/api/v1/donations/cancel/", {"token": token}, format="json")
    again = api_client.post("/api/v1/donations/cancel/", {"token": token}, format="json")

    assert (first.status_code, first.json()) == (200, {"status": "canceled"})
    assert (again.status_code, again.json()) == (200, {"status": "canceled"})
    mandate.refresh_from_db()
    assert mandate.status == Mandate.Status.CANCELED
    assert charge_due(mandate.created_at.date() + timedelta(days=400)) == []
    assert OutgoingEmail.objects.filter(kind="mandate_canceled").count() == 1


@pytest.mark.parametrize("payload", [{"token": "wrong"}, {"token": ""}, {}, {"token": "x", "extra": 1}])
def test_it_rejects_a_bad_cancel_token_naming_the_field(api_client, localstripe, payload):
    response = api_client.post("/api/v1/donations/cancel/", payload, format="json")

    assert response.status_code == 400
    assert set(response.json()["fields"]) & {"token", "extra"}


def test_the_cancel_page_changes_nothing_on_get_and_cancels_on_post(
    client, api_client, campaign, localstripe
):
    mandate = monthly_mandate(api_client, campaign, localstripe)
    token = cancel_token(mandate)

    page = client.get(f"/donations/cancel/?token={token}")
    assert page.status_code == 200
    assert b"/api/v1/donations/cancel/" in page.content  # the script POSTs to the API
    assert b"<form" in page.content  # the button without scripts
    mandate.refresh_from_db()
    assert mandate.status == Mandate.Status.ACTIVE  # a mail scanner's GET changed nothing

    posted = client.post("/donations/cancel/", {"token": token})
    assert posted.status_code == 200
    mandate.refresh_from_db()
    assert mandate.status == Mandate.Status.CANCELED
    assert client.post("/donations/cancel/", {"token": "nope"}).status_code == 400


def test_it_counts_a_monthly_sepa_debit_that_bounces_later(
    api_client, client, campaign, localstripe, webhook_secret
):
    from tests.conftest import wait_until
    from tests.donations.test_webhooks import deliver, pi_object
    from tests.fixtures.localstripe import IBAN_FAILS

    mandate = monthly_mandate(api_client, campaign, localstripe, method="sepa_debit")
    # The account is emptied: the next debit is accepted, then returned by the bank.
    failing = localstripe.request(
        "POST",
        "/v1/payment_methods",
        type="sepa_debit",
        sepa_debit={"iban": IBAN_FAILS},
        billing_details={"name": "Erika Mustermann"},
    )
    Mandate.objects.filter(pk=mandate.pk).update(stripe_payment_method_id=failing["id"])
    day = mandate.next_charge_on
    period = f"{day.year:04d}-{day.month:02d}"

    assert charge_due(day) == ["charged"]
    donation = Donation.objects.get(mandate=mandate, period=period)
    assert donation.status == "processing"
    wait_until(
        lambda: (
            pi_object(localstripe, donation.stripe_payment_intent_id)["status"] == "requires_payment_method"
        ),
        timeout=10,
    )

    deliver(
        client,
        webhook_secret,
        "payment_intent.payment_failed",
        pi_object(localstripe, donation.stripe_payment_intent_id),
    )

    donation.refresh_from_db()
    mandate.refresh_from_db()
    assert donation.status == "failed"
    # The month is charged again after the retry delay, not skipped.
    assert (mandate.failure_count, mandate.next_period) == (1, period)
    assert mandate.next_charge_on == timezone.localdate() + timedelta(days=3)
    assert OutgoingEmail.objects.filter(kind="donation_charge_failed").count() == 1


def test_it_quotes_the_banks_mandate_reference_for_sepa(api_client, campaign, localstripe):
    mandate = monthly_mandate(api_client, campaign, localstripe, method="sepa_debit")

    # The bank's reference (at localstripe from the payment method; real Stripe's comes from the
    # Mandate), not one of ours.
    payment_method = localstripe.request("GET", f"/v1/payment_methods/{mandate.stripe_payment_method_id}")
    assert mandate.reference == payment_method["sepa_debit"]["mandate_reference"]
    assert len(mandate.reference) == 16 and not mandate.reference.startswith("SPENDE-")


def test_the_annual_receipt_job_runs_in_january_for_the_previous_year(campaign):
    from donations.tasks import annual_receipts_issue_task

    with mock.patch("donations.receipts.annual_receipts_issue", return_value=3) as issue:
        assert annual_receipts_issue_task(today="2027-01-10") == 3
        assert annual_receipts_issue_task(today="2027-02-10") == 0
    issue.assert_called_once_with(year=2026)


def test_a_monthly_gift_whose_first_charge_fails_never_starts(api_client, campaign, localstripe):
    from tests.fixtures.localstripe import CARD_DECLINED_ON_CHARGE

    body = donation_start(api_client, campaign.slug, interval="month", amount=1500)
    localstripe.save_card(body["client_secret"], CARD_DECLINED_ON_CHARGE)

    assert donation_complete(api_client, body["id"]).json()["status"] == "failed"

    mandate = Donation.objects.get(public_id=body["id"]).mandate
    assert mandate.status == Mandate.Status.CANCELED
    assert charge_due(timezone.localdate() + timedelta(days=40)) == []
    assert OutgoingEmail.objects.filter(kind="donation_thanks").count() == 0


def test_an_off_session_charge_that_wants_authentication_counts_as_failed(api_client, campaign, localstripe):
    from tests.fixtures.localstripe import CARD_3DS

    body = donation_start(api_client, campaign.slug, interval="month", amount=1500)
    localstripe.save_card(body["client_secret"], CARD_3DS)
    client_secret = donation_complete(api_client, body["id"]).json()["client_secret"]
    localstripe.authenticate(client_secret)
    assert donation_complete(api_client, body["id"]).json()["status"] == "succeeded"
    mandate = Donation.objects.get(public_id=body["id"]).mandate
    assert mandate.status == Mandate.Status.ACTIVE

    # localstripe asks for 3-D Secure on every charge of this card; off-session nobody can.
    assert charge_due(mandate.next_charge_on) == ["failed"]

    mandate.refresh_from_db()
    assert mandate.failure_count == 1
    failed = Donation.objects.filter(mandate=mandate, status="failed").get()
    assert failed.failure_code == "authentication_required"
