"""Dated tables: the figure in force on a day, and the seed figures from RULES.md."""

from datetime import date
from decimal import Decimal

import pytest

from svea_web.rules.figures import (
    COMPANY_COMPENSATION,
    DEFAULT_COMPANY_COMPENSATION,
    DEFAULT_LATE_INTEREST_RATES,
    DEFAULT_PAYMENT_DEMAND_FEES,
    DEFAULT_REMINDER_FEES,
    DEFAULT_TABLES,
    LATE_INTEREST_RATES,
    PAYMENT_DEMAND_FEES,
    REMINDER_FEES,
    UNCONFIRMED,
    DatedValue,
    NoFigureInForce,
    periods_in_force,
    value_on,
)

TABLE = (
    DatedValue(date(2024, 7, 1), Decimal("2")),
    DatedValue(date(2024, 1, 1), Decimal("1")),  # unsorted on purpose: rows come from a database
    DatedValue(date(2025, 1, 1), Decimal("3")),
)


@pytest.mark.parametrize(
    ("day", "value"),
    [
        (date(2024, 1, 1), "1"),  # the valid_from day itself uses the new figure
        (date(2024, 6, 30), "1"),
        (date(2024, 7, 1), "2"),
        (date(2024, 12, 31), "2"),
        (date(2025, 1, 1), "3"),
        (date(2099, 1, 1), "3"),  # the last figure stays in force until a newer row is added
    ],
)
def test_value_on_picks_the_latest_row_in_force(day, value):
    assert value_on(TABLE, day) == Decimal(value)


def test_value_on_refuses_a_day_before_the_first_row():
    with pytest.raises(NoFigureInForce, match="2023-12-31"):
        value_on(TABLE, date(2023, 12, 31))
    with pytest.raises(LookupError):
        value_on((), date(2024, 1, 1))


def test_value_on_refuses_two_different_figures_for_the_same_day():
    clash = (DatedValue(date(2024, 1, 1), Decimal("1")), DatedValue(date(2024, 1, 1), Decimal("2")))
    with pytest.raises(ValueError, match="2024-01-01"):
        value_on(clash, date(2024, 3, 1))


@pytest.mark.parametrize(
    ("first", "last", "periods"),
    [
        (date(2024, 3, 1), date(2024, 3, 31), [(date(2024, 3, 1), date(2024, 3, 31), "1")]),
        (
            date(2024, 6, 30),
            date(2025, 1, 1),
            [
                (date(2024, 6, 30), date(2024, 6, 30), "1"),
                (date(2024, 7, 1), date(2024, 12, 31), "2"),
                (date(2025, 1, 1), date(2025, 1, 1), "3"),
            ],
        ),
        (date(2024, 7, 1), date(2024, 7, 1), [(date(2024, 7, 1), date(2024, 7, 1), "2")]),
        (date(2024, 7, 2), date(2024, 7, 1), []),
    ],
)
def test_periods_in_force_cover_every_day_once(first, last, periods):
    assert periods_in_force(TABLE, first, last) == [(a, b, Decimal(v)) for a, b, v in periods]


def test_periods_in_force_refuses_a_first_day_before_the_table():
    with pytest.raises(NoFigureInForce):
        periods_in_force(TABLE, date(2023, 12, 1), date(2024, 2, 1))


def _rows(table):
    return [(row.valid_from, str(row.value)) for row in table]


def test_reminder_fee_seed_is_one_tenth_then_one_twentieth_of_the_inkassosats():
    # 700/10 = 70 until 2020-09-30; 700/20 = 35 from 2020-10-01; 750/20 = 37.50 from 2026
    assert _rows(DEFAULT_REMINDER_FEES) == [
        (date(2017, 1, 1), "70.00"),
        (date(2020, 10, 1), "35.00"),
        (date(2026, 1, 1), "37.50"),
    ]


def test_payment_demand_fee_seed_is_three_twentieths_of_the_inkassosats():
    # 3/10 x 700 = 210 until 2020-09-30; 3/20 x 700 = 105; 3/20 x 750 = 112.50
    assert _rows(DEFAULT_PAYMENT_DEMAND_FEES) == [
        (date(2017, 1, 1), "210.00"),
        (date(2020, 10, 1), "105.00"),
        (date(2026, 1, 1), "112.50"),
    ]


def test_late_interest_seed_follows_rules_md_half_years():
    assert _rows(DEFAULT_LATE_INTEREST_RATES) == [
        (date(2020, 1, 1), "9.50"),
        (date(2020, 7, 1), "8.00"),
        (date(2022, 1, 1), "8.50"),
        (date(2022, 7, 1), "9.25"),
        (date(2023, 1, 1), "10.75"),
        (date(2023, 7, 1), "11.75"),
        (date(2024, 1, 1), "12.50"),
        (date(2024, 7, 1), "12.50"),  # unconfirmed, "12.50 likely"
        (date(2025, 1, 1), "12.50"),
        (date(2025, 7, 1), "12.50"),  # unconfirmed: no figure in RULES.md, previous rate carried
        (date(2026, 1, 1), "12.00"),
    ]


def test_company_compensation_seed():
    assert _rows(DEFAULT_COMPANY_COMPENSATION) == [
        (date(2024, 1, 1), "470.00"),
        (date(2025, 7, 1), "470.00"),  # unconfirmed: RULES.md states 470 only up to H1 2025
        (date(2026, 1, 1), "460.00"),
    ]


def test_unconfirmed_rows_are_marked_for_the_ui():
    assert set(UNCONFIRMED) == {
        (REMINDER_FEES, date(2026, 1, 1)),
        (PAYMENT_DEMAND_FEES, date(2026, 1, 1)),
        (LATE_INTEREST_RATES, date(2024, 7, 1)),
        (LATE_INTEREST_RATES, date(2025, 7, 1)),
        (COMPANY_COMPENSATION, date(2025, 7, 1)),
    }


def test_every_unconfirmed_mark_points_at_a_seeded_row():
    for table_name, valid_from in UNCONFIRMED:
        assert valid_from in {row.valid_from for row in DEFAULT_TABLES[table_name]}


@pytest.mark.parametrize("name", sorted(DEFAULT_TABLES))
def test_seed_tables_are_sorted_unique_and_in_money_precision(name):
    table = DEFAULT_TABLES[name]
    days = [row.valid_from for row in table]
    assert days == sorted(set(days))
    assert all(row.value == row.value.quantize(Decimal("0.01")) for row in table)
