"""Builders for the overview's hand-made ledgers: cases, reminder steps, pauses, payments, settlements."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from svea_web.collection.models import CasePost, SveaCase
from svea_web.dunning.models import RUN_CONFIRMED, CustomerPause, ReminderRun, ReminderStep
from svea_web.extensions import db
from svea_web.ledger.models import STATUS_OPEN, STATUS_PAID, CustomerPost
from svea_web.payments.models import (
    PAYMENT_BOOKED,
    REPORT_SENT,
    SOURCE_MANUAL,
    DirectPaymentReport,
    Payment,
    PaymentAllocation,
    Settlement,
)

_seq = itertools.count(1)


def svea_case(
    customer: Any,
    state: str,
    posts: list[CustomerPost],
    created: datetime,
    acknowledged: datetime | None = None,
    closed: datetime | None = None,
    case_number: str | None = None,
    link_posts: bool = True,
) -> SveaCase:
    """A case holding ``posts``; ``link_posts`` also sets the posts' svea_case_id (a case still active)."""
    n = next(_seq)
    case = SveaCase(
        client_id=customer.client_id,
        customer_id=customer.id,
        level="inkasso",
        state=state,
        idempotency_key=f"key-{n}",
        case_number=case_number,
        created_at=created,
        submitted_at=created,
        acknowledged_at=acknowledged,
        closed_at=closed,
    )
    db.session.add(case)
    db.session.flush()
    for post in posts:
        db.session.add(
            CasePost(case_id=case.id, post_id=post.id, active=link_posts, amount_at_handover=post.open_amount)
        )
        if link_posts:
            post.svea_case_id = case.id
    db.session.flush()
    return case


def reminder_step(post: CustomerPost, sent_on: date, deadline: date, step_no: int = 1) -> ReminderStep:
    """A step sent in a confirmed run; the post's dunning columns follow, as the run keeps them."""
    run = ReminderRun(client_id=post.client_id, run_date=sent_on, state=RUN_CONFIRMED)
    db.session.add(run)
    db.session.flush()
    step = ReminderStep(
        client_id=post.client_id,
        run_id=run.id,
        post_id=post.id,
        kind="reminder",
        step_no=step_no,
        sent_on=sent_on,
        deadline=deadline,
        principal=post.amount,
    )
    db.session.add(step)
    post.reminder_step = step_no
    post.last_reminder_at = sent_on
    post.reminder_deadline = deadline
    db.session.flush()
    return step


def customer_pause(customer: Any, created: datetime, resume_day: date | None = None) -> CustomerPause:
    pause = CustomerPause(
        client_id=customer.client_id,
        customer_id=customer.id,
        reason="Tvist",
        paused_until=resume_day,
        created_at=created,
    )
    db.session.add(pause)
    db.session.flush()
    return pause


def pay(
    post: CustomerPost,
    amount: str,
    paid_on: date,
    source: str = SOURCE_MANUAL,
    reversed_at: datetime | None = None,
) -> PaymentAllocation:
    """A payment booked on the post; the post's open amount and status follow, as the payments module keeps them."""
    n = next(_seq)
    value = Decimal(amount)
    payment = Payment(
        client_id=post.client_id,
        paid_on=paid_on,
        amount=value,
        source=source,
        external_id=f"ext-{n}",
        state=PAYMENT_BOOKED,
    )
    db.session.add(payment)
    db.session.flush()
    allocation = PaymentAllocation(
        client_id=post.client_id, payment_id=payment.id, post_id=post.id, amount=value, reversed_at=reversed_at
    )
    db.session.add(allocation)
    if reversed_at is None:
        post.open_amount = post.open_amount - value
        post.status = STATUS_PAID if post.open_amount == 0 else STATUS_OPEN
    db.session.flush()
    return allocation


def report_direct_payment(allocation: PaymentAllocation, case: SveaCase, paid_on: date) -> DirectPaymentReport:
    n = next(_seq)
    report = DirectPaymentReport(
        client_id=allocation.client_id,
        allocation_id=allocation.id,
        case_id=case.id,
        amount=allocation.amount,
        paid_on=paid_on,
        idempotency_key=f"dp-{n}",
        state=REPORT_SENT,
    )
    db.session.add(report)
    db.session.flush()
    return report


def settlement(client_id: int, settled_on: date, principal: str) -> Settlement:
    n = next(_seq)
    value = Decimal(principal)
    row = Settlement(
        client_id=client_id,
        svea_id=n,
        settled_on=settled_on,
        principal_total=value,
        fees_total=Decimal("100.00"),
        interest_total=Decimal("12.00"),
        payout_total=value,
    )
    db.session.add(row)
    db.session.flush()
    return row
