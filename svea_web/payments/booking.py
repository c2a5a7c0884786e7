"""Booking payments on posts in bulk: the one code path for files, manual payments and Svea settlements.

Everything is set-based: candidate posts are loaded by KID or match number with a few IN queries,
payments, credits and allocations are inserted in bulk, and each post's open amount is lowered with
one relative UPDATE (``open_amount = open_amount - x``), so nothing is read and written per payment.
On PostgreSQL the candidate posts are locked (FOR UPDATE) until the commit, so that two bookings at
once cannot both take the same open amount.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import bindparam, case, func, insert, select

from svea_web.collection.models import ACTIVE_CASE_STATES, CasePost, SveaCase
from svea_web.extensions import db
from svea_web.ledger.models import POST_CREDIT_NOTE, STATUS_OPEN, STATUS_PAID, CustomerPost
from svea_web.models_base import utcnow
from svea_web.payments import matching
from svea_web.payments.bankfile import BankTransaction
from svea_web.payments.matching import Candidate, Plan
from svea_web.payments.models import (
    MATCH_KID,
    MATCH_MATCH_NO,
    PAYMENT_BOOKED,
    PAYMENT_UNMATCHED,
    SOURCE_SVEA,
    DirectPaymentReport,
    Payment,
    PaymentAllocation,
)
from svea_web.setup.models import SveaSettings

CHUNK = 500
DEFAULT_KID_LENGTH = 25
T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def kid_length(client_id: int) -> int:
    settings = db.session.get(SveaSettings, client_id)
    return settings.kid_length if settings and settings.kid_length else DEFAULT_KID_LENGTH


@dataclass
class Booking:
    """One payment to book: already stored (payment_id) or about to be, and how it is spread."""

    payment_id: int
    paid_on: date
    plan: Plan
    reference: str | None = None


@dataclass
class Outcome:
    new_payments: int = 0
    duplicates: int = 0
    booked: int = 0
    matched_kid: int = 0
    matched_match_no: int = 0
    unmatched: int = 0
    total_amount: Decimal = Decimal("0.00")
    reports: int = 0
    payment_ids: list[int] = field(default_factory=list)


_POST_COLUMNS = (
    CustomerPost.id,
    CustomerPost.customer_id,
    CustomerPost.kid,
    CustomerPost.match_no,
    CustomerPost.due_date,
    CustomerPost.kind,
    CustomerPost.open_amount,
    CustomerPost.status,
)


def _load_candidates(
    client_id: int, column: Any, values: Iterable[str], open_amounts: dict[int, Decimal]
) -> dict[str, list[Candidate]]:
    found: dict[str, list[Candidate]] = defaultdict(list)
    ordered = sorted(set(values))
    for chunk in chunks(ordered):
        rows = db.session.execute(
            select(*_POST_COLUMNS).where(CustomerPost.client_id == client_id, column.in_(chunk)).with_for_update()
        ).all()
        for post_id, customer_id, kid, match_no, due_date, kind, open_amount, status in rows:
            candidate = Candidate(post_id, customer_id, kid, match_no, due_date, kind == POST_CREDIT_NOTE)
            key = kid if column is CustomerPost.kid else match_no
            if key is not None:
                found[key].append(candidate)
            open_amounts[post_id] = Decimal(open_amount) if status == STATUS_OPEN else Decimal(0)
    return found


def existing_external_ids(client_id: int, source: str, external_ids: Sequence[str]) -> set[str]:
    existing: set[str] = set()
    for chunk in chunks(sorted(set(external_ids))):
        existing.update(
            db.session.scalars(
                select(Payment.external_id).where(
                    Payment.client_id == client_id, Payment.source == source, Payment.external_id.in_(chunk)
                )
            )
        )
    return existing


def book_transactions(
    client_id: int,
    transactions: Sequence[BankTransaction],
    source: str,
    *,
    import_id: int | None = None,
    user_id: int | None = None,
) -> Outcome:
    """Store the file's new transactions as payments and book those that match (see matching.py).

    Transactions whose identity is already stored for the firm are duplicates and are skipped. The
    caller commits.
    """
    outcome = Outcome()
    existing = existing_external_ids(client_id, source, [t.external_id for t in transactions])
    fresh = [t for t in transactions if t.external_id not in existing]
    outcome.duplicates = len(transactions) - len(fresh)
    if not fresh:
        return outcome
    length = kid_length(client_id)
    open_amounts: dict[int, Decimal] = {}
    variants = {v for t in fresh if t.amount > 0 for kid in t.kids for v in matching.kid_variants(kid, length)}
    by_kid = _load_candidates(client_id, CustomerPost.kid, variants, open_amounts)

    plans: list[tuple[Plan | None, str | None]] = []
    waiting: list[int] = []
    for index, t in enumerate(fresh):
        found = [p for kid in t.kids for p in matching.posts_for_kid(kid, length, by_kid)]
        chosen = matching.plan(t.amount, found, open_amounts) if found else None
        plans.append((chosen, MATCH_KID if chosen else None))
        if chosen is None and t.amount > 0:
            waiting.append(index)
    if waiting:
        words_of = {i: matching.words([fresh[i].reference_text, *fresh[i].kids]) for i in waiting}
        by_match = _load_candidates(
            client_id, CustomerPost.match_no, {w for ws in words_of.values() for w in ws}, open_amounts
        )
        for i in waiting:
            found = [p for w in words_of[i] for p in by_match.get(w, ())]
            chosen = matching.plan(fresh[i].amount, found, open_amounts) if found else None
            if chosen:
                plans[i] = (chosen, MATCH_MATCH_NO)

    now = utcnow()
    rows = [
        {
            "client_id": client_id,
            "paid_on": t.paid_on,
            "amount": t.amount,
            "kid": t.kid,
            "match_no": None,
            "reference_text": t.reference_text,
            "payer_name": t.payer_name,
            "payer_account": t.payer_account,
            "source": source,
            "external_id": t.external_id,
            "import_id": import_id,
            "state": PAYMENT_BOOKED if chosen else PAYMENT_UNMATCHED,
            "matched_by": how,
            "customer_id": chosen.customer_id if chosen else None,
            "note": None,
            "created_by_id": user_id,
            "created_at": now,
            "updated_at": now,
        }
        for t, (chosen, how) in zip(fresh, plans, strict=True)
    ]
    ids = insert_payments(rows)
    bookings = [
        Booking(payment_id, t.paid_on, chosen, reference=t.kid)
        for payment_id, t, (chosen, _how) in zip(ids, fresh, plans, strict=True)
        if chosen is not None
    ]
    outcome.reports = apply_bookings(client_id, bookings, source=source, user_id=user_id)
    outcome.new_payments = len(fresh)
    outcome.payment_ids = ids
    outcome.booked = len(bookings)
    outcome.matched_kid = sum(1 for _plan, how in plans if how == MATCH_KID)
    outcome.matched_match_no = sum(1 for _plan, how in plans if how == MATCH_MATCH_NO)
    outcome.unmatched = len(fresh) - len(bookings)
    outcome.total_amount = sum((t.amount for t in fresh), Decimal("0.00"))
    return outcome


def insert_payments(rows: Sequence[dict[str, Any]]) -> list[int]:
    ids: list[int] = []
    for chunk in chunks(rows, 2000):
        ids.extend(db.session.scalars(insert(Payment).returning(Payment.id, sort_by_parameter_order=True), list(chunk)))
    return ids


def _credit_numbers(payment_ids: Sequence[int]) -> dict[int, str]:
    """KRED-<payment id>; KRED-<payment id>-<n> for the n-th credit of a payment booked again after a reversal."""
    earlier: dict[int, int] = {}
    for chunk in chunks(sorted(payment_ids)):
        earlier.update(
            db.session.execute(
                select(PaymentAllocation.payment_id, func.count())
                .where(PaymentAllocation.payment_id.in_(chunk), PaymentAllocation.is_credit.is_(True))
                .group_by(PaymentAllocation.payment_id)
            ).all()
        )
    return {pid: f"KRED-{pid}" if not earlier.get(pid) else f"KRED-{pid}-{earlier[pid] + 1}" for pid in payment_ids}


def apply_bookings(client_id: int, bookings: Sequence[Booking], *, source: str, user_id: int | None) -> int:
    """Allocations, credits and open amounts for planned payments; the number of Svea reports queued."""
    if not bookings:
        return 0
    now = utcnow()
    credited = [b for b in bookings if b.plan.credit > 0]
    credit_post_ids: dict[int, int] = {}
    if credited:
        numbers = _credit_numbers([b.payment_id for b in credited])
        credit_rows = [
            {
                "client_id": client_id,
                "customer_id": b.plan.customer_id,
                "kind": POST_CREDIT_NOTE,
                "invoice_no": numbers[b.payment_id],
                "match_no": numbers[b.payment_id],
                "kid": None,
                "invoice_date": b.paid_on,
                "due_date": b.paid_on,
                "amount": -b.plan.credit,
                "open_amount": -b.plan.credit,
                "currency": "NOK",
                "status": STATUS_OPEN,
                "text": f"Overbetaling, innbetaling {b.payment_id}",
                "reminder_step": 0,
                "paused": False,
                "created_at": now,
                "updated_at": now,
            }
            for b in credited
        ]
        for chunk_bookings, chunk_rows in zip(chunks(credited, 2000), chunks(credit_rows, 2000), strict=True):
            new_ids = db.session.scalars(
                insert(CustomerPost).returning(CustomerPost.id, sort_by_parameter_order=True), list(chunk_rows)
            ).all()
            credit_post_ids.update((b.payment_id, pid) for b, pid in zip(chunk_bookings, new_ids, strict=True))

    allocation_rows: list[dict[str, Any]] = []
    for b in bookings:
        for post_id, amount in b.plan.allocations:
            allocation_rows.append(_allocation_row(client_id, b.payment_id, post_id, amount, False, user_id, now))
        if b.plan.credit > 0:
            allocation_rows.append(
                _allocation_row(
                    client_id, b.payment_id, credit_post_ids[b.payment_id], b.plan.credit, True, user_id, now
                )
            )
    allocation_ids: list[int] = []
    for chunk in chunks(allocation_rows, 2000):
        allocation_ids.extend(
            db.session.scalars(
                insert(PaymentAllocation).returning(PaymentAllocation.id, sort_by_parameter_order=True), list(chunk)
            )
        )

    per_post: dict[int, Decimal] = defaultdict(Decimal)
    for row in allocation_rows:
        if not row["is_credit"]:
            per_post[row["post_id"]] += row["amount"]
    change_open_amounts({post_id: -amount for post_id, amount in per_post.items()}, now)

    if source == SOURCE_SVEA:
        return 0  # money Svea collected is never reported back to Svea as a direct payment
    return _queue_reports(client_id, bookings, allocation_rows, allocation_ids, now)


def _allocation_row(
    client_id: int, payment_id: int, post_id: int, amount: Decimal, is_credit: bool, user_id: int | None, now: Any
) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "payment_id": payment_id,
        "post_id": post_id,
        "amount": amount,
        "is_credit": is_credit,
        "created_by_id": user_id,
        "created_at": now,
    }


def change_open_amounts(changes: dict[int, Decimal], now: Any) -> None:
    """Add each change to the post's open amount in the database (relative, so no lost update)."""
    if not changes:
        return
    table = CustomerPost.__table__
    new_open = table.c.open_amount + bindparam("b_change")
    stmt = (
        table.update()
        .where(table.c.id == bindparam("b_id"))
        .values(
            open_amount=new_open,
            status=case((new_open == 0, STATUS_PAID), else_=STATUS_OPEN),
            updated_at=bindparam("b_now"),
        )
    )
    params = [{"b_id": post_id, "b_change": change, "b_now": now} for post_id, change in sorted(changes.items())]
    for chunk in chunks(params, 2000):
        db.session.execute(stmt, list(chunk))


def active_cases(post_ids: Iterable[int]) -> dict[int, int]:
    """post id → id of the Svea case the post is in now (pending, submitted, open or failed)."""
    found: dict[int, int] = {}
    for chunk in chunks(sorted(set(post_ids))):
        found.update(
            db.session.execute(
                select(CasePost.post_id, CasePost.case_id)
                .join(SveaCase, SveaCase.id == CasePost.case_id)
                .where(
                    CasePost.post_id.in_(chunk),
                    CasePost.active.is_(True),
                    SveaCase.state.in_(ACTIVE_CASE_STATES),
                )
            ).all()
        )
    return found


def _queue_reports(
    client_id: int,
    bookings: Sequence[Booking],
    allocation_rows: Sequence[dict[str, Any]],
    allocation_ids: Sequence[int],
    now: Any,
) -> int:
    in_case = active_cases(row["post_id"] for row in allocation_rows if not row["is_credit"])
    if not in_case:
        return 0
    paid_on = {b.payment_id: b.paid_on for b in bookings}
    reference = {b.payment_id: b.reference for b in bookings}
    rows = [
        {
            "client_id": client_id,
            "allocation_id": allocation_id,
            "case_id": in_case[row["post_id"]],
            "amount": row["amount"],
            "paid_on": paid_on[row["payment_id"]],
            "reference": (reference[row["payment_id"]] or f"Innbetaling {row['payment_id']}")[:100],
            # Derived from the allocation and stored, so every retry of the report sends the same key;
            # the random tail keeps keys apart when a database is reset against the same Svea account.
            "idempotency_key": f"dp-{allocation_id}-{secrets.token_hex(8)}",
            "created_at": now,
        }
        for row, allocation_id in zip(allocation_rows, allocation_ids, strict=True)
        if not row["is_credit"] and row["post_id"] in in_case
    ]
    for chunk in chunks(rows, 2000):
        db.session.execute(insert(DirectPaymentReport), list(chunk))
    return len(rows)
