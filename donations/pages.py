"""The page a donor opens from the cancel link in a mail. A GET changes nothing (mail
scanners open links); the page's script POSTs the token to the API, and without scripts a
form button POSTs to this same page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from campaign.exceptions import ApplicationError
from donations.mandates import mandate_cancel


@csrf_exempt  # the token in the form is the credential; there is no session to ride on
@require_http_methods(["GET", "POST"])
def donation_cancel_page(request: HttpRequest) -> HttpResponse:
    token = (request.POST.get("token") if request.method == "POST" else request.GET.get("token")) or ""
    outcome = ""
    if request.method == "POST":
        try:
            mandate_cancel(token=token[:200])
            outcome = "canceled"
        except ApplicationError:
            outcome = "invalid"
    response = render(
        request,
        "donations/cancel.html",
        {"token": token[:200], "outcome": outcome, "lang": getattr(request, "LANGUAGE_CODE", "de")},
        status=400 if outcome == "invalid" else 200,
    )
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


def apple_pay_domain_association(request: HttpRequest) -> HttpResponse:
    """The file Apple checks on every domain that offers Apple Pay (Stripe provides it),
    served from APPLE_PAY_DOMAIN_ASSOCIATION_FILE; 404 when not configured."""
    from pathlib import Path

    from django.conf import settings
    from django.http import Http404

    path = settings.APPLE_PAY_DOMAIN_ASSOCIATION_FILE
    try:
        content = Path(path).read_bytes() if path else None
    except OSError:
        content = None
    if not content:
        raise Http404
    response = HttpResponse(content, content_type="text/plain")
    response["Cache-Control"] = "public, max-age=3600"
    return response
