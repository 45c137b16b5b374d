"""Shared pieces of the public API layer: strict input serializers and the base view for
endpoints that need no account and no cookies."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.views import APIView

# What nearly every client sends: fetch() and the widget send `*/*` or JSON, wrk and curl none.
_ACCEPT_ANY_JSON = frozenset({"", "*/*", "application/json"})


class StrictInputSerializer(serializers.Serializer):
    """An input serializer that rejects fields it does not know (the contract: unknown
    fields are a 400 naming them)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})
        return super().to_internal_value(data)


class JSONContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, with a short cut for the one renderer (JSON) and an `Accept` header
    that plainly takes it: parsing and ranking the header cost about a tenth of a signing's
    time in the view. Anything else (another `Accept`, `?format=`, several renderers) goes
    through DRF's own, which answers 406 where it must."""

    def select_renderer(
        self, request: Any, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        choices = list(renderers)
        meta = request.META
        if (
            len(choices) == 1
            and format_suffix is None
            and not meta.get("QUERY_STRING")
            and meta.get("HTTP_ACCEPT", "").strip() in _ACCEPT_ANY_JSON
            and choices[0].media_type == "application/json"
        ):
            return choices[0], choices[0].media_type
        return super().select_renderer(request, choices, format_suffix)


class PublicAPIView(APIView):
    """No authentication, so no session lookup and no CSRF check: public endpoints are
    called cross-origin from the campaign's sites without cookies."""

    authentication_classes: list = []
    permission_classes: list = []
    content_negotiation_class = JSONContentNegotiation
