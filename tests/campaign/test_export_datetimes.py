"""Every staff export writes date-times one way: `YYYY-MM-DD HH:MM:SS` in the campaign's time
zone, which the header of each date-time column names (`created_at (Europe/Berlin)`)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from campaign.exports import BOM
from donations.models import Donation, Donor
from petitions.models import Petition, Signature
from tests.campaign.test_exports import read_xlsx

pytestmark = pytest.mark.django_db

DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
# Anything that starts like a date is meant to be a date-time cell and must have the one form.
LOOKS_LIKE_A_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
# 23:30 UTC on a winter day is already the next day in Berlin.
MOMENT = dt.datetime(2026, 1, 31, 23, 30, 15, 123456, tzinfo=dt.UTC)


def _rows_of_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(BOM)
    return list(csv.reader(io.StringIO(data[len(BOM) :].decode(), newline="")))


def _rows_of_xlsx(data: bytes) -> list[list[str]]:
    (sheet,) = read_xlsx(data).values()
    return [[str(value) for _, value in row] for row in sheet]


def _exports(staff_client: Any, admin_client: Client, petition: Petition, signatures: list[int]) -> dict:
    """Every export there is: name -> (header, rows)."""
    results = {}
    for fmt in ("csv", "xlsx"):
        read = _rows_of_csv if fmt == "csv" else _rows_of_xlsx
        api = staff_client.get(f"/api/v1/staff/petitions/{petition.slug}/signatures.{fmt}")
        donations = staff_client.get(f"/api/v1/staff/donations/export.{fmt}")
        admin_action = admin_client.post(
            "/admin/petitions/signature/", {"action": f"export_{fmt}", "_selected_action": signatures}
        )
        for name, response in (
            (f"signatures.{fmt}", api),
            (f"donations.{fmt}", donations),
            (f"admin signatures {fmt}", admin_action),
        ):
            assert response.status_code == 200, name
            header, *rows = read(b"".join(response.streaming_content))
            assert rows, name
            results[name] = (header, rows)
    return results


def test_every_export_writes_date_times_in_one_form_with_the_zone_named(
    staff_client, staff_user, client, demo_petition
):
    # The demo data (its donations) plus one signature and one gift at a known moment.
    petition = demo_petition
    campaign = petition.campaign
    signature = Signature.objects.create(
        petition=petition,
        first_name="Jürgen",
        last_name="Groß",
        email="zeit@example.org",
        email_normalized="zeit@example.org",
        email_domain="example.org",
        postcode="10115",
        country="DE",
        status=Signature.Status.WITHDRAWN,
        consent_version="1",
        consent_at=MOMENT,
        confirmed_at=MOMENT,
        withdrawn_at=MOMENT,
    )
    Signature.objects.filter(pk=signature.pk).update(created_at=MOMENT)
    donor = Donor.objects.create(email="spende@example.org", email_normalized="spende@example.org")
    donation = Donation.objects.create(
        campaign=campaign, donor=donor, amount=5000, method="card", status="succeeded"
    )
    Donation.objects.filter(pk=donation.pk).update(created_at=MOMENT)
    staff_user.is_superuser = True
    staff_user.save(update_fields=["is_superuser"])
    client.force_login(staff_user)

    exports = _exports(staff_client, client, petition, [signature.pk])
    ours = {signature.email, str(donation.public_id)}

    zone = f" ({settings.TIME_ZONE})"
    expected = MOMENT.astimezone(dt.timezone(dt.timedelta(hours=1))).strftime("%Y-%m-%d %H:%M:%S")
    assert expected == "2026-02-01 00:30:15"
    for name, (header, rows) in exports.items():
        datetime_columns = [i for i, title in enumerate(header) if title.endswith(zone)]
        assert datetime_columns, f"{name}: no date-time column names the zone: {header}"
        for i, title in enumerate(header):
            if i not in datetime_columns:
                assert not title.endswith("_at"), f"{name}: {title} does not name the time zone"
        assert header[datetime_columns[0]] == f"created_at{zone}", name
        assert any(ours & set(row) for row in rows), f"{name}: the known rows are missing"
        for row in rows:
            for i, cell in enumerate(row):
                if i in datetime_columns and cell:
                    assert DATETIME.match(cell), f"{name}: {header[i]} = {cell!r}"
                    if ours & set(row):
                        assert cell == expected, f"{name}: {header[i]} = {cell!r}"
                elif LOOKS_LIKE_A_DATE.match(cell):
                    pytest.fail(
                        f"{name}: {header[i]} = {cell!r} looks like a date in a column without a zone"
                    )
