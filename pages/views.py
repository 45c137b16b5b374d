"""The public campaign pages (the reference for integrators): each public campaign at
`/campaigns/<slug>/`, and the default one (DEFAULT_CAMPAIGN_SLUG, else the newest live) at `/`;
the widget's small config endpoint and the campaign detail endpoint (a campaign with its
petitions and donations)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from campaign.api import PublicAPIView
from campaign.models import Campaign
from campaign.selectors import campaign_default_get, campaign_organisation_get, campaign_public_get
from campaign.serializers import CampaignOutputSerializer
from pages.selectors import campaign_detail_get, campaign_landing_get


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def widget_content_security_policy() -> str:
    """The policy a page embedding the widget needs (the landing page sends it; the README
    documents it). Stripe.js talks to Stripe's API and renders card fields in frames."""
    stripe_js = _origin(settings.STRIPE_JS_URL)
    stripe_api = _origin(settings.STRIPE_API_BASE or "") or "https://api.stripe.com"
    # Stripe's own list (docs.stripe.com/security/guide#content-security-policy), plus a stand-in.
    scripts = " ".join(dict.fromkeys([stripe_js, "https://js.stripe.com", "https://*.js.stripe.com"]))
    frames = " ".join(
        dict.fromkeys(
            [stripe_js, "https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com"]
        )
    )
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {scripts}",
            f"connect-src 'self' {stripe_api}",
            f"frame-src {frames}",
            "img-src 'self' data: https://*.stripe.com",
            "style-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _translated(value: Any, lang: str) -> str:
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("de") or value.get("en") or "")
    return "" if value is None else str(value)


def _euros(cents: int, lang: str) -> str:
    whole = f"{round(cents / 100):,}"
    return f"€{whole}" if lang == "en" else whole.replace(",", ".") + " €"


def landing_page(request: HttpRequest) -> HttpResponse:
    """The root page: the default campaign. German by default; `?lang=en` switches to English."""
    return _campaign_page(request, campaign_default_get())


def campaign_page(request: HttpRequest, slug: str) -> HttpResponse:
    """A campaign's own page; a draft or unknown campaign is 404."""
    return _campaign_page(request, campaign_public_get(slug=slug))


def _campaign_page(request: HttpRequest, campaign: Campaign | None) -> HttpResponse:
    lang = "en" if request.GET.get("lang") == "en" else "de"
    landing = campaign_landing_get(campaign=campaign)
    if campaign is not None:
        petition = landing["petition"] or {}
        landing.update(
            title=getattr(campaign, f"title_{lang}") or campaign.title_de,
            description=getattr(campaign, f"description_{lang}") or campaign.description_de,
            petition_slug=petition.get("slug", ""),
            petition_title=_translated(petition.get("title"), lang),
            petition_text=_translated(petition.get("text"), lang),
            raised=_euros(landing["donation_totals"]["raised_amount"], lang),
            goal=_euros(landing["donation_goal"], lang) if landing["donation_goal"] else "",
            donor_count=landing["donation_totals"]["donor_count"],
        )
    with translation.override(lang):
        response = render(
            request,
            "pages/landing.html",
            {
                "lang": lang,
                "other_lang": "de" if lang == "en" else "en",
                "api_base": request.build_absolute_uri("/").rstrip("/"),
                **landing,
            },
        )
    response["Content-Security-Policy"] = widget_content_security_policy()
    response["Content-Language"] = lang
    return response


class WidgetConfigInputSerializer(serializers.Serializer):
    campaign = serializers.SlugField(
        max_length=80, required=False, help_text="The campaign whose organisation the mandate text names."
    )


class WidgetConfigOutputSerializer(serializers.Serializer):
    stripe_publishable_key = serializers.CharField(allow_blank=True)
    stripe_js_url = serializers.CharField()
    organisation_name = serializers.CharField(help_text="Named in the SEPA mandate text.")
    card_fee_percent = serializers.CharField(
        help_text="With the fixed part, what a covered card fee adds (the wallet sheet shows the total)."
    )
    card_fee_fixed = serializers.IntegerField(help_text="Cents.")


class WidgetConfigView(PublicAPIView):
    """What the widget needs before a donation starts: the Stripe key, where Stripe.js is and
    the organisation behind the campaign (`?campaign=<slug>`; without it, the service-wide one)."""

    @extend_schema(parameters=[WidgetConfigInputSerializer], responses=WidgetConfigOutputSerializer)
    def get(self, request: Request) -> Response:
        query = WidgetConfigInputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        slug = query.validated_data.get("campaign")
        campaign = campaign_public_get(slug=slug) if slug else None
        data: dict[str, Any] = {
            "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY or "",
            "stripe_js_url": settings.STRIPE_JS_URL,
            "organisation_name": campaign_organisation_get(campaign=campaign)["name"],
            "card_fee_percent": settings.DONATION_FEE_CARD_PERCENT,
            "card_fee_fixed": settings.DONATION_FEE_CARD_FIXED,
        }
        response = Response(WidgetConfigOutputSerializer(data).data)
        response["Cache-Control"] = "public, max-age=300"
        return response


class CampaignDetailView(PublicAPIView):
    @extend_schema(responses=CampaignOutputSerializer)
    def get(self, request: Request, slug: str) -> Response:
        detail = campaign_detail_get(slug=slug)
        campaign = detail["campaign"]
        data = {
            "slug": campaign.slug,
            "title": {"de": campaign.title_de, "en": campaign.title_en or campaign.title_de},
            "description": {
                "de": campaign.description_de,
                "en": campaign.description_en or campaign.description_de,
            },
            "status": campaign.status,
            "starts_at": campaign.starts_at,
            "ends_at": campaign.ends_at,
            "currency": campaign.currency,
            "suggested_amounts": campaign.suggested_amounts,
            "donation_goal": campaign.donation_goal,
            "donation_totals": detail["donation_totals"],
            "petitions": detail["petitions"],
        }
        return Response(CampaignOutputSerializer(data).data)
