"""The staff API of the background exports: start one, follow it, download the file.

POST/GET /api/v1/staff/exports/, GET /api/v1/staff/exports/<id>/ and .../<id>/download. Any
role some registered export kind needs may list; each job needs its kind's permission."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaign.export_jobs import (
    FORMATS,
    export_job_as_dict,
    export_job_create,
    export_job_download_open,
    export_job_get,
    export_jobs_list,
    export_permissions,
)
from campaign.exports import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE
from campaign.permissions import HasStaffPermission


class ExportJobCreateInputSerializer(serializers.Serializer):
    kind = serializers.CharField(max_length=80)
    format = serializers.ChoiceField(choices=[str(f) for f in FORMATS])
    params = serializers.DictField(required=False, default=dict)


class ExportJobOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    format = serializers.CharField()
    params = serializers.DictField()
    username = serializers.CharField()
    status = serializers.CharField()
    percent = serializers.IntegerField()
    rows_written = serializers.IntegerField()
    total_rows = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    download_url = serializers.CharField(allow_null=True)
    error = serializers.CharField()


class _ExportView(APIView):
    def get_permissions(self) -> list[BasePermission]:
        # The kinds are registered by the apps at start-up; read them per request.
        return [HasStaffPermission(*export_permissions())()]


class ExportJobListView(_ExportView):
    @extend_schema(responses=ExportJobOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response([export_job_as_dict(job) for job in export_jobs_list(user=request.user)])

    @extend_schema(request=ExportJobCreateInputSerializer, responses={202: ExportJobOutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = ExportJobCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = export_job_create(user=request.user, **serializer.validated_data)
        return Response(export_job_as_dict(job), status=status.HTTP_202_ACCEPTED)


class ExportJobDetailView(_ExportView):
    @extend_schema(responses=ExportJobOutputSerializer)
    def get(self, request: Request, export_job_id: int) -> Response:
        return Response(export_job_as_dict(export_job_get(user=request.user, export_job_id=export_job_id)))


class ExportJobDownloadView(_ExportView):
    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, export_job_id: int) -> FileResponse:
        return export_file_response(user=request.user, export_job_id=export_job_id)


def export_file_response(*, user: Any, export_job_id: int) -> FileResponse:
    """The audited download of a finished export (the API and the staff page)."""
    job, handle = export_job_download_open(user=user, export_job_id=export_job_id)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=job.filename,
        content_type=CSV_CONTENT_TYPE if job.format == "csv" else XLSX_CONTENT_TYPE,
    )
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
