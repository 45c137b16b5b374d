"""Input and output shapes of the petitions API. Signing is validated by
`petitions.validation.signature_input_validate` (the hot path); its serializer here documents
the same fields in the API schema."""

from __future__ import annotations

from rest_framework import serializers

from campaign.api import StrictInputSerializer
from petitions.validation import COUNTRY_CODES

# The schema of the signing form states what `signature_input_validate` checks (this serializer
# only documents it): a name has no control characters and starts with none of = + - @ or a space.
NAME_PATTERN = r"^[^\s=+\-@\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
POSTCODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 -]{0,9}$"
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
CITY_PATTERN = r"^([^\s=+\-@\x00-\x1f\x7f][^\x00-\x1f\x7f]*)?$"


class SignatureCreateInputSerializer(StrictInputSerializer):
    first_name = serializers.RegexField(NAME_PATTERN, max_length=100)
    last_name = serializers.RegexField(NAME_PATTERN, max_length=100)
    email = serializers.EmailField(max_length=254)
    postcode = serializers.RegexField(
        POSTCODE_PATTERN,
        max_length=16,
        help_text="Required for countries with known postcode formats, which are narrower.",
    )
    country = serializers.ChoiceField(choices=sorted(COUNTRY_CODES), help_text="ISO 3166-1 alpha-2")
    city = serializers.RegexField(CITY_PATTERN, max_length=100, required=False, allow_blank=True)
    privacy_consent = serializers.ChoiceField(choices=[True], help_text="Must be true.")
    consent_version = serializers.CharField(max_length=40, help_text="The consent version the form showed.")
    newsletter_consent = serializers.BooleanField(required=False, default=False)
    updates_consent = serializers.BooleanField(
        required=False, default=False, help_text="Agrees to receive this petition's updates by e-mail."
    )
    show_name_publicly = serializers.BooleanField(required=False, default=False)
    share_name_with_officials = serializers.BooleanField(required=False, default=False)
    locale = serializers.ChoiceField(choices=["de", "en"], required=False, default="de")
    utm_source = serializers.RegexField(TEXT_PATTERN, max_length=100, required=False, allow_blank=True)
    utm_medium = serializers.RegexField(TEXT_PATTERN, max_length=100, required=False, allow_blank=True)
    utm_campaign = serializers.RegexField(TEXT_PATTERN, max_length=100, required=False, allow_blank=True)
    referrer = serializers.RegexField(TEXT_PATTERN, max_length=500, required=False, allow_blank=True)
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


# --- the fraud review queue (petitions.review) --------------------------------------------------

REVIEW_REASONS = [
    "domain_blocked",
    "domain_disposable",
    "ip_burst",
    "ip_sustained",
    "domain_rate",
    "staff",
    "invalidation",
]


class FlaggedFiltersInputSerializer(StrictInputSerializer):
    """The queue's filters, AND-ed. Times are ISO 8601; `since` inclusive, `until` exclusive."""

    reason = serializers.ChoiceField(choices=REVIEW_REASONS, required=False)
    ip_hash = serializers.RegexField(r"^[0-9a-f]{64}$", required=False)
    email_domain = serializers.RegexField(r"^[A-Za-z0-9.-]{1,253}$", required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)

    def validate(self, attrs: dict) -> dict:
        if attrs.get("since") and attrs.get("until") and attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError({"until": ["Must be after since."]})
        return attrs


class FlaggedListInputSerializer(FlaggedFiltersInputSerializer):
    limit = serializers.IntegerField(min_value=1, max_value=500, required=False, default=100)
    offset = serializers.IntegerField(min_value=0, max_value=10_000_000, required=False, default=0)


class FlaggedActionInputSerializer(FlaggedFiltersInputSerializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        min_length=1,
        max_length=10_000,
        required=False,
        help_text="Signature ids (AND-ed with the filters).",
    )


class FlaggedInvalidationInputSerializer(FlaggedActionInputSerializer):
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    dry_run = serializers.BooleanField(required=False, default=True, help_text="Only preview (the default).")


class FlagExplanationOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    text = serializers.CharField()
    invalidation_id = serializers.IntegerField(allow_null=True)
    earlier_reason = serializers.CharField()


class FlaggedSampleOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField()
    flag_reason = serializers.CharField()
    ip_hash = serializers.CharField()
    email_domain = serializers.CharField()
    why = FlagExplanationOutputSerializer()


class FlaggedSignatureOutputSerializer(FlaggedSampleOutputSerializer):
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.CharField()
    postcode = serializers.CharField()
    country = serializers.CharField()
    city = serializers.CharField()


class FlaggedListOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next_offset = serializers.IntegerField(allow_null=True)
    results = FlaggedSignatureOutputSerializer(many=True)


class FlaggedUnflagOutputSerializer(serializers.Serializer):
    unflagged = serializers.IntegerField()


class FlaggedInvalidationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    dry_run = serializers.BooleanField()
    signature_count = serializers.IntegerField()
    sample = FlaggedSampleOutputSerializer(many=True, required=False)


class InvalidationUndoOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    undone_at = serializers.DateTimeField()
    restored_count = serializers.IntegerField()
