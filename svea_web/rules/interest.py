"""Forsinkelsesrente (late-payment interest), forsinkelsesrenteloven.

Decisions, as stated in RULES.md and chosen where it is silent:
- Days: interest runs from the day after the due date up to and including ``until`` (the day paid,
  or the day the figure is stated). So ``days = until - due_date``; paid on the due date gives 0.
- Rate: the rate in force on each day (a new half-year rate also applies to running claims).
- Day count: simple interest, each day earns ``rate / 100 / year_days`` of the principal, where
  year_days is 366 for a day in a leap year and 365 otherwise; a period over a year end is split.
- Rounding: the exact sum is kept as a Fraction (1/365 has no finite decimal) and rounded once,
  to øre, ROUND_HALF_UP. Exact amounts are additive: interest(a..b) + interest(b..c) == interest(a..c).
  Rounded amounts of split periods can differ from the rounded whole by at most half an øre per
  rounding. A breakdown's rounded lines are adjusted (largest remainder) to add up to the total.
- No interest is ever negative: a principal at or below zero (a credit) earns nothing.
"""

import calendar
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from svea_web.rules.figures import DatedValue, periods_in_force


@dataclass(frozen=True)
class InterestSegment:
    """One line of an interest specification: days ``start``..``end`` (both included)."""

    start: date
    end: date
    days: int
    rate: Decimal  # percent per year
    year_days: int  # 365 or 366
    amount: Decimal  # øre; the lines of one breakdown add up to late_interest()
    exact_amount: Fraction


def _segments(due_date: date, until: date, rates: Sequence[DatedValue]) -> list[tuple[date, date, Decimal]]:
    """Runs of days after the due date with one rate and within one calendar year."""
    segments = []
    for start, end, rate in periods_in_force(rates, due_date + timedelta(days=1), until):
        if rate < 0:
            raise ValueError(f"Late interest rate from {start.isoformat()} is negative: {rate}")
        for year in range(start.year, end.year + 1):
            segments.append((max(start, date(year, 1, 1)), min(end, date(year, 12, 31)), rate))
    return segments


def _exact(principal: Decimal, start: date, end: date, rate: Decimal) -> Fraction:
    days = (end - start).days + 1
    year_days = 366 if calendar.isleap(start.year) else 365
    return Fraction(principal) * Fraction(rate) * days / (100 * year_days)


def _ore(amount: Fraction) -> int:
    """Whole øre, half up (amounts here are never negative)."""
    return math.floor(amount * 100 + Fraction(1, 2))


def _kroner(ore: int) -> Decimal:
    return Decimal(ore).scaleb(-2)


def late_interest_exact(principal: Decimal, due_date: date, until: date, rates: Sequence[DatedValue]) -> Fraction:
    """The unrounded interest as an exact Fraction of kroner (see module docstring for the rules)."""
    if principal <= 0:
        return Fraction(0)
    return sum(
        (_exact(principal, start, end, rate) for start, end, rate in _segments(due_date, until, rates)),
        Fraction(0),
    )


def late_interest(principal: Decimal, due_date: date, until: date, rates: Sequence[DatedValue]) -> Decimal:
    """Interest on ``principal`` for the days after ``due_date`` up to and including ``until``,
    rounded once to øre with ROUND_HALF_UP. Raises NoFigureInForce if a day has no rate."""
    return _kroner(_ore(late_interest_exact(principal, due_date, until, rates)))


def interest_breakdown(
    principal: Decimal, due_date: date, until: date, rates: Sequence[DatedValue]
) -> list[InterestSegment]:
    """The calculation line by line (per rate and per year) for showing on a letter.

    Each line is rounded down to øre and the øre left over to reach ``late_interest`` go one each to
    the lines with the largest remainders (earliest first on ties), so the lines add up to the total.
    """
    if principal <= 0:
        return []
    segments = _segments(due_date, until, rates)
    exact = [_exact(principal, start, end, rate) for start, end, rate in segments]
    floors = [math.floor(amount * 100) for amount in exact]
    missing = _ore(sum(exact, Fraction(0))) - sum(floors)
    by_remainder = sorted(range(len(exact)), key=lambda i: exact[i] * 100 - floors[i], reverse=True)
    for index in by_remainder[:missing]:
        floors[index] += 1
    return [
        InterestSegment(
            start=start,
            end=end,
            days=(end - start).days + 1,
            rate=rate,
            year_days=366 if calendar.isleap(start.year) else 365,
            amount=_kroner(ore),
            exact_amount=amount,
        )
        for (start, end, rate), amount, ore in zip(segments, exact, floors, strict=True)
    ]
