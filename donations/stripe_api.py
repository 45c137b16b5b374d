"""The only module that talks to Stripe.

Every call goes through a `StripeClient` with a pinned API version, creates carry an
idempotency key derived from our own ids, and answers are read defensively into small typed
objects, so the rest of the app never touches SDK objects.

The same code runs against real Stripe and against localstripe (the stand-in of the tests and
the local run), which accepts only a subset of the parameters. Parameters only real Stripe
accepts are added in one place, behind `full_api()`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import stripe
from django.conf import settings

logger = logging.getLogger(__name__)

# The API version this code was written and tested against.
STRIPE_API_VERSION = "2026-10-28.endive"


class StripeUnavailable(Exception):
    """Stripe could not be reached or answered with a server error; trying later can help."""


class StripeRejected(Exception):
    """Stripe refused the request (card declined, invalid parameters)."""

    def __init__(self, message: str, *, code: str = "", http_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status


@dataclass(frozen=True)
class SetupIntentInfo:
    id: str
    status: str
    client_secret: str
    customer_id: str
    payment_method_id: str
    mandate_id: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PaymentIntentInfo:
    id: str
    status: str
    amount: int
    currency: str
    client_secret: str
    customer_id: str
    payment_method_id: str
    charge_id: str
    fee: int | None
    net: int | None
    amount_refunded: int
    failure_code: str
    created: int
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ChargeInfo:
    id: str
    payment_intent_id: str
    amount: int
    amount_refunded: int
    status: str
    disputed: bool


@dataclass(frozen=True)
class PaymentIntentPage:
    items: list[PaymentIntentInfo]
    has_more: bool


def full_api() -> bool:
    """True against real Stripe; False against a local stand-in (STRIPE_API_BASE set), which
    rejects parameters it does not know."""
    return not settings.STRIPE_API_BASE


def _client() -> stripe.StripeClient:
    base = settings.STRIPE_API_BASE
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY or "",
        stripe_version=STRIPE_API_VERSION,
        base_addresses={"api": base} if base else None,
        max_network_retries=2,
    )


def _as_dict(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    if isinstance(obj, dict):
        return obj
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return {}


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if isinstance(value, dict):  # an expanded object
        value = value.get("id")
    return value if isinstance(value, str) else ""


def _int(data: dict[str, Any], key: str, default: int = 0) -> int:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _metadata(data: dict[str, Any]) -> dict[str, str]:
    metadata = data.get("metadata")
    return {str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, dict) else {}


def _call(func: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return func(*args, **kwargs)
    except stripe.CardError as exc:
        raise StripeRejected(
            str(exc.user_message or "card declined"),
            code=exc.code or "card_declined",
            http_status=exc.http_status,
        ) from exc
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        raise StripeUnavailable(type(exc).__name__) from exc
    except stripe.StripeError as exc:
        if exc.http_status is None or exc.http_status >= 500:
            raise StripeUnavailable(type(exc).__name__) from exc
        raise StripeRejected(
            str(exc.user_message or "rejected"), code=exc.code or "", http_status=exc.http_status
        ) from exc


def setup_intent_from(obj: Any) -> SetupIntentInfo:
    data = _as_dict(obj)
    return SetupIntentInfo(
        id=_str(data, "id"),
        status=_str(data, "status"),
        client_secret=_str(data, "client_secret"),
        customer_id=_str(data, "customer"),
        payment_method_id=_str(data, "payment_method"),
        mandate_id=_str(data, "mandate"),
        metadata=_metadata(data),
    )


def payment_intent_from(obj: Any) -> PaymentIntentInfo:
    data = _as_dict(obj)
    charge = data.get("latest_charge")
    charge_data = charge if isinstance(charge, dict) else {}
    txn = charge_data.get("balance_transaction")
    txn_data = txn if isinstance(txn, dict) else {}
    error = data.get("last_payment_error")
    error_data = error if isinstance(error, dict) else {}
    return PaymentIntentInfo(
        id=_str(data, "id"),
        status=_str(data, "status"),
        amount=_int(data, "amount"),
        currency=_str(data, "currency"),
        client_secret=_str(data, "client_secret"),
        customer_id=_str(data, "customer"),
        payment_method_id=_str(data, "payment_method"),
        charge_id=charge if isinstance(charge, str) else _str(charge_data, "id"),
        fee=_int(txn_data, "fee") if "fee" in txn_data else None,
        net=_int(txn_data, "net") if "net" in txn_data else None,
        amount_refunded=_int(charge_data, "amount_refunded"),
        failure_code=_str(error_data, "code"),
        created=_int(data, "created"),
        metadata=_metadata(data),
    )


def charge_from(obj: Any) -> ChargeInfo:
    data = _as_dict(obj)
    return ChargeInfo(
        id=_str(data, "id"),
        payment_intent_id=_str(data, "payment_intent"),
        amount=_int(data, "amount"),
        amount_refunded=_int(data, "amount_refunded"),
        status=_str(data, "status"),
        disputed=bool(data.get("disputed")),
    )


# --- Calls ----------------------------------------------------------------------------------


def customer_create(*, email: str, name: str, donation_id: int, locale: str) -> str:
    params: dict[str, Any] = {
        "email": email,
        "name": name,
        "metadata": {"donation_id": str(donation_id)},
        "preferred_locales": [locale],
    }
    customer = _call(
        _client().v1.customers.create,
        params=params,
        options={"idempotency_key": f"donation-{donation_id}-customer"},
    )
    return _str(_as_dict(customer), "id")


def setup_intent_create(
    *, customer_id: str, method: str, donation_id: int, public_id: str
) -> SetupIntentInfo:
    params: dict[str, Any] = {
        "customer": customer_id,
        "payment_method_types": [method],
        "usage": "off_session",
        "metadata": {"donation_id": str(donation_id), "donation_public_id": public_id},
    }
    setup_intent = _call(
        _client().v1.setup_intents.create,
        params=params,
        options={"idempotency_key": f"donation-{donation_id}-setup-intent"},
    )
    return setup_intent_from(setup_intent)


def mandate_setup_intent_create(
    *, customer_id: str, method: str, mandate_id: int, attempt: str
) -> SetupIntentInfo:
    """A SetupIntent on the monthly gift's customer, to save a new card or IBAN for it."""
    setup_intent = _call(
        _client().v1.setup_intents.create,
        params={
            "customer": customer_id,
            "payment_method_types": [method],
            "usage": "off_session",
            "metadata": {"mandate_id": str(mandate_id)},
        },
        options={"idempotency_key": f"mandate-{mandate_id}-replace-{attempt}"},
    )
    return setup_intent_from(setup_intent)


def sepa_mandate_reference(*, mandate_id: str, payment_method_id: str) -> str:
    """The SEPA mandate reference the bank statement shows, for the pre-notification: on real
    Stripe from the Mandate object, on the stand-in from the payment method. Empty if unknown."""
    try:
        if mandate_id and full_api():
            mandate = _as_dict(_call(_client().v1.mandates.retrieve, mandate_id))
            details = mandate.get("payment_method_details")
            sepa = details.get("sepa_debit") if isinstance(details, dict) else None
            return _str(sepa, "reference") if isinstance(sepa, dict) else ""
        if payment_method_id:
            payment_method = _as_dict(_call(_client().v1.payment_methods.retrieve, payment_method_id))
            sepa = payment_method.get("sepa_debit")
            return _str(sepa, "mandate_reference") if isinstance(sepa, dict) else ""
    except StripeRejected:
        return ""
    return ""


def setup_intent_get(setup_intent_id: str) -> SetupIntentInfo:
    return setup_intent_from(_call(_client().v1.setup_intents.retrieve, setup_intent_id))


def payment_intent_params(
    *,
    amount: int,
    currency: str,
    customer_id: str,
    payment_method_id: str,
    method: str,
    metadata: dict[str, str],
    off_session: bool,
    mandate_id: str = "",
    description: str = "",
) -> dict[str, Any]:
    """The PaymentIntent parameters; the switch for real-Stripe-only ones lives here."""
    params: dict[str, Any] = {
        "amount": amount,
        "currency": currency,
        "customer": customer_id,
        "payment_method": payment_method_id,
        "payment_method_types": [method],
        "confirm": True,
        "metadata": metadata,
    }
    if off_session:
        params["off_session"] = True
    if full_api():
        # localstripe rejects these; real Stripe uses them for the bank statement and the
        # SEPA mandate saved with the SetupIntent.
        if description:
            params["description"] = description
        if method == "sepa_debit" and mandate_id:
            params["mandate"] = mandate_id
    return params


def payment_intent_create(*, idempotency_key: str, **kwargs: Any) -> PaymentIntentInfo:
    """Creates and confirms a PaymentIntent. A declined card raises StripeRejected."""
    params = payment_intent_params(**kwargs)
    payment_intent = _call(
        _client().v1.payment_intents.create, params=params, options={"idempotency_key": idempotency_key}
    )
    return payment_intent_from(payment_intent)


def payment_intent_get(payment_intent_id: str) -> PaymentIntentInfo:
    payment_intent = _call(
        _client().v1.payment_intents.retrieve,
        payment_intent_id,
        params={"expand": ["latest_charge.balance_transaction"]},
    )
    return payment_intent_from(payment_intent)


def refund_create(*, payment_intent_id: str, donation_id: int, amount: int | None = None) -> str:
    """Refunds a charge (in full unless `amount`); one refund per donation and amount."""
    params: dict[str, Any] = {
        "payment_intent": payment_intent_id,
        "metadata": {"donation_id": str(donation_id)},
    }
    if amount is not None:
        params["amount"] = amount
    refund = _call(
        _client().v1.refunds.create,
        params=params,
        options={"idempotency_key": f"donation-{donation_id}-refund-{amount or 'full'}"},
    )
    return _str(_as_dict(refund), "id")


def payment_method_domains() -> dict[str, dict[str, Any]]:
    """The wallet domains registered on the account (this key's mode), by domain name."""
    page = _as_dict(_call(_client().v1.payment_method_domains.list, params={"limit": 100}))
    data = page.get("data")
    rows = [_as_dict(row) for row in data] if isinstance(data, list) else []
    return {_str(row, "domain_name"): row for row in rows if _str(row, "domain_name")}


def payment_method_domain_create(domain_name: str) -> dict[str, Any]:
    return _as_dict(
        _call(
            _client().v1.payment_method_domains.create,
            params={"domain_name": domain_name, "enabled": True},
            options={"idempotency_key": f"payment-method-domain-{domain_name}"},
        )
    )


def payment_method_domain_validate(domain_id: str) -> dict[str, Any]:
    """Asks Stripe (and Apple) to check the domain again, e.g. after the association file went up."""
    return _as_dict(_call(_client().v1.payment_method_domains.validate, domain_id))


def customer_delete(customer_id: str) -> bool:
    """Deletes a customer with its saved payment methods (an erasure). True when it is gone,
    also when Stripe no longer knew it (a second erasure)."""
    try:
        _call(_client().v1.customers.delete, customer_id)
    except StripeRejected as exc:
        if exc.http_status == 404:
            return True
        raise
    return True


def charge_get(charge_id: str) -> ChargeInfo:
    return charge_from(_call(_client().v1.charges.retrieve, charge_id))


def payment_intents_list(*, starting_after: str = "", created_gte: int | None = None) -> PaymentIntentPage:
    """One page of PaymentIntents, newest first. The `created` filter is only passed to real
    Stripe (localstripe ignores or rejects it); callers filter by `created` themselves."""
    params: dict[str, Any] = {"limit": 100}
    if starting_after:
        params["starting_after"] = starting_after
    if created_gte is not None and full_api():
        params["created"] = {"gte": created_gte}
    page = _call(_client().v1.payment_intents.list, params=params)
    data = _as_dict(page)
    items = [payment_intent_from(item) for item in data.get("data") or [] if isinstance(item, dict)]
    return PaymentIntentPage(items=items, has_more=bool(data.get("has_more")))


def webhook_event_construct(payload: bytes, signature: str, secrets: list[str], tolerance: int = 300) -> dict:
    """Verifies the Stripe-Signature header on the raw body with each secret in turn (several
    during a rotation). Returns the event as a dict; raises ValueError when none matches."""
    for secret in secrets:
        try:
            event = stripe.Webhook.construct_event(payload, signature, secret, tolerance=tolerance)
        except stripe.SignatureVerificationError:
            continue
        except Exception as exc:  # noqa: BLE001 - a bad header or a body that is not an event
            raise ValueError("invalid payload") from exc
        return _as_dict(event)
    raise ValueError("invalid signature")
