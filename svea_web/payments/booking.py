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

from sqlalchemy import ColumnElement, Connection, Table, any_, bindparam, case, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError

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
    REPORT_PENDING,
    SOURCE_SVEA,
    DirectPaymentReport,
    Payment,
    PaymentAllocation,
)
from svea_web.setup.models import SveaSettings

# Values per IN (...) list: large enough for few round trips, well under SQLite's 32,766 variables.
CHUNK = 2000
DEFAULT_KID_LENGTH = 25
T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def among(column: Any, values: Iterable[Any]) -> Iterable[ColumnElement[bool]]:
    """``column IN values`` as few conditions as the database takes, one query each: on PostgreSQL one
    array parameter (``= ANY``), which costs a fraction of thousands of parameters to send and plan;
    elsewhere IN lists of CHUNK values."""
    ordered = sorted(set(values))
    if not ordered:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        yield column == any_(bindparam("among", ordered, type_=ARRAY(column.type), unique=True))
        return
    for chunk in chunks(ordered):
        yield column.in_(chunk)


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
    for condition in among(column, values):
        rows = db.session.execute(
            select(*_POST_COLUMNS).where(CustomerPost.client_id == client_id, condition).with_for_update()
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
    for condition in among(Payment.external_id, external_ids):
        existing.update(
            db.session.scalars(
                select(Payment.external_id).where(Payment.client_id == client_id, Payment.source == source, condition)
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
    kids = {kid for t in fresh if t.amount > 0 for kid in t.kids}
    by_kid = _load_candidates(client_id, CustomerPost.kid, kids, open_amounts)
    # Padded forms only for the KIDs no post has exactly: few, where a lookup of every form of every KID
    # would multiply the queries by the number of leading zeros.
    missing = {v for kid in kids if kid not in by_kid for v in matching.kid_variants(kid, length)} - kids
    if missing:
        for kid, found in _load_candidates(client_id, CustomerPost.kid, missing, open_amounts).items():
            by_kid[kid].extend(found)

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
            "reference_text": t.reference_text,
            "payer_name": t.payer_name,
            "payer_account": t.payer_account,
            "source": source,
            "external_id": t.external_id,
            "import_id": import_id,
            "state": PAYMENT_BOOKED if chosen else PAYMENT_UNMATCHED,
            "matched_by": how,
            "customer_id": chosen.customer_id if chosen else None,
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
    outcome.reports = apply_bookings(
        client_id, bookings, source=source, user_id=user_id, new_payments=True, import_id=import_id
    )
    outcome.new_payments = len(fresh)
    outcome.payment_ids = ids
    outcome.booked = len(bookings)
    outcome.matched_kid = sum(1 for _plan, how in plans if how == MATCH_KID)
    outcome.matched_match_no = sum(1 for _plan, how in plans if how == MATCH_MATCH_NO)
    outcome.unmatched = len(fresh) - len(bookings)
    outcome.total_amount = sum((t.amount for t in fresh), Decimal("0.00"))
    return outcome


def _insert(model: Any, rows: Sequence[dict[str, Any]]) -> None:
    # A plain executemany of the table's INSERT, or COPY on PostgreSQL. Measured on SQLite and psycopg:
    # INSERT ... RETURNING (SQLAlchemy's "insertmanyvalues") and the ORM's bulk insert cost more per row
    # than the database does, so ids are read back afterwards by each row's own unique key.
    if not rows:
        return
    table = model.__table__
    if db.session.get_bind().dialect.name == "postgresql" and _copyable(table, rows[0]):
        db.session.flush()  # as an execute would: rows may refer to objects still pending in the session
        _copy(db.session.connection(), table, rows)
        return
    for chunk in chunks(rows, 5000):
        db.session.execute(table.insert(), list(chunk))


def _copyable(table: Table, row: dict[str, Any]) -> bool:
    # COPY gives a column left out only its server default; SQLAlchemy's Python-side defaults would be lost.
    return all(column.name in row or column.default is None for column in table.columns)


def _copy(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """The rows by psycopg's COPY: half the time of an executemany on the server and a quarter in Python,
    in the session's transaction. Errors come out as SQLAlchemy's (IntegrityError for a duplicate)."""
    import psycopg

    names = list(rows[0])
    quote = connection.dialect.identifier_preparer.quote
    statement = f"COPY {quote(table.name)} ({', '.join(quote(name) for name in names)}) FROM STDIN"
    cursor: Any = connection.connection.cursor()
    try:
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[name] for name in names])
    except psycopg.Error as error:
        raise DBAPIError.instance(statement, None, error, psycopg.Error, dialect=connection.dialect) from error
    finally:
        cursor.close()


def insert_payments(rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert payments of one firm and source; their ids, in the order of ``rows``."""
    if not rows:
        return []
    _insert(Payment, rows)
    client_id, source, import_id = rows[0]["client_id"], rows[0]["source"], rows[0]["import_id"]
    ids: dict[str, int] = {}
    if import_id is not None and all(row["import_id"] == import_id for row in rows):
        query = select(Payment.external_id, Payment.id).where(Payment.import_id == import_id)
        ids.update((external_id, payment_id) for external_id, payment_id in db.session.execute(query))
    else:
        for condition in among(Payment.external_id, [row["external_id"] for row in rows]):
            query = select(Payment.external_id, Payment.id).where(
                Payment.client_id == client_id, Payment.source == source, condition
            )
            ids.update((external_id, payment_id) for external_id, payment_id in db.session.execute(query))
    return [ids[row["external_id"]] for row in rows]


def _credit_numbers(payment_ids: Sequence[int]) -> dict[int, str]:
    """KRED-<payment id>; KRED-<payment id>-<n> for the n-th credit of a payment booked again after a reversal."""
    earlier: dict[int, int] = {}
    for condition in among(PaymentAllocation.payment_id, payment_ids):
        earlier.update(
            (payment_id, n)
            for payment_id, n in db.session.execute(
                select(PaymentAllocation.payment_id, func.count())
                .where(condition, PaymentAllocation.is_credit.is_(True))
                .group_by(PaymentAllocation.payment_id)
            )
        )
    return {pid: f"KRED-{pid}" if not earlier.get(pid) else f"KRED-{pid}-{earlier[pid] + 1}" for pid in payment_ids}


def _insert_credits(client_id: int, credited: Sequence[Booking], now: Any, new_payments: bool) -> dict[int, int]:
    """A credit post (negative open amount) on the customer per overpaid payment; payment id → post id."""
    payment_ids = [b.payment_id for b in credited]
    numbers = {pid: f"KRED-{pid}" for pid in payment_ids} if new_payments else _credit_numbers(payment_ids)
    _insert(
        CustomerPost,
        [
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
        ],
    )
    by_number: dict[str, int] = {}
    for condition in among(CustomerPost.invoice_no, numbers.values()):
        query = select(CustomerPost.invoice_no, CustomerPost.id).where(CustomerPost.client_id == client_id, condition)
        by_number.update((number, post_id) for number, post_id in db.session.execute(query))
    return {payment_id: by_number[number] for payment_id, number in numbers.items()}


def apply_bookings(
    client_id: int,
    bookings: Sequence[Booking],
    *,
    source: str,
    user_id: int | None,
    new_payments: bool = False,
    import_id: int | None = None,
) -> int:
    """Allocations, credits and open amounts for planned payments; the number of Svea reports queued.

    ``new_payments``: the payments were inserted just now, so none has an earlier (reversed) credit.
    ``import_id``: they are the new payments of this file, and so are all of its payments.
    """
    if not bookings:
        return 0
    now = utcnow()
    credited = [b for b in bookings if b.plan.credit > 0]
    credit_post_ids = _insert_credits(client_id, credited, now, new_payments) if credited else {}
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
    _insert(PaymentAllocation, allocation_rows)

    if new_payments and import_id is not None:
        posts = {post_id for b in bookings for post_id, _amount in b.plan.allocations}
        _lower_open_amounts_by_import(import_id, now)
    else:
        per_post: dict[int, Decimal] = defaultdict(Decimal)
        for row in allocation_rows:
            if not row["is_credit"]:
                per_post[row["post_id"]] += row["amount"]
        change_open_amounts({post_id: -amount for post_id, amount in per_post.items()}, now)
        posts = set(per_post)

    if source == SOURCE_SVEA:
        return 0  # money Svea collected is never reported back to Svea as a direct payment
    return _queue_reports(client_id, bookings, posts, now)


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


def _open_amount_values(new_open: Any, now: Any) -> dict[str, Any]:
    # Rounded to the cent: SQLite keeps NUMERIC as a binary float, where 0.30 - 0.10 - 0.20 is not 0 and
    # the post would stay open with nothing left to pay (PostgreSQL's numeric(14,2) is exact anyway).
    new_open = func.round(new_open, 2)
    return {"open_amount": new_open, "status": case((new_open == 0, STATUS_PAID), else_=STATUS_OPEN), "updated_at": now}


def change_open_amounts(changes: dict[int, Decimal], now: Any) -> None:
    """Add each change to the post's open amount in the database (relative, so no lost update)."""
    if not changes:
        return
    table = CustomerPost.__table__
    stmt = (
        table.update()
        .where(table.c.id == bindparam("b_id"))
        .values(_open_amount_values(table.c.open_amount + bindparam("b_change"), bindparam("b_now")))
    )
    params = [{"b_id": post_id, "b_change": change, "b_now": now} for post_id, change in sorted(changes.items())]
    for chunk in chunks(params, 5000):
        db.session.execute(stmt, list(chunk))


def _lower_open_amounts_by_import(import_id: int, now: Any) -> None:
    """Lower each post's open amount by what the file's payments allocated to it: one UPDATE ... FROM
    over the allocations just inserted, instead of a statement per post (relative, so no lost update)."""
    post = CustomerPost.__table__
    allocation = PaymentAllocation.__table__
    payment = Payment.__table__
    totals = (
        select(allocation.c.post_id, func.sum(allocation.c.amount).label("total"))
        .join(payment, payment.c.id == allocation.c.payment_id)
        .where(payment.c.import_id == import_id, allocation.c.is_credit.is_(False))
        .group_by(allocation.c.post_id)
        .subquery()
    )
    db.session.execute(
        post.update()
        .where(post.c.id == totals.c.post_id)
        .values(_open_amount_values(post.c.open_amount - totals.c.total, now))
    )


def active_cases(post_ids: Iterable[int]) -> dict[int, int]:
    """post id → id of the Svea case the post is in now (pending, submitted, open or failed)."""
    found: dict[int, int] = {}
    for condition in among(CasePost.post_id, post_ids):
        query = (
            select(CasePost.post_id, CasePost.case_id)
            .join(SveaCase, SveaCase.id == CasePost.case_id)
            .where(condition, CasePost.active.is_(True), SveaCase.state.in_(ACTIVE_CASE_STATES))
        )
        found.update((post_id, case_id) for post_id, case_id in db.session.execute(query))
    return found


def _queue_reports(client_id: int, bookings: Sequence[Booking], post_ids: Iterable[int], now: Any) -> int:
    """A direct-payment report per new allocation on a post that is in a Svea case."""
    in_case = active_cases(post_ids)
    if not in_case:
        return 0
    booked = {b.payment_id: b for b in bookings}
    fresh: list[tuple[int, int, int, Decimal]] = []
    for condition in among(PaymentAllocation.payment_id, booked):
        fresh.extend(
            (allocation_id, payment_id, post_id, amount)
            for allocation_id, payment_id, post_id, amount in db.session.execute(
                select(
                    PaymentAllocation.id,
                    PaymentAllocation.payment_id,
                    PaymentAllocation.post_id,
                    PaymentAllocation.amount,
                )
                .outerjoin(DirectPaymentReport, DirectPaymentReport.allocation_id == PaymentAllocation.id)
                .where(
                    condition,
                    PaymentAllocation.post_id.in_(list(in_case)),
                    PaymentAllocation.is_credit.is_(False),
                    PaymentAllocation.reversed_at.is_(None),
                    DirectPaymentReport.id.is_(None),
                )
            )
        )
    rows = [
        {
            "client_id": client_id,
            "allocation_id": allocation_id,
            "case_id": in_case[post_id],
            "amount": amount,
            "paid_on": booked[payment_id].paid_on,
            "reference": (booked[payment_id].reference or f"Innbetaling {payment_id}")[:100],
            # Derived from the allocation and stored, so every retry of the report sends the same key;
            # the random tail keeps keys apart when a database is reset against the same Svea account.
            "idempotency_key": f"dp-{allocation_id}-{secrets.token_hex(8)}",
            "state": REPORT_PENDING,
            "attempts": 0,
            "closed_case": False,
            "created_at": now,
        }
        for allocation_id, payment_id, post_id, amount in fresh
    ]
    _insert(DirectPaymentReport, rows)
    return len(rows)
