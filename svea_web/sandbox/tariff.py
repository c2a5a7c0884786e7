"""The sandbox agency's tariff: letter fees and late-payment interest, as dated tables.

The figures follow /work/shared/RULES.md (inkassoforskriften, forsinkelsesrenteloven). The sandbox is a
simulated agency, so its tariff is its own data; a figure RULES.md marks *unconfirmed* is used here as the
best guess it gives (the earlier rate simply continues when a half-year's rate is unknown).
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

# (valid from, reminder or collection-notice fee in øre, payment-demand fee in øre)
LETTER_FEES: list[tuple[date, int, int]] = [
    (date(2017, 1, 1), 7000, 21000),
    (date(2020, 10, 1), 3500, 10500),
    (date(2026, 1, 1), 3750, 11250),
]

# (valid from, late-payment interest rate in percent per year)
LATE_INTEREST_RATES: list[tuple[date, Decimal]] = [
    (date(2020, 1, 1), Decimal("9.50")),
    (date(2020, 7, 1), Decimal("8.00")),
    (date(2022, 1, 1), Decimal("8.50")),
    (date(2022, 7, 1), Decimal("9.25")),
    (date(2023, 1, 1), Decimal("10.75")),
    (date(2023, 7, 1), Decimal("11.75")),
    (date(2024, 1, 1), Decimal("12.50")),
    (date(2026, 1, 1), Decimal("12.00")),
]

# A reminder or notice fee may only be charged when the letter goes out at least 14 days after the due date.
FEE_GRACE_DAYS = 14


def _in_force(table: list, on: date) -> int:
    index = bisect_right([row[0] for row in table], on) - 1
    return max(index, 0)


def letter_fee_ore(kind: str, sent_on: date, earliest_due: date) -> int:
    """Fee the agency adds to the claim for a letter of `kind` sent on `sent_on`."""
    _, notice_fee, demand_fee = LETTER_FEES[_in_force(LETTER_FEES, sent_on)]
    if kind == "PAYMENT_DEMAND":
        return demand_fee
    if kind in ("REMINDER", "COLLECTION_NOTICE"):
        return notice_fee if sent_on >= earliest_due + timedelta(days=FEE_GRACE_DAYS) else 0
    return 0


def late_interest_ore(principal_ore: int, start: date, end: date) -> int:
    """Simple interest on `principal_ore` for the days from `start` to `end`.

    Each day earns the rate in force that day, divided by the length of that day's year (365 or 366).
    """
    if principal_ore <= 0 or end <= start:
        return 0
    total = Decimal(0)
    day = start
    while day < end:
        index = _in_force(LATE_INTEREST_RATES, day)
        rate = LATE_INTEREST_RATES[index][1]
        next_rate_change = LATE_INTEREST_RATES[index + 1][0] if index + 1 < len(LATE_INTEREST_RATES) else date.max
        if day < LATE_INTEREST_RATES[0][0]:
            next_rate_change = LATE_INTEREST_RATES[0][0]
        segment_end = min(end, next_rate_change, date(day.year + 1, 1, 1))
        days_in_year = 366 if _is_leap(day.year) else 365
        days = (segment_end - day).days
        total += Decimal(principal_ore) * rate / 100 * days / days_in_year
        day = segment_end
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
