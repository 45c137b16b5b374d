"""The handover report PDF and the staff endpoints that serve it."""

from __future__ import annotations

import hashlib
import io

from campaign.models import ExportLog
from officials.reports import ReportOptions, handover_report_render, signature_list_digest
from petitions.counting import petition_counts_update
from petitions.models import Petition, Signature


def pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def _recomputed_digest(petition: Petition) -> str:
    """The canonical list as the report's definition states it, recomputed independently."""
    rows = Signature.objects.filter(petition=petition, counted=True).order_by("id")
    text = "".join(f"{s.id}\t{s.email_normalized}\n" for s in rows)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _signed(petition, sign, count_by_postcode: dict[str, int], **fields) -> None:
    for postcode, n in count_by_postcode.items():
        for _ in range(n):
            sign(petition, postcode=postcode, **fields)


def test_the_report_states_the_totals_and_a_digest_that_matches_the_database(regions, petition, sign):
    _signed(petition, sign, {"10115": 3, "20095": 2, "80331": 1, "99999": 1})
    sign(petition, postcode="1010", country="AT")
    sign(petition, postcode="10115", is_flagged=True)  # never counted, not in the list
    Petition.objects.filter(pk=petition.pk).update(offline_count=1234)
    petition_counts_update()
    petition.refresh_from_db()

    text = pdf_text(handover_report_render(petition=petition))

    assert "Übergabebericht" in text
    assert petition.title_de in text
    assert "Unterschriften insgesamt: 1.242" in text
    assert "davon online (bestätigt): 8" in text
    assert "davon auf Papier: 1.234" in text
    assert "Berlin 3 37,5 %" in text
    assert "Hamburg 2 25,0 %" in text
    assert "Postleitzahl nicht zugeordnet 1" in text
    assert "Ausland: AT 1" in text
    assert "Wir fordern wirksame Gesetze" in text
    digest = _recomputed_digest(petition)
    assert digest in text.replace("\n", "")
    assert signature_list_digest(petition_id=petition.pk) == (digest, 8)
    assert "Einträge in der Liste: 8" in text
    assert "signer" not in text  # no e-mail address in the report


def test_the_digest_changes_when_the_list_changes(regions, petition, sign):
    sign(petition)
    sign(petition)
    petition_counts_update()
    before, _ = signature_list_digest(petition_id=petition.pk)

    sign(petition)
    petition_counts_update()

    after, count = signature_list_digest(petition_id=petition.pk)
    assert before != after
    assert (after, count) == (_recomputed_digest(petition), 3)


def test_a_constituency_report_shows_its_count_and_lists_only_consenting_signers_there(
    regions, petition, sign
):
    sign(petition, postcode="10115", first_name="Anna", last_name="Mitte", share_name_with_officials=True)
    sign(petition, postcode="10119", first_name="Ben", last_name="Grenzfall", share_name_with_officials=True)
    sign(petition, postcode="10115", first_name="Cem", last_name="Ohnezustimmung")
    sign(petition, postcode="20095", first_name="Dora", last_name="Hamburg", share_name_with_officials=True)
    petition_counts_update()
    petition.refresh_from_db()

    content = handover_report_render(
        petition=petition,
        options=ReportOptions(
            constituency=regions[75], include_names=True, table="constituency", locale="en"
        ),
    )

    text = pdf_text(content)
    assert "Handover report" in text
    assert "Constituency 75 Berlin-Mitte" in text
    assert "3 signatures, 75.0 % of the online signatures" in text
    assert "75 Berlin-Mitte (Berlin) 3 75.0 %" in text
    assert "18 Hamburg-Mitte (Hamburg) 1 25.0 %" in text
    assert "Anna Mitte" in text and "Ben Grenzfall" in text
    assert "Ohnezustimmung" not in text  # did not agree to have the name passed on
    assert "Dora Hamburg" not in text  # another constituency


def test_the_report_of_a_petition_without_signatures_renders(petition):
    text = pdf_text(handover_report_render(petition=petition))

    assert "Noch keine bestätigten Unterschriften." in text
    assert hashlib.sha256(b"").hexdigest() in text.replace("\n", "")


def test_staff_download_the_report_and_the_download_is_logged(
    regions, petition, sign, staff_client, staff_user
):
    sign(
        petition, postcode="10115", first_name="Anna", last_name="Zustimmung", share_name_with_officials=True
    )
    petition_counts_update()

    response = staff_client.get(
        f"/api/v1/staff/petitions/{petition.slug}/report.pdf",
        {"constituency": regions[75].pk, "names": "true"},
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    assert "Anna Zustimmung" in pdf_text(response.content)
    log = ExportLog.objects.get(kind="officials.handover_report")
    assert (log.username, log.format, log.filters["names"], log.finished) == ("staff", "pdf", True, True)


def test_the_report_is_for_staff_only(petition, api_client, django_user_model):
    assert api_client.get(f"/api/v1/staff/petitions/{petition.slug}/report.pdf").status_code in {401, 403}
    user = django_user_model.objects.create_user(username="supporter", password="x")
    api_client.force_authenticate(user)
    assert api_client.get(f"/api/v1/staff/petitions/{petition.slug}/report.pdf").status_code == 403


def test_bad_report_options_are_a_400_naming_the_field(regions, petition, staff_client):
    url = f"/api/v1/staff/petitions/{petition.slug}/report.pdf"

    for params, field in [
        ({"table": "city"}, "table"),
        ({"constituency": "x"}, "constituency"),
        ({"constituency": 999999}, "constituency"),
        ({"names": "maybe"}, "names"),
        ({"colour": "red"}, "colour"),
    ]:
        response = staff_client.get(url, params)
        assert response.status_code == 400, params
        assert field in response.json()["fields"], params
    assert staff_client.get("/api/v1/staff/petitions/nope/report.pdf").status_code == 404


def test_the_digest_command_writes_the_list_that_hashes_to_the_reports_digest(
    regions, petition, sign, tmp_path
):
    from django.core.management import call_command

    sign(petition)
    sign(petition, postcode="20095")
    petition_counts_update()
    out = io.StringIO()
    path = tmp_path / "list.txt"

    call_command("signature_list_digest", petition.slug, "--write", str(path), stdout=out)

    digest, count = signature_list_digest(petition_id=petition.pk)
    assert out.getvalue().strip() == f"{digest}  (2 signatures)"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert len(path.read_bytes().splitlines()) == count == 2
