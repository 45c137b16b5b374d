"""Shared pieces of the public API layer: strict input serializers and the base view for
endpoints that need no account and no cookies."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.views import APIView


class StrictInputSerializer(serializers.Serializer):
    """An input serializer that rejects fields it does not know (the contract: unknown
    fields are a 400 naming them)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})
        return super().to_internal_value(data)


class PublicAPIView(APIView):
    """No authentication, so no session lookup and no CSRF check: public endpoints are
    called cross-origin from the campaign's sites without cookies."""

    authentication_classes: list = []
    permission_classes: list = []
