"""The staff exports page in Chromium: start an export, watch the bar reach 100% while a real
worker writes the file, and download it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from campaign.models import AuditEntry
from petitions.models import Signature
from tests.conftest import staff_login, staff_user_create
from tests.fixtures.petitions import SignatureFactory

pytestmark = pytest.mark.integration


def test_an_export_started_on_the_page_reaches_100_percent_and_downloads(
    live_server: Any,
    page: Any,
    celery_worker: Any,
    petition: Any,
    django_user_model: Any,
    screenshot_dir: Any,
):
    Signature.objects.bulk_create(SignatureFactory.build_batch(2000, petition=petition), batch_size=1000)
    exporter = staff_user_create(django_user_model, "exporter", "data export")
    client = staff_login(Client(), exporter)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )

    page.goto(f"{live_server.url}/staff/exports/")
    form = page.locator("form.export-form[data-kind='petitions.signatures']")
    form.locator("input[name=petition]").fill(petition.slug)
    form.locator("select[name=format]").select_option("xlsx")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/staff/exports/")

    row = page.locator("tr.export-job").first
    link = row.locator("a.download")
    link.wait_for(timeout=60_000)  # put there by the script polling the progress endpoint
    assert row.locator("progress").evaluate("bar => bar.value") == 100
    assert row.locator(".percent").inner_text() == "100%"
    page.screenshot(path=str(screenshot_dir / "staff-exports.png"), full_page=True)
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename.startswith(f"signatures-{petition.slug}-")
    assert download.suggested_filename.endswith(".xlsx")
    with open(download.path(), "rb") as file:
        assert file.read(2) == b"PK"  # a zip archive: the workbook
    entry = AuditEntry.objects.get(action="export.download")
    assert entry.actor_username == "exporter"
    assert entry.row_count == 2000
