"""The staff page of the background exports (/staff/exports/): start an export, watch its
progress bar, download the file while it lasts. Server-rendered; a few lines of vanilla
JavaScript poll the small JSON endpoint for the bar, and without JavaScript the page refreshes
itself while an export runs. Only sessions verified with the second factor reach it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from campaign.exceptions import ApplicationError
from campaign.export_job_views import export_file_response
from campaign.export_jobs import (
    export_job_as_dict,
    export_job_create,
    export_job_get,
    export_jobs_list,
    export_kinds_for_user,
)
from campaign.models import ExportJob
from campaign.staff_views import staff_page_guard, staff_render


def _page_urls(job: ExportJob) -> dict[str, Any]:
    return {
        "progress_url": reverse("staff-export-progress", args=[job.pk]),
        "page_download_url": reverse("staff-export-file", args=[job.pk])
        if job.status == ExportJob.Status.DONE
        else None,
    }


@never_cache
@require_http_methods(["GET", "POST"])
def staff_exports(request: HttpRequest) -> HttpResponse:
    redirect = staff_page_guard(request)
    if redirect is not None:
        return redirect
    kinds = export_kinds_for_user(request.user)
    if not kinds:
        return staff_render(request, "exports.html", {"forbidden": True}, status=403)
    errors: dict[str, list[str]] = {}
    message = ""
    status = 200
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        params = {
            name: value
            for name, _ in next((k.fields for k in kinds if k.name == kind), ())
            if (value := request.POST.get(name, "").strip())
        }
        try:
            export_job_create(
                user=request.user, kind=kind, format=request.POST.get("format", ""), params=params
            )
        except ApplicationError as exc:
            message, errors, status = exc.message, exc.fields or {}, exc.status_code
        else:
            return HttpResponseRedirect(reverse("staff-exports"))
    jobs = [{"job": job, **_page_urls(job)} for job in export_jobs_list(user=request.user)]
    running = any(item["job"].status in {ExportJob.Status.QUEUED, ExportJob.Status.RUNNING} for item in jobs)
    context = {"kinds": kinds, "jobs": jobs, "running": running, "message": message, "errors": errors}
    return staff_render(request, "exports.html", context, status=status)


@never_cache
@require_GET
def staff_export_progress(request: HttpRequest, export_job_id: int) -> HttpResponse:
    """The bar's JSON: status, percent, and the download link once the file is there."""
    if staff_page_guard(request) is not None:
        return JsonResponse(
            {"detail": "Log in with your second factor.", "code": "not_authenticated"}, status=401
        )
    try:
        job = export_job_get(user=request.user, export_job_id=export_job_id)
    except ApplicationError as exc:
        return JsonResponse({"detail": exc.message, "code": exc.code}, status=exc.status_code)
    data = export_job_as_dict(job)
    return JsonResponse(
        {key: data[key] for key in ("id", "status", "percent", "rows_written", "total_rows")}
        | {"download_url": _page_urls(job)["page_download_url"]}
    )


@never_cache
@require_GET
def staff_export_file(request: HttpRequest, export_job_id: int) -> HttpResponseBase:
    redirect = staff_page_guard(request)
    if redirect is not None:
        return redirect
    try:
        return export_file_response(user=request.user, export_job_id=export_job_id)
    except ApplicationError as exc:
        return staff_render(
            request, "exports.html", {"message": exc.message, "gone": True}, status=exc.status_code
        )
