"""The public pages of the privacy flows, opened from mails: unsubscribe (RFC 8058), the
confirmation of a request by the person, and the access export. Each GET only shows a page
with a button (mail scanners open links); the POST acts. German or English."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from campaign.exceptions import ApplicationError, error_body
from campaign.models import PrivacyRequest, SuppressedAddress
from campaign.privacy.consent import MAIL_PURPOSES, consents_withdraw
from campaign.privacy.requests import privacy_export_get, privacy_request_confirm
from campaign.privacy.suppression import address_suppress, unsubscribe_token_read


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], *, lang: str, status: int = 200
) -> HttpResponse:
    context = {
        "lang": lang,
        "other_lang": "de" if lang == "en" else "en",
        "accent_color": "#b3123a",
        "organisation_name": settings.ORGANISATION["name"],
        **context,
    }
    response = render(request, template, context, status=status)
    response["Content-Language"] = lang
    # Keep the token out of caches and out of the Referer of any link on the page.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _lang(request: HttpRequest, default: str | None = None) -> str:
    lang = request.GET.get("lang", "")
    if lang in ("de", "en"):
        return lang
    return default or ("en" if request.LANGUAGE_CODE == "en" else "de")


@csrf_exempt  # RFC 8058: mail clients POST without a session or CSRF token; the token decides
def unsubscribe_page(request: HttpRequest) -> HttpResponse:
    """GET shows a confirm button; POST (the button, or a mail client's one-click request)
    puts the address on the suppression list. Idempotent."""
    if request.method not in ("GET", "POST"):
        return HttpResponse(status=405)
    token = request.GET.get("t", "")
    found = unsubscribe_token_read(token)
    lang = _lang(request, found[1] if found else None)
    if found is None:
        return _page(request, "privacy/unsubscribe.html", {"state": "invalid"}, lang=lang, status=400)
    if request.method == "POST":
        address_suppress(email_hash=found[0], reason=SuppressedAddress.Reason.UNSUBSCRIBED)
        consents_withdraw(how="unsubscribed", email_hash=found[0], purposes=MAIL_PURPOSES)
        state = "done"
    else:
        state = "confirm"
    context = {"state": state, "token": token, "token_param": "t"}
    return _page(request, "privacy/unsubscribe.html", context, lang=lang)


@csrf_exempt  # the token in the link is the authority; there is no session to protect
def privacy_request_confirm_page(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "POST"):
        return HttpResponse(status=405)
    token = request.GET.get("token", "")
    lang = _lang(request)
    context: dict[str, Any] = {"state": "confirm", "token": token, "token_param": "token"}
    if request.method == "POST":
        try:
            done = privacy_request_confirm(token=token)
        except ApplicationError as exc:
            context.update(state="error", error=exc.code)
            return _page(request, "privacy/request_confirm.html", context, lang=lang, status=exc.status_code)
        context["state"] = "erased" if done.kind == PrivacyRequest.Kind.ERASURE else "access"
    return _page(request, "privacy/request_confirm.html", context, lang=lang)


def _readable(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, indent=1)
    return "" if value is None else str(value)


def privacy_export_page(request: HttpRequest) -> HttpResponse:
    """The access export: readable HTML, or JSON with `format=json`."""
    if request.method != "GET":
        return HttpResponse(status=405)
    token = request.GET.get("token", "")
    lang = _lang(request)
    as_json = request.GET.get("format") == "json"
    try:
        export = privacy_export_get(token=token)
    except ApplicationError as exc:
        if as_json:
            return JsonResponse(error_body(exc.code, exc.message), status=exc.status_code)
        context: dict[str, Any] = {"error": exc.code, "token": token, "token_param": "token"}
        return _page(request, "privacy/export.html", context, lang=lang, status=exc.status_code)
    if as_json:
        response = JsonResponse(export, json_dumps_params={"ensure_ascii": False, "indent": 1})
        response["Cache-Control"] = "no-store"
        response["Content-Disposition"] = 'attachment; filename="my-data.json"'
        return response
    sections = [
        (area, [[(key, _readable(value)) for key, value in record.items()] for record in records])
        for area, records in export["data"].items()
    ]
    page_context: dict[str, Any] = {
        "export": export,
        "sections": sections,
        "token": token,
        "token_param": "token",
    }
    return _page(request, "privacy/export.html", page_context, lang=lang)
