"""Chart geometry: scales, stacking and the text that fits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from svea_web.overview import svg


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [(0, 1), (-5, 1), (0.7, 1), (1, 1), (1.01, 2), (2.4, 2.5), (3, 5), (7, 10), (10, 10), (11, 20), (41_234, 50_000)],
)
def test_nice_ceiling_rounds_up_to_a_readable_grid(value: float, ceiling: float) -> None:
    assert svg.nice_ceiling(value) == ceiling


@pytest.mark.parametrize(
    ("peak", "whole", "top"),
    [
        (0, False, 4),
        (0, True, 4),
        (3, True, 4),
        (5, True, 8),
        (9, True, 12),
        (100, False, 100),
        (101, False, 120),
        (4_468_217, False, 5_000_000),
        (0.6, False, 0.6),
    ],
)
def test_the_axis_rises_in_four_round_steps(peak: float, whole: bool, top: float) -> None:
    assert svg.scale_top(peak, whole) == pytest.approx(top)


def _fmt(value: float) -> str:
    return f"{value:.0f}"


def test_columns_are_as_tall_as_their_share_of_the_scale() -> None:
    chart = svg.columns(
        [
            svg.Column("a", [svg.Segment(Decimal("50"), "s", "a: 50", "/a", "50")]),
            svg.Column("b", [svg.Segment(Decimal("100"), "s", "b: 100", None, "100")]),
            svg.Column("c", [svg.Segment(Decimal("-30"), "s", "c: -30", None, "-30")]),
        ],
        _fmt,
        height=300,
    )
    plot = 300 - 34 - 48
    a, b, c = chart.marks
    assert (a.height, b.height, c.height) == (round(plot / 2, 1), plot, 0)
    assert a.y + a.height == b.y + b.height == chart.baseline
    assert a.href == "/a" and b.href is None
    assert [g.text for g in chart.grid] == ["0", "25", "50", "75", "100"]


def test_stacked_columns_put_segments_on_top_of_each_other() -> None:
    chart = svg.columns(
        [svg.Column("m", [svg.Segment(10, "x", "x"), svg.Segment(30, "y", "y"), svg.Segment(0, "z", "z")])], _fmt
    )
    x, y, z = chart.marks
    assert y.y + y.height == x.y
    assert z.height == 0
    assert y.height == pytest.approx(3 * x.height, abs=0.2)
    assert not any(m.text for m in chart.marks)


def test_stacked_bar_spans_the_width_and_labels_only_wide_parts() -> None:
    chart = svg.stacked_bar(
        [
            svg.Segment(Decimal("1"), "a", "a", text="1 %"),
            svg.Segment(Decimal("0"), "b", "b", text="0 %"),
            svg.Segment(Decimal("99"), "c", "c", text="99 %"),
        ],
        width=720,
    )
    assert [m.series for m in chart.marks] == ["a", "c"]
    assert sum(m.width for m in chart.marks) == pytest.approx(720, abs=0.2)
    assert [m.text for m in chart.marks] == ["", "99 %"]


def test_stacked_bar_without_money_draws_nothing() -> None:
    assert svg.stacked_bar([svg.Segment(0, "a", "a")]).marks == []


def test_grouped_columns_stand_side_by_side() -> None:
    chart = svg.grouped_columns([svg.Column("m", [svg.Segment(2, "o", "o", text="2"), svg.Segment(4, "c", "c")])], _fmt)
    opened, closed = chart.marks
    assert opened.x + opened.width == closed.x
    assert closed.height == pytest.approx(2 * opened.height, abs=0.2)
    assert [g.text for g in chart.grid] == ["0", "1", "2", "3", "4"]
