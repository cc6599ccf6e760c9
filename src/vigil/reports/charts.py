"""Server-side SVG charts for the dashboard and the printed report (the same picture in both).

Readable without colour: every bar and cell carries its number, axes are labelled, hidden
(suppressed) values are hatched and marked, and the colours are Okabe–Ito's colour-blind-safe
palette (bars) and a single-hue light-to-dark blue scale (heat map). No inline style: only SVG
presentation attributes, so a strict Content Security Policy holds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

# Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "black": "#000000",
}
# Light to dark blue (ColorBrewer "Blues", 7 classes): ordered by lightness, readable in grey.
BLUES = ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#084594"]
INK = "#1a1a1a"
GRID = "#d0d0d0"
FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _hatch(pattern_id: str) -> str:
    return (
        f'<defs><pattern id="{pattern_id}" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="#777777" stroke-width="2"/></pattern></defs>'
    )


def nice_ceiling(value: float) -> int:
    """A round axis top at or above `value` (1, 2, 2.5, 5 × 10^n)."""
    if value <= 0:
        return 1
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value <= step * exponent:
            return max(1, int(math.ceil(step * exponent)))
    return int(10 * exponent)


def axis_top(value: float) -> int:
    """A round top for an axis with four equal, whole-number steps."""
    return 4 * nice_ceiling(value / 4) if value > 0 else 4


def _svg(width: int, height: int, title: str, body: str, css_class: str) -> SafeString:
    label = escape(title)
    return mark_safe(  # noqa: S308 - every text in `body` is escaped where it is made
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css_class}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{label}" {FONT}><title>{label}</title>{body}</svg>'
    )


def column_chart(
    labels: Sequence[str],
    values: Sequence[int | None],
    *,
    title: str,
    y_label: str,
    x_label: str,
    chart_id: str,
    colour: str = OKABE_ITO["blue"],
) -> SafeString:
    """Vertical bars with their values on top; None is a hidden (suppressed) value."""
    count = max(len(values), 1)
    left, right, top, bottom = 56, 12, 18, 74
    slot = max(28, min(60, 640 // count))
    width = left + right + slot * count
    height = 260
    plot_h = height - top - bottom
    top_value = axis_top(max([v for v in values if v is not None] or [0]))
    pattern = f"hatch-{chart_id}"
    parts = [_hatch(pattern)]
    # Grid and y axis ticks.
    for i in range(5):
        tick = top_value * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{INK}">{tick:,.0f}</text>'
        )
    parts.append(
        f'<text x="14" y="{top + plot_h / 2:.1f}" font-size="12" fill="{INK}" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + plot_h / 2:.1f})">{escape(y_label)}</text>'
    )
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = left + slot * i + slot * 0.15
        bar_w = slot * 0.7
        centre = x + bar_w / 2
        if value is None:
            bar_h = plot_h * 0.08
            y = top + plot_h - bar_h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{bar_h:.1f}" '
                f'fill="url(#{pattern})" stroke="#777777"><title>{escape(label)}: {escape(_("hidden (small count)"))}</title></rect>'
            )
            parts.append(
                f'<text x="{centre:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="10" fill="{INK}">{escape(_("hidden"))}</text>'
            )
        else:
            bar_h = plot_h * value / top_value
            y = top + plot_h - bar_h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{bar_h:.1f}" fill="{colour}">'
                f"<title>{escape(label)}: {value:,}</title></rect>"
            )
            parts.append(
                f'<text x="{centre:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="10" fill="{INK}">{value:,}</text>'
            )
        parts.append(
            f'<text x="{centre:.1f}" y="{top + plot_h + 14}" text-anchor="end" font-size="10" fill="{INK}" '
            f'transform="rotate(-40 {centre:.1f} {top + plot_h + 14})">{escape(label)}</text>'
        )
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="{INK}"/>'
    )
    parts.append(
        f'<text x="{left + (width - left - right) / 2:.1f}" y="{height - 4}" text-anchor="middle" '
        f'font-size="12" fill="{INK}">{escape(x_label)}</text>'
    )
    return _svg(width, height, title, "".join(parts), "chart-columns")


def bar_chart(
    labels: Sequence[str],
    values: Sequence[int | None],
    *,
    title: str,
    x_label: str,
    chart_id: str,
    colour: str = OKABE_ITO["bluish_green"],
) -> SafeString:
    """Horizontal bars for categories, each labelled with its name and value."""
    left, right, top, row_h = 210, 70, 8, 22
    width = 640
    plot_w = width - left - right
    height = top + row_h * max(len(values), 1) + 40
    top_value = axis_top(max([v for v in values if v is not None] or [0]))
    pattern = f"hatch-{chart_id}"
    parts = [_hatch(pattern)]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + row_h * i
        parts.append(
            f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" font-size="12" fill="{INK}">{escape(label)}</text>'
        )
        if value is None:
            parts.append(
                f'<rect x="{left}" y="{y + 3}" width="{plot_w * 0.06:.1f}" height="{row_h - 6}" '
                f'fill="url(#{pattern})" stroke="#777777"/>'
            )
            parts.append(
                f'<text x="{left + plot_w * 0.06 + 6:.1f}" y="{y + 15}" font-size="11" fill="{INK}">{escape(_("hidden"))}</text>'
            )
        else:
            bar_w = plot_w * value / top_value
            parts.append(
                f'<rect x="{left}" y="{y + 3}" width="{bar_w:.1f}" height="{row_h - 6}" fill="{colour}">'
                f"<title>{escape(label)}: {value:,}</title></rect>"
            )
            parts.append(
                f'<text x="{left + bar_w + 6:.1f}" y="{y + 15}" font-size="11" fill="{INK}">{value:,}</text>'
            )
    axis_y = top + row_h * max(len(values), 1)
    parts.append(
        f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="{INK}"/>'
    )
    for i in range(5):
        x = left + plot_w * i / 4
        parts.append(
            f'<text x="{x:.1f}" y="{axis_y + 14}" text-anchor="middle" font-size="10" fill="{INK}">{top_value * i / 4:,.0f}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{axis_y + 32}" text-anchor="middle" font-size="12" fill="{INK}">{escape(x_label)}</text>'
    )
    return _svg(width, height, title, "".join(parts), "chart-bars")


def heat_map(
    cells: Sequence[Sequence[int | None]], *, title: str, chart_id: str, legend: str
) -> SafeString:
    """Uses by hour of day (columns, 0–23) × day of week (rows, Monday first).

    `cells[hour][weekday]`; None is hidden. Each cell prints its number; the shade follows it
    on a light-to-dark scale, so colour only repeats what the number says."""
    left, top, cell_w, cell_h = 46, 24, 30, 26
    width = left + cell_w * 24 + 10
    height = top + cell_h * 7 + 62
    shown = [v for row in cells for v in row if v is not None]
    top_value = max(shown or [0])
    pattern = f"hatch-{chart_id}"
    parts = [_hatch(pattern)]
    for hour in range(24):
        x = left + cell_w * hour
        parts.append(
            f'<text x="{x + cell_w / 2:.1f}" y="{top - 8}" text-anchor="middle" font-size="10" fill="{INK}">{hour:02d}</text>'
        )
    for day in range(7):
        y = top + cell_h * day
        parts.append(
            f'<text x="{left - 6}" y="{y + cell_h / 2 + 4:.1f}" text-anchor="end" font-size="11" fill="{INK}">{escape(_(WEEKDAYS[day]))}</text>'
        )
        for hour in range(24):
            x = left + cell_w * hour
            value = cells[hour][day]
            if value is None:
                fill, text, ink = f"url(#{pattern})", "x", INK  # the tables' marker
            else:
                shade = (
                    0
                    if not value or not top_value
                    else 1 + int((len(BLUES) - 2) * value / top_value)
                )
                fill, text = BLUES[min(shade, len(BLUES) - 1)], (f"{value}" if value else "")
                ink = "#ffffff" if shade >= 4 else INK
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell_w - 1}" height="{cell_h - 1}" fill="{fill}" stroke="#ffffff">'
                f"<title>{escape(_(WEEKDAYS[day]))} {hour:02d}:00: {escape(text or '0')}</title></rect>"
            )
            if text:
                parts.append(
                    f'<text x="{x + cell_w / 2:.1f}" y="{y + cell_h / 2 + 4:.1f}" text-anchor="middle" font-size="9" fill="{ink}">{escape(text)}</text>'
                )
    base = top + cell_h * 7
    parts.append(
        f'<text x="{left + cell_w * 12}" y="{base + 18}" text-anchor="middle" font-size="12" fill="{INK}">{escape(_("Hour of day (site time)"))}</text>'
    )
    # Legend: the scale, then the hatch.
    lx = left
    for i, colour in enumerate(BLUES):
        parts.append(
            f'<rect x="{lx + i * 22}" y="{base + 30}" width="22" height="12" fill="{colour}" stroke="#bbbbbb"/>'
        )
    parts.append(
        f'<text x="{lx + 7 * 22 + 6}" y="{base + 40}" font-size="10" fill="{INK}">{escape(legend)} 0 – {top_value:,}</text>'
    )
    parts.append(
        f'<rect x="{lx + 330}" y="{base + 30}" width="22" height="12" fill="url(#{pattern})" stroke="#777777"/>'
        f'<text x="{lx + 358}" y="{base + 40}" font-size="10" fill="{INK}">{escape(_("hidden (small count)"))}</text>'
    )
    return _svg(width, height, title, "".join(parts), "chart-heat")
