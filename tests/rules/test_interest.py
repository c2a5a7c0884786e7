"""Forsinkelsesrente: simple interest per day, rate per half-year, days/365 or /366 by each day's year.

Convention proved here: interest runs from the day after the due date up to and including the day
paid, i.e. days = until - due_date. Hand figures: principal x rate% x days / (100 x year_days).
"""

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from svea_web.rules.figures import DEFAULT_LATE_INTEREST_RATES, DatedValue, NoFigureInForce
from svea_web.rules.interest import (
    InterestSegment,
    interest_breakdown,
    late_interest,
    late_interest_exact,
)

# A table owned by the tests, so the hand figures do not move when the seed data is corrected.
RATES = (
    DatedValue(date(2020, 1, 1), Decimal("9.50")),
    DatedValue(date(2020, 7, 1), Decimal("8.00")),
    DatedValue(date(2023, 7, 1), Decimal("11.75")),
    DatedValue(date(2024, 1, 1), Decimal("12.50")),
    DatedValue(date(2026, 1, 1), Decimal("12.00")),
)


@pytest.mark.parametrize(
    ("principal", "due", "until", "interest"),
    [
        # Feb 1 .. Mar 1 2024 = 30 days (2024 is a leap year, Feb has 29 days); 12.50 %, /366:
        # 10000 x 12.5 x 30 / 36600 = 102.459.. -> 102.46
        ("10000.00", date(2024, 1, 31), date(2024, 3, 1), "102.46"),
        # across a year end, each year its own rate and year length:
        # Dec 16..31 2023 = 16 days at 11.75 /365: 10000 x 11.75 x 16 / 36500 = 51.5068..
        # Jan 1..15 2024 = 15 days at 12.50 /366: 10000 x 12.5 x 15 / 36600 = 51.2295..
        # sum 102.7363.. -> 102.74
        ("10000.00", date(2023, 12, 15), date(2024, 1, 15), "102.74"),
        # across a half-year rate change, same year (2020, /366):
        # Jun 21..30 = 10 days at 9.50: 1000 x 9.5 x 10 / 36600 = 2.5956..
        # Jul 1..10 = 10 days at 8.00: 1000 x 8 x 10 / 36600 = 2.1857..; sum 4.7814.. -> 4.78
        ("1000.00", date(2020, 6, 20), date(2020, 7, 10), "4.78"),
        # one day: 1000 x 12 x 1 / 36500 = 0.3287.. -> 0.33
        ("1000.00", date(2026, 1, 10), date(2026, 1, 11), "0.33"),
        # one day in a leap year vs one in a common year at the same rate 12.50:
        # 100000 x 12.5 / 36600 = 1250000 / 36600 = 34.153.. -> 34.15
        # 100000 x 12.5 / 36500 = 1250000 / 36500 = 34.246.. -> 34.25
        ("100000.00", date(2023, 12, 31), date(2024, 1, 1), "34.15"),
        ("100000.00", date(2024, 12, 31), date(2025, 1, 1), "34.25"),
        # the whole of 2024 (366 days /366) at 12.50 is exactly 12.5 %: 1000.04 x 0.125 = 125.005
        # -> ROUND_HALF_UP gives 125.01 (banker's rounding would give 125.00)
        ("1000.04", date(2023, 12, 31), date(2024, 12, 31), "125.01"),
        # two whole years: 2025 at 12.50 = 625.00, 2026 at 12.00 = 600.00 -> 1225.00
        ("5000.00", date(2024, 12, 31), date(2026, 12, 31), "1225.00"),
        # paid on the due date: no day has run
        ("1000.00", date(2026, 1, 10), date(2026, 1, 10), "0.00"),
        # paid before the due date
        ("1000.00", date(2026, 1, 10), date(2026, 1, 1), "0.00"),
        # a credit note (negative open amount) earns no interest for the debtor
        ("-1000.00", date(2024, 1, 31), date(2024, 3, 1), "0.00"),
        ("0.00", date(2024, 1, 31), date(2024, 3, 1), "0.00"),
    ],
)
def test_late_interest_matches_hand_worked_figures(principal, due, until, interest):
    result = late_interest(Decimal(principal), due, until, RATES)
    assert result == Decimal(interest)
    assert str(result) == interest


def test_late_interest_exact_is_the_unrounded_fraction():
    # 10000 x 12.5 x 30 / 36600 = 3750000 / 36600 = 6250 / 61
    exact = late_interest_exact(Decimal("10000"), date(2024, 1, 31), date(2024, 3, 1), RATES)
    assert exact == Fraction(6250, 61)


def test_late_interest_needs_a_rate_for_every_day():
    with pytest.raises(NoFigureInForce):
        late_interest(Decimal("1000"), date(2019, 12, 20), date(2020, 1, 10), RATES)


def test_late_interest_refuses_a_negative_rate():
    with pytest.raises(ValueError, match="rate"):
        late_interest(
            Decimal("1000"),
            date(2024, 1, 1),
            date(2024, 2, 1),
            (DatedValue(date(2024, 1, 1), Decimal("-1")),),
        )


def test_late_interest_with_seed_rates_for_a_post_overdue_through_2025():
    # Seed: 12.50 all of 2025 (H2 unconfirmed, carried). Dec 31 2024 -> Dec 31 2025 = 365 days /365
    # = exactly 12.5 %: 8000 x 0.125 = 1000.00
    assert late_interest(
        Decimal("8000"), date(2024, 12, 31), date(2025, 12, 31), DEFAULT_LATE_INTEREST_RATES
    ) == Decimal("1000.00")


def test_breakdown_shows_each_year_and_rate_for_the_letter():
    segments = interest_breakdown(Decimal("10000"), date(2023, 12, 15), date(2024, 1, 15), RATES)
    assert [(s.start, s.end, s.days, s.rate, s.year_days, s.amount) for s in segments] == [
        (date(2023, 12, 16), date(2023, 12, 31), 16, Decimal("11.75"), 365, Decimal("51.51")),
        (date(2024, 1, 1), date(2024, 1, 15), 15, Decimal("12.50"), 366, Decimal("51.23")),
    ]
    assert sum(s.amount for s in segments) == Decimal("102.74")


def test_breakdown_lines_add_up_to_the_total_even_when_each_line_rounds_down():
    # 100 kr, Dec 31 2023 at 11.75/365 = 0.03219.. and Jan 1 2024 at 12.50/366 = 0.03415..
    # total 0.06634.. -> 0.07, but each line alone rounds to 0.03 (0.06). The missing øre goes to
    # the line with the larger remainder (0.415 > 0.219 øre): 0.03 + 0.04 = 0.07.
    segments = interest_breakdown(Decimal("100"), date(2023, 12, 30), date(2024, 1, 1), RATES)
    assert [s.amount for s in segments] == [Decimal("0.03"), Decimal("0.04")]
    assert late_interest(Decimal("100"), date(2023, 12, 30), date(2024, 1, 1), RATES) == Decimal("0.07")
    assert segments[0].exact_amount == Fraction(1175, 36500)


def test_breakdown_is_empty_when_no_interest_runs():
    assert interest_breakdown(Decimal("1000"), date(2024, 3, 1), date(2024, 3, 1), RATES) == []
    assert interest_breakdown(Decimal("-5"), date(2024, 3, 1), date(2024, 4, 1), RATES) == []


def test_breakdown_segment_is_a_plain_value():
    segment = interest_breakdown(Decimal("1000"), date(2026, 1, 10), date(2026, 1, 11), RATES)[0]
    assert segment == InterestSegment(
        start=date(2026, 1, 11),
        end=date(2026, 1, 11),
        days=1,
        rate=Decimal("12.00"),
        year_days=365,
        amount=Decimal("0.33"),
        exact_amount=Fraction(12000, 36500),
    )


FIRST = date(2020, 1, 1)
principals = st.decimals(min_value=0, max_value=10**9, places=2)
days = st.dates(min_value=FIRST, max_value=date(2029, 12, 31))


@settings(deadline=None)
@given(principals, days, days, days)
def test_splitting_a_period_at_any_day_adds_up_exactly(principal, a, b, c):
    due, middle, until = sorted((a, b, c))
    whole = late_interest_exact(principal, due, until, RATES)
    parts = late_interest_exact(principal, due, middle, RATES) + late_interest_exact(principal, middle, until, RATES)
    assert parts == whole


@settings(deadline=None)
@given(principals, st.lists(days, min_size=2, max_size=8))
def test_rounded_parts_differ_from_the_rounded_whole_by_less_than_half_an_øre_per_rounding(principal, cuts):
    # Each rounding moves a figure by at most half an øre: n parts + the whole is n+1 roundings.
    cuts = sorted(cuts)
    parts = [late_interest(principal, a, b, RATES) for a, b in zip(cuts, cuts[1:], strict=False)]
    whole = late_interest(principal, cuts[0], cuts[-1], RATES)
    assert abs(sum(parts) - whole) < Decimal("0.005") * (len(parts) + 1)


@settings(deadline=None)
@given(st.decimals(min_value=-(10**9), max_value=10**9, places=2), days, days)
def test_interest_is_never_negative(principal, due, until):
    assert late_interest(principal, due, until, RATES) >= 0
    assert late_interest_exact(principal, due, until, RATES) >= 0


@given(principals, days, st.integers(min_value=0, max_value=400))
def test_zero_or_negative_days_give_zero(principal, due, days_before):
    assert late_interest(principal, due, due - timedelta(days=days_before), RATES) == Decimal("0.00")


@settings(deadline=None)
@given(principals, days, days, days)
def test_interest_never_falls_as_the_payment_day_moves_later(principal, a, b, c):
    due, earlier, later = sorted((a, b, c))
    assert late_interest(principal, due, earlier, RATES) <= late_interest(principal, due, later, RATES)


@settings(deadline=None)
@given(principals, days, days)
def test_breakdown_covers_every_day_once_and_adds_up_to_the_total(principal, a, b):
    due, until = sorted((a, b))
    segments = interest_breakdown(principal, due, until, RATES)
    assert sum(s.amount for s in segments) == late_interest(principal, due, until, RATES)
    if principal > 0:
        assert sum(s.days for s in segments) == (until - due).days
    expected_start = due + timedelta(days=1)
    for segment in segments:
        assert segment.start == expected_start
        assert segment.start.year == segment.end.year
        assert segment.year_days == (366 if segment.start.year % 4 == 0 else 365)  # true for 2020..2029
        assert segment.days == (segment.end - segment.start).days + 1
        expected_start = segment.end + timedelta(days=1)
