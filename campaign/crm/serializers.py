from __future__ import annotations

from rest_framework import serializers

from campaign.api import StrictInputSerializer
from campaign.crm.models import CrmDelivery


class CrmDeliveryListInputSerializer(StrictInputSerializer):
    status = serializers.ChoiceField(choices=CrmDelivery.Status.choices, required=False)


class CrmDeliveryOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = CrmDelivery
        # No payload: a pending one still holds the address.
        fields = [
            "id",
            "event_id",
            "event",
            "status",
            "attempts",
            "next_attempt_at",
            "last_error",
            "created_at",
            "delivered_at",
        ]
        read_only_fields = fields
