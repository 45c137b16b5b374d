"""Staff API of the fraud review queue (petitions.review). The list shows signers' personal
data and needs the data export role; the actions (unflag, invalidate with its preview, undo)
need the organiser role and show no personal data."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaign.audit import audit_record
from campaign.permissions import EXPORT_PERSONAL_DATA, ORGANISE, HasStaffPermission
from petitions.invalidation import invalidation_undo
from petitions.review import (
    flagged_invalidation_preview,
    flagged_signatures_invalidate,
    flagged_signatures_unflag,
)
from petitions.review_selectors import FlaggedFilters, flagged_signatures_list
from petitions.selectors import petition_public_get
from petitions.serializers import (
    FlaggedActionInputSerializer,
    FlaggedInvalidationInputSerializer,
    FlaggedInvalidationOutputSerializer,
    FlaggedListInputSerializer,
    FlaggedListOutputSerializer,
    FlaggedUnflagOutputSerializer,
    InvalidationUndoOutputSerializer,
)


def _filters(data: dict[str, Any]) -> FlaggedFilters:
    return FlaggedFilters.from_validated(data)


class PetitionFlaggedListView(APIView):
    """The flagged signatures of a petition, newest first, each with why it was flagged."""

    permission_classes = [HasStaffPermission(EXPORT_PERSONAL_DATA)]

    @extend_schema(parameters=[FlaggedListInputSerializer], responses=FlaggedListOutputSerializer)
    def get(self, request: Request, slug: str) -> Response:
        petition = petition_public_get(slug=slug)
        serializer = FlaggedListInputSerializer(data=request.query_params.dict())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        filters = _filters(data)
        page = flagged_signatures_list(
            petition=petition, filters=filters, limit=data["limit"], offset=data["offset"]
        )
        # A read of personal data: audited with the filters and the rows shown, never the rows.
        audit_record(
            actor=request.user,
            action="review.list",
            object_type="petitions.petition",
            object_id=petition.pk,
            row_count=len(page["results"]),
            details={
                "petition": petition.slug,
                "limit": data["limit"],
                "offset": data["offset"],
                **filters.audit_details(),
            },
            request=request,
        )
        return Response(FlaggedListOutputSerializer(page).data)


class PetitionFlaggedUnflagView(APIView):
    """Unflag the flagged signatures in review that match the ids and/or filters."""

    permission_classes = [HasStaffPermission(ORGANISE)]

    @extend_schema(request=FlaggedActionInputSerializer, responses=FlaggedUnflagOutputSerializer)
    def post(self, request: Request, slug: str) -> Response:
        petition = petition_public_get(slug=slug)
        serializer = FlaggedActionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        unflagged = flagged_signatures_unflag(
            petition=petition, user=request.user, filters=_filters(serializer.validated_data)
        )
        return Response(FlaggedUnflagOutputSerializer({"unflagged": unflagged}).data)


class PetitionFlaggedInvalidationCreateView(APIView):
    """Invalidate flagged signatures in review. The default is a dry run: the count and
    sample rows; `dry_run: false` invalidates (201, the invalidation's id for the undo)."""

    permission_classes = [HasStaffPermission(ORGANISE)]

    @extend_schema(
        request=FlaggedInvalidationInputSerializer,
        responses={200: FlaggedInvalidationOutputSerializer, 201: FlaggedInvalidationOutputSerializer},
    )
    def post(self, request: Request, slug: str) -> Response:
        petition = petition_public_get(slug=slug)
        serializer = FlaggedInvalidationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        filters = _filters(data)
        if data["dry_run"]:
            preview = flagged_invalidation_preview(petition=petition, user=request.user, filters=filters)
            body = {"id": None, "dry_run": True, **preview}
            return Response(FlaggedInvalidationOutputSerializer(body).data)
        invalidation = flagged_signatures_invalidate(
            petition=petition, user=request.user, filters=filters, note=data["note"]
        )
        body = {"id": invalidation.pk, "dry_run": False, "signature_count": invalidation.signature_count}
        return Response(FlaggedInvalidationOutputSerializer(body).data, status=status.HTTP_201_CREATED)


class PetitionInvalidationUndoView(APIView):
    """Undo an invalidation (either kind): its signatures go back to where they were."""

    permission_classes = [HasStaffPermission(ORGANISE)]

    @extend_schema(request=None, responses=InvalidationUndoOutputSerializer)
    def post(self, request: Request, slug: str, invalidation_id: int) -> Response:
        petition = petition_public_get(slug=slug)
        invalidation = invalidation_undo(
            petition=petition, invalidation_id=invalidation_id, user=request.user
        )
        body = {
            "id": invalidation.pk,
            "undone_at": invalidation.undone_at,
            "restored_count": invalidation.undone_count,
        }
        return Response(InvalidationUndoOutputSerializer(body).data)
