"""Every donations mail renders in German and English with the imprint, and says what it must."""

from __future__ import annotations

import pytest

from campaign.emails import email_render
from campaign.models import OutgoingEmail

pytestmark = pytest.mark.django_db

CONTEXTS = {
    "donation_thanks": {
        "first_name": "Zoë & Jürgen",
        "amount": "25,00 €",
        "interval": "once",
        "method": "card",
        "is_sepa": False,
        "creditor_id": "DE98ZZZ09999999999",
        "first_debit_date": "2026-12-01",
        "wants_receipt": True,
    },
    "donation_charge_failed": {
        "first_name": "Erika",
        "amount": "15,00 €",
        "period": "2026-12",
        "mandate_reference": "SPENDE-1",
        "retry_on": "2026-12-04",
    },
    "mandate_paused": {
        "first_name": "Erika",
        "amount": "15,00 €",
        "period": "2026-12",
        "mandate_reference": "SPENDE-1",
    },
    "mandate_canceled": {"first_name": "Erika", "amount": "15,00 €", "mandate_reference": "SPENDE-1"},
    "donation_receipt_voided": {"first_name": "Erika", "receipt_id": 0, "receipt_number": "2026-000007"},
    "donor_manage_link": {"first_name": "Erika", "email_normalized": "erika@example.org"},
    "donor_address_changed": {
        "first_name": "Erika",
        "street": "Neue Straße 2",
        "postcode": "20095",
        "city": "Hamburg",
        "country": "DE",
    },
    "mandate_changed": {
        "first_name": "Erika",
        "mandate_reference": "SPENDE-1",
        "amount": "20,00 €",
        "day_of_month": 15,
        "next_debit_date": "2026-12-15",
        "is_sepa": True,
        "creditor_id": "DE98ZZZ09999999999",
        "by_staff": False,
    },
    "mandate_payment_method_changed": {
        "first_name": "Erika",
        "mandate_reference": "NEUES-MANDAT-1",
        "amount": "15,00 €",
        "next_debit_date": "2027-03-03",
        "is_sepa": True,
        "creditor_id": "DE98ZZZ09999999999",
    },
    "mandate_pause_changed": {
        "first_name": "Erika",
        "mandate_reference": "SPENDE-1",
        "amount": "15,00 €",
        "date": "2027-03-01",
        "resumed": False,
        "is_sepa": True,
        "creditor_id": "DE98ZZZ09999999999",
    },
}
EXPECTED = {
    "donation_thanks": ("Vielen Dank", "Thank you"),
    "donation_charge_failed": ("2026-12-04", "2026-12-04"),
    "mandate_paused": ("pausiert", "paused"),
    "mandate_canceled": ("beendet", "stopped"),
    "donation_receipt_voided": ("2026-000007", "2026-000007"),
    "donor_manage_link": ("/donations/manage/?token=", "/donations/manage/?token="),
    "donor_address_changed": ("20095 Hamburg", "20095 Hamburg"),
    "mandate_changed": ("Vorabankündigung", "pre-notification"),
    "mandate_pause_changed": ("2027-03-01", "2027-03-01"),
    "mandate_payment_method_changed": ("NEUES-MANDAT-1", "NEUES-MANDAT-1"),
}


@pytest.mark.parametrize("kind", sorted(CONTEXTS))
@pytest.mark.parametrize("locale", ["de", "en"])
def test_it_renders_each_mail_in_both_languages(kind, locale, settings):
    email = OutgoingEmail.objects.create(
        kind=kind, to_email="donor@example.org", locale=locale, context=CONTEXTS[kind]
    )

    message = email_render(email)

    expected = EXPECTED[kind][0 if locale == "de" else 1]
    assert expected in message.subject or expected in message.body
    assert settings.ORGANISATION["name"] in message.body  # the imprint
    assert "{{" not in message.body and "{%" not in message.body
    if kind == "donation_thanks":
        # Text mail: a name is not HTML-escaped.
        assert "Zoë & Jürgen" in message.body


def test_the_thank_you_has_an_html_part_that_escapes_names():
    context = {
        **CONTEXTS["donation_thanks"],
        "first_name": "<b>Zoë</b>",
        "is_sepa": True,
        "interval": "month",
        "mandate_id": None,
        "mandate_reference": "REF123",
        "monthly_day": 5,
        "next_charge_on": "2027-01-05",
    }
    email = OutgoingEmail.objects.create(
        kind="donation_thanks", to_email="d@example.org", locale="de", context=context
    )

    message = email_render(email)

    (html, mimetype) = message.alternatives[0]
    assert mimetype == "text/html"
    assert "&lt;b&gt;Zoë&lt;/b&gt;" in html and "<b>Zoë</b>" not in html
    assert "REF123" in html and "DE98ZZZ09999999999" in html
