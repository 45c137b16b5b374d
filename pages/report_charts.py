"""The report's charts as inline SVG, drawn on the server: no script, no third-party request,
readable without JavaScript (each bar has a <title> with its figure). The map of the Länder
comes from officials.maps."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from officials.maps import region_map_svg

CONFIRMED = "#1f7a4d"
PENDING = "#e0a526"
DONATED = "#3158a8"
FONT = 'font-family="sans-serif"'


def _number(value: float) -> str:
    return f"{value:,.0f}".replace(",", ".")


def _nice_peak(value: float) -> float:
    """The axis maximum: 1, 2 or 5 times a power of ten, at least `value`."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return float(step * magnitude)
    return float(10 * magnitude)


def stacked_bars_svg(
    *,
    days: Sequence[dict[str, Any]],
    series: Sequence[tuple[str, str, str]],
    title: str,
    scale: float = 1.0,
    unit: str = "",
    width: int = 880,
    height: int = 260,
) -> str:
    """One bar per day, the `series` (key, label, colour) stacked. `scale` divides the
    values (100 for cents -> euros)."""
    left, right, top, bottom = 56, 10, 28, 42
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(day[key] for key, _, _ in series) / scale for day in days]
    peak = _nice_peak(max(totals, default=0))
    slot = plot_w / max(len(days), 1)
    bar = max(slot * 0.8, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):  # grid and axis labels
        value = peak * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" {FONT}>'
            f"{_number(value)}</text>"
        )
    for index, day in enumerate(days):
        x = left + index * slot + (slot - bar) / 2
        base = top + plot_h
        label = ", ".join(f"{name}: {_number(day[key] / scale)}{unit}" for key, name, _ in series)
        parts.append(f'<g data-day="{day["day"]}"><title>{day["day"]}: {escape(label)}</title>')
        for key, _, colour in series:
            h = plot_h * (day[key] / scale) / peak
            if h > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}"/>'
                )
            base -= h
        parts.append("</g>")
    step = max(1, len(days) // 8)  # about eight date labels
    for index in range(0, len(days), step):
        x = left + index * slot + slot / 2
        parts.append(
            f'<text x="{x:.1f}" y="{height - bottom + 16}" font-size="11" text-anchor="middle" {FONT}>'
            f"{days[index]['day'][8:10]}.{days[index]['day'][5:7]}.</text>"
        )
    legend_x = left
    for _, name, colour in series:
        parts.append(
            f'<rect x="{legend_x}" y="{height - 14}" width="12" height="10" fill="{colour}"/>'
            f'<text x="{legend_x + 16}" y="{height - 5}" font-size="11" {FONT}>{escape(name)}</text>'
        )
        legend_x += 24 + 7 * len(name)
    if not days:
        parts.append(
            f'<text x="{width / 2}" y="{top + plot_h / 2}" text-anchor="middle" font-size="14" {FONT}>'
            "Noch keine Daten</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def funnel_svg(*, rows: Sequence[dict[str, Any]], title: str, width: int = 880, limit: int = 8) -> str:
    """Per source three bars: signed, confirmed, donated (widths relative to the most signed)."""
    rows = list(rows)[:limit]
    label_w, row_h, bar_h = 150, 54, 14
    height = 24 + row_h * max(len(rows), 1)
    peak = max((row["signed"] for row in rows), default=0) or 1
    plot_w = width - label_w - 140
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    stages = (
        ("signed", "unterschrieben", "#9aa5b1"),
        ("confirmed", "bestätigt", CONFIRMED),
        ("donated", "gespendet", DONATED),
    )
    for index, row in enumerate(rows):
        y = 16 + index * row_h
        parts.append(
            f'<text x="0" y="{y + 18}" font-size="13" {FONT}>{escape(str(row["source"])[:22])}</text>'
        )
        for stage, (key, name, colour) in enumerate(stages):
            w = max(plot_w * row[key] / peak, 1 if row[key] else 0)
            by = y + stage * (bar_h + 2)
            parts.append(
                f'<rect x="{label_w}" y="{by}" width="{w:.1f}" height="{bar_h}" fill="{colour}">'
                f"<title>{escape(str(row['source']))}: {_number(row[key])} {name}</title></rect>"
                f'<text x="{label_w + w + 6:.1f}" y="{by + 11}" font-size="11" {FONT}>'
                f"{_number(row[key])} {name}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def report_charts(report: dict[str, Any]) -> dict[str, str]:
    """The SVG of every chart of a report (pages/report.py)."""
    return {
        "signatures": stacked_bars_svg(
            days=report["signatures_by_day"],
            series=(("confirmed", "bestätigt", CONFIRMED), ("pending", "unbestätigt", PENDING)),
            title="Unterschriften pro Tag",
        ),
        "donations": stacked_bars_svg(
            days=report["donations"]["by_day"],
            series=(("amount", "Spenden (€)", DONATED),),
            title="Spenden pro Tag (€)",
            scale=100,
            unit=" €",
        ),
        "map": region_map_svg(
            counts={row["state"]: row["count"] for row in report["states"]},
            level="state",
            title="Bestätigte Unterschriften nach Bundesland",
        ),
        "funnel": funnel_svg(rows=report["funnel"], title="Unterschrieben, bestätigt, gespendet nach Quelle"),
    }
