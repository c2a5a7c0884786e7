"""Chart geometry for server-rendered SVG: bars, axis labels and grid lines in viewBox units.

Pure functions over numbers and ready-made text, so that the templates only draw what is laid out
here. Every mark carries its series (a CSS class and a <pattern> fill, readable without colour),
its link and the full text a screen reader reads for it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

Number = Decimal | int | float
Format = Callable[[float], str]


@dataclass(frozen=True)
class Segment:
    """One value in a column (a column has one or more stacked segments) or in a horizontal bar."""

    value: Number
    series: str
    label: str
    href: str | None = None
    text: str = ""  # short text drawn next to (columns) or inside (horizontal bar) the mark


@dataclass(frozen=True)
class Column:
    axis: str
    segments: Sequence[Segment]
    axis_note: str = ""  # a second line under the axis label


@dataclass(frozen=True)
class Mark:
    x: float
    y: float
    width: float
    height: float
    series: str
    label: str
    href: str | None
    text: str
    text_x: float
    text_y: float


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    css: str = ""


@dataclass(frozen=True)
class GridLine:
    y: float
    x1: float
    x2: float
    text: str


@dataclass
class Chart:
    width: int
    height: int
    marks: list[Mark] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    grid: list[GridLine] = field(default_factory=list)
    baseline: float = 0.0


def nice_ceiling(value: float, steps: Sequence[float] = (1, 2, 2.5, 5, 10)) -> float:
    """The smallest of ``steps`` × 10ⁿ that is ≥ value (1 for nothing to show)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in steps:
        if step * power >= value:
            return float(step * power)
    return float(10 * power)


GRID_LINES = 4


def scale_top(peak: float, whole: bool = False) -> float:
    """The top of the value axis: four equal round steps that reach the peak (whole steps for counts)."""
    step = nice_ceiling(
        peak / GRID_LINES, (1, 2, 3, 4, 5, 6, 8, 10) if whole else (1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5, 10)
    )
    return max(step, 1.0) * GRID_LINES if whole else step * GRID_LINES


def _r(value: float) -> float:
    return round(value, 1)


@dataclass(frozen=True)
class _Frame:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def base(self) -> float:
        return self.height - self.bottom


def _grid(frame: _Frame, top_value: float, fmt: Format) -> list[GridLine]:
    grid = []
    for i in range(GRID_LINES + 1):
        value = top_value * i / GRID_LINES
        y = frame.base - frame.plot_height * i / GRID_LINES
        grid.append(GridLine(_r(y), frame.left, frame.width - frame.right, fmt(value)))
    return grid


def columns(
    items: Sequence[Column],
    fmt: Format,
    width: int = 720,
    height: int = 300,
    left: int = 84,
    bar_share: float = 0.6,
) -> Chart:
    """Vertical columns, one per item, each a stack of its segments (negative values draw nothing).

    ``fmt`` formats a grid value. A column's texts are drawn above it: the first segment's text for
    a single-segment column.
    """
    frame = _Frame(width, height, left, 8, 34, 48)
    totals = [sum(max(float(s.value), 0.0) for s in item.segments) for item in items]
    top_value = scale_top(max(totals, default=0.0))
    chart = Chart(width, height, grid=_grid(frame, top_value, fmt), baseline=frame.base)
    slot = frame.plot_width / max(len(items), 1)
    bar_width = slot * bar_share
    for index, item in enumerate(items):
        x = frame.left + slot * index + (slot - bar_width) / 2
        y = frame.base
        for segment in item.segments:
            h = frame.plot_height * max(float(segment.value), 0.0) / top_value
            y -= h
            chart.marks.append(
                Mark(
                    _r(x),
                    _r(y),
                    _r(bar_width),
                    _r(h),
                    segment.series,
                    segment.label,
                    segment.href,
                    segment.text if len(item.segments) == 1 else "",
                    _r(x + bar_width / 2),
                    _r(y - 6),
                )
            )
        center = _r(frame.left + slot * index + slot / 2)
        chart.texts.append(Text(center, frame.base + 18, item.axis, "axis"))
        if item.axis_note:
            chart.texts.append(Text(center, frame.base + 36, item.axis_note, "axis note"))
    return chart


def grouped_columns(
    items: Sequence[Column],
    fmt: Format,
    width: int = 720,
    height: int = 220,
    left: int = 48,
) -> Chart:
    """Columns side by side within each item (one per segment), their texts above them."""
    frame = _Frame(width, height, left, 8, 24, 30)
    top_value = scale_top(max((float(s.value) for item in items for s in item.segments), default=0.0), whole=True)
    chart = Chart(width, height, grid=_grid(frame, top_value, fmt), baseline=frame.base)
    slot = frame.plot_width / max(len(items), 1)
    for index, item in enumerate(items):
        n = max(len(item.segments), 1)
        bar_width = slot * 0.7 / n
        start = frame.left + slot * index + slot * 0.15
        for k, segment in enumerate(item.segments):
            h = frame.plot_height * max(float(segment.value), 0.0) / top_value
            x = start + bar_width * k
            chart.marks.append(
                Mark(
                    _r(x),
                    _r(frame.base - h),
                    _r(bar_width),
                    _r(h),
                    segment.series,
                    segment.label,
                    segment.href,
                    segment.text,
                    _r(x + bar_width / 2),
                    _r(frame.base - h - 4),
                )
            )
        chart.texts.append(Text(_r(frame.left + slot * index + slot / 2), frame.base + 18, item.axis, "axis"))
    return chart


def stacked_bar(segments: Sequence[Segment], width: int = 720, height: int = 56, min_text_width: float = 44) -> Chart:
    """One horizontal bar split by value; a segment's text is drawn inside it when it fits."""
    chart = Chart(width, height)
    total = sum(max(float(s.value), 0.0) for s in segments)
    if total <= 0:
        return chart
    x = 0.0
    bar_y, bar_h = 6.0, float(height - 12)
    for segment in segments:
        w = width * max(float(segment.value), 0.0) / total
        if w <= 0:
            continue
        chart.marks.append(
            Mark(
                _r(x),
                bar_y,
                _r(w),
                bar_h,
                segment.series,
                segment.label,
                segment.href,
                segment.text if w >= min_text_width else "",
                _r(x + w / 2),
                _r(bar_y + bar_h / 2 + 5),
            )
        )
        x += w
    return chart
