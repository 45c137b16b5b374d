"""Payment method domains for localstripe, which has none: just enough of Stripe's
`/v1/payment_method_domains` (create, retrieve, list, validate) for the wallet domain command
to run against the stand-in. Every domain is reported active for Apple Pay and Google Pay; what
real Stripe and Apple check is not played."""

from __future__ import annotations

from typing import Any


def install(app: Any) -> None:
    from localstripe import resources, server

    class PaymentMethodDomain(resources.StripeObject):
        object = "payment_method_domain"
        _id_prefix = "pmd_"

        def __init__(self, domain_name: str | None = None, enabled: Any = True, **kwargs: Any) -> None:
            if not domain_name or any(
                o.domain_name == domain_name
                for k, o in resources.store.items()
                if k.startswith("payment_method_domain:")
            ):
                raise resources.UserError(400, "domain_name missing or already registered")
            super().__init__()
            self.domain_name = domain_name
            self.enabled = enabled not in (False, "false")
            self.validations = 0
            active = {"status": "active"}
            self.apple_pay = dict(active)
            self.google_pay = dict(active)
            self.link = dict(active)
            self.paypal = {"status": "inactive"}

        @classmethod
        def _api_validate(cls, id: str, **kwargs: Any) -> Any:
            obj = cls._api_retrieve(id)
            obj.validations += 1
            return obj

    url = "/v1/payment_method_domains"
    app.router.add_route(
        "POST", url + "/{id}/validate", server.api_extra(PaymentMethodDomain._api_validate, url)
    )
    app.router.add_route("POST", url, server.api_create(PaymentMethodDomain, url))
    app.router.add_route("GET", url + "/{id}", server.api_retrieve(PaymentMethodDomain, url))
    app.router.add_route("GET", url, server.api_list_all(PaymentMethodDomain, url))
