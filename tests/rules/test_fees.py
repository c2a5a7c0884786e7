"""Reminder, notice and payment-demand fees, the § 1-3 fee cap, and standard compensation."""

from datetime import date
from decimal import Decimal

import pytest

from svea_web.rules.fees import (
    company_compensation_on,
    fees_within_cap,
    notice_fee_on,
    payment_demand_fee_on,
    reminder_fee_cap,
    reminder_fee_on,
    standard_compensation_due,
)
from svea_web.rules.figures import (
    DEFAULT_COMPANY_COMPENSATION,
    DEFAULT_PAYMENT_DEMAND_FEES,
    DEFAULT_REMINDER_FEES,
    NoFigureInForce,
)


@pytest.mark.parametrize(
    ("day", "fee"),
    [
        (date(2017, 1, 1), "70.00"),  # 1/10 of 700
        (date(2020, 9, 30), "70.00"),
        (date(2020, 10, 1), "35.00"),  # 1/20 of 700 from the day the rule changed
        (date(2025, 12, 31), "35.00"),
        (date(2026, 1, 1), "37.50"),  # 1/20 of 750, unconfirmed rounding
    ],
)
def test_reminder_and_notice_fee_in_force_on_the_day_sent(day, fee):
    assert reminder_fee_on(day, DEFAULT_REMINDER_FEES) == Decimal(fee)
    assert notice_fee_on(day, DEFAULT_REMINDER_FEES) == Decimal(fee)


@pytest.mark.parametrize(
    ("day", "fee"),
    [
        (date(2020, 9, 30), "210.00"),  # 3/10 of 700
        (date(2020, 10, 1), "105.00"),  # 3/20 of 700
        (date(2026, 1, 1), "112.50"),  # 3/20 of 750, unconfirmed
    ],
)
def test_payment_demand_fee_in_force(day, fee):
    assert payment_demand_fee_on(day, DEFAULT_PAYMENT_DEMAND_FEES) == Decimal(fee)


def test_fee_before_the_first_row_is_an_error_not_zero():
    with pytest.raises(NoFigureInForce):
        reminder_fee_on(date(2016, 12, 31), DEFAULT_REMINDER_FEES)


@pytest.mark.parametrize(
    ("day", "amount"),
    [(date(2024, 6, 1), "470.00"), (date(2025, 3, 1), "470.00"), (date(2026, 3, 1), "460.00")],
)
def test_company_compensation_in_force(day, amount):
    assert company_compensation_on(day, DEFAULT_COMPANY_COMPENSATION) == Decimal(amount)


@pytest.mark.parametrize(
    ("kind", "day", "charged", "due"),
    [
        ("company", date(2024, 6, 1), "0", "470.00"),
        # one reminder fee already charged is deducted: 470 - 35 = 435
        ("company", date(2024, 6, 1), "35.00", "435.00"),
        # reminder + notice fee: 460 - (35 + 35) = 390
        ("company", date(2026, 3, 1), "70.00", "390.00"),
        # fees above the compensation leave nothing, never a negative amount
        ("company", date(2024, 6, 1), "500.00", "0.00"),
        ("company", date(2024, 6, 1), "470.00", "0.00"),
        # consumers are never owed the standard compensation
        ("person", date(2024, 6, 1), "0", "0.00"),
        ("person", date(2024, 6, 1), "35.00", "0.00"),
    ],
)
def test_standard_compensation_is_for_companies_less_fees_charged(kind, day, charged, due):
    result = standard_compensation_due(kind, day, Decimal(charged), DEFAULT_COMPANY_COMPENSATION)
    assert result == Decimal(due)
    assert str(result) == due


def test_standard_compensation_refuses_unknown_debtor_kind_and_negative_fees():
    with pytest.raises(ValueError):
        standard_compensation_due("firm", date(2024, 6, 1), Decimal("0"), DEFAULT_COMPANY_COMPENSATION)
    with pytest.raises(ValueError):
        standard_compensation_due("company", date(2024, 6, 1), Decimal("-1"), DEFAULT_COMPANY_COMPENSATION)


@pytest.mark.parametrize(
    ("reminder_fees", "notice_fees", "allowed"),
    [
        (0, 0, True),
        (1, 0, True),
        (2, 0, True),  # two reminders (+ a payment demand later)
        (3, 0, False),
        (1, 1, True),  # one reminder + one notice (+ a payment demand later)
        (0, 1, True),
        (2, 1, False),  # two reminders and a notice: not a combination § 1-3 allows
        (0, 2, False),
    ],
)
def test_fee_cap_allows_only_the_two_combinations_of_section_1_3(reminder_fees, notice_fees, allowed):
    assert fees_within_cap(reminder_fees, notice_fees) is allowed


@pytest.mark.parametrize(("notice_enabled", "cap"), [(True, 1), (False, 2)])
def test_reminder_fee_cap_keeps_room_for_the_notice_fee(notice_enabled, cap):
    assert reminder_fee_cap(notice_enabled) == cap
