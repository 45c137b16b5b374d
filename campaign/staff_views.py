"""The staff login with its second factor, the enrolment (QR code, backup codes) and the API
tokens page. Server-rendered, no JavaScript, no third-party requests.

Flow: /staff/login/ (password) -> /staff/enrol/ the first time (scan, confirm a code, note the
backup codes) or /staff/verify/ (a code from the app or a backup code) -> the page asked for.
The admin and every staff page or endpoint accept only a session verified this way.
"""

from __future__ import annotations

from typing import Any

import django_otp
from django import forms
from django.conf import settings
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from campaign.audit import audit_record
from campaign.permissions import request_is_second_factor_verified
from campaign.staff_tokens import staff_token_create, staff_token_revoke, staff_tokens_list
from campaign.two_factor import (
    otp_token_verify,
    totp_enrolment_confirm,
    totp_enrolment_start,
    totp_qr_svg,
    totp_secret_text,
    user_is_enrolled,
)


class OTPTokenForm(forms.Form):
    otp_token = forms.CharField(
        label="Code",
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, required=False, label="What it is for")


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("admin:index")


def _with_next(name: str, request: HttpRequest) -> HttpResponseRedirect:
    from urllib.parse import urlencode

    return HttpResponseRedirect(f"{reverse(name)}?{urlencode({'next': _next_url(request)})}")


def _staff(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def _render(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    context = {"next": _next_url(request), "organisation_name": settings.ORGANISATION["name"], **context}
    response = render(request, f"staff/{template}", context, status=status)
    response["Cache-Control"] = "no-store"  # codes and keys must not rest in a cache
    # same-origin, not no-referrer: with no-referrer the browser sends "Origin: null" on the
    # form posts, which the CSRF check refuses.
    response["Referrer-Policy"] = "same-origin"
    return response


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def staff_login(request: HttpRequest) -> HttpResponse:
    """Step one: the password. Only staff accounts get past it; the session is not yet
    verified, so it reaches nothing but the second step."""
    if _staff(request):
        return _with_next("staff-verify", request)
    form = AuthenticationForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        if user.is_staff:
            auth_login(request, user)
            return _with_next("staff-verify" if user_is_enrolled(user) else "staff-enrol", request)
        form.add_error(None, "This login is for staff accounts only.")
    return _render(request, "login.html", {"form": form})


@sensitive_post_parameters("otp_token")
@never_cache
@require_http_methods(["GET", "POST"])
def staff_verify(request: HttpRequest) -> HttpResponse:
    """Step two: a code from the authenticator app or a backup code."""
    if not _staff(request):
        return _with_next("staff-login", request)
    if not user_is_enrolled(request.user):
        return _with_next("staff-enrol", request)
    if request_is_second_factor_verified(request):
        return HttpResponseRedirect(_next_url(request))
    form = OTPTokenForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        result = otp_token_verify(user=request.user, token=form.cleaned_data["otp_token"])
        if result.device is not None:
            django_otp.login(request, result.device)
            audit_record(actor=request.user, action="login", details={"device": result.device.persistent_id})
            return HttpResponseRedirect(_next_url(request))
        if result.throttled:
            form.add_error("otp_token", "Too many wrong codes: wait a little, then try again.")
            status = 429
        else:
            form.add_error("otp_token", "This code is not valid.")
            status = 400
    return _render(request, "verify.html", {"form": form}, status=status)


@sensitive_post_parameters("otp_token")
@never_cache
@require_http_methods(["GET", "POST"])
def staff_enrol(request: HttpRequest) -> HttpResponse:
    """The first login: scan the QR code with an authenticator app, confirm with a code, note
    the backup codes (shown once)."""
    if not _staff(request):
        return _with_next("staff-login", request)
    if user_is_enrolled(request.user):
        return _with_next("staff-verify", request)
    device = totp_enrolment_start(user=request.user)
    form = OTPTokenForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        codes = totp_enrolment_confirm(user=request.user, token=form.cleaned_data["otp_token"])
        if codes is not None:
            device.refresh_from_db()
            django_otp.login(request, device)
            return _render(request, "backup_codes.html", {"codes": codes})
        form.add_error("otp_token", "This code is not valid: check the time on your phone and try again.")
        status = 400
    context = {"form": form, "qr_svg": totp_qr_svg(device), "secret": totp_secret_text(device)}
    return _render(request, "enrol.html", context, status=status)


def staff_page_guard(request: HttpRequest) -> HttpResponse | None:
    """The redirect a staff page answers with when the session is not a staff session verified
    with the second factor; None when it may go on."""
    if not _staff(request):
        return _with_next("staff-login", request)
    if not request_is_second_factor_verified(request):
        return _with_next("staff-verify" if user_is_enrolled(request.user) else "staff-enrol", request)
    return None


def staff_render(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    return _render(request, template, context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def staff_tokens(request: HttpRequest) -> HttpResponse:
    """The account's API tokens: create one (the key is shown once) or revoke one. Only from a
    session verified with the second factor."""
    if not _staff(request):
        return _with_next("staff-login", request)
    if not request_is_second_factor_verified(request):
        return _with_next("staff-verify" if user_is_enrolled(request.user) else "staff-enrol", request)
    form = TokenCreateForm(request.POST if request.POST.get("action") == "create" else None)
    new_key = None
    if request.method == "POST":
        if request.POST.get("action") == "create" and form.is_valid():
            _, new_key = staff_token_create(user=request.user, name=form.cleaned_data["name"])
        elif request.POST.get("action") == "revoke" and request.POST.get("token_id", "").isdigit():
            staff_token_revoke(token_id=int(request.POST["token_id"]), user=request.user)
            return HttpResponseRedirect(reverse("staff-tokens"))
    context = {"form": form, "new_key": new_key, "tokens": staff_tokens_list(user=request.user)}
    return _render(request, "tokens.html", context)


@require_http_methods(["POST"])
def staff_logout(request: HttpRequest) -> HttpResponse:
    auth_logout(request)
    return HttpResponseRedirect(reverse("staff-login"))
