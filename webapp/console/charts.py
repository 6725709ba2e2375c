"""Small server-rendered SVG charts: each has a title and a text description for screen readers.

Values are escaped; sizes are in the SVG's own units and the chart scales to its container.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 220
LEFT = 40
BOTTOM = 28
TOP = 12
_ids = itertools.count(1)


def _frame(title: str, description: str, body: str, width: int, height: int) -> Markup:
    number = next(_ids)
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="chart-{number}-title chart-{number}-desc">'
        f'<title id="chart-{number}-title">{escape(title)}</title>'
        f'<desc id="chart-{number}-desc">{escape(description)}</desc>{body}</svg>'
    )


def nice_maximum(value: float) -> float:
    """A round number at least ``value`` for the top of an axis (1, 2, 5 times a power of 10)."""
    if value <= 0:
        return 1
    step = 1.0
    while step * 10 <= value:
        step *= 10
    while step > value:
        step /= 10
    return next(multiple * step for multiple in (1, 2, 5, 10) if multiple * step >= value)


def _axis(top: float, plot_height: float, suffix: str) -> str:
    lines = []
    for fraction in (0, 0.5, 1):
        y = TOP + plot_height * (1 - fraction)
        value = top * fraction
        label = f"{value:g}{suffix}"
        lines.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(label)}</text>'
        )
    return "".join(lines)


def _labels(labels: Sequence[str], step: float) -> str:
    every = max(1, len(labels) // 8)
    return "".join(
        f'<text x="{LEFT + step * (index + 0.5):.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
        f"{escape(label)}</text>"
        for index, label in enumerate(labels)
        if index % every == 0
    )


def bar_chart(title: str, points: Sequence[tuple[str, float]], *, suffix: str = "") -> Markup:
    """Vertical bars, one per labelled value (e.g. questions per day)."""
    plot_height = HEIGHT - TOP - BOTTOM
    top = nice_maximum(max((value for _, value in points), default=0))
    step = (WIDTH - LEFT) / max(1, len(points))
    bars = []
    for index, (label, value) in enumerate(points):
        height = plot_height * value / top
        bars.append(
            f'<rect class="bar" x="{LEFT + step * index + step * 0.15:.1f}" '
            f'y="{TOP + plot_height - height:.1f}" width="{step * 0.7:.1f}" '
            f'height="{height:.1f}">'
            f"<title>{escape(label)}: {value:g}{escape(suffix)}</title></rect>"
        )
    body = _axis(top, plot_height, suffix) + "".join(bars) + _labels([p[0] for p in points], step)
    description = ", ".join(f"{label}: {value:g}{suffix}" for label, value in points)
    return _frame(title, description or "No data.", body, WIDTH, HEIGHT)


def line_chart(
    title: str, points: Sequence[tuple[str, float | None]], *, top: float = 100, suffix: str = "%"
) -> Markup:
    """A line through the values (gaps where a value is missing), e.g. a daily rate."""
    plot_height = HEIGHT - TOP - BOTTOM
    step = (WIDTH - LEFT) / max(1, len(points))
    segments: list[list[str]] = [[]]
    dots = []
    for index, (label, value) in enumerate(points):
        if value is None:
            segments.append([])
            continue
        x = LEFT + step * (index + 0.5)
        y = TOP + plot_height * (1 - value / top)
        segments[-1].append(f"{x:.1f},{y:.1f}")
        dots.append(
            f'<circle class="bar" cx="{x:.1f}" cy="{y:.1f}" r="3">'
            f"<title>{escape(label)}: {value:.0f}{escape(suffix)}</title></circle>"
        )
    lines = "".join(
        f'<polyline class="line" points="{" ".join(segment)}"/>' for segment in segments if segment
    )
    body = _axis(top, plot_height, suffix) + lines + "".join(dots)
    body += _labels([label for label, _ in points], step)
    description = ", ".join(
        f"{label}: {'no answers' if value is None else f'{value:.0f}{suffix}'}"
        for label, value in points
    )
    return _frame(title, description or "No data.", body, WIDTH, HEIGHT)


def horizontal_bars(title: str, points: Sequence[tuple[str, float]]) -> Markup:
    """One labelled bar per row, longest first as given (e.g. the most cited documents)."""
    row = 26
    height = max(1, len(points)) * row + 8
    label_width = 240
    top = max((value for _, value in points), default=0) or 1
    rows = []
    for index, (label, value) in enumerate(points):
        y = 4 + index * row
        width = (WIDTH - label_width - 50) * value / top
        shown = label if len(label) <= 36 else label[:35] + "…"
        rows.append(
            f'<text x="{label_width - 8}" y="{y + 16}" text-anchor="end">{escape(shown)}</text>'
            f'<rect class="bar" x="{label_width}" y="{y + 3}" '
            f'width="{width:.1f}" height="{row - 8}"/>'
            f'<text x="{label_width + width + 6:.1f}" y="{y + 16}">{value:g}</text>'
        )
    description = ", ".join(f"{label}: {value:g}" for label, value in points)
    return _frame(title, description or "No data.", "".join(rows), WIDTH, height)


def sparkline(title: str, counts: Sequence[int]) -> Markup:
    """Tiny bars for a trend (e.g. questions per week), oldest first."""
    width, height = 120, 32
    top = max(counts, default=0) or 1
    step = width / max(1, len(counts))
    bars = "".join(
        f'<rect class="bar" x="{index * step + 1:.1f}" y="{height - height * count / top:.1f}" '
        f'width="{step - 2:.1f}" height="{height * count / top:.1f}"/>'
        for index, count in enumerate(counts)
    )
    description = "Oldest to newest: " + ", ".join(str(count) for count in counts)
    return Markup(
        f'<svg class="spark" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}. {escape(description)}">{bars}</svg>'
    )
