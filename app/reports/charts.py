"""Small charts drawn as SVG on the server: they print, work in e-mail and need no JavaScript.

Every chart carries a <title> and text labels, so no figure is shown by colour alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from markupsafe import Markup, escape

RATING_TONES = {"on_track": "good", "at_risk": "warn", "off_track": "poor"}


def progress_bar(
    percent: float | None,
    *,
    label: str,
    width: int = 160,
    expected: float | None = None,
    rating: str | None = None,
    target: float | None = None,
) -> Markup:
    """A horizontal bar against target; the figure is written beside it, not only drawn.

    ``expected`` (a percent) draws a tick where progress should be by now; ``rating`` (an
    indicator's direction-aware rating) sets the colour, else the percent alone does. Without a
    percent, ``target`` says why: none set, or nothing approved against it yet.
    """
    if percent is None:
        why = "No target" if target is None else "No approved value yet"
        return Markup('<span class="muted">{}</span>').format(why)
    shown = max(0.0, min(percent, 100.0))
    filled = round(width * shown / 100)
    tone = RATING_TONES.get(rating or "") or (
        "good" if percent >= 75 else "warn" if percent >= 40 else "poor"
    )
    words = f"{label}: {percent:.0f}% of target"
    if expected is not None:
        words += f", {expected:.0f}% expected by now"
    title = escape(words)
    marker = ""
    if expected is not None:
        x = round(width * max(0.0, min(expected, 100.0)) / 100)
        marker = (
            f'<line class="bar-expected" x1="{x}" y1="0" x2="{x}" y2="14" '
            'stroke="#1b2430" stroke-width="2" vector-effect="non-scaling-stroke"/>'
        )
    figure = f"{percent:,.0f}%"
    # The figure is text beside the picture, not in it: it keeps the page's font size wherever
    # the bar is drawn, and a printed page can draw the bar shorter (the picture stretches, the
    # marker keeps its stroke) without shrinking the figure. The wrapper is the one image a
    # screen reader meets, named by its title.
    # Every interpolated text is escaped above; the rest is numbers.
    return Markup(  # noqa: S704
        f'<span class="bar bar-{tone}" role="img" aria-label="{title}">'
        f'<svg width="{width}" height="14" viewBox="0 0 {width} 14" '
        f'preserveAspectRatio="none" aria-hidden="true"><title>{title}</title>'
        f'<rect class="bar-track" x="0" y="2" width="{width}" height="10" rx="3"/>'
        f'<rect class="bar-fill" x="0" y="2" width="{filled}" height="10" rx="3"/>'
        f'{marker}</svg><span class="bar-figure">{figure}</span></span>'
    )


def period_columns(
    points: Sequence[tuple[str, float | None]], *, title: str, unit_suffix: str = ""
) -> Markup:
    """A column per reporting period; an empty period shows as a dash, not as zero."""
    width, height, pad_bottom, pad_top = 56 * max(len(points), 1) + 20, 170, 36, 18
    numbers = [v for _, v in points if v is not None]
    top = max(numbers) if numbers else 0
    scale = (height - pad_bottom - pad_top) / top if top else 0
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<line class="axis" x1="10" y1="{height - pad_bottom}" x2="{width - 10}" '
        f'y2="{height - pad_bottom}"/>',
    ]
    for index, (name, value) in enumerate(points):
        x = 20 + index * 56
        if value is None:
            parts.append(
                f'<text class="empty" x="{x + 18}" y="{height - pad_bottom - 6}" '
                f'text-anchor="middle">&#8211;</text>'
            )
        else:
            bar = max(value * scale, 1 if value else 0)
            y = height - pad_bottom - bar
            text = f"{value:g}{unit_suffix}"
            parts.append(
                f'<rect class="col" x="{x}" y="{y:.1f}" width="36" height="{bar:.1f}">'
                f"<title>{escape(name)}: {escape(text)}</title></rect>"
            )
            parts.append(
                f'<text x="{x + 18}" y="{y - 4:.1f}" text-anchor="middle">{escape(text)}</text>'
            )
        parts.append(
            f'<text class="tick" x="{x + 18}" y="{height - pad_bottom + 14}" '
            f'text-anchor="middle">{escape(name[2:] if len(name) > 6 else name)}</text>'
        )
    parts.append("</svg>")
    # Names and figures are escaped where they are interpolated; the rest is numbers.
    return Markup("".join(parts))  # noqa: S704


def _number(value: float, unit_suffix: str = "") -> str:
    text = f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
    return text + unit_suffix


@lru_cache(maxsize=512)
def _escaped(text: str) -> str:
    """Period codes recur in every indicator's chart: each is escaped once."""
    return str(escape(text))


def sparkline(
    points: Sequence[tuple[str, float | None]], *, title: str, unit_suffix: str = ""
) -> Markup:
    """A small column per reporting period, the latest figure written at the end.

    A period without an approved value leaves a gap marked with a dot on the baseline, so an
    empty period never reads as zero.
    """
    step, height, base = 9, 26, 22
    width = step * max(len(points), 1)
    top = max((abs(v) for _, v in points if v is not None), default=0)
    scale = (base - 3) / top if top else 0
    suffix = _escaped(unit_suffix)
    # All columns are one path, gaps are dots: the chart is drawn for every indicator, so its
    # markup is kept small; each period's figure is in the title, which is read out and shown.
    # One pass makes the title's words, the columns and the dots.
    described, columns, gaps = [], [], []
    latest = "\u2013"
    x = 1
    for name, value in points:
        if value is None:
            described.append(f"{_escaped(name)} no value")
            gaps.append(f'<circle cx="{x + 3}" cy="{base}" r="1.2" fill="#8894a3"/>')
        else:
            # A figure is digits, separators and a sign (safe as it is) and the escaped suffix.
            latest = _number(value) + suffix
            described.append(f"{_escaped(name)} {latest}")
            bar = abs(value) * scale
            if bar < 1.0 and value:
                bar = 1.0
            columns.append(f"M{x} {base - bar:.1f}h{step - 3}V{base}h-{step - 3}z")
        x += step
    heading = f"{escape(title)}: {'; '.join(described) if points else 'no periods'}"
    path = f'<path d="{"".join(columns)}" fill="#0b3d63"/>' if columns else ""
    # The latest figure is text beside the picture (as for progress_bar): a printed page draws
    # the columns narrower and the figure stays as large as the table's text.
    # Names and the title are escaped above; figures are digits; the rest is numbers.
    return Markup(  # noqa: S704
        f'<span class="spark" role="img" aria-label="{heading}">'
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="none" aria-hidden="true"><title>{heading}</title>'
        f'<line x1="0" y1="{base + 0.5}" x2="{step * len(points)}" y2="{base + 0.5}" '
        f'stroke="#8894a3" stroke-width="1" vector-effect="non-scaling-stroke"/>'
        f'{path}{"".join(gaps)}</svg><span class="spark-figure">{latest}</span></span>'
    )


# Colours, symbols and words for each rating: the symbol and the count are written in every
# segment, so the chart reads in black and white and without colour vision.
RAG_STYLE = {
    "on_track": ("#1d6b38", "#ffffff", "▲", "On track"),
    "at_risk": ("#f0b429", "#1b2430", "■", "At risk"),
    "off_track": ("#a1262b", "#ffffff", "▼", "Off track"),
    None: ("#d6dce4", "#1b2430", "\u2013", "Not rated"),
}


def rag_distribution(
    rows: Sequence[tuple[str, dict[str | None, int]]], *, title: str, what: str = "initiatives"
) -> Markup:
    """One stacked bar per row (a focus area): how many of its items are on track, at risk,
    off track or not rated, each segment labelled with its symbol and count."""
    label_width, bar_width, row_height = 190, 420, 30
    height = row_height * len(rows) + 34
    width = label_width + bar_width + 70
    parts = [
        f'<svg class="chart rag-chart" role="img" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for index, (name, counts) in enumerate(rows):
        y = index * row_height + 4
        total = sum(counts.values())
        short = name if len(name) <= 30 else name[:29] + "…"
        parts.append(
            f'<text x="0" y="{y + 17}" font-size="12" fill="#1b2430">'
            f"<title>{escape(name)}</title>{escape(short)}</text>"
        )
        x = float(label_width)
        for key in ("on_track", "at_risk", "off_track", None):
            count = counts.get(key, 0)
            if not count:
                continue
            fill, ink, symbol, words = RAG_STYLE[key]
            segment = bar_width * count / total
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{segment:.1f}" height="22" fill="{fill}" '
                f'stroke="#ffffff"><title>{escape(name)}: {count} {escape(what)} '
                f"{escape(words.lower())}</title></rect>"
            )
            if segment >= 26:
                parts.append(
                    f'<text x="{x + segment / 2:.1f}" y="{y + 15}" text-anchor="middle" '
                    f'font-size="11" font-weight="700" fill="{ink}">{symbol} {count}</text>'
                )
            x += segment
        if not total:
            parts.append(
                f'<text x="{label_width}" y="{y + 15}" font-size="11" fill="#4f5b6a">'
                f"no {escape(what)}</text>"
            )
        parts.append(
            f'<text x="{label_width + bar_width + 8}" y="{y + 15}" font-size="11" '
            f'fill="#1b2430">{total} total</text>'
        )
    legend_y = row_height * len(rows) + 22
    x = 0
    for key in ("on_track", "at_risk", "off_track", None):
        fill, _ink, symbol, words = RAG_STYLE[key]
        parts.append(
            f'<rect x="{x}" y="{legend_y - 10}" width="12" height="12" fill="{fill}"/>'
            f'<text x="{x + 16}" y="{legend_y}" font-size="11" fill="#1b2430">'
            f"{symbol} {escape(words)}</text>"
        )
        x += 110
    parts.append("</svg>")
    # Names are escaped where they are interpolated; the rest is numbers and fixed words.
    return Markup("".join(parts))  # noqa: S704


COMPLETENESS_STYLE = {
    "approved": ("#1d6b38", "#ffffff"),
    "on_time": ("#9fd3ae", "#1b2430"),
    "late": ("#f0b429", "#1b2430"),
    "returned": ("#e07b39", "#1b2430"),
    "missing": ("#a1262b", "#ffffff"),
    "not_due": ("#eef1f5", "#4f5b6a"),
}


def completeness_heatmap(
    row_names: Sequence[str],
    columns: Sequence[str],
    cells: Sequence[Sequence[tuple[str, str, str]]],
    *,
    title: str,
    legend: Sequence[tuple[str, str, str]],
) -> Markup:
    """Member states x reporting periods; every cell carries a symbol and a <title> naming its
    category, so the grid is not read by colour alone.

    ``cells[r][c]`` is ``(category, symbol, words)``; ``legend`` lists the same triples.

    The grid is drawn at its own size (width and height in pixels, never stretched to the
    page): its text stays as large as the page's small print on a wide screen, a phone scrolls
    it sideways (the page puts it in a scrolling box) and a plan's twelve quarters fit an A4
    page's width. The legend is HTML after the picture, so it wraps to whatever width there is
    and is never cut off, however few periods the grid has.
    """
    # A period code ("2025-Q3") is written on two lines, year over quarter, so a cell needs
    # only the width of "2025" at the header's font size.
    label_width, cell_w, cell_h, head = 170, 40, 20, 44
    width = label_width + cell_w * max(len(columns), 1) + 10
    height = head + cell_h * len(row_names) + 6
    parts = [
        f'<div class="heatmap-scroll"><svg class="chart heatmap" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
    ]
    for c, name in enumerate(columns):
        x = label_width + c * cell_w + cell_w / 2
        year, dash, rest = name.partition("-")
        lines = [(year, head - 20), (rest, head - 8)] if dash else [(name, head - 8)]
        for text, y in lines:
            parts.append(
                f'<text x="{x:.1f}" y="{y}" text-anchor="middle" font-size="10" '
                f'fill="#4f5b6a">{escape(text)}</text>'
            )
    for r, row_name in enumerate(row_names):
        y = head + r * cell_h
        short = row_name if len(row_name) <= 26 else row_name[:25] + "…"
        parts.append(
            f'<text x="0" y="{y + 14}" font-size="11" fill="#1b2430">'
            f"<title>{escape(row_name)}</title>{escape(short)}</text>"
        )
        for c, (category, symbol, words) in enumerate(cells[r]):
            fill, ink = COMPLETENESS_STYLE.get(category, ("#ffffff", "#1b2430"))
            x = label_width + c * cell_w
            parts.append(
                f"<g><title>{escape(row_name)}, {escape(columns[c])}: {escape(words)}</title>"
                f'<rect x="{x + 1}" y="{y + 1}" width="{cell_w - 2}" height="{cell_h - 2}" '
                f'fill="{fill}"/><text x="{x + cell_w / 2:.1f}" y="{y + 14}" '
                f'text-anchor="middle" font-size="12" fill="{ink}">{escape(symbol)}</text></g>'
            )
    parts.append('</svg></div><ul class="chart-legend" aria-label="Key">')
    for category, symbol, words in legend:
        fill, ink = COMPLETENESS_STYLE.get(category, ("#ffffff", "#1b2430"))
        parts.append(
            '<li><svg width="16" height="14" viewBox="0 0 16 14" aria-hidden="true">'
            f'<rect width="16" height="14" fill="{fill}"/><text x="8" y="11" '
            f'text-anchor="middle" font-size="10" fill="{ink}">{escape(symbol)}</text></svg> '
            f"{escape(words)}</li>"
        )
    parts.append("</ul>")
    # Names and words are escaped where they are interpolated; the rest is numbers.
    return Markup("".join(parts))  # noqa: S704
