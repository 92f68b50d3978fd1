"""SVG charts drawn by hand: a target's value per period against its target line, baseline marked.

They are plain inline SVG (no script, no font or image from anywhere), and they read in black
and white: the target is a dashed line, the baseline a dotted one, a period that met the target
a filled circle, one that missed it a hollow square, the partial period a hollow diamond.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 230
LEFT, RIGHT, TOP, BOTTOM = 52, 92, 16, 52


def _y(value: float) -> float:
    return TOP + (1 - max(0.0, min(1.0, value))) * (HEIGHT - TOP - BOTTOM)


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


#: The least distance between two labels' baselines, for 11-pixel text.
LABEL_GAP = 14


def _label_apart(y: float, other: float) -> float:
    """A label's y, moved clear of another label at ``other``: below it, or above it at the bottom."""
    if abs(y - other) >= LABEL_GAP:
        return y
    below = other + LABEL_GAP
    return below if below <= HEIGHT - BOTTOM else other - LABEL_GAP


def value_chart(points: list[dict], threshold: float, baseline: float | None, title: str, chart_id: str) -> Markup:
    """``points``: dicts with ``label``, ``value`` (or None), ``met`` and ``partial``."""
    n = max(1, len(points))
    plot_w = WIDTH - LEFT - RIGHT
    xs = [LEFT + (i + 0.5) * plot_w / n for i in range(len(points))]
    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg" aria-labelledby="{escape(chart_id)}-t">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{HEIGHT - TOP - BOTTOM}" fill="#fff" stroke="#999"/>',
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        y = _y(tick)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#ddd" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{_pct(tick)}</text>')
    y = _y(threshold)
    target_label = y + 4
    parts.append(f'<line class="target-line" x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" '
                 f'stroke="#000" stroke-width="1.5" stroke-dasharray="7 4"/>')
    parts.append(f'<text class="target-label" x="{LEFT + plot_w + 6}" y="{target_label:.1f}" font-size="11">'
                 f'target {_pct(threshold)}</text>')
    if baseline is not None:
        y = _y(baseline)
        parts.append(f'<line class="baseline-line" x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" '
                     f'stroke="#555" stroke-width="1.2" stroke-dasharray="1 3"/>')
        parts.append(f'<text class="baseline-label" x="{LEFT + plot_w + 6}" y="{_label_apart(y + 4, target_label):.1f}" '
                     f'font-size="11">baseline {_pct(baseline)}</text>')
    segment: list[str] = []
    segments = []
    for x, point in zip(xs, points):
        if point["value"] is None or point.get("partial"):
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{x:.1f},{_y(point['value']):.1f}")
    if segment:
        segments.append(segment)
    for seg in segments:
        if len(seg) > 1:
            parts.append(f'<polyline class="values" points="{" ".join(seg)}" fill="none" stroke="#000" stroke-width="2"/>')
    rotate = len(points) > 8
    for x, point in zip(xs, points):
        label = escape(str(point["label"]))
        if rotate:
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" font-size="10" text-anchor="end" '
                         f'transform="rotate(-40 {x:.1f} {HEIGHT - BOTTOM + 14})">{label}</text>')
        else:
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="11" text-anchor="middle">{label}</text>')
        if point["value"] is None:
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM - 6}" font-size="10" text-anchor="middle" fill="#666">n/a</text>')
            continue
        y = _y(point["value"])
        tip = f"{label}: {_pct(point['value'])}"
        if point.get("partial"):
            parts.append(f'<path class="point partial" d="M{x:.1f},{y - 6:.1f} L{x + 6:.1f},{y:.1f} L{x:.1f},{y + 6:.1f} '
                         f'L{x - 6:.1f},{y:.1f} Z" fill="#fff" stroke="#666" stroke-width="1.5"><title>{tip} (partial)</title></path>')
        elif point["met"]:
            parts.append(f'<circle class="point met" cx="{x:.1f}" cy="{y:.1f}" r="5" fill="#000">'
                         f'<title>{tip} (met)</title></circle>')
        else:
            parts.append(f'<rect class="point missed" x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10" fill="#fff" '
                         f'stroke="#000" stroke-width="2"><title>{tip} (not met)</title></rect>')
    parts.append("</svg>")
    return Markup("".join(parts))
