"""Charts as geometry for server-rendered SVG: rectangles, lines and labels, with the table
of the same numbers (``django_notify_tasks/charts/chart.html`` draws both).

No JavaScript and no external file: a page, a saved copy of it or a printout shows the
chart, and the table carries the numbers for screen readers and for copying.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 10, 28  # room for the axes' labels
MAX_X_LABELS = 8
BAR_LABELS = 260  # pixels left of horizontal bars, for their labels
MAX_BAR_LABEL = 44  # characters of a label there
Number = int | float
# The stylesheet's colours (charts/style.html), for HTML where classes do not reach (email).
COLORS = {"sent": "#2e7d32", "failed": "#c62828", "pending": "#9e9e9e", "skipped": "#b0bec5",
          "cancelled": "#5d4037", "median": "#90caf9", "slowest": "#0d47a1"}  # fmt: skip
DEFAULT_COLOR = "#1e88e5"


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    series: str
    title: str


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass(frozen=True)
class Line:
    series: str
    points: str  # "x,y x,y ..." for <polyline>


@dataclass(frozen=True)
class Bar:
    """One bar of a horizontal bar chart, for HTML that cannot hold SVG (email)."""

    series: str
    text: str
    percent: float  # of the widest bar the axis allows
    color: str


@dataclass
class Chart:
    """One chart: what the SVG draws, and the table of its numbers."""

    title: str
    slug: str
    columns: list[str]  # the table's header: the label's column, then one per series
    rows: list[list[str]]  # the table's rows, formatted
    series: list[str]
    height: int = HEIGHT
    rects: list[Rect] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    gridlines: list[float] = field(default_factory=list)
    bars: list[tuple[str, list[Bar]]] = field(default_factory=list)  # (label, its bars)

    @property
    def width(self) -> int:
        return WIDTH

    @property
    def empty(self) -> bool:
        return not self.rows


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten at or above ``value`` (1 for nothing)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def number(value: Number | None, unit: str = "") -> str:
    if value is None:
        return "\u2013"
    if isinstance(value, float) and math.isinf(value):
        return "> 1 day"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}{unit}"
    return f"{int(value):,}{unit}"


def _y_axis(chart: Chart, top: float) -> float:
    """Gridlines and labels for 0, half and ``top``; the plot's height in pixels."""
    plot = chart.height - TOP - BOTTOM
    for share in (0, 0.5, 1):
        y = TOP + plot * (1 - share)
        chart.gridlines.append(y)
        chart.texts.append(Text(LEFT - 6, y + 4, number(top * share), "end"))
    return plot


def _x_labels(chart: Chart, labels: Sequence[str], slot: float) -> None:
    every = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    for index in range(0, len(labels), every):
        x = LEFT + slot * (index + 0.5)
        chart.texts.append(Text(x, chart.height - BOTTOM + 16, labels[index]))


def stacked_columns(
    title: str, slug: str, labels: Sequence[str], series: Mapping[str, Sequence[int]]
) -> Chart:
    """One column per label, its series stacked in order (e.g. deliveries by status)."""
    names = [name for name in series if any(series[name])]
    rows = [
        [label, *(number(series[name][i]) for name in names)] for i, label in enumerate(labels)
    ]
    chart = Chart(title, slug, ["", *names], rows if names else [], names)
    totals = [sum(series[name][i] for name in names) for i in range(len(labels))]
    top = nice_ceiling(max(totals, default=0))
    plot = _y_axis(chart, top)
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    for index, label in enumerate(labels):
        base = TOP + plot
        for name in names:
            value = series[name][index]
            if not value:
                continue
            height = plot * value / top
            base -= height
            x = LEFT + slot * index + slot * 0.1
            chart.rects.append(
                Rect(x, base, slot * 0.8, height, name, f"{label}: {value:,} {name}")
            )
    _x_labels(chart, labels, slot)
    return chart


def lines(
    title: str, slug: str, labels: Sequence[str], series: Mapping[str, Sequence[Number | None]]
) -> Chart:
    """One line per series over the labels; a missing value breaks no line, it is skipped."""
    names = list(series)
    rows = [
        [label, *(number(series[name][i]) for name in names)]
        for i, label in enumerate(labels)
        if any(series[name][i] is not None for name in names)
    ]
    chart = Chart(title, slug, ["", *names], rows, names)
    values = [v for name in names for v in series[name] if v is not None]
    top = nice_ceiling(max(values, default=0))
    plot = _y_axis(chart, top)
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    for name in names:
        points = [
            f"{LEFT + slot * (i + 0.5):.1f},{TOP + plot * (1 - value / top):.1f}"
            for i, value in enumerate(series[name])
            if value is not None
        ]
        if points:
            chart.lines.append(Line(name, " ".join(points)))
    _x_labels(chart, labels, slot)
    return chart


def bar_rows(
    title: str,
    slug: str,
    label_column: Sequence[str],
    rows: Sequence[tuple[Sequence[str], Mapping[str, Number | None]]],
    unit: str = "",
) -> Chart:
    """Horizontal bars, one group a row (e.g. a rule and channel: p50, p95 and p99)."""
    names = list(rows[0][1]) if rows else []
    table = [[*labels, *(number(values[name], unit) for name in names)] for labels, values in rows]
    finite = [
        v for _, values in rows for v in values.values() if v is not None and not math.isinf(v)
    ]
    top = nice_ceiling(max(finite, default=0))
    bar, gap = 12, 10
    height = TOP + BOTTOM + len(rows) * (bar * len(names) + gap)
    chart = Chart(title, slug, [*label_column, *names], table, names, height=max(height, 60))
    span = WIDTH - BAR_LABELS - RIGHT
    y = float(TOP)
    for labels, values in rows:
        label = _clip(" \u00b7 ".join(labels[:2]))
        chart.texts.append(Text(BAR_LABELS - 6, y + bar * len(names) / 2 + 4, label, "end"))
        chart.bars.append((label, []))
        for name in names:
            value = values[name]
            shown = top if value is not None and math.isinf(value) else value or 0
            width = span * min(shown, top) / top
            text = f"{' '.join(labels)}: {number(value, unit)} {name}"
            chart.rects.append(Rect(BAR_LABELS, y, max(width, 1), bar - 2, name, text))
            color = COLORS.get(name, DEFAULT_COLOR)
            chart.bars[-1][1].append(Bar(name, number(value, unit), 100 * width / span, color))
            y += bar
        y += gap
    axis_y = chart.height - BOTTOM + 16
    chart.texts.append(Text(BAR_LABELS + span, axis_y, number(top, unit), "end"))
    chart.texts.append(Text(BAR_LABELS, axis_y, number(0, unit), "start"))
    return chart


def _clip(label: str) -> str:
    """What fits left of the bars; the table has the whole label."""
    return label if len(label) <= MAX_BAR_LABEL else label[: MAX_BAR_LABEL - 1] + "\u2026"
