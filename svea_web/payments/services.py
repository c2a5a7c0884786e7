"""Innbetaling use cases: payment files, payments by hand, the matching queue, reversal, Svea.

Public entry points used by other features:

* ``flush_pending_direct_payments(client_id)`` — the collection sync calls it after confirming cases;
  it sends every pending direct-payment report whose case has a case number by now.
* ``fetch_settlements(client_id)`` — books Svea's new settlements (cursor: SyncState.last_settlement_id).
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from svea_web import audit
from svea_web.collection.models import CASE_CLOSED, CASE_REJECTED, CaseEvent, CasePost, SveaCase, SyncState
from svea_web.extensions import db
from svea_web.gc_pause import cycle_collection_paused
from svea_web.ledger.models import POST_CREDIT_NOTE, STATUS_OPEN, Customer, CustomerPost
from svea_web.ledger.queries import Page
from svea_web.models_base import utcnow
from svea_web.payments import booking, matching
from svea_web.payments.bankfile import BankTransaction, parse_payment_file
from svea_web.payments.booking import Booking, Outcome
from svea_web.payments.matching import Candidate
from svea_web.payments.models import (
    IMPORT_DONE,
    IMPORT_FAILED,
    IMPORT_QUEUED,
    IMPORT_RUNNING,
    MATCH_MANUAL,
    MATCH_SETTLEMENT,
    PAYMENT_BOOKED,
    PAYMENT_DISMISSED,
    PAYMENT_UNMATCHED,
    REPORT_CANCELLED,
    REPORT_FAILED,
    REPORT_PENDING,
    REPORT_SENT,
    SOURCE_MANUAL,
    SOURCE_SVEA,
    DirectPaymentReport,
    Payment,
    PaymentAllocation,
    PaymentImport,
    Settlement,
    SettlementLine,
)
from svea_web.setup.models import SveaSettings
from svea_web.svea import CloseReason, SveaClient, SveaConflict, SveaError, SveaNotFound, SveaRejected
from svea_web.svea import Settlement as SveaSettlement

log = logging.getLogger(__name__)

CLOSED_PAID_TEXT = "Betalt direkte til kreditor – saken er avsluttet hos Svea"
MAX_REASON = 500


class PaymentError(ValueError):
    """A request the rules refuse; ``str(error)`` is the Norwegian message for the user."""


# --- payment files ------------------------------------------------------------------------------------


def create_import(client_id: int, user_id: int | None, filename: str, data: bytes) -> PaymentImport:
    """Check the whole file first: a broken file raises PaymentFileError and nothing is stored."""
    # The file's transactions are made and dropped inside the pause, so the collector has nothing of them
    # to walk when it runs again.
    with cycle_collection_paused():
        return _store_import(client_id, user_id, filename, data)


def _store_import(client_id: int, user_id: int | None, filename: str, data: bytes) -> PaymentImport:
    parsed = parse_payment_file(data)
    record = PaymentImport(
        client_id=client_id,
        user_id=user_id,
        kind=parsed.kind,
        filename=(filename or "innbetalinger")[:255],
        sha256=hashlib.sha256(data).hexdigest(),
        content=data,
        parsed=[t.to_json() for t in parsed.transactions],
        status=IMPORT_QUEUED,
        transactions=len(parsed.transactions),
        ignored=parsed.ignored,
        total_amount=sum((t.amount for t in parsed.transactions), Decimal("0.00")),
    )
    db.session.add(record)
    db.session.flush()  # the import's id, for the audit event
    audit.record(client_id, "payments.import_uploaded", "payment_import", record.id, record.filename, user_id=user_id)
    db.session.commit()  # expires the record: its file and rows are not kept in memory
    return record


def earlier_import_of_same_file(record: PaymentImport) -> PaymentImport | None:
    return db.session.scalar(
        select(PaymentImport)
        .where(
            PaymentImport.client_id == record.client_id,
            PaymentImport.sha256 == record.sha256,
            PaymentImport.id < record.id,
            PaymentImport.status == IMPORT_DONE,
        )
        .order_by(PaymentImport.id)
        .limit(1)
    )


def run_import(import_id: int) -> Outcome | None:
    """Book the file's transactions (the job). Safe to run twice: only one run claims the import."""
    claimed = db.session.execute(
        update(PaymentImport)
        .where(PaymentImport.id == import_id, PaymentImport.status == IMPORT_QUEUED)
        .values(status=IMPORT_RUNNING)
    )
    db.session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    record = db.session.get(PaymentImport, import_id)
    assert record is not None
    try:
        with cycle_collection_paused():
            outcome = _book_file(record)
    except IntegrityError:
        db.session.rollback()
        record = db.session.get(PaymentImport, import_id)
        assert record is not None
        record.status = IMPORT_FAILED
        record.error = (
            "Noen av transaksjonene ble bokført samtidig fra en annen fil; ingenting ble bokført to ganger. Prøv igjen."
        )
        record.finished_at = utcnow()
        db.session.commit()
        return None
    record.booked = outcome.booked
    record.matched_kid = outcome.matched_kid
    record.matched_match_no = outcome.matched_match_no
    record.unmatched = outcome.unmatched
    record.duplicates = outcome.duplicates
    record.status = IMPORT_DONE
    record.finished_at = utcnow()
    audit.record(
        record.client_id,
        "payments.imported",
        "payment_import",
        record.id,
        f"{record.kind}: {outcome.new_payments} nye, {outcome.booked} bokført, {outcome.unmatched} til manuell "
        f"avstemming, {outcome.duplicates} duplikater",
        user_id=record.user_id,
    )
    db.session.commit()
    log.info("payment file imported", extra={"import_id": import_id, "client_id": record.client_id})
    _after_booking(record.client_id, outcome.reports)
    return outcome


def _book_file(record: PaymentImport) -> Outcome:
    # Read past the record (not kept on it) and dropped on return, inside run_import's collector pause.
    rows = db.session.scalar(select(PaymentImport.parsed).where(PaymentImport.id == record.id))
    transactions = BankTransaction.many_from_json(rows or [])
    return booking.book_transactions(
        record.client_id, transactions, record.kind, import_id=record.id, user_id=record.user_id
    )


def mark_import_failed(import_id: int, reason: str) -> None:
    """The import job gave up (a bug or the database gone): the upload says so instead of running forever."""
    record = db.session.get(PaymentImport, import_id)
    if record is not None and record.status in (IMPORT_QUEUED, IMPORT_RUNNING):
        record.status = IMPORT_FAILED
        record.error = f"Importen feilet, ingenting ble bokført: {reason}"[:MAX_REASON]
        record.finished_at = utcnow()


def recent_imports(client_id: int, limit: int = 10) -> list[PaymentImport]:
    return list(
        db.session.scalars(
            select(PaymentImport)
            .where(PaymentImport.client_id == client_id)
            .order_by(PaymentImport.id.desc())
            .limit(limit)
        )
    )


# --- payments by hand and the matching queue ----------------------------------------------------------


def _candidate(post: CustomerPost) -> Candidate:
    return Candidate(post.id, post.customer_id, post.kid, post.match_no, post.due_date, post.kind == POST_CREDIT_NOTE)


def _target_posts(client_id: int, post_id: int | None, customer_id: int | None) -> tuple[int, list[CustomerPost]]:
    """The posts a manual booking goes to: one post, or all the customer's open invoices."""
    if post_id is not None:
        post = db.session.scalar(
            select(CustomerPost)
            .where(CustomerPost.id == post_id, CustomerPost.client_id == client_id)
            .with_for_update()
        )
        if post is None:
            raise PaymentError(_("Fant ikke posten."))
        if post.kind == POST_CREDIT_NOTE:
            raise PaymentError(_("En innbetaling kan ikke føres på en kreditnota."))
        return post.customer_id, [post]
    if customer_id is None:
        raise PaymentError(_("Velg en post eller en kunde."))
    customer = db.session.scalar(select(Customer).where(Customer.id == customer_id, Customer.client_id == client_id))
    if customer is None:
        raise PaymentError(_("Fant ikke kunden."))
    posts = list(
        db.session.scalars(
            select(CustomerPost)
            .where(
                CustomerPost.customer_id == customer.id,
                CustomerPost.status == STATUS_OPEN,
                CustomerPost.open_amount > 0,
                CustomerPost.kind != POST_CREDIT_NOTE,
            )
            .order_by(CustomerPost.due_date, CustomerPost.id)
            .with_for_update()
        )
    )
    return customer.id, posts


def _plan_manual(amount: Decimal, customer_id: int, posts: list[CustomerPost]) -> matching.Plan:
    open_amounts = {p.id: (p.open_amount if p.status == STATUS_OPEN else Decimal(0)) for p in posts}
    planned = matching.plan(amount, [_candidate(p) for p in posts], open_amounts)
    return planned or matching.Plan(customer_id=customer_id, allocations=(), credit=amount)


def register_payment(
    client_id: int,
    user_id: int | None,
    *,
    paid_on: date,
    amount: Decimal,
    token: str,
    post_id: int | None = None,
    customer_id: int | None = None,
    text: str | None = None,
) -> Payment:
    """A payment registered by hand on a post (full or partial) or on a customer's open posts.

    ``token`` comes with the form and is the payment's identity, so a form sent twice books once.
    """
    if amount <= 0:
        raise PaymentError(_("Beløpet må være større enn null."))
    existing = db.session.scalar(
        select(Payment).where(
            Payment.client_id == client_id, Payment.source == SOURCE_MANUAL, Payment.external_id == token
        )
    )
    if existing is not None:
        return existing
    owner, posts = _target_posts(client_id, post_id, customer_id)
    planned = _plan_manual(amount, owner, posts)
    target = posts[0] if post_id is not None and posts else None
    now = utcnow()
    [payment_id] = booking.insert_payments(
        [
            {
                "client_id": client_id,
                "paid_on": paid_on,
                "amount": amount,
                "kid": target.kid if target else None,
                "match_no": target.match_no if target else None,
                "reference_text": (text or "").strip()[:1000] or None,
                "payer_name": None,
                "payer_account": None,
                "source": SOURCE_MANUAL,
                "external_id": token,
                "import_id": None,
                "state": PAYMENT_BOOKED,
                "matched_by": MATCH_MANUAL,
                "customer_id": owner,
                "note": None,
                "created_by_id": user_id,
                "created_at": now,
                "updated_at": now,
            }
        ]
    )
    reports = booking.apply_bookings(
        client_id,
        [Booking(payment_id, paid_on, planned, reference=target.kid if target else None)],
        source=SOURCE_MANUAL,
        user_id=user_id,
        new_payments=True,
    )
    audit.record(client_id, "payments.registered", "payment", payment_id, f"{amount} kr", user_id=user_id)
    db.session.commit()
    _after_booking(client_id, reports)
    payment = db.session.get(Payment, payment_id)
    assert payment is not None
    return payment


def match_payment(
    client_id: int, payment_id: int, user_id: int | None, *, post_id: int | None = None, customer_id: int | None = None
) -> Payment:
    """Book a payment from the queue on the post (or customer) a person chose."""
    payment = db.session.scalar(select(Payment).where(Payment.id == payment_id, Payment.client_id == client_id))
    if payment is None:
        raise PaymentError(_("Fant ikke innbetalingen."))
    if payment.amount <= 0:
        raise PaymentError(_("En tilbakeføring kan ikke føres på en post; avvis den etter at den er håndtert."))
    owner, posts = _target_posts(client_id, post_id, customer_id)
    claimed = db.session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.state == PAYMENT_UNMATCHED)
        .values(state=PAYMENT_BOOKED, matched_by=MATCH_MANUAL, customer_id=owner, updated_at=utcnow())
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise PaymentError(_("Innbetalingen er allerede avstemt av noen andre."))
    planned = _plan_manual(payment.amount, owner, posts)
    reports = booking.apply_bookings(
        client_id,
        [Booking(payment.id, payment.paid_on, planned, reference=payment.kid)],
        source=payment.source,
        user_id=user_id,
    )
    audit.record(client_id, "payments.matched", "payment", payment.id, None, user_id=user_id)
    db.session.commit()
    _after_booking(client_id, reports)
    db.session.refresh(payment)
    return payment


def reverse_payment(client_id: int, payment_id: int, user_id: int | None, reason: str) -> Payment:
    """Undo a payment's allocations (admin): open amounts back, the credit neutralised, history kept.

    The payment goes back to the queue, to be matched again or dismissed. A report not yet sent to
    Svea is cancelled; one already sent cannot be taken back, so the case history says so.
    """
    reason = reason.strip()
    if not reason:
        raise PaymentError(_("Skriv hvorfor innbetalingen reverseres."))
    payment = db.session.scalar(
        select(Payment)
        .where(Payment.id == payment_id, Payment.client_id == client_id)
        .options(selectinload(Payment.allocations).selectinload(PaymentAllocation.post))
        .with_for_update()
    )
    if payment is None:
        raise PaymentError(_("Fant ikke innbetalingen."))
    active = payment.active_allocations
    if payment.state != PAYMENT_BOOKED or not active:
        raise PaymentError(_("Innbetalingen har ingen posteringer å reversere."))
    now = utcnow()
    changes: dict[int, Decimal] = {}
    for allocation in active:
        post = allocation.post
        if allocation.is_credit:
            # The credit post is neutralised (open amount back to zero) only while nothing has used it.
            if post.open_amount != -allocation.amount:
                raise PaymentError(
                    _(
                        "Kreditten %(number)s er delvis brukt; tilbakefør bruken i reskontro før reverseringen.",
                        number=post.invoice_no,
                    )
                )
            post.text = f"{post.text or ''} (tilbakeført: {reason})"[:1000]
        changes[post.id] = changes.get(post.id, Decimal(0)) + allocation.amount
        allocation.reversed_at = now
        allocation.reversed_by_id = user_id
        allocation.reversal_reason = reason[:MAX_REASON]
        report = allocation.report
        if report is not None:
            _reverse_report(report, allocation, reason, user_id, now)
    db.session.flush()
    booking.change_open_amounts(changes, now)
    payment.state = PAYMENT_UNMATCHED
    payment.matched_by = None
    payment.note = reason[:MAX_REASON]
    audit.record(client_id, "payments.reversed", "payment", payment.id, reason[:MAX_REASON], user_id=user_id)
    db.session.commit()
    db.session.expire_all()
    refreshed = db.session.get(Payment, payment.id)
    assert refreshed is not None
    return refreshed


def _reverse_report(
    report: DirectPaymentReport, allocation: PaymentAllocation, reason: str, user_id: int | None, now: Any
) -> None:
    if report.state in (REPORT_PENDING, REPORT_FAILED):
        report.state = REPORT_CANCELLED
        report.last_error = "Innbetalingen ble reversert før den ble meldt til Svea."
        return
    if report.state == REPORT_SENT:
        case = db.session.get(SveaCase, report.case_id)
        assert case is not None
        _event(
            case,
            "direct_payment_reversed",
            f"Innbetalingen på {_kr(report.amount)} kr er reversert i appen ({reason}). Svea har allerede fått den "
            "som direkte innbetaling; ta kontakt med saksbehandler for å rette saken.",
            f"app:dp-reversed:{report.id}",
            now,
            user_id=user_id,
        )


def dismiss_payment(client_id: int, payment_id: int, user_id: int | None, reason: str) -> Payment:
    """Take an unmatched payment out of the queue (admin), e.g. not the firm's money or already refunded."""
    reason = reason.strip()
    if not reason:
        raise PaymentError(_("Skriv hvorfor innbetalingen fjernes fra køen."))
    payment = db.session.scalar(select(Payment).where(Payment.id == payment_id, Payment.client_id == client_id))
    if payment is None or payment.state != PAYMENT_UNMATCHED:
        raise PaymentError(_("Bare innbetalinger som venter på avstemming kan fjernes fra køen."))
    payment.state = PAYMENT_DISMISSED
    payment.note = reason[:MAX_REASON]
    audit.record(client_id, "payments.dismissed", "payment", payment.id, reason[:MAX_REASON], user_id=user_id)
    db.session.commit()
    return payment


# --- what the pages show ------------------------------------------------------------------------------


PAYMENT_FILTERS = ("all", PAYMENT_BOOKED, PAYMENT_UNMATCHED, PAYMENT_DISMISSED)


def list_payments(
    client_id: int, *, state: str = "all", source: str | None = None, q: str = "", page: int = 1, per_page: int = 50
) -> Page:
    stmt = select(Payment).where(Payment.client_id == client_id)
    if state in (PAYMENT_BOOKED, PAYMENT_UNMATCHED, PAYMENT_DISMISSED):
        stmt = stmt.where(Payment.state == state)
    if source:
        stmt = stmt.where(Payment.source == source)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.outerjoin(Customer, Customer.id == Payment.customer_id).where(
            or_(
                Payment.kid == q,
                Payment.external_id == q,
                func.lower(Payment.payer_name).like(like),
                func.lower(Payment.reference_text).like(like),
                func.lower(Customer.name).like(like),
            )
        )
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    items = db.session.scalars(
        stmt.options(selectinload(Payment.customer))
        .order_by(Payment.paid_on.desc(), Payment.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(list(items), total, page, per_page)


def unmatched_count(client_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count()).where(Payment.client_id == client_id, Payment.state == PAYMENT_UNMATCHED)
        )
        or 0
    )


@dataclass(frozen=True)
class Suggestion:
    post: CustomerPost
    reason: str


def _name_key(name: str) -> str:
    return " ".join(re.sub(r"[^0-9a-zæøå ]", " ", name.lower()).split())


def suggestions(payment: Payment, limit: int = 6) -> list[Suggestion]:
    """Posts a person might match the payment with: same open amount, or a customer with a similar name."""
    found: dict[int, Suggestion] = {}
    open_posts = (
        select(CustomerPost)
        .where(
            CustomerPost.client_id == payment.client_id,
            CustomerPost.status == STATUS_OPEN,
            CustomerPost.kind != POST_CREDIT_NOTE,
            CustomerPost.open_amount > 0,
        )
        .options(selectinload(CustomerPost.customer))
    )
    if payment.amount > 0:
        for post in db.session.scalars(
            open_posts.where(CustomerPost.open_amount == payment.amount).order_by(CustomerPost.due_date).limit(limit)
        ):
            found[post.id] = Suggestion(post, _("Samme åpne beløp"))
    if payment.payer_name:
        wanted = _name_key(payment.payer_name)
        words = sorted((w for w in wanted.split() if len(w) >= 3), key=len, reverse=True)[:2]
        if words:
            customers = db.session.scalars(
                select(Customer)
                .where(
                    Customer.client_id == payment.client_id,
                    or_(*(func.lower(Customer.name).like(f"%{w}%") for w in words)),
                )
                .limit(50)
            ).all()
            ranked = sorted(
                ((difflib.SequenceMatcher(None, wanted, _name_key(c.name)).ratio(), c) for c in customers),
                key=lambda pair: -pair[0],
            )
            close = [c.id for ratio, c in ranked if ratio >= 0.6][:3]
            if close:
                for post in db.session.scalars(
                    open_posts.where(CustomerPost.customer_id.in_(close)).order_by(CustomerPost.due_date).limit(limit)
                ):
                    found.setdefault(post.id, Suggestion(post, _("Lignende kundenavn")))
    return list(found.values())[:limit]


def search_targets(client_id: int, q: str, limit: int = 20) -> tuple[list[CustomerPost], list[Customer]]:
    """Posts by KID, invoice number, match number or customer; and the customers whose name or number fits."""
    q = q.strip()[:100]
    if not q:
        return [], []
    like = f"%{q.lower()}%"
    posts = db.session.scalars(
        select(CustomerPost)
        .join(Customer, Customer.id == CustomerPost.customer_id)
        .where(
            CustomerPost.client_id == client_id,
            CustomerPost.kind != POST_CREDIT_NOTE,
            or_(
                CustomerPost.kid == q,
                CustomerPost.invoice_no == q,
                CustomerPost.match_no == q,
                Customer.customer_no == q,
                func.lower(Customer.name).like(like),
            ),
        )
        .options(selectinload(CustomerPost.customer))
        .order_by(CustomerPost.status.desc(), CustomerPost.due_date)
        .limit(limit)
    ).all()
    customers = db.session.scalars(
        select(Customer)
        .where(Customer.client_id == client_id, or_(Customer.customer_no == q, func.lower(Customer.name).like(like)))
        .order_by(Customer.name)
        .limit(10)
    ).all()
    return list(posts), list(customers)


def post_for_form(client_id: int, post_id: int) -> CustomerPost | None:
    return db.session.scalar(
        select(CustomerPost)
        .where(CustomerPost.id == post_id, CustomerPost.client_id == client_id, CustomerPost.kind != POST_CREDIT_NOTE)
        .options(selectinload(CustomerPost.customer))
    )


def payment_detail(client_id: int, payment_id: int) -> Payment | None:
    return db.session.scalar(
        select(Payment)
        .where(Payment.id == payment_id, Payment.client_id == client_id)
        .options(
            selectinload(Payment.allocations).selectinload(PaymentAllocation.post).selectinload(CustomerPost.customer),
            selectinload(Payment.allocations).selectinload(PaymentAllocation.report),
            selectinload(Payment.customer),
        )
    )


# --- direct payments to Svea --------------------------------------------------------------------------


def _svea_client(client_id: int) -> SveaClient:
    from svea_web.setup.services import svea_client_for

    return svea_client_for(client_id)


def _kr(amount: Decimal) -> str:
    whole, _, cents = f"{amount:,.2f}".partition(".")
    return f"{whole.replace(',', ' ')},{cents}"


def _after_booking(client_id: int, reports: int) -> None:
    """Once the booking is committed (a worker may run the jobs at once): report to Svea, then refresh
    the cases from Svea (DESIGN flow 6: a registered payment triggers the status sync)."""
    if not reports:
        return
    from svea_web.collection.services import request_sync
    from svea_web.jobs_queue import SVEA_RETRY, enqueue
    from svea_web.payments import jobs

    enqueue(
        jobs.send_direct_payments,
        client_id,
        retry=SVEA_RETRY,
        on_give_up=jobs.send_direct_payments_gave_up,
        client_id=client_id,
    )
    request_sync(client_id)


@dataclass
class FlushResult:
    sent: int = 0
    waiting: int = 0
    failed: int = 0
    cancelled: int = 0
    closed_cases: int = 0


def pending_reports(client_id: int) -> list[DirectPaymentReport]:
    return list(
        db.session.scalars(
            select(DirectPaymentReport)
            .where(DirectPaymentReport.client_id == client_id, DirectPaymentReport.state == REPORT_PENDING)
            .order_by(DirectPaymentReport.id)
        )
    )


def flush_pending_direct_payments(client_id: int) -> FlushResult:
    """Send every pending direct-payment report whose case has a case number; the rest keep waiting.

    Idempotent: each report carries its own stored idempotency key and is marked sent in the same
    commit as its answer. Raises SveaUnavailable (after recording it) when Svea cannot be reached, so
    that the job is retried; the reports stay pending and nothing is lost.
    """
    result = FlushResult()
    svea: SveaClient | None = None
    try:
        for report in pending_reports(client_id):
            case = db.session.get(SveaCase, report.case_id)
            assert case is not None
            if case.state == CASE_REJECTED or (case.state == CASE_CLOSED and not case.case_number):
                report.state = REPORT_CANCELLED
                report.last_error = "Saken kom aldri i gang hos Svea; innbetalingen er bare bokført i reskontro."
                db.session.commit()
                result.cancelled += 1
                continue
            if not case.case_number:
                result.waiting += 1
                continue
            if svea is None:
                svea = _svea_client(client_id)
            _send_report(svea, report, case, result)
    finally:
        if svea is not None:
            svea.close()
    return result


def _send_report(svea: SveaClient, report: DirectPaymentReport, case: SveaCase, result: FlushResult) -> None:
    assert case.case_number
    now = utcnow()
    report.attempts += 1
    try:
        answer = svea.report_direct_payment(
            case.case_number, report.amount, report.paid_on, report.reference, report.idempotency_key
        )
    except SveaConflict:
        report.state = REPORT_CANCELLED
        report.last_error = "Saken var allerede avsluttet hos Svea da innbetalingen skulle meldes."
        _event(
            case,
            "direct_payment_not_sent",
            f"Direkte innbetaling på {_kr(report.amount)} kr ble ikke meldt: saken var allerede avsluttet hos Svea.",
            f"app:dp-conflict:{report.id}",
            now,
        )
        db.session.commit()
        result.cancelled += 1
        return
    except (SveaRejected, SveaNotFound) as error:
        report.state = REPORT_FAILED
        report.last_error = error.message[:MAX_REASON]
        _event(
            case,
            "direct_payment_failed",
            f"Svea avviste direkte innbetaling på {_kr(report.amount)} kr: {error.message}"[:MAX_REASON],
            f"app:dp-failed:{report.id}",
            now,
        )
        db.session.commit()
        result.failed += 1
        return
    except SveaError as error:
        report.last_error = error.message[:MAX_REASON]
        db.session.commit()
        raise
    principal = answer.amounts.principal
    report.state = REPORT_SENT
    report.sent_at = now
    report.svea_payment_id = answer.payment_id
    report.svea_status = answer.status.value
    report.principal_remaining = principal.remaining
    report.last_error = None
    case.principal_paid = principal.paid
    case.principal_remaining = principal.remaining
    case.svea_status = answer.status.value
    _event(
        case,
        "direct_payment",
        f"Direkte innbetaling på {_kr(report.amount)} kr meldt til Svea. "
        f"Gjenstående hovedstol: {_kr(principal.remaining)} kr.",
        f"app:dp:{report.id}",
        now,
    )
    result.sent += 1
    closed = answer.closed
    if not closed and principal.remaining == 0:
        # Svea normally closes at zero principal by itself; if it did not, ask it to.
        try:
            info = svea.close_case(case.case_number, CloseReason.PAID_TO_CREDITOR, f"{report.idempotency_key}-close")
            case.svea_status = info.status.value
        except SveaConflict:
            pass  # closed meanwhile: what we wanted
        closed = True
    if closed:
        report.closed_case = True
        _close_case(case, now)
        result.closed_cases += 1
    db.session.commit()


def _event(case: SveaCase, kind: str, text: str, external_id: str, at: Any, user_id: int | None = None) -> None:
    """A line in the case's history, once: the external id keeps a re-run job from writing it twice."""
    exists = db.session.scalar(
        select(CaseEvent.id).where(CaseEvent.case_id == case.id, CaseEvent.external_id == external_id)
    )
    if exists is None:
        db.session.add(
            CaseEvent(
                case_id=case.id, at=at, source="app", kind=kind, text=text, external_id=external_id, user_id=user_id
            )
        )
        case.last_event_at = max(filter(None, (case.last_event_at, at)))


def _close_case(case: SveaCase, now: Any) -> None:
    if case.state != CASE_CLOSED:
        case.state = CASE_CLOSED
        case.closed_at = now
        case.close_reason = CloseReason.PAID_TO_CREDITOR.value
    case.svea_status = case.svea_status if case.svea_status and case.svea_status.startswith("CLOSED") else "CLOSED_PAID"
    # As the collection feature does when a case closes: the posts are free again, keeping their Svea reference.
    db.session.execute(
        update(CasePost)
        .where(CasePost.case_id == case.id)
        .values(active=False)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(CustomerPost)
        .where(CustomerPost.svea_case_id == case.id)
        .values(svea_case_id=None)
        .execution_options(synchronize_session=False)
    )
    _event(case, "closed", CLOSED_PAID_TEXT, f"app:closed-paid:{case.id}", now)


def record_report_failure(client_id: int, reason: str) -> None:
    """The report job gave up (Svea unreachable for long): say so on every report still waiting to be sent."""
    for report in pending_reports(client_id):
        case = db.session.get(SveaCase, report.case_id)
        if case is not None and case.case_number:
            report.last_error = reason[:MAX_REASON]


# --- Svea settlements ---------------------------------------------------------------------------------


def _sync_state(client_id: int) -> SyncState:
    state = db.session.get(SyncState, client_id)
    if state is not None:
        return state
    try:
        with db.session.begin_nested():
            state = SyncState(client_id=client_id)
            db.session.add(state)
    except IntegrityError:
        state = db.session.get(SyncState, client_id)
    assert state is not None
    return state


def fetch_settlements(client_id: int) -> int:
    """Book Svea's settlements newer than the cursor; the number of new settlements.

    Each settlement is booked and the cursor moved in one commit; a settlement already stored is
    skipped, so a run after a crash books nothing twice. Settlement payments are never reported back
    to Svea as direct payments.
    """
    after = _sync_state(client_id).last_settlement_id
    svea = _svea_client(client_id)
    try:
        settlements = svea.get_settlements(after_id=after)
    finally:
        svea.close()
    booked = 0
    for settlement in sorted(settlements, key=lambda s: s.id):
        if _book_settlement(client_id, settlement):
            booked += 1
        state = _sync_state(client_id)
        state.last_settlement_id = max(state.last_settlement_id, settlement.id)
        db.session.commit()
    return booked


def _book_settlement(client_id: int, settlement: SveaSettlement) -> bool:
    known = db.session.scalar(
        select(Settlement.id).where(Settlement.client_id == client_id, Settlement.svea_id == settlement.id)
    )
    if known is not None:
        return False
    zero = Decimal("0.00")
    stored = Settlement(
        client_id=client_id,
        svea_id=settlement.id,
        settled_on=settlement.date,
        principal_total=sum((line.principal for line in settlement.lines), zero),
        fees_total=sum((line.fees for line in settlement.lines), zero),
        interest_total=sum((line.interest for line in settlement.lines), zero),
        payout_total=settlement.payout_to_creditor,
    )
    db.session.add(stored)
    invoice_nos = sorted({line.invoice_no for line in settlement.lines})
    posts: dict[str, CustomerPost] = {}
    for chunk in booking.chunks(invoice_nos):
        posts.update(
            (p.invoice_no, p)
            for p in db.session.scalars(
                select(CustomerPost)
                .where(CustomerPost.client_id == client_id, CustomerPost.invoice_no.in_(chunk))
                .with_for_update()
            )
        )
    now = utcnow()
    open_amounts: dict[int, Decimal] = {
        p.id: (p.open_amount if p.status == STATUS_OPEN else Decimal(0)) for p in posts.values()
    }
    rows: list[dict[str, Any]] = []
    line_rows: list[SettlementLine] = []
    plans: list[matching.Plan | None] = []
    for line_no, line in enumerate(settlement.lines, start=1):
        post = posts.get(line.invoice_no)
        stored_line = SettlementLine(
            line_no=line_no,
            case_number=line.case_number,
            creditor_ref=line.creditor_ref[:100],
            invoice_no=line.invoice_no,
            match_no=line.match_no,
            principal=line.principal,
            fees=line.fees,
            interest=line.interest,
            payout=line.payout_to_creditor,
            post_id=post.id if post else None,
        )
        stored.lines.append(stored_line)
        if line.principal <= 0:
            continue  # Svea kept fees or interest only: no money for the firm on this line
        planned = None
        if post is not None and post.kind != POST_CREDIT_NOTE:
            planned = matching.plan(line.principal, [_candidate(post)], open_amounts) or matching.Plan(
                post.customer_id, (), line.principal
            )
        line_rows.append(stored_line)
        plans.append(planned)
        rows.append(
            {
                "client_id": client_id,
                "paid_on": settlement.date,
                "amount": line.principal,
                "kid": post.kid if post else None,
                "match_no": line.match_no,
                "reference_text": f"Svea-oppgjør {settlement.id}, sak {line.case_number}, faktura {line.invoice_no}",
                "payer_name": None,
                "payer_account": None,
                "source": SOURCE_SVEA,
                "external_id": f"{settlement.id}:{line_no}",
                "import_id": None,
                "state": PAYMENT_BOOKED if planned else PAYMENT_UNMATCHED,
                "matched_by": MATCH_SETTLEMENT if planned else None,
                "customer_id": planned.customer_id if planned else None,
                "note": None,
                "created_by_id": None,
                "created_at": now,
                "updated_at": now,
            }
        )
    ids = booking.insert_payments(rows) if rows else []
    bookings = []
    for payment_id, stored_line, planned in zip(ids, line_rows, plans, strict=True):
        stored_line.payment_id = payment_id
        if planned is not None:
            bookings.append(Booking(payment_id, settlement.date, planned))
    booking.apply_bookings(client_id, bookings, source=SOURCE_SVEA, user_id=None, new_payments=True)
    audit.record(
        client_id,
        "payments.svea_settlement",
        "svea_settlement",
        settlement.id,
        f"{len(settlement.lines)} linjer, utbetalt {settlement.payout_to_creditor} kr",
    )
    return True


def list_settlements(client_id: int, page: int = 1, per_page: int = 20) -> Page:
    stmt = select(Settlement).where(Settlement.client_id == client_id)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = db.session.scalars(
        stmt.order_by(Settlement.svea_id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(list(items), total, page, per_page)


def settlement_detail(client_id: int, settlement_id: int) -> Settlement | None:
    return db.session.scalar(
        select(Settlement)
        .where(Settlement.id == settlement_id, Settlement.client_id == client_id)
        .options(selectinload(Settlement.lines).selectinload(SettlementLine.post))
    )


def svea_ready(client_id: int) -> bool:
    """The firm has Svea credentials (settlements and direct payments need nothing more)."""
    settings = db.session.get(SveaSettings, client_id)
    return bool(settings and settings.is_configured)
