from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from email_validator import EmailNotValidError, validate_email
from rest_framework import serializers

from campaign.api import StrictInputSerializer


def email_checked(value: str) -> str:
    """The address as the apps stored it (syntax only, no DNS). Raises ValueError."""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValueError("Enter a valid e-mail address.") from None


@extend_schema_field({"type": "string", "format": "email", "minLength": 1, "maxLength": 254})
class CheckedEmailField(serializers.CharField):
    """An e-mail address, normalised as the apps store it (`email_checked`)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            return email_checked(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class ErasureCreateInputSerializer(StrictInputSerializer):
    email = CheckedEmailField()


class ErasureKeptSerializer(serializers.Serializer):
    area = serializers.CharField()
    what = serializers.CharField()
    count = serializers.IntegerField()
    why = serializers.CharField()


class ErasureReceiptOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    origin = serializers.CharField()
    requested_by = serializers.CharField()
    email_hash = serializers.CharField(help_text="HMAC-SHA256 of the address; the address is not stored.")
    erased = serializers.DictField(child=serializers.DictField(child=serializers.IntegerField()))
    kept = ErasureKeptSerializer(many=True)


class PrivacyRequestCreateInputSerializer(StrictInputSerializer):
    email = CheckedEmailField()
    kind = serializers.ChoiceField(choices=["access", "erasure"])
    locale = serializers.ChoiceField(choices=["de", "en"], required=False, default="de")


class PrivacyRequestAcceptedOutputSerializer(serializers.Serializer):
    status = serializers.CharField()


class PrivacyRequestOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(help_text="A month after the request (GDPR Art. 12(3)).")
    confirmed_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    erasure_receipt_id = serializers.IntegerField(allow_null=True)


class MailEventSerializer(StrictInputSerializer):
    type = serializers.ChoiceField(
        choices=["hard_bounce", "soft_bounce", "complaint", "unsubscribe", "delivered"],
        help_text="Only hard_bounce, complaint and unsubscribe suppress the address.",
    )
    email = serializers.EmailField(max_length=254)


class MailEventsInputSerializer(StrictInputSerializer):
    events = serializers.ListField(
        child=MailEventSerializer(), allow_empty=False, min_length=1, max_length=1000
    )


class MailEventsOutputSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    suppressed = serializers.IntegerField()


class ConsentProofInputSerializer(StrictInputSerializer):
    email = CheckedEmailField()


class ConsentProofOutputSerializer(serializers.Serializer):
    purpose = serializers.CharField()
    scope = serializers.CharField()
    text_version = serializers.CharField()
    text_sha256 = serializers.CharField()
    given_at = serializers.DateTimeField()
    origin = serializers.CharField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    withdrawn_at = serializers.DateTimeField(allow_null=True)
    withdrawn_how = serializers.CharField()
