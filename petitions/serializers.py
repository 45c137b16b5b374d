"""Input and output shapes of the petitions API. Signing is validated by
`petitions.validation.signature_input_validate` (the hot path); its serializer here documents
the same fields in the API schema."""

from __future__ import annotations

from rest_framework import serializers

from campaign.api import StrictInputSerializer


class SignatureCreateInputSerializer(StrictInputSerializer):
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    email = serializers.EmailField(max_length=254)
    postcode = serializers.CharField(
        max_length=16, help_text="Required for countries with known postcode formats."
    )
    country = serializers.CharField(min_length=2, max_length=2, help_text="ISO 3166-1 alpha-2")
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    privacy_consent = serializers.BooleanField(help_text="Must be true.")
    consent_version = serializers.CharField(max_length=40, help_text="The consent version the form showed.")
    newsletter_consent = serializers.BooleanField(required=False, default=False)
    updates_consent = serializers.BooleanField(
        required=False, default=False, help_text="Agrees to receive this petition's updates by e-mail."
    )
    show_name_publicly = serializers.BooleanField(required=False, default=False)
    share_name_with_officials = serializers.BooleanField(required=False, default=False)
    locale = serializers.ChoiceField(choices=["de", "en"], required=False, default="de")
    utm_source = serializers.CharField(max_length=100, required=False, allow_blank=True)
    utm_medium = serializers.CharField(max_length=100, required=False, allow_blank=True)
    utm_campaign = serializers.CharField(max_length=100, required=False, allow_blank=True)
    referrer = serializers.CharField(max_length=500, required=False, allow_blank=True)
    website = serializers.CharField(required=False, allow_blank=True, help_text="Honeypot: leave empty.")
    altcha = serializers.CharField(required=False, allow_blank=True, help_text="The solved ALTCHA challenge.")


class SignatureAcceptedOutputSerializer(serializers.Serializer):
    status = serializers.CharField()


class SignatureTokenInputSerializer(StrictInputSerializer):
    token = serializers.CharField(max_length=200)


class SignatureStatusOutputSerializer(serializers.Serializer):
    status = serializers.CharField()
    petition = serializers.CharField(required=False, help_text="The petition's slug (confirm only).")


class LocalizedTextSerializer(serializers.Serializer):
    de = serializers.CharField()
    en = serializers.CharField()


class MilestoneOutputSerializer(serializers.Serializer):
    target = serializers.IntegerField()
    reached_at = serializers.DateTimeField(allow_null=True)


class PetitionOutputSerializer(serializers.Serializer):
    slug = serializers.CharField()
    campaign = serializers.CharField()
    title = LocalizedTextSerializer()
    text = LocalizedTextSerializer()
    status = serializers.CharField()
    is_open = serializers.BooleanField()
    opens_at = serializers.DateTimeField(allow_null=True)
    closes_at = serializers.DateTimeField(allow_null=True)
    signature_count = serializers.IntegerField()
    goal = serializers.IntegerField(allow_null=True)
    milestones = MilestoneOutputSerializer(many=True)
    consent_text = LocalizedTextSerializer()
    updates_consent_text = LocalizedTextSerializer(help_text="The text next to the updates_consent checkbox.")
    newsletter_consent_text = LocalizedTextSerializer(
        help_text="The text next to the newsletter_consent checkbox."
    )
    consent_version = serializers.CharField()
    altcha_enabled = serializers.BooleanField()
    counts_updated_at = serializers.DateTimeField(allow_null=True)


class PetitionCountOutputSerializer(serializers.Serializer):
    signature_count = serializers.IntegerField()
    goal = serializers.IntegerField(allow_null=True)
    updated_at = serializers.DateTimeField()


class RecentSignerOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    city = serializers.CharField()
    signed_at = serializers.DateTimeField()


class InvalidationInputSerializer(StrictInputSerializer):
    ip_hash = serializers.RegexField(r"^[0-9a-f]{64}$", required=False, allow_blank=True)
    email_domain = serializers.CharField(max_length=253, required=False, allow_blank=True)
    created_from = serializers.DateTimeField(required=False, allow_null=True)
    created_to = serializers.DateTimeField(required=False, allow_null=True)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)
    dry_run = serializers.BooleanField(required=False, default=True, help_text="Only count (the default).")

    def validate(self, attrs: dict) -> dict:
        if (
            attrs.get("created_from")
            and attrs.get("created_to")
            and attrs["created_from"] >= attrs["created_to"]
        ):
            raise serializers.ValidationError({"created_to": ["Must be after created_from."]})
        return attrs


class InvalidationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    dry_run = serializers.BooleanField()
    signature_count = serializers.IntegerField()


class SignatureExportInputSerializer(StrictInputSerializer):
    """Filters of the staff export (query parameters). Days are calendar days in the
    project's time zone, both inclusive."""

    status = serializers.ChoiceField(choices=["pending", "confirmed", "withdrawn"], required=False)
    is_flagged = serializers.BooleanField(required=False, allow_null=True, default=None)
    created_from = serializers.DateField(required=False, input_formats=["iso-8601"])
    created_to = serializers.DateField(required=False, input_formats=["iso-8601"])

    def validate(self, attrs: dict) -> dict:
        if (
            attrs.get("created_from")
            and attrs.get("created_to")
            and attrs["created_from"] > attrs["created_to"]
        ):
            raise serializers.ValidationError({"created_to": ["Must not be before created_from."]})
        return attrs


class PetitionUpdateCreateInputSerializer(StrictInputSerializer):
    subject = serializers.CharField(max_length=200)
    body_text = serializers.CharField(max_length=20000)
    subject_en = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    body_text_en = serializers.CharField(max_length=20000, required=False, allow_blank=True, default="")
    send = serializers.BooleanField(
        required=False, default=False, help_text="false: preview and a test send to yourself; true: send."
    )

    def validate(self, attrs: dict) -> dict:
        if bool(attrs.get("subject_en")) != bool(attrs.get("body_text_en")):
            missing = "body_text_en" if attrs.get("subject_en") else "subject_en"
            raise serializers.ValidationError(
                {missing: ["Give both the English subject and text, or neither."]}
            )
        return attrs


class PetitionUpdateTextSerializer(serializers.Serializer):
    subject = serializers.CharField()
    body_text = serializers.CharField()


class PetitionUpdateOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    recipient_count = serializers.IntegerField(help_text="Signers who agreed to updates (sending only).")
    preview = serializers.DictField(child=PetitionUpdateTextSerializer())
    test_sent_to = serializers.CharField(allow_blank=True)
