"""The one place PDFs start: an A4 fpdf2 document with the project's Unicode font.

Receipts and the handover report both build on `pdf_document_new`; the fonts (DejaVu, under
its own licence in `fonts/`) are shipped once, here.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TypeVar

from fpdf import FPDF

FONT_DIR = Path(__file__).resolve().parent / "fonts"
# The PDF core fonts are Latin-1 only; names like "Müller" or "Łukasz" need a Unicode font.
FONT_FAMILY = "DejaVu"
# fontTools logs every font subsetting step at INFO.
logging.getLogger("fontTools").setLevel(logging.WARNING)

PDF = TypeVar("PDF", bound=FPDF)


def pdf_document_new(document_class: type[PDF] = FPDF, *, title: str = "", author: str = "") -> PDF:  # type: ignore[assignment]
    """An empty A4 document with the Unicode font registered in regular and bold."""
    pdf = document_class(format="A4")
    pdf.add_font(FONT_FAMILY, "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font(FONT_FAMILY, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    if title:
        pdf.set_title(title)
    if author:
        pdf.set_author(author)
    return pdf
