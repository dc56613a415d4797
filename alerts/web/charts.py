"""Small SVG charts rendered on the server: no script, readable without colour (every bar is labelled)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


def bars(title: str, points: Sequence[tuple[str, int]], width: int = 640, height: int = 180) -> str:
    """A labelled bar chart as inline SVG, with a text alternative (role="img", <title>, <desc>)."""
    top = max((v for _, v in points), default=0) or 1
    n = max(len(points), 1)
    slot = (width - 40) / n
    bar_w = max(4.0, slot * 0.7)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height + 40}" role="img" aria-labelledby="ct cd" '
             f'xmlns="http://www.w3.org/2000/svg"><title id="ct">{escape(title)}</title>'
             f'<desc id="cd">{escape("; ".join(f"{label}: {value}" for label, value in points))}</desc>']  # fmt: skip
    parts.append(f'<line x1="30" y1="{height}" x2="{width - 5}" y2="{height}" class="axis"/>')
    for i, (label, value) in enumerate(points):
        h = 0 if value == 0 else max(2.0, (height - 20) * value / top)
        x = 35 + i * slot
        parts.append(f'<rect x="{x:.1f}" y="{height - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" class="bar"/>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - h - 4:.1f}" class="value">{value}</text>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height + 16:.1f}" class="label">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
