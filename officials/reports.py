"""The handover report: a PDF per petition (optionally per constituency) with the petition text,
the totals, a chart of signatures per day, the table by state or constituency, and the SHA-256
digest of the signature list, so an official can verify later that the list handed over was
not altered.

The digest is computed over the canonical signature list, defined as: every signature of the
petition that is included in the online total at the time of the report (confirmed and not
flagged, `counted`), sorted by signature id ascending, one line per signature of the form
`<id>\\t<normalised e-mail address>\\n`, encoded as UTF-8. `signature_list_digest` computes it;
the report prints the digest and the number of lines, never the list itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from campaign.pdf import FONT_FAMILY, pdf_document_new
from campaign.selectors import campaign_organisation_by_id_get
from officials.models import Constituency
from officials.report_pdf import ReportPDF, number_format, pdf_chart, pdf_heading, pdf_line, pdf_table
from officials.selectors import constituency_totals_get, region_totals_attribution, region_totals_by_state


def signature_list_lines(*, petition_id: int) -> Iterator[bytes]:
    """The canonical list the digest covers (see the module docstring), line by line."""
    from petitions.models import Signature

    rows = (
        Signature.objects.filter(petition_id=petition_id, counted=True)
        .order_by("id")
        .values_list("id", "email_normalized")
        .iterator(chunk_size=5000)
    )
    for pk, email in rows:
        yield f"{pk}\t{email}\n".encode()


def signature_list_digest(*, petition_id: int) -> tuple[str, int]:
    """(SHA-256 hex digest, number of signatures) of the canonical signature list."""
    digest = hashlib.sha256()
    count = 0
    for line in signature_list_lines(petition_id=petition_id):
        digest.update(line)
        count += 1
    return digest.hexdigest(), count


def signatures_per_day(*, petition_id: int) -> list[tuple[date, int]]:
    """Counted signatures per day of confirmation (in the project's time zone), gaps filled
    with zero."""
    from petitions.models import Signature

    rows = (
        Signature.objects.filter(petition_id=petition_id, counted=True, confirmed_at__isnull=False)
        .annotate(day=TruncDate("confirmed_at", tzinfo=ZoneInfo(settings.TIME_ZONE)))
        .order_by()
        .values_list("day")
        .annotate(n=Count("id"))
        .order_by("day")
    )
    counts = dict(rows)
    if not counts:
        return []
    first, last = min(counts), max(counts)
    days = []
    day = first
    while day <= last:
        days.append((day, counts.get(day, 0)))
        day += timedelta(days=1)
    return days


_TEXT = {
    "de": {
        "title": "Übergabebericht",
        "as_of": "Stand",
        "totals": "Unterschriften",
        "total": "Unterschriften insgesamt",
        "online": "davon online (bestätigt)",
        "offline": "davon auf Papier",
        "constituency": "Wahlkreis",
        "constituency_line": "{count} Unterschriften, {share} % der Online-Unterschriften",
        "text": "Petitionstext",
        "chart": "Bestätigte Unterschriften pro Tag",
        "no_data": "Noch keine bestätigten Unterschriften.",
        "by_state": "Unterschriften nach Bundesland",
        "by_constituency": "Unterschriften nach Wahlkreis",
        "state": "Bundesland",
        "region": "Wahlkreis",
        "count": "Anzahl",
        "share": "Anteil",
        "unassigned": "Postleitzahl nicht zugeordnet",
        "abroad": "Ausland",
        "sources": "Quellen",
        "digest": "Prüfsumme der Unterschriftenliste (SHA-256)",
        "digest_count": "Einträge in der Liste",
        "digest_definition": (
            "Die Prüfsumme ist der SHA-256-Hashwert der Liste aller zum obigen Stand gezählten "
            "(bestätigten, nicht als ungültig markierten) Online-Unterschriften dieser Petition, "
            "nach Unterschrifts-Nummer aufsteigend sortiert, je Unterschrift eine Zeile "
            "„Nummer<Tabulator>normalisierte E-Mail-Adresse<Zeilenumbruch>“ in UTF-8. Mit der "
            "Liste lässt sie sich jederzeit nachrechnen; die Liste selbst enthält "
            "personenbezogene Daten und ist nicht Teil dieses Berichts."
        ),
        "signers": "Unterzeichnende, die der Weitergabe ihres Namens zugestimmt haben",
        "name": "Name",
        "postcode": "PLZ",
        "date": "Datum",
        "none": "Keine.",
    },
    "en": {
        "title": "Handover report",
        "as_of": "As of",
        "totals": "Signatures",
        "total": "Total signatures",
        "online": "online (confirmed)",
        "offline": "on paper",
        "constituency": "Constituency",
        "constituency_line": "{count} signatures, {share} % of the online signatures",
        "text": "Petition text",
        "chart": "Confirmed signatures per day",
        "no_data": "No confirmed signatures yet.",
        "by_state": "Signatures by state",
        "by_constituency": "Signatures by constituency",
        "state": "State",
        "region": "Constituency",
        "count": "Count",
        "share": "Share",
        "unassigned": "Postcode not assigned",
        "abroad": "Abroad",
        "sources": "Sources",
        "digest": "Checksum of the signature list (SHA-256)",
        "digest_count": "Entries in the list",
        "digest_definition": (
            "The checksum is the SHA-256 hash of the list of all online signatures of this "
            "petition counted at the time above (confirmed, not marked invalid), sorted by "
            "signature number ascending, one line per signature of the form "
            '"number<tab>normalised e-mail address<newline>" in UTF-8. Anyone holding the list '
            "can recompute it; the list itself contains personal data and is not part of this "
            "report."
        ),
        "signers": "Signers who agreed to have their name passed on",
        "name": "Name",
        "postcode": "Postcode",
        "date": "Date",
        "none": "None.",
    },
}


def _percent(count: int, total: int, locale: str) -> str:
    text = f"{(100 * count / total):.1f}" if total else "0.0"
    return text.replace(".", ",") if locale == "de" else text


@dataclass
class ReportOptions:
    constituency: Constituency | None = None
    include_names: bool = False
    table: str = "state"  # or "constituency"
    locale: str = "de"


def _signers(petition_id: int, constituency: Constituency | None) -> list[tuple[str, str, date | None]]:
    from officials.regions import RegionResolver
    from petitions.models import Signature

    rows = list(
        Signature.objects.filter(petition_id=petition_id, counted=True, share_name_with_officials=True)
        .order_by("last_name", "first_name", "id")
        .values_list("first_name", "last_name", "postcode", "country", "confirmed_at")
    )
    if constituency is not None:
        resolver = RegionResolver((country, postcode) for _, _, postcode, country, _ in rows)
        rows = [row for row in rows if resolver.region(row[3], row[2]).constituency_id == constituency.pk]
    tz = ZoneInfo(settings.TIME_ZONE)
    return [
        (f"{first} {last}".strip(), postcode, confirmed_at.astimezone(tz).date() if confirmed_at else None)
        for first, last, postcode, _, confirmed_at in rows
    ]


def _title_section(
    pdf: FPDF, *, title: str, organisation: str, text: dict[str, str], locale: str, now: datetime
) -> None:
    tz = ZoneInfo(settings.TIME_ZONE)
    pdf_line(pdf, text["title"], size=11)
    pdf_line(pdf, title, bold=True, size=16)
    stamp = now.astimezone(tz).strftime("%d.%m.%Y %H:%M" if locale == "de" else "%Y-%m-%d %H:%M")
    pdf_line(pdf, f"{text['as_of']}: {stamp} ({settings.TIME_ZONE}) · {organisation}", size=9)


def _totals_section(
    pdf: FPDF, *, petition: Any, constituency: Constituency | None, text: dict[str, str], locale: str
) -> None:
    online = petition.signature_count
    pdf_heading(pdf, text["totals"])
    pdf_line(pdf, f"{text['total']}: {number_format(petition.total_count, locale)}", bold=True)
    pdf_line(pdf, f"{text['online']}: {number_format(online, locale)}")
    pdf_line(pdf, f"{text['offline']}: {number_format(petition.offline_count, locale)}")
    if constituency is not None:
        count = next(
            (
                row["count"]
                for row in constituency_totals_get(petition=petition)
                if row["constituency_id"] == constituency.pk
            ),
            0,
        )
        pdf_heading(pdf, f"{text['constituency']} {constituency.number} {constituency.name}")
        pdf_line(
            pdf,
            text["constituency_line"].format(
                count=number_format(count, locale), share=_percent(count, online, locale)
            ),
        )


def _chart_section(pdf: FPDF, *, petition_id: int, text: dict[str, str], locale: str) -> None:
    if pdf.get_y() + 75 > pdf.h - pdf.b_margin:
        pdf.add_page()  # keep the chart's heading with the chart
    pdf_heading(pdf, text["chart"])
    pdf_chart(pdf, signatures_per_day(petition_id=petition_id), text, locale)


def _regions_section(pdf: FPDF, *, petition: Any, table: str, text: dict[str, str], locale: str) -> None:
    online = petition.signature_count
    if table == "constituency":
        pdf_heading(pdf, text["by_constituency"])
        regions = [
            (
                f"{row['number']} {row['name']} ({row['state']})",
                number_format(row["count"], locale),
                _percent(row["count"], online, locale) + " %",
            )
            for row in constituency_totals_get(petition=petition)
        ]
        header = (text["region"], text["count"], text["share"])
    else:
        pdf_heading(pdf, text["by_state"])
        regions = [
            (row["state"], number_format(row["count"], locale), _percent(row["count"], online, locale) + " %")
            for row in region_totals_by_state(petition=petition)["states"]
        ]
        header = (text["state"], text["count"], text["share"])
    by_state = region_totals_by_state(petition=petition)
    if by_state["unassigned"]:
        count = by_state["unassigned"]
        regions.append(
            (text["unassigned"], number_format(count, locale), _percent(count, online, locale) + " %")
        )
    for row in by_state["countries"]:
        regions.append(
            (
                f"{text['abroad']}: {row['country'] or '?'}",
                number_format(row["count"], locale),
                _percent(row["count"], online, locale) + " %",
            )
        )
    if regions:
        pdf_table(pdf, header, regions)
    else:
        pdf_line(pdf, text["none"])
    attribution = region_totals_attribution(petition=petition)
    if attribution:
        if table == "state":
            _map_section(pdf, petition=petition, text=text, locale=locale)
        pdf_line(pdf, f"{text['sources']}: {attribution}", size=7)  # required by the data's licences


def _map_section(pdf: FPDF, *, petition: Any, text: dict[str, str], locale: str) -> None:
    """The Länder shaded by their count, drawn from the shipped geometry (an SVG, as on the
    campaign page)."""
    import io

    from officials.maps import petition_region_counts, region_map_svg

    svg = region_map_svg(
        counts=petition_region_counts(petition=petition, level="state"),
        title=text["by_state"],
        locale=locale,
        tooltips=False,
    )
    width = 100.0
    if pdf.get_y() + width * 1.5 > pdf.h - pdf.b_margin:
        pdf.add_page()
    pdf.ln(2)
    pdf.image(io.BytesIO(svg.encode()), x=pdf.l_margin + (pdf.epw - width) / 2, w=width)
    pdf.ln(2)


def _digest_section(pdf: FPDF, *, digest: str, digest_count: int, text: dict[str, str], locale: str) -> None:
    pdf_heading(pdf, text["digest"])
    pdf.set_font(FONT_FAMILY, "B", 9)
    pdf.multi_cell(0, 5.5, digest, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf_line(pdf, f"{text['digest_count']}: {number_format(digest_count, locale)}")
    pdf_line(pdf, text["digest_definition"], size=8)


def _signers_section(
    pdf: FPDF, *, petition_id: int, constituency: Constituency | None, text: dict[str, str], locale: str
) -> None:
    pdf_heading(pdf, text["signers"])
    fmt = "%d.%m.%Y" if locale == "de" else "%Y-%m-%d"
    signers = [
        (name, postcode, day.strftime(fmt) if day else "")
        for name, postcode, day in _signers(petition_id, constituency)
    ]
    if signers:
        pdf_table(pdf, (text["name"], text["postcode"], text["date"]), signers)
    else:
        pdf_line(pdf, text["none"])


def handover_report_render(
    *, petition: Any, options: ReportOptions | None = None, now: datetime | None = None
) -> bytes:
    """Renders the report PDF and returns its bytes."""
    from petitions.models import Petition

    petition = Petition.objects.get(pk=petition.pk)  # the counts as of now, not of the caller's copy
    options = options or ReportOptions()
    locale = options.locale if options.locale in _TEXT else "de"
    text = _TEXT[locale]
    now = now or timezone.now()
    title = (petition.title_en if locale == "en" else "") or petition.title_de
    body = (petition.text_en if locale == "en" else "") or petition.text_de
    digest, digest_count = signature_list_digest(petition_id=petition.pk)
    organisation = campaign_organisation_by_id_get(campaign_id=petition.campaign_id)["name"]

    pdf = pdf_document_new(ReportPDF, title=f"{text['title']}: {title}", author=organisation)
    pdf.set_creation_date(now)
    pdf.footer_text = f"{organisation} · {text['title']}"
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()

    _title_section(pdf, title=title, organisation=organisation, text=text, locale=locale, now=now)
    _totals_section(pdf, petition=petition, constituency=options.constituency, text=text, locale=locale)
    if body:
        pdf_heading(pdf, text["text"])
        pdf_line(pdf, body)
    _chart_section(pdf, petition_id=petition.pk, text=text, locale=locale)
    _regions_section(pdf, petition=petition, table=options.table, text=text, locale=locale)
    _digest_section(pdf, digest=digest, digest_count=digest_count, text=text, locale=locale)
    if options.include_names:
        _signers_section(
            pdf, petition_id=petition.pk, constituency=options.constituency, text=text, locale=locale
        )
    return bytes(pdf.output())
