"""Charts drawn on the server as SVG: the same markup works on a page, in a PDF and without
JavaScript, and screen readers get a title and the table beside it carries the numbers."""

from decimal import Decimal

from django.utils.html import format_html, format_html_join

WIDTH, HEIGHT, PAD = 360, 160, 24


def bar_chart(*, title: str, bars: list[tuple[str, float | Decimal]], unit: str = "") -> str:
    """Vertical bars, one per (label, value), scaled to the largest; values printed on top."""
    top = max((float(value) for _, value in bars), default=0) or 1.0
    slot = (WIDTH - 2 * PAD) / max(len(bars), 1)
    parts = []
    for index, (label, value) in enumerate(bars):
        height = (HEIGHT - 2 * PAD) * float(value) / top
        x = PAD + index * slot + slot * 0.15
        y = HEIGHT - PAD - height
        parts.append(
            (
                f"{x:.1f}",
                f"{y:.1f}",
                f"{slot * 0.7:.1f}",
                f"{height:.1f}",
                f"{x + slot * 0.35:.1f}",
                f"{y - 4:.1f}",
                f"{float(value):,.0f}",
                f"{HEIGHT - 6}",
                label,
            )
        )
    body = format_html_join(
        "",
        '<rect x="{0}" y="{1}" width="{2}" height="{3}" class="bar"></rect>'
        '<text x="{4}" y="{5}" text-anchor="middle" class="value">{6}</text>'
        '<text x="{4}" y="{7}" text-anchor="middle" class="label">{8}</text>',
        parts,
    )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}{}">'
        "<title>{}</title>{}</svg>",
        WIDTH,
        HEIGHT,
        title,
        f" ({unit})" if unit else "",
        title,
        body,
    )


def line_chart(
    *, title: str, points: list[float | None], maximum: float | None = None, top_label: str = ""
) -> str:
    """A polyline over evenly spaced points (None leaves a gap) with a dot on each, scaled to
    `maximum`; `top_label` names the top of the scale."""
    values = [p for p in points if p is not None]
    top = maximum if maximum is not None else (max(values, default=0) or 1.0)
    step = (WIDTH - 2 * PAD) / max(len(points) - 1, 1)
    segments, current, dots = [], [], []
    for index, point in enumerate(points):
        if point is None:
            if current:
                segments.append(current)
            current = []
            continue
        x = PAD + index * step
        y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * (point / top if top else 0)
        current.append(f"{x:.1f},{y:.1f}")
        dots.append((f"{x:.1f}", f"{y:.1f}"))
    if current:
        segments.append(current)
    lines = format_html_join(
        "", '<polyline points="{}" class="line"></polyline>', ((" ".join(s),) for s in segments)
    )
    circles = format_html_join("", '<circle cx="{}" cy="{}" r="3" class="dot"></circle>', dots)
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}">'
        '<title>{}</title><line x1="{}" y1="{}" x2="{}" y2="{}" class="axis"></line>'
        '<text x="{}" y="{}" class="label">{}</text>{}{}</svg>',
        WIDTH,
        HEIGHT,
        title,
        title,
        PAD,
        HEIGHT - PAD,
        WIDTH - PAD,
        HEIGHT - PAD,
        2,
        PAD - 8,
        top_label or f"{top:,.0f}",
        lines,
        circles,
    )
