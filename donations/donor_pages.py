"""The donor's own page, one address (`/donations/manage/`). The mailed link opens it with a
button whose POST (mail scanners only GET) trades the single-use token for a short signed
session cookie; the page then lists the donor's monthly gifts, gifts and receipts
(`?receipt=<number>` downloads one), and its forms stop a monthly gift or ask for a receipt.
Those forms ride on the cookie, so they are checked for CSRF; only the token exchange is not
(the token is the credential, there is no session yet)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from campaign.exceptions import ApplicationError
from donations import donor_access, stripe_api
from donations.amounts import amount_display

COOKIE = "donor_session"
PATH = "/donations/manage/"


def _lang(request: HttpRequest) -> str:
    lang = request.GET.get("lang") or getattr(request, "LANGUAGE_CODE", "de")
    return "en" if lang == "en" else "de"


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    # same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on the page's
    # own forms and the CSRF check refuses them; other sites still see no referrer (no token).
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex"
    return response


def _session(request: HttpRequest) -> str | None:
    return donor_access.donor_session_read(request.COOKIES.get(COOKIE, ""))


def _open(request: HttpRequest) -> HttpResponse:
    email = donor_access.donor_access_token_redeem(token=request.POST.get("token", ""))
    if email is None:
        context = {"state": "invalid", "lang": _lang(request)}
        return _private(render(request, "donations/manage.html", context, status=400))
    response = HttpResponseRedirect(PATH, status=303)
    response.set_cookie(
        COOKIE,
        donor_access.donor_session_make(email_normalized=email),
        max_age=settings.DONOR_SESSION_MINUTES * 60,
        path=PATH,
        secure=request.is_secure(),
        httponly=True,
        samesite="Strict",
    )
    return _private(response)


@csrf_exempt  # the token exchange needs none; the session's forms are checked below
@require_http_methods(["GET", "POST"])
def donor_manage_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and "token" in request.POST:
        return _open(request)
    lang = _lang(request)
    token = request.GET.get("token", "")[:200]
    email = _session(request)
    if email is not None and request.GET.get("receipt"):
        return _receipt_pdf(email, request.GET["receipt"])
    if email is None:
        state = "open" if token else "expired"
        return _private(
            render(request, "donations/manage.html", {"state": state, "token": token, "lang": lang})
        )
    notice: str | dict[str, str] = ""
    if request.method == "POST":
        rejected = CsrfViewMiddleware(lambda r: HttpResponse()).process_view(request, _protected, (), {})
        if rejected is not None:
            return rejected
        notice = _act(request, email)
    overview = donor_access.donor_overview_get(email_normalized=email)
    context: dict[str, Any] = {
        "state": "overview",
        "lang": lang,
        "notice": notice if isinstance(notice, str) else "",
        "setup": notice if isinstance(notice, dict) else None,
        "stripe_js_url": settings.STRIPE_JS_URL,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY or "",
        "mandates": [
            {
                "m": m,
                "amount": amount_display(m.total_amount, lang),
                "euros": f"{m.amount // 100},{m.amount % 100:02d}",
                "active": m.status == "active",
                "paused_by_donor": m.status == "paused" and m.paused_until is not None,
            }
            for m in overview.mandates
        ],
        "donations": [
            {"d": d, "amount": amount_display(d.total_amount, lang), "receiptable": d.receipt_id is None}
            for d in overview.donations
        ],
        "receipts": overview.receipts,
        "address": overview.address,
    }
    return _private(render(request, "donations/manage.html", context))


def _act(request: HttpRequest, email: str) -> str | dict[str, str]:
    action = request.POST.get("action", "")
    target = request.POST.get("id", "")[:64]
    try:
        if action == "cancel" and donor_access.donor_mandate_cancel(
            email_normalized=email, mandate_public_id=target
        ):
            return "canceled"
        if action == "change":
            changed = donor_access.donor_mandate_change(
                email_normalized=email,
                mandate_public_id=target,
                amount=_cents(request.POST.get("amount", "")),
                day_of_month=int(request.POST["day_of_month"]) if request.POST.get("day_of_month") else None,
            )
            return "changed" if changed else "invalid"
        if action == "pm_setup":
            setup = donor_access.donor_payment_method_setup(email_normalized=email, mandate_public_id=target)
            return setup if setup is not None else "invalid"
        if action == "pm_replace":
            replaced = donor_access.donor_payment_method_replace(
                email_normalized=email,
                mandate_public_id=target,
                setup_intent_id=request.POST.get("setup_intent", ""),
            )
            return "payment_method_replaced" if replaced else "invalid"
        if action in ("pause", "resume"):
            months = int(request.POST.get("months", "")) if action == "pause" else None
            done = donor_access.donor_mandate_pause(
                email_normalized=email, mandate_public_id=target, months=months
            )
            return ("paused" if months else "resumed") if done else "invalid"
        if action == "address":
            fields = {k: request.POST.get(k, "") for k in ("street", "postcode", "city", "country")}
            return (
                "address_saved"
                if donor_access.donor_address_update(email_normalized=email, **fields)
                else "invalid"
            )
        if action == "receipt":
            receipt = donor_access.donor_receipt_request(email_normalized=email, donation_public_id=target)
            return "receipt_issued" if receipt else "receipt_later"
    except (ValueError, ValidationError, ApplicationError):  # a bad value or a tampered form
        return "invalid"
    except (stripe_api.StripeUnavailable, stripe_api.StripeRejected):
        return "invalid"
    return "invalid"


def _cents(value: str) -> int | None:
    """ "12,50" or "12.50" or "12" euros as cents; None when empty."""
    value = value.strip().replace("€", "").replace(" ", "")
    if not value:
        return None
    euros, _, cents = value.replace(",", ".").partition(".")
    if not euros.isdigit() or (cents and (not cents.isdigit() or len(cents) > 2)):
        raise ValueError("not an amount")
    return int(euros) * 100 + int(cents.ljust(2, "0") or 0)


def _protected(request: HttpRequest) -> HttpResponse:
    """Stands for the view in the CSRF check (not exempt, unlike the page itself)."""
    return HttpResponse()


def _receipt_pdf(email: str, number: str) -> HttpResponse:
    from donations.receipts import receipt_pdf_render

    receipt = donor_access.donor_receipt_get(email_normalized=email, number=number[:20])
    if receipt is None:
        return _private(HttpResponse(status=404))
    response = HttpResponse(receipt_pdf_render(receipt), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="Zuwendungsbestaetigung-{receipt.number}.pdf"'
    return _private(response)
