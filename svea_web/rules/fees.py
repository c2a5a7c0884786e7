"""Fees the creditor may charge (inkassoforskriften §§ 1-2, 1-3) and standard compensation (§ 3a).

Every figure comes from a dated table passed in by the caller (the admin-editable database copy of
figures.DEFAULT_*), never from a constant, so an old post is charged what was in force then.
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Literal

from svea_web.rules.figures import DatedValue, value_on

DebtorKind = Literal["person", "company"]

_ZERO = Decimal("0.00")


def reminder_fee_on(day: date, table: Sequence[DatedValue]) -> Decimal:
    """Reminder fee for a reminder sent on ``day``."""
    return value_on(table, day)


def notice_fee_on(day: date, reminder_fees: Sequence[DatedValue]) -> Decimal:
    """The collection-notice fee is the same 1/20 of the inkassosats as the reminder fee."""
    return value_on(reminder_fees, day)


def payment_demand_fee_on(day: date, table: Sequence[DatedValue]) -> Decimal:
    """Fee for a payment demand (betalingsoppfordring) sent by the creditor on ``day``."""
    return value_on(table, day)


def company_compensation_on(day: date, table: Sequence[DatedValue]) -> Decimal:
    """Standard compensation for a business debtor, as in force on ``day``."""
    return value_on(table, day)


def standard_compensation_due(
    debtor_kind: DebtorKind, day: date, reminder_fees_charged: Decimal, table: Sequence[DatedValue]
) -> Decimal:
    """Compensation still to claim: companies only, less reminder fees already charged, never below 0.

    ``day`` chooses the figure; the caller passes the day the compensation is claimed.
    """
    if debtor_kind not in ("person", "company"):
        raise ValueError(f"Unknown debtor kind {debtor_kind!r}")
    if reminder_fees_charged < 0:
        raise ValueError(f"Reminder fees charged cannot be negative: {reminder_fees_charged}")
    if debtor_kind == "person":
        return _ZERO
    return max(_ZERO, company_compensation_on(day, table) - reminder_fees_charged).quantize(_ZERO)


def fees_within_cap(reminder_fees: int, notice_fees: int) -> bool:
    """§ 1-3: fees for at most two reminders, or one reminder and one collection notice
    (each followed by one payment demand, which the agency charges in our flow)."""
    return (reminder_fees <= 2 and notice_fees == 0) or (reminder_fees <= 1 and notice_fees <= 1)


def reminder_fee_cap(notice_enabled: bool) -> int:
    """Reminder fees a post may carry: one when a notice follows (its fee must stay possible), else two."""
    return 1 if notice_enabled else 2
