from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaign.api import StrictInputSerializer
from campaign.attribution import signing_reference_read


@extend_schema_field(
    {"type": "integer", "minimum": settings.DONATION_MIN_AMOUNT, "maximum": settings.DONATION_MAX_AMOUNT}
)
class AmountField(serializers.IntegerField):
    """Cents; the bounds are checked in `validate_amount` (with its own message), the schema
    states them."""


class DonationCreateInputSerializer(StrictInputSerializer):
    campaign = serializers.SlugField(max_length=80)
    amount = AmountField(help_text="The gift in cents, without fees.")
    cover_fees = serializers.BooleanField(default=False)
    currency = serializers.ChoiceField(choices=["eur"])
    interval = serializers.ChoiceField(choices=["once", "month"])
    payment_method = serializers.ChoiceField(choices=["card", "sepa_debit"])
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    email = serializers.EmailField(max_length=254)
    street = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    postcode = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    country = serializers.RegexField(r"^[A-Za-z]{2}$", required=False, allow_blank=True, default="")
    wants_receipt = serializers.BooleanField(default=False)
    newsletter_consent = serializers.BooleanField(default=False)
    locale = serializers.ChoiceField(choices=["de", "en"], default="de")
    utm_source = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    utm_medium = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    utm_campaign = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    utm_term = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    utm_content = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    referrer = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    petition = serializers.SlugField(max_length=80, required=False, allow_blank=True, default="")
    signing_ref = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")

    def validate_amount(self, value: int) -> int:
        if value < settings.DONATION_MIN_AMOUNT:
            raise serializers.ValidationError(
                _("The minimum is %(amount)d cents.") % {"amount": settings.DONATION_MIN_AMOUNT}
            )
        if value > settings.DONATION_MAX_AMOUNT:
            raise serializers.ValidationError(
                _("The maximum is %(amount)d cents.") % {"amount": settings.DONATION_MAX_AMOUNT}
            )
        return value

    def validate_signing_ref(self, value: str) -> str:
        if value and signing_reference_read(value) is None:
            raise serializers.ValidationError(_("This link is not valid."))
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("wants_receipt"):
            missing = {
                name: [_("Required for a donation receipt.")]
                for name in ("street", "postcode", "city", "country")
                if not (attrs.get(name) or "").strip()
            }
            if missing:
                raise serializers.ValidationError(missing)
        return attrs


class DonationCreateOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    intent_type = serializers.CharField()
    client_secret = serializers.CharField()
    publishable_key = serializers.CharField()
    amount = serializers.IntegerField()
    fee_amount = serializers.IntegerField()
    total_amount = serializers.IntegerField()
    status = serializers.CharField()


class DonationOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    amount = serializers.IntegerField()
    fee_amount = serializers.IntegerField()
    total_amount = serializers.IntegerField()
    currency = serializers.CharField()
    interval = serializers.CharField()
    payment_method = serializers.CharField()
    campaign = serializers.CharField()


class DonationCompleteOutputSerializer(DonationOutputSerializer):
    client_secret = serializers.CharField(allow_null=True)


class ManageLinkInputSerializer(StrictInputSerializer):
    email = serializers.EmailField(max_length=254)
    locale = serializers.ChoiceField(choices=["de", "en"], required=False)


class TokenInputSerializer(StrictInputSerializer):
    token = serializers.CharField(max_length=200)
    locale = serializers.ChoiceField(choices=["de", "en"], required=False)


class MandateCancelOutputSerializer(serializers.Serializer):
    status = serializers.CharField()


class WebhookOutputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["received", "duplicate"])
