"""Drawing helpers of the handover report PDF: page footer, headings, lines, the bar chart of
signatures per day and the tables (fpdf2)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from campaign.pdf import FONT_FAMILY


def number_format(value: int, locale: str) -> str:
    """Thousands separated the German (1.234) or English (1,234) way."""
    return f"{value:,}".replace(",", "." if locale == "de" else ",")


class ReportPDF(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT_FAMILY, "", 8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 6, f"{self.footer_text} · {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(0, 0, 0)


def pdf_heading(pdf: FPDF, text: str) -> None:
    pdf.ln(3)
    pdf.set_font(FONT_FAMILY, "B", 12)
    pdf.multi_cell(0, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT_FAMILY, "", 10)


def pdf_line(pdf: FPDF, text: str, *, bold: bool = False, size: float = 10) -> None:
    pdf.set_font(FONT_FAMILY, "B" if bold else "", size)
    pdf.multi_cell(0, 5.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    pdf.set_font(FONT_FAMILY, "", 10)


def pdf_chart(pdf: FPDF, days: list[tuple[date, int]], text: dict[str, str], locale: str) -> None:
    """A bar chart drawn with rectangles and lines."""
    if not days:
        pdf_line(pdf, text["no_data"])
        return
    height, width = 45.0, pdf.epw - 14
    left, top = pdf.l_margin + 14, pdf.get_y() + 2
    peak = max(n for _, n in days) or 1
    pdf.set_draw_color(120, 120, 120)
    pdf.line(left, top, left, top + height)
    pdf.line(left, top + height, left + width, top + height)
    pdf.set_font(FONT_FAMILY, "", 7)
    pdf.set_xy(pdf.l_margin, top - 1.5)
    pdf.cell(13, 3, number_format(peak, locale), align="R")
    pdf.set_xy(pdf.l_margin, top + height - 1.5)
    pdf.cell(13, 3, "0", align="R")
    slot = width / len(days)
    pdf.set_fill_color(196, 30, 58)
    for index, (_, n) in enumerate(days):
        bar = height * n / peak
        if bar > 0:
            pdf.rect(
                left + index * slot + slot * 0.1, top + height - bar, max(slot * 0.8, 0.2), bar, style="F"
            )
    fmt = "%d.%m.%Y" if locale == "de" else "%Y-%m-%d"
    pdf.set_xy(left, top + height + 1)
    pdf.cell(width / 2, 4, days[0][0].strftime(fmt), align="L")
    pdf.cell(width / 2, 4, days[-1][0].strftime(fmt), align="R")
    pdf.set_xy(pdf.l_margin, top + height + 7)
    pdf.set_font(FONT_FAMILY, "", 10)
    pdf.set_fill_color(255, 255, 255)  # tables drawn later fill with the current colour


def pdf_table(pdf: FPDF, header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    pdf.set_font(FONT_FAMILY, "", 9)
    with pdf.table(
        col_widths=(110, 35, 35)[: len(header)] if len(header) == 3 else None,
        text_align=("LEFT",) + ("RIGHT",) * (len(header) - 1),
        line_height=5.5,
        first_row_as_headings=True,
        headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
        cell_fill_color=(250, 250, 250),
        cell_fill_mode="ROWS",
        borders_layout="HORIZONTAL_LINES",
    ) as table:
        table.row(header)
        for row in rows:
            table.row(row)
    pdf.set_font(FONT_FAMILY, "", 10)
