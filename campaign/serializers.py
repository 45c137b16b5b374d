from __future__ import annotations

from rest_framework import serializers

from campaign.api import StrictInputSerializer


class TranslatedTextSerializer(serializers.Serializer):
    de = serializers.CharField()
    en = serializers.CharField()


class DonationTotalsOutputSerializer(serializers.Serializer):
    raised_amount = serializers.IntegerField(help_text="In cents, refunds and lost disputes subtracted.")
    donor_count = serializers.IntegerField()


class CampaignOutputSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = TranslatedTextSerializer()
    description = TranslatedTextSerializer()
    status = serializers.CharField()
    starts_at = serializers.DateTimeField(allow_null=True)
    ends_at = serializers.DateTimeField(allow_null=True)
    currency = serializers.CharField()
    suggested_amounts = serializers.ListField(child=serializers.IntegerField(), help_text="In cents.")
    donation_goal = serializers.IntegerField(help_text="In cents; 0 means no goal.")
    donation_totals = DonationTotalsOutputSerializer()
    petitions = serializers.ListField(child=serializers.DictField())


class TestEmailInputSerializer(StrictInputSerializer):
    email = serializers.EmailField()
    locale = serializers.ChoiceField(choices=["de", "en"], default="de")


class OutgoingEmailOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class AuditEntryListInputSerializer(StrictInputSerializer):
    action = serializers.CharField(max_length=80, required=False, allow_blank=True)
    actor = serializers.CharField(max_length=150, required=False, allow_blank=True, help_text="A username.")
    since = serializers.DateTimeField(required=False, help_text="ISO 8601; entries at or after it.")


class AuditEntryListPageInputSerializer(AuditEntryListInputSerializer):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=100)


class AuditEntryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor_username")
    actor_id = serializers.IntegerField(allow_null=True)
    ip_hash = serializers.CharField()
    action = serializers.CharField()
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    row_count = serializers.IntegerField(allow_null=True)
    details = serializers.DictField()
