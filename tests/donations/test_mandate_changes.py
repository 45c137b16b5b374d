"""Changing a monthly gift's amount or day: by the donor on their page or by staff in the
admin; the donor is told, and a SEPA donor gets the pre-notification with the date of the
first debit at the new amount before that debit is created."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from campaign.emails import email_render
from campaign.models import OutgoingEmail
from donations.amounts import period_of
from donations.models import Donation, Mandate
from tests.donations.test_donor_page import mailed_token, open_session
from tests.donations.test_mandates import charge_due, monthly_mandate

pytestmark = pytest.mark.django_db


def change(client: Any, mandate: Mandate, **fields: str) -> str:
    response = client.post("/donations/manage/", {"action": "change", "id": str(mandate.public_id), **fields})
    assert response.status_code == 200
    return response.content.decode()


def test_a_sepa_amount_change_is_pre_notified_before_the_next_debit(
    client, api_client, campaign, localstripe
):
    mandate = monthly_mandate(api_client, campaign, localstripe, method="sepa_debit")
    today = timezone.localdate()
    # The next monthly debit is due today: the new amount may not be debited without notice.
    Mandate.objects.filter(pk=mandate.pk).update(next_period=period_of(today), next_charge_on=today)
    Donation.objects.filter(mandate=mandate).update(period="2000-01")
    open_session(client, mailed_token(client, "erika@example.org"))

    page = change(client, mandate, amount="20,00")

    assert "wurde geändert" in page
    mandate.refresh_from_db()
    first_new_debit = today + timedelta(days=2)  # SEPA_PRENOTIFICATION_DAYS
    assert (mandate.amount, mandate.next_charge_on) == (2000, first_new_debit)
    notice = OutgoingEmail.objects.get(kind="mandate_changed")
    assert notice.context["next_debit_date"] == first_new_debit.isoformat()
    text = email_render(notice).body
    assert "Vorabankündigung" in text and "20,00 €" in text and first_new_debit.isoformat() in text
    assert mandate.reference in text

    assert charge_due(today) == []  # not before the announced date
    assert charge_due(first_new_debit) == ["charged"]
    debit = Donation.objects.filter(mandate=mandate).latest("created_at")
    assert debit.amount == 2000
    assert notice.created_at < debit.created_at
    intent = localstripe.request("GET", f"/v1/payment_intents/{debit.stripe_payment_intent_id}")
    assert intent["amount"] == 2000


def test_a_day_change_moves_the_next_debit_and_bad_values_change_nothing(
    client, api_client, campaign, localstripe
):
    mandate = monthly_mandate(api_client, campaign, localstripe, method="card")
    open_session(client, mailed_token(client, "erika@example.org"))
    before = mandate.next_charge_on
    assert before is not None

    assert "nicht geklappt" in change(client, mandate, amount="0,50")
    assert "nicht geklappt" in change(client, mandate, day_of_month="31")
    assert "nicht geklappt" in change(client, mandate, amount="zwanzig")
    mandate.refresh_from_db()
    assert (mandate.amount, mandate.next_charge_on) == (1500, before)
    assert not OutgoingEmail.objects.filter(kind="mandate_changed").exists()

    change(client, mandate, day_of_month="15")
    mandate.refresh_from_db()
    assert (mandate.day_of_month, mandate.next_charge_on) == (15, before.replace(day=15))
    assert OutgoingEmail.objects.get(kind="mandate_changed").context["is_sepa"] is False


def test_a_staff_change_in_the_admin_tells_the_donor(
    client, django_user_model, api_client, campaign, localstripe
):
    from django.contrib.admin.models import LogEntry

    from tests.conftest import staff_login

    staff_login(client, django_user_model.objects.create_superuser("admin", "admin@example.org", "pw"))
    admin_client = client

    mandate = monthly_mandate(api_client, campaign, localstripe, method="sepa_debit")
    url = f"/admin/donations/mandate/{mandate.pk}/change/"
    form = admin_client.get(url).context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields if form.initial.get(name) is not None}
    data.update(amount="3000", donor=str(mandate.donor_id), campaign=str(mandate.campaign_id))
    if "next_charge_on" in data:
        data["next_charge_on"] = data["next_charge_on"].isoformat()

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.content[:2000]
    mandate.refresh_from_db()
    assert mandate.amount == 3000
    notice = OutgoingEmail.objects.get(kind="mandate_changed")
    assert notice.context["by_staff"] is True
    assert "auf Ihren Wunsch" in email_render(notice).body
    assert LogEntry.objects.filter(object_id=str(mandate.pk)).exists()


def test_a_donor_pauses_for_two_months_and_the_schedule_resumes_by_itself(
    client, api_client, campaign, localstripe
):
    from donations.amounts import month_add
    from donations.mandate_changes import mandates_pause_end

    mandate = monthly_mandate(api_client, campaign, localstripe, method="card")
    open_session(client, mailed_token(client, "erika@example.org"))
    today = timezone.localdate()

    assert "nicht geklappt" in change_action(client, mandate, "pause", months="7")  # six at most
    assert "ist pausiert" in change_action(client, mandate, "pause", months="2")

    mandate.refresh_from_db()
    until = month_add(today, 2, day_of_month=mandate.day_of_month)
    assert (mandate.status, mandate.paused_until, mandate.next_charge_on) == ("paused", until, None)
    assert OutgoingEmail.objects.get(kind="mandate_pause_changed").context["date"] == until.isoformat()
    assert charge_due(month_add(today, 1, day_of_month=mandate.day_of_month)) == []  # paused: no debit

    assert mandates_pause_end(today=until - timedelta(days=1)) == 0
    assert mandates_pause_end(today=until) == 1
    mandate.refresh_from_db()
    assert (mandate.status, mandate.next_charge_on) == ("active", until)
    assert charge_due(until) == ["charged"]
    assert OutgoingEmail.objects.filter(kind="mandate_pause_changed").count() == 2  # paused, resumed


def test_a_donor_resumes_a_paused_sepa_gift_early_with_notice(client, api_client, campaign, localstripe):
    mandate = monthly_mandate(api_client, campaign, localstripe, method="sepa_debit")
    open_session(client, mailed_token(client, "erika@example.org"))
    change_action(client, mandate, "pause", months="3")

    assert "läuft wieder" in change_action(client, mandate, "resume")

    mandate.refresh_from_db()
    today = timezone.localdate()
    assert mandate.status == "active" and mandate.paused_until is None
    assert mandate.next_charge_on is not None and mandate.next_charge_on >= today + timedelta(days=2)
    resumed = OutgoingEmail.objects.filter(kind="mandate_pause_changed").latest("pk")
    assert "Vorabankündigung" in email_render(resumed).body
    # A gift paused after failed charges is not the donor's pause: resuming it is refused.
    Mandate.objects.filter(pk=mandate.pk).update(status="paused", paused_until=None)
    assert "nicht geklappt" in change_action(client, mandate, "resume")


def change_action(client: Any, mandate: Mandate, action: str, **fields: str) -> str:
    response = client.post("/donations/manage/", {"action": action, "id": str(mandate.public_id), **fields})
    assert response.status_code == 200
    return response.content.decode()


def setup_secret(client: Any, mandate: Mandate) -> tuple[str, str]:
    page = change_action(client, mandate, "pm_setup")
    import re

    secret = re.search(r'data-client-secret="([^"]+)"', page)
    setup_intent = re.search(r'name="setup_intent" value="([^"]+)"', page)
    assert secret is not None and setup_intent is not None, page
    return secret.group(1), setup_intent.group(1)


def test_a_donor_replaces_the_iban_of_a_gift_paused_after_failed_debits(
    client, api_client, campaign, localstripe
):
    from tests.fixtures.localstripe import IBAN_OK

    mandate = monthly_mandate(api_client, campaign, localstripe, method="sepa_debit")
    Mandate.objects.filter(pk=mandate.pk).update(status="paused", failure_count=3, next_charge_on=None)
    old_payment_method = mandate.stripe_payment_method_id
    open_session(client, mailed_token(client, "erika@example.org"))

    secret, setup_intent = setup_secret(client, mandate)
    localstripe.save_sepa(secret, IBAN_OK)
    page = change_action(client, mandate, "pm_replace", setup_intent=setup_intent)

    assert "neuen Zahlungsdaten sind gespeichert" in page
    mandate.refresh_from_db()
    today = timezone.localdate()
    assert mandate.stripe_payment_method_id not in ("", old_payment_method)
    assert (mandate.status, mandate.failure_count) == ("active", 0)
    assert mandate.next_charge_on == today + timedelta(days=2)  # announced first
    notice = OutgoingEmail.objects.get(kind="mandate_payment_method_changed")
    text = email_render(notice).body
    assert "Vorabankündigung" in text and mandate.reference in text
    assert charge_due(today) == []
    assert charge_due(today + timedelta(days=2)) == ["charged"]
    debit = Donation.objects.filter(mandate=mandate).latest("created_at")
    assert debit.stripe_payment_method_id == mandate.stripe_payment_method_id
    assert notice.created_at < debit.created_at


def test_a_setup_intent_of_another_gift_replaces_nothing(client, api_client, campaign, localstripe):
    mandate = monthly_mandate(api_client, campaign, localstripe, method="card")
    open_session(client, mailed_token(client, "erika@example.org"))
    unsaved_secret, unsaved = setup_secret(client, mandate)
    before = mandate.stripe_payment_method_id

    assert "nicht geklappt" in change_action(client, mandate, "pm_replace", setup_intent=unsaved)  # not saved
    other = localstripe.request("POST", "/v1/setup_intents", customer=mandate.stripe_customer_id)
    localstripe.save_card(other["client_secret"])
    assert "nicht geklappt" in change_action(client, mandate, "pm_replace", setup_intent=other["id"])

    localstripe.save_card(unsaved_secret)
    assert "gespeichert" in change_action(client, mandate, "pm_replace", setup_intent=unsaved)
    mandate.refresh_from_db()
    assert mandate.stripe_payment_method_id != before
