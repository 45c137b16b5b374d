"""The staff page of the fraud review queue (/staff/review/<petition>/): the flagged signatures
with filters and why each was flagged, bulk unflag, invalidation after a preview with sample
rows, and the undo of an invalidation. Server-rendered forms, no JavaScript; every action goes
through the review services (petitions.review, petitions.invalidation), which audit it. The
page shows no names or addresses (ids, times, reasons, IP hashes, mail domains), so it needs
the organiser role, like the actions."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from campaign.exceptions import ApplicationError
from campaign.permissions import ORGANISE, user_has_staff_permission
from campaign.staff_views import staff_page_guard, staff_render
from petitions.invalidation import invalidation_undo
from petitions.models import Petition
from petitions.review import (
    flagged_invalidation_preview,
    flagged_signatures_invalidate,
    flagged_signatures_unflag,
)
from petitions.review_selectors import (
    FlaggedFilters,
    flagged_signatures_filter,
    flagged_signatures_list,
    invalidations_recent,
)
from petitions.selectors import petition_public_get
from petitions.serializers import (
    REVIEW_REASONS,
    FlaggedInvalidationInputSerializer,
    FlaggedListInputSerializer,
)

FILTER_FIELDS = ("reason", "ip_hash", "email_domain", "since", "until")
PAGE_SIZE = 100


def _filter_values(data: QueryDict) -> dict[str, str]:
    """The filters as the form sent them, blanks dropped (an empty field filters nothing)."""
    return {name: value for name in FILTER_FIELDS if (value := data.get(name, "").strip())}


def _query(values: dict[str, str], **extra: Any) -> str:
    return urlencode({**values, **extra})


def _render(
    request: HttpRequest, petition: Petition, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    values = context.get("values", {})
    base = {
        "petition": petition,
        "reasons": REVIEW_REASONS,
        "values": values,
        "invalidations": invalidations_recent(petition=petition),
        "page_url": reverse("staff-review-page", kwargs={"slug": petition.slug}),
        "query": _query(values),
    }
    return staff_render(request, "petition_review.html", {**base, **context}, status=status)


def _queue(request: HttpRequest, petition: Petition, values: dict[str, str]) -> dict[str, Any]:
    serializer = FlaggedListInputSerializer(
        data={**values, "limit": PAGE_SIZE, "offset": request.GET.get("offset", "0") or "0"}
    )
    if not serializer.is_valid():
        return {"errors": serializer.errors}
    data = serializer.validated_data
    page = flagged_signatures_list(
        petition=petition,
        filters=FlaggedFilters.from_validated(data),
        limit=PAGE_SIZE,
        offset=data["offset"],
        personal_data=False,
    )
    return {
        "page": page,
        "next_query": _query(values, offset=page["next_offset"]) if page["next_offset"] is not None else "",
        "actions_enabled": bool(values),
    }


def _action(request: HttpRequest, petition: Petition, values: dict[str, str]) -> HttpResponse:
    action = request.POST.get("action", "")
    back = HttpResponseRedirect(
        f"{reverse('staff-review-page', kwargs={'slug': petition.slug})}?{_query(values)}"
    )
    if action == "undo":
        invalidation_id = request.POST.get("invalidation_id", "")
        if not invalidation_id.isdigit():
            return _render(
                request, petition, {"values": values, "errors": {"invalidation_id": ["Not a number."]}}, 400
            )
        invalidation = invalidation_undo(
            petition=petition, invalidation_id=int(invalidation_id), user=request.user
        )
        messages.success(
            request,
            f"Invalidation #{invalidation.pk} undone: {invalidation.undone_count} signatures restored.",
        )
        return back
    serializer = FlaggedInvalidationInputSerializer(data={**values, "note": request.POST.get("note", "")})
    if not serializer.is_valid():
        return _render(request, petition, {"values": values, "errors": serializer.errors}, 400)
    filters = FlaggedFilters.from_validated(serializer.validated_data)
    if action == "unflag":
        unflagged = flagged_signatures_unflag(petition=petition, user=request.user, filters=filters)
        messages.success(request, f"{unflagged} signatures unflagged; the confirmed ones count again.")
        return back
    if action == "invalidate":
        expected = request.POST.get("expected_count", "")
        now_matching = flagged_signatures_filter(petition=petition, filters=filters, in_review=True).count()
        if expected != str(now_matching):
            action = "preview"  # the queue changed since the preview: show the new one first
        else:
            invalidation = flagged_signatures_invalidate(
                petition=petition, user=request.user, filters=filters, note=serializer.validated_data["note"]
            )
            messages.success(
                request,
                f"Invalidation #{invalidation.pk}: {invalidation.signature_count} signatures invalidated. "
                "It can be undone below.",
            )
            return back
    if action == "preview":
        preview = flagged_invalidation_preview(petition=petition, user=request.user, filters=filters)
        changed = "expected_count" in request.POST
        return _render(
            request,
            petition,
            {
                "values": values,
                "preview": preview,
                "preview_changed": changed,
                **_queue(request, petition, values),
            },
        )
    return _render(request, petition, {"values": values, "errors": {"action": ["Unknown action."]}}, 400)


@never_cache
@require_http_methods(["GET", "POST"])
def petition_review_page(request: HttpRequest, slug: str) -> HttpResponse:
    redirect = staff_page_guard(request)
    if redirect is not None:
        return redirect
    if not user_has_staff_permission(request.user, ORGANISE):
        return staff_render(request, "petition_review.html", {"forbidden": True}, status=403)
    try:
        petition = petition_public_get(slug=slug)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    if request.method == "POST":
        values = _filter_values(request.POST)
        try:
            return _action(request, petition, values)
        except ApplicationError as exc:
            errors = exc.fields or {}
            context = {
                "values": values,
                "message": exc.message,
                "errors": errors,
                **_queue(request, petition, values),
            }
            return _render(request, petition, context, exc.status_code)
    values = _filter_values(request.GET)
    queue = _queue(request, petition, values)
    return _render(request, petition, {"values": values, **queue}, 400 if "errors" in queue else 200)
