"""Small charts drawn as SVG on the server: they print, work in e-mail and need no JavaScript.

Every chart carries a <title> and text labels, so no figure is shown by colour alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape


def progress_bar(percent: float | None, *, label: str, width: int = 160) -> Markup:
    """A horizontal bar against target; the figure is written beside it, not only drawn."""
    if percent is None:
        return Markup('<span class="muted">No target</span>')
    shown = max(0.0, min(percent, 100.0))
    filled = round(width * shown / 100)
    tone = "good" if percent >= 75 else "warn" if percent >= 40 else "poor"
    title = escape(f"{label}: {percent:.0f}% of target")
    # Every interpolated text is escaped above; the rest is numbers.
    return Markup(  # noqa: S704
        f'<svg class="bar bar-{tone}" role="img" width="{width + 48}" height="14" '
        f'viewBox="0 0 {width + 48} 14" aria-label="{title}"><title>{title}</title>'
        f'<rect class="bar-track" x="0" y="2" width="{width}" height="10" rx="3"/>'
        f'<rect class="bar-fill" x="0" y="2" width="{filled}" height="10" rx="3"/>'
        f'<text x="{width + 6}" y="11">{percent:.0f}%</text></svg>'
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
