"""The fraud review queue page in Chromium against the live server, for an organiser logged in
with a verified session: filter the flagged signatures, preview an invalidation with its sample
rows, invalidate, then undo it; the counts match a recount at the end. Writes docs' screenshot
staff-review.png (the preview) to test-output/."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from tests.conftest import staff_login, staff_user_create

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("petitions_isolation")]

BOT_HASH = "b" * 64


@pytest.fixture
def review_petition(transactional_db: Any, campaign: Any, sign: Any) -> Any:
    """Six flagged bot signatures (one IP hash, two domains), two flagged by staff, ten fine."""
    from petitions.counting import petition_counts_update
    from petitions.models import Petition, Signature

    petition = Petition.objects.create(
        campaign=campaign,
        slug="review-petition",
        title_de="Livestream-Missbrauch stoppen",
        status=Petition.Status.OPEN,
        consent_version="v1",
    )
    now = timezone.now()
    for n in range(6):
        signature = sign(
            petition,
            ip_hash=BOT_HASH,
            email_domain="bots.example" if n % 3 else "mailinator.example",
            is_flagged=True,
            flag_reason="ip_burst",
        )
        Signature.objects.filter(pk=signature.pk).update(created_at=now - timedelta(minutes=n))
    for n in range(2):
        sign(petition, ip_hash=f"{n}" * 64, email_domain="example.org", is_flagged=True, flag_reason="staff")
    for n in range(10):
        sign(petition, ip_hash=f"{n % 10}" * 63 + "a")
    petition_counts_update()
    return petition


def test_an_organiser_filters_previews_invalidates_and_undoes(
    live_server: Any, page: Any, review_petition: Any, django_user_model: Any, screenshot_dir: Any
):
    from petitions.counting import petition_counts_recount
    from petitions.models import Invalidation, Signature

    organiser = staff_user_create(django_user_model, "review-organiser", "organiser")
    client = staff_login(Client(), organiser)
    page.context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    url = f"{live_server.url}/staff/review/{review_petition.slug}/"

    page.goto(url)
    assert page.locator("#flagged-count").inner_text() == "8"
    assert page.evaluate("document.scripts.length") == 0  # forms only

    page.select_option("#filter-reason", "ip_burst")
    page.fill("#filter-email-domain", "bots.example")
    page.click("#filters button[type=submit]")
    assert page.locator("#flagged-count").inner_text() == "4"
    assert "same IP hash" in page.locator("#flagged").inner_text()  # why each was flagged

    page.click("#preview-form button")
    assert page.locator("#preview-count").inner_text() == "4"
    assert page.locator("#preview-sample tr").count() == 1 + 4
    page.screenshot(path=str(screenshot_dir / "staff-review.png"), full_page=True)

    page.fill("#invalidate-note", "bot wave")
    page.click("#invalidate-form button")
    notice = page.locator(".notice").inner_text()
    assert "4 signatures invalidated" in notice
    invalidation = Invalidation.objects.get()
    assert (invalidation.signature_count, invalidation.reason) == (4, "bot wave")
    assert Signature.objects.filter(flag_reason__startswith=f"invalidation:{invalidation.pk}:").count() == 4
    assert page.locator("#flagged-count").inner_text() == "0"  # gone from the ip_burst filter

    page.locator(f"tr.invalidation[data-id='{invalidation.pk}'] button").click()
    assert "4 signatures restored" in page.locator(".notice").inner_text()
    assert page.locator("#flagged-count").inner_text() == "4"
    assert Signature.objects.filter(petition=review_petition, flag_reason="ip_burst").count() == 6
    assert "undone" in page.locator(f"tr.invalidation[data-id='{invalidation.pk}']").inner_text()

    review_petition.refresh_from_db()
    assert review_petition.signature_count == 10
    assert petition_counts_recount() == {}
