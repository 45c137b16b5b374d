"""Each SEPA payment method its own mandate reference in localstripe, as each real SEPA mandate
has its own: localstripe gives every one the same, so a replaced IBAN could never show a new
reference in the pre-notification."""

from __future__ import annotations

from typing import Any


def install() -> None:
    from localstripe import resources

    original = resources.PaymentMethod.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if self.type == "sepa_debit":
            # Derived from the payment method's random id: unique, 16 characters like Stripe's.
            reference = self.id.removeprefix("pm_").upper()[:16].ljust(16, "0")
            self.sepa_debit["mandate_reference"] = reference
            self.sepa_debit["mandate_url"] = f"https://fake/{reference}"

    resources.PaymentMethod.__init__ = init
