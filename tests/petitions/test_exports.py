"""The staff export of signatures: `GET /api/v1/staff/petitions/{slug}/signatures.csv|.xlsx`
and the admin action. On PostgreSQL the CSV comes from `COPY ... TO STDOUT`."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.http import StreamingHttpResponse
from django.utils import timezone
from rest_framework.test import APIClient

from campaign.exports import BOM, csv_rows_stream
from campaign.models import ExportLog
from campaign.staff_tokens import staff_token_create
from petitions.exports import (
    SIGNATURE_EXPORT_FIELDS,
    SignatureExportFilters,
    signature_export_header,
    signature_export_rows,
    signature_export_stream,
)
from petitions.models import Petition, Signature
from tests.campaign.test_exports import read_xlsx
from tests.conftest import staff_login

pytestmark = pytest.mark.django_db

BERLIN = dt.timezone(dt.timedelta(hours=1))  # the project's zone in winter


@pytest.fixture
def petition(campaign: Any) -> Petition:
    return Petition.objects.create(
        campaign=campaign, slug="schutz", title_de="Schutz", status=Petition.Status.OPEN
    )


_sequence = iter(range(1, 1_000_000))


def signature_make(petition: Petition, **fields: Any) -> Signature:
    n = next(_sequence)
    created_at = fields.pop("created_at", None)
    values = {
        "first_name": "Jürgen",
        "last_name": "Groß",
        "email": f"signer{n}@example.org",
        "email_normalized": f"signer{n}@example.org",
        "email_domain": "example.org",
        "postcode": "10115",
        "country": "DE",
        "city": "Berlin",
        "status": Signature.Status.CONFIRMED,
        "consent_version": "1",
        "consent_at": timezone.now(),
        **fields,
    }
    signature = Signature.objects.create(petition=petition, **values)
    if created_at is not None:
        Signature.objects.filter(pk=signature.pk).update(created_at=created_at)
        signature.refresh_from_db()
    return signature


def csv_of(response: StreamingHttpResponse) -> list[dict[str, str]]:
    data = b"".join(response.streaming_content)
    assert data.startswith(BOM)
    return list(csv.DictReader(io.StringIO(data[len(BOM) :].decode(), newline="")))


def url(petition: Petition, fmt: str = "csv") -> str:
    return f"/api/v1/staff/petitions/{petition.slug}/signatures.{fmt}"


def test_it_streams_the_signatures_as_csv_with_a_bom(staff_client, petition):
    signature = signature_make(petition, city="Köln", newsletter_consent=True)

    response = staff_client.get(url(petition))

    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="signatures-schutz-')
    assert response["Cache-Control"] == "no-store"
    rows = csv_of(response)
    assert list(rows[0]) == signature_export_header()
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == str(signature.pk)
    assert (row["first_name"], row["last_name"], row["city"]) == ("Jürgen", "Groß", "Köln")
    assert (row["newsletter_consent"], row["is_flagged"], row["status"]) == ("true", "false", "confirmed")
    assert row["created_at (Europe/Berlin)"] == timezone.localtime(signature.created_at).strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    assert row["confirmed_at (Europe/Berlin)"] == ""


def test_it_makes_every_text_cell_formula_safe(staff_client, petition):
    signature_make(
        petition,
        first_name='=HYPERLINK("http://evil.example","klick")',
        last_name="+491701234",
        city="-1+1",
        utm_source="@SUM(A1:A9)",
        referrer="\thttp://x",
        utm_campaign="\rcmd",
    )

    row = csv_of(staff_client.get(url(petition)))[0]

    assert row["first_name"] == '\'=HYPERLINK("http://evil.example","klick")'
    assert row["last_name"] == "'+491701234"
    assert row["city"] == "'-1+1"
    assert row["utm_source"] == "'@SUM(A1:A9)"
    assert row["referrer"] == "'\thttp://x"
    assert row["utm_campaign"] == "'\rcmd"


def test_it_filters_by_status_flag_and_days_in_local_time(staff_client, petition):
    # 23:30 Berlin on 1 March is still 1 March for staff, though it is 22:30 UTC.
    late_first = signature_make(petition, created_at=dt.datetime(2026, 3, 1, 23, 30, tzinfo=BERLIN))
    early_second = signature_make(petition, created_at=dt.datetime(2026, 3, 2, 0, 30, tzinfo=BERLIN))
    pending = signature_make(
        petition, status=Signature.Status.PENDING, created_at=dt.datetime(2026, 3, 2, 12, tzinfo=BERLIN)
    )
    flagged = signature_make(petition, is_flagged=True, created_at=dt.datetime(2026, 3, 3, 12, tzinfo=BERLIN))
    other = Petition.objects.create(campaign=petition.campaign, slug="andere", title_de="Andere")
    signature_make(other)

    def ids(**params: str) -> list[int]:
        response = staff_client.get(url(petition), params)
        assert response.status_code == 200
        return [int(row["id"]) for row in csv_of(response)]

    assert ids() == [late_first.pk, early_second.pk, pending.pk, flagged.pk]
    assert ids(status="pending") == [pending.pk]
    assert ids(status="confirmed") == [late_first.pk, early_second.pk, flagged.pk]
    assert ids(is_flagged="true") == [flagged.pk]
    assert ids(is_flagged="false") == [late_first.pk, early_second.pk, pending.pk]
    assert ids(created_from="2026-03-02") == [early_second.pk, pending.pk, flagged.pk]
    assert ids(created_to="2026-03-01") == [late_first.pk]
    assert ids(created_from="2026-03-02", created_to="2026-03-02") == [early_second.pk, pending.pk]
    assert ids(created_from="2026-03-02", created_to="2026-03-02", status="confirmed") == [early_second.pk]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "everything"}, "status"),
        ({"created_from": "yesterday"}, "created_from"),
        ({"created_from": "2026-02-30"}, "created_from"),
        ({"created_to": "03/01/2026"}, "created_to"),
        ({"created_from": "2026-03-02", "created_to": "2026-03-01"}, "created_to"),
        ({"is_flagged": "maybe"}, "is_flagged"),
        ({"petition": "other"}, "petition"),
    ],
)
def test_bad_filters_answer_400_naming_the_field(staff_client, petition, params, field):
    response = staff_client.get(url(petition), params)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["fields"]
    # A refused export is not an export.
    assert not ExportLog.objects.exists()


def test_an_unknown_petition_is_404_in_json(staff_client):
    response = staff_client.get("/api/v1/staff/petitions/nope/signatures.csv")

    assert response.status_code == 404
    assert response.json()["code"] == "petition_not_found"


def test_errors_are_json_even_when_the_client_asks_for_csv(staff_client, petition):
    response = staff_client.get(url(petition), {"status": "x"}, HTTP_ACCEPT="text/csv")

    assert response.status_code == 400
    assert response.json()["fields"]["status"]


def test_only_staff_may_export(api_client, petition):
    signature_make(petition)
    user = get_user_model().objects.create_user(username="volunteer", password="pw")
    volunteer = APIClient()
    volunteer.force_authenticate(user)

    assert api_client.get(url(petition)).status_code in {401, 403}
    assert api_client.get(url(petition, "xlsx")).status_code in {401, 403}
    assert volunteer.get(url(petition)).status_code == 403
    assert not ExportLog.objects.exists()


def test_staff_can_use_a_token_or_the_admin_session(staff_user, petition):
    signature_make(petition)
    _, key = staff_token_create(user=staff_user)  # a staff token (issued from a verified session)
    with_token = APIClient()
    with_token.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    with_session = staff_login(APIClient(), staff_user)  # a session verified with the second factor

    assert len(csv_of(with_token.get(url(petition)))) == 1
    assert len(csv_of(with_session.get(url(petition)))) == 1


def test_rows_are_produced_lazily_and_the_export_is_recorded(staff_client, staff_user, petition):
    for _ in range(3):
        signature_make(petition)

    response = staff_client.get(url(petition), {"status": "confirmed", "created_from": "2020-01-01"})

    # Nothing has been read yet: the response is a stream whose rows come when iterated.
    assert isinstance(response, StreamingHttpResponse)
    log = ExportLog.objects.get()
    assert (log.user, log.username, log.kind, log.format) == (
        staff_user,
        "staff",
        "petitions.signatures",
        "csv",
    )
    assert log.filters == {"petition": "schutz", "status": "confirmed", "created_from": "2020-01-01"}
    assert (log.row_count, log.finished) == (None, False)
    assert response["X-Export-Id"] == str(log.pk)

    content = iter(response.streaming_content)
    first = next(content)
    assert first == BOM + (",".join(signature_export_header()) + "\n").encode()
    log.refresh_from_db()
    assert log.finished is False  # the rows are still to come

    rest = b"".join(content)
    assert rest.count(b"\n") == 3
    log.refresh_from_db()
    assert (log.row_count, log.finished) == (3, True)


def test_it_exports_xlsx_with_text_cells(staff_client, petition):
    signature_make(petition, first_name="=1+1", city="Zürich")

    response = staff_client.get(url(petition, "xlsx"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = read_xlsx(b"".join(response.streaming_content))["Signatures"]
    header = [value for _, value in sheet[0]]
    assert header == signature_export_header()
    assert ("text", "=1+1") in sheet[1]  # a text cell, never a formula
    assert ("text", "Zürich") in sheet[1]
    assert not any(kind == "formula" for row in sheet for kind, _ in row)
    log = ExportLog.objects.get()
    assert (log.format, log.row_count, log.finished) == ("xlsx", 1, True)


def test_the_database_path_and_the_python_path_write_the_same_csv(petition):
    signature_make(petition, first_name="@home", confirmed_at=timezone.now(), show_name_publicly=True)
    signature_make(petition, status=Signature.Status.WITHDRAWN, referrer='a,"b"\nc', is_flagged=True)
    filters = SignatureExportFilters()

    copy_path = b"".join(
        signature_export_stream(petition=petition, filters=filters, format="csv", counter=[0])
    )
    python_path = b"".join(
        csv_rows_stream(
            header=signature_export_header(),
            rows=signature_export_rows(petition=petition, filters=filters),
            counter=[0],
        )
    )

    def parsed(data: bytes) -> list[list[str]]:
        return list(csv.reader(io.StringIO(data[len(BOM) :].decode(), newline="")))

    assert parsed(copy_path) == parsed(python_path)
    assert parsed(copy_path)[1][SIGNATURE_EXPORT_FIELDS.index("first_name")] == "'@home"


def test_the_admin_action_exports_the_selected_signatures(client, staff_user, petition):
    staff_user.is_superuser = True
    staff_user.save(update_fields=["is_superuser"])
    chosen = [signature_make(petition, first_name="-x"), signature_make(petition)]
    signature_make(petition)
    client.force_login(staff_user)

    response = client.post(
        "/admin/petitions/signature/",
        {"action": "export_csv", "_selected_action": [s.pk for s in chosen]},
    )

    assert response.status_code == 200
    rows = csv_of(response)
    assert [int(row["id"]) for row in rows] == sorted(s.pk for s in chosen)
    assert rows[0]["first_name"] == "'-x"
    log = ExportLog.objects.get()
    assert log.filters == {"source": "admin", "ids": sorted(s.pk for s in chosen)}
    assert (log.row_count, log.finished) == (2, True)
