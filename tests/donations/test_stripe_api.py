"""Unit tests of the Stripe wrapper: the real-Stripe-only switch, idempotency keys (localstripe
ignores them, so they are asserted here), defensive reads."""

from __future__ import annotations

from unittest import mock

import stripe

from donations import stripe_api

PARAMS = {
    "amount": 2500,
    "currency": "eur",
    "customer_id": "cus_1",
    "payment_method_id": "pm_1",
    "method": "sepa_debit",
    "metadata": {"donation_id": "7"},
    "off_session": True,
    "mandate_id": "mandate_1",
    "description": "Spende",
}


def test_it_adds_real_stripe_only_parameters_only_against_real_stripe(settings):
    settings.STRIPE_API_BASE = None
    real = stripe_api.payment_intent_params(**PARAMS)
    settings.STRIPE_API_BASE = "http://127.0.0.1:8420"
    local = stripe_api.payment_intent_params(**PARAMS)

    assert real["mandate"] == "mandate_1"
    assert real["description"] == "Spende"
    assert "mandate" not in local and "description" not in local
    for params in (real, local):
        assert params["confirm"] is True
        assert params["off_session"] is True
        assert params["payment_method_types"] == ["sepa_debit"]


def test_it_leaves_out_off_session_for_an_on_session_charge(settings):
    params = stripe_api.payment_intent_params(**{**PARAMS, "off_session": False, "method": "card"})
    assert "off_session" not in params
    settings.STRIPE_API_BASE = None
    assert "mandate" not in stripe_api.payment_intent_params(**{**PARAMS, "method": "card"})


def _fake_client() -> mock.MagicMock:
    client = mock.MagicMock()
    client.v1.customers.create.return_value = {"id": "cus_1"}
    client.v1.setup_intents.create.return_value = {
        "id": "seti_1",
        "status": "requires_payment_method",
        "client_secret": "seti_1_secret_x",
    }
    client.v1.payment_intents.create.return_value = {"id": "pi_1", "status": "succeeded", "amount": 2500}
    return client


def test_it_sends_idempotency_keys_derived_from_our_ids():
    client = _fake_client()
    with mock.patch.object(stripe_api, "_client", return_value=client):
        stripe_api.customer_create(email="a@example.org", name="A", donation_id=7, locale="de")
        stripe_api.setup_intent_create(customer_id="cus_1", method="card", donation_id=7, public_id="u")
        stripe_api.payment_intent_create(idempotency_key="donation-7-payment-intent", **PARAMS)

    assert client.v1.customers.create.call_args.kwargs["options"] == {
        "idempotency_key": "donation-7-customer"
    }
    assert client.v1.setup_intents.create.call_args.kwargs["options"] == {
        "idempotency_key": "donation-7-setup-intent"
    }
    assert client.v1.payment_intents.create.call_args.kwargs["options"] == {
        "idempotency_key": "donation-7-payment-intent"
    }


def test_it_pins_the_api_version(settings):
    client = stripe_api._client()
    assert stripe_api.STRIPE_API_VERSION == "2026-10-28.endive"
    assert client._requestor._options.stripe_version == stripe_api.STRIPE_API_VERSION


def test_it_reads_payment_intents_defensively():
    info = stripe_api.payment_intent_from(
        {
            "id": "pi_1",
            "status": "succeeded",
            "amount": "not a number",
            "metadata": None,
            "latest_charge": {
                "id": "ch_1",
                "amount_refunded": 100,
                "balance_transaction": {"fee": 62, "net": 2438},
            },
            "last_payment_error": "weird",
        }
    )
    assert (info.id, info.status, info.amount, info.metadata) == ("pi_1", "succeeded", 0, {})
    assert (info.charge_id, info.fee, info.net, info.amount_refunded) == ("ch_1", 62, 2438, 100)
    assert info.failure_code == ""
    empty = stripe_api.payment_intent_from(None)
    assert (empty.id, empty.fee, empty.charge_id) == ("", None, "")


def test_it_maps_sdk_errors_to_retryable_and_final_ones():
    def raiser(exc: Exception):
        def call(*args, **kwargs):
            raise exc

        return call

    try:
        stripe_api._call(raiser(stripe.APIConnectionError("down")))
    except stripe_api.StripeUnavailable:
        pass
    else:
        raise AssertionError("a connection error must be retryable")
    try:
        stripe_api._call(raiser(stripe.CardError("declined", None, "card_declined", http_status=402)))
    except stripe_api.StripeRejected as exc:
        assert exc.code == "card_declined"
    else:
        raise AssertionError("a declined card is final")


def test_it_verifies_a_webhook_with_any_configured_secret():
    from tests.fixtures.localstripe import stripe_event, stripe_signature

    payload = stripe_event("payment_intent.succeeded", {"id": "pi_1"}, "evt_1")
    event = stripe_api.webhook_event_construct(
        payload, stripe_signature(payload, "whsec_b"), ["whsec_a", "whsec_b"]
    )
    assert event["id"] == "evt_1"
    try:
        stripe_api.webhook_event_construct(
            payload, stripe_signature(payload, "whsec_c"), ["whsec_a", "whsec_b"]
        )
    except ValueError:
        pass
    else:
        raise AssertionError("an unknown secret must not verify")


def test_it_reads_the_sepa_mandate_reference_from_the_mandate_on_real_stripe(settings):
    settings.STRIPE_API_BASE = None
    client = _fake_client()
    client.v1.mandates.retrieve.return_value = {
        "id": "mandate_1",
        "payment_method_details": {"type": "sepa_debit", "sepa_debit": {"reference": "ABCDEF123"}},
    }
    with mock.patch.object(stripe_api, "_client", return_value=client):
        assert (
            stripe_api.sepa_mandate_reference(mandate_id="mandate_1", payment_method_id="pm_1") == "ABCDEF123"
        )
    client.v1.mandates.retrieve.assert_called_once_with("mandate_1")
    client.v1.payment_methods.retrieve.assert_not_called()


def test_a_refund_carries_an_idempotency_key_per_donation_and_amount():
    client = _fake_client()
    client.v1.refunds.create.return_value = {"id": "re_1"}
    with mock.patch.object(stripe_api, "_client", return_value=client):
        assert stripe_api.refund_create(payment_intent_id="pi_1", donation_id=7) == "re_1"
        stripe_api.refund_create(payment_intent_id="pi_1", donation_id=7, amount=500)

    keys = [call.kwargs["options"]["idempotency_key"] for call in client.v1.refunds.create.call_args_list]
    assert keys == ["donation-7-refund-full", "donation-7-refund-500"]
