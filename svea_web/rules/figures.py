"""Figures that change over time, as dated tables (RULES.md), and their seed values.

A table is any sequence of ``DatedValue`` rows; a row is in force from its ``valid_from`` until the
next row's. The app copies the DEFAULT_* tuples into database tables an admin can edit, so an old
post is always computed with the figure in force at the time. Rows in ``UNCONFIRMED`` are figures
RULES.md does not confirm: the UI should mark them until an admin has checked them.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal


@dataclass(frozen=True)
class DatedValue:
    valid_from: date
    value: Decimal


class NoFigureInForce(LookupError):
    """The table has no row in force on the day asked for."""


def _sorted_rows(table: Sequence[DatedValue]) -> list[DatedValue]:
    rows = sorted(table, key=lambda row: row.valid_from)
    for earlier, later in zip(rows, rows[1:], strict=False):
        if earlier.valid_from == later.valid_from and earlier.value != later.value:
            raise ValueError(f"Two figures from {later.valid_from.isoformat()}: {earlier.value} and {later.value}")
    return rows


def value_on(table: Sequence[DatedValue], day: date) -> Decimal:
    """The figure in force on ``day``: the row with the latest valid_from on or before it."""
    in_force = [row for row in _sorted_rows(table) if row.valid_from <= day]
    if not in_force:
        raise NoFigureInForce(f"No figure in force on {day.isoformat()}")
    return in_force[-1].value


def periods_in_force(table: Sequence[DatedValue], first: date, last: date) -> list[tuple[date, date, Decimal]]:
    """Split the days ``first``..``last`` (both included) into (start, end, value) runs of one figure."""
    if last < first:
        return []
    starts = [first] + sorted({row.valid_from for row in table if first < row.valid_from <= last})
    ends = [start - timedelta(days=1) for start in starts[1:]] + [last]
    return [(start, end, value_on(table, start)) for start, end in zip(starts, ends, strict=True)]


REMINDER_FEES = "reminder_fees"
PAYMENT_DEMAND_FEES = "payment_demand_fees"
LATE_INTEREST_RATES = "late_interest_rates"
COMPANY_COMPENSATION = "company_compensation"


def _table(*rows: tuple[str, str]) -> tuple[DatedValue, ...]:
    return tuple(DatedValue(date.fromisoformat(day), Decimal(value)) for day, value in rows)


# Reminder and collection-notice fee: 1/10 of the inkassosats until 2020-09-30, 1/20 since.
DEFAULT_REMINDER_FEES = _table(
    ("2017-01-01", "70.00"),
    ("2020-10-01", "35.00"),
    ("2026-01-01", "37.50"),
)

# Payment demand (betalingsoppfordring) by the creditor: 3/10, since 2020-10-01 3/20 of the inkassosats.
DEFAULT_PAYMENT_DEMAND_FEES = _table(
    ("2017-01-01", "210.00"),
    ("2020-10-01", "105.00"),
    ("2026-01-01", "112.50"),
)

# Forsinkelsesrente in percent per year: Norges Bank policy rate + 8 points, set each half-year.
DEFAULT_LATE_INTEREST_RATES = _table(
    ("2020-01-01", "9.50"),
    ("2020-07-01", "8.00"),
    ("2022-01-01", "8.50"),
    ("2022-07-01", "9.25"),
    ("2023-01-01", "10.75"),
    ("2023-07-01", "11.75"),
    ("2024-01-01", "12.50"),
    ("2024-07-01", "12.50"),
    ("2025-01-01", "12.50"),
    ("2025-07-01", "12.50"),
    ("2026-01-01", "12.00"),
)

# Standard compensation for business debtors (forsinkelsesrenteloven § 3a), in kroner.
DEFAULT_COMPANY_COMPENSATION = _table(
    ("2024-01-01", "470.00"),
    ("2025-07-01", "470.00"),
    ("2026-01-01", "460.00"),
)

DEFAULT_TABLES: Mapping[str, tuple[DatedValue, ...]] = {
    REMINDER_FEES: DEFAULT_REMINDER_FEES,
    PAYMENT_DEMAND_FEES: DEFAULT_PAYMENT_DEMAND_FEES,
    LATE_INTEREST_RATES: DEFAULT_LATE_INTEREST_RATES,
    COMPANY_COMPENSATION: DEFAULT_COMPANY_COMPENSATION,
}

UNCONFIRMED: frozenset[tuple[str, date]] = frozenset(
    {
        # 750/20 and 3 x 750/20; how the 2026 fees are rounded is not confirmed.
        (REMINDER_FEES, date(2026, 1, 1)),
        (PAYMENT_DEMAND_FEES, date(2026, 1, 1)),
        # RULES.md: "12.50 likely".
        (LATE_INTEREST_RATES, date(2024, 7, 1)),
        # RULES.md gives no figure; the previous rate is carried until an admin enters the real one.
        (LATE_INTEREST_RATES, date(2025, 7, 1)),
        # RULES.md confirms 470 for 2024 and H1 2025 and 460 for H1 2026, nothing for H2 2025.
        (COMPANY_COMPENSATION, date(2025, 7, 1)),
    }
)
