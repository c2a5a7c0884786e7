"""What the agency does: confirm or reject submissions, walk the letter sequence, take payments, settle.

Time is the sandbox clock (real UTC time plus an offset that test and demo runs can advance). Nothing
runs in the background: every request first applies the transitions that have fallen due, in the order
they fell due, so advancing the clock a month plays that month out day by day.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import func, insert, or_, select
from sqlalchemy.orm import Session, selectinload

from svea_web.sandbox.errors import ApiError
from svea_web.sandbox.models import (
    CLOSED_STATUSES,
    Base,
    Case,
    CaseEvent,
    CaseInvoice,
    CaseRequest,
    Creditor,
    DebtorPayment,
    DirectPayment,
    Dispatch,
    Message,
    PaymentAllocation,
    SandboxState,
    Settlement,
    SettlementLine,
)
from svea_web.sandbox.tariff import late_interest_ore, letter_fee_ore

LETTER_INTERVAL = timedelta(days=14)

STEPS = {
    "PURRING": ("REMINDER", "COLLECTION_NOTICE", "PAYMENT_DEMAND", "LEGAL"),
    "INKASSO": ("COLLECTION_NOTICE", "PAYMENT_DEMAND", "LEGAL"),
}
STATUS_AFTER_STEP = {
    "REMINDER": "PURRING",
    "COLLECTION_NOTICE": "INKASSOVARSEL",
    "PAYMENT_DEMAND": "BETALINGSOPPFORDRING",
    "LEGAL": "RETTSLIG",
}
LETTER_TITLES = {
    "REMINDER": "Betalingspåminnelse",
    "COLLECTION_NOTICE": "Inkassovarsel",
    "PAYMENT_DEMAND": "Betalingsoppfordring",
}
CLOSE_STATUS = {
    "PAID_TO_CREDITOR": "CLOSED_PAID",
    "WITHDRAWN": "CLOSED_WITHDRAWN",
    "CREDITED": "CLOSED_CREDITED",
    "OTHER": "CLOSED_WITHDRAWN",
}
CLOSE_TEXTS = {
    "PAID_TO_CREDITOR": "betalt direkte til kreditor",
    "WITHDRAWN": "trukket tilbake av kreditor",
    "CREDITED": "kreditert av kreditor",
    "OTHER": "avsluttet av kreditor",
}
HANDLER = "Saksbehandler Svea Finans"
CASE_NUMBER_BASE = 40_000_000
# Claims older than this are refused as time-barred (foreldelsesloven: 3 years, 10 at most with interruptions).
TIME_BAR_YEARS = 10


@dataclass(frozen=True)
class Timing:
    confirm_delay: timedelta
    reply_delay: timedelta
    first_letter_delay: timedelta


def kroner(ore: int) -> str:
    return f"{ore // 100}.{ore % 100:02d}"


def kroner_text(ore: int) -> str:
    """An amount as a Norwegian reader writes it: 1 250,00."""
    return f"{ore // 100:,}".replace(",", " ") + f",{ore % 100:02d}"


# --- the clock -----------------------------------------------------------------------------------------


def state(session: Session) -> SandboxState:
    row = session.get(SandboxState, 1)
    if row is None:
        row = SandboxState(id=1, processed_until=_real_now())
        session.add(row)
        session.flush()
    return row


def _real_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def clock_now(session: Session) -> datetime:
    """The sandbox time; it never runs backwards, even if the machine's clock does."""
    current = state(session)
    return max(_real_now() + timedelta(seconds=current.clock_offset_seconds), current.processed_until)


def advance_clock(session: Session, timing: Timing, seconds: float) -> datetime:
    state(session).clock_offset_seconds += seconds
    now = clock_now(session)
    apply_due(session, timing, now)
    return now


def apply_due(session: Session, timing: Timing, now: datetime) -> None:
    """Play out everything that fell due up to `now`, settling at each midnight passed on the way."""
    current = state(session)
    cursor = current.processed_until
    while True:
        midnight = datetime.combine(cursor.date() + timedelta(days=1), time())
        _run_due(session, timing, min(midnight, now), now)
        if midnight > now:
            break
        settle(session, midnight, now)
        cursor = midnight
    current.processed_until = now


def _run_due(session: Session, timing: Timing, until: datetime, now: datetime) -> None:
    pending = session.scalars(
        select(CaseRequest)
        .where(CaseRequest.status == "PENDING", CaseRequest.decide_at <= until)
        .order_by(CaseRequest.decide_at, CaseRequest.id)
    ).all()
    for request in pending:
        _decide(session, timing, request, now)
    due_cases = session.scalars(
        select(Case).where(
            Case.status.not_in(CLOSED_STATUSES),
            or_(Case.next_step_at <= until, Case.scheduled_payment_at <= until),
        )
    ).all()
    # Sorted here, not by ORDER BY id, which would make SQLite walk every case instead of the two indexes.
    for case in sorted(due_cases, key=lambda case: case.id):
        _play_case(session, case, until, now)
    replies_due = session.scalars(
        select(Message).where(Message.reply_due_at <= until).order_by(Message.reply_due_at, Message.id)
    ).all()
    for message in replies_due:
        _reply(session, message, now)


def _play_case(session: Session, case: Case, until: datetime, now: datetime) -> None:
    while not case.is_closed:
        step_at = case.next_step_at if case.next_step_at and case.next_step_at <= until else None
        pay_at = case.scheduled_payment_at if case.scheduled_payment_at and case.scheduled_payment_at <= until else None
        if pay_at is not None and (step_at is None or pay_at <= step_at):
            amount = min(case.scheduled_payment or 0, case.total_remaining)
            case.scheduled_payment_at = None
            case.scheduled_payment = None
            if amount > 0:
                debtor_pays(session, case, amount, pay_at, now)
        elif step_at is not None:
            _run_step(session, case, step_at, now)
        else:
            return


# --- submissions ---------------------------------------------------------------------------------------


def submit(session: Session, timing: Timing, creditor: Creditor, payload: dict[str, Any], now: datetime) -> CaseRequest:
    request = CaseRequest(
        request_id=str(uuid4()),
        creditor_id=creditor.id,
        creditor_ref=payload["creditorRef"],
        level=payload["level"],
        payload=json.dumps(payload),
        received_at=now,
        decide_at=now + timing.confirm_delay,
    )
    session.add(request)
    session.flush()
    return request


def _rejection(session: Session, creditor_id: int, payload: dict[str, Any], today: date) -> tuple[str, str] | None:
    debtor = payload["debtor"]
    if debtor["type"] == "COMPANY" and not debtor["orgNo"]:
        return "MISSING_DEBTOR_ID", "Skyldner er et foretak uten organisasjonsnummer."
    if debtor["type"] == "PERSON" and not debtor["nationalId"]:
        return "MISSING_DEBTOR_ID", "Skyldner er en person uten fødselsnummer."
    invoice_numbers = [invoice["invoiceNo"] for invoice in payload["invoices"]]
    for invoice in payload["invoices"]:
        number = invoice["invoiceNo"]
        if invoice["amount"] == 0 or invoice["remainingAmount"] == 0:
            return "ZERO_AMOUNT", f"Faktura {number} har beløp 0."
        if invoice["remainingAmount"] > invoice["amount"]:
            return "INVALID_AMOUNT", f"Faktura {number} har større restbeløp enn fakturabeløp."
        due = date.fromisoformat(invoice["dueDate"])
        if due >= today:
            return "NOT_DUE", f"Faktura {number} forfaller {invoice['dueDate']}; bare forfalte krav kan tas inn."
        if due < today - timedelta(days=round(365.25 * TIME_BAR_YEARS)):
            return "TIME_BARRED", f"Faktura {number} forfalt {invoice['dueDate']}; kravet er foreldet."
        if invoice_numbers.count(number) > 1:
            return "DUPLICATE_INVOICE", f"Faktura {number} står flere ganger i saken."
    already = session.scalar(
        select(CaseInvoice.invoice_no)
        .join(Case)
        .where(
            Case.creditor_id == creditor_id,
            Case.status.not_in(CLOSED_STATUSES),
            CaseInvoice.invoice_no.in_(invoice_numbers),
        )
        .limit(1)
    )
    if already is not None:
        return "DUPLICATE_INVOICE", f"Faktura {already} er allerede i en åpen sak."
    return None


def _decide(session: Session, timing: Timing, request: CaseRequest, now: datetime) -> None:
    at = request.decide_at
    payload = json.loads(request.payload)
    request.decided_at = at
    rejection = _rejection(session, request.creditor_id, payload, at.date())
    if rejection is not None:
        request.status = "REJECTED"
        request.reason_code, request.reason = rejection
        return
    request.status = "CONFIRMED"
    request.case = open_case(session, request.creditor_id, request.request_id, payload, at, now, timing)


def open_case(
    session: Session,
    creditor_id: int,
    request_id: str,
    payload: dict[str, Any],
    at: datetime,
    now: datetime,
    timing: Timing,
) -> Case:
    number = CASE_NUMBER_BASE + (session.scalar(select(func.max(Case.id))) or 0) + 1
    invoices = [
        CaseInvoice(
            invoice_no=invoice["invoiceNo"],
            match_no=invoice["matchNo"],
            kid=invoice["kid"],
            invoice_date=date.fromisoformat(invoice["invoiceDate"]),
            due_date=date.fromisoformat(invoice["dueDate"]),
            amount=invoice["amount"],
            remaining=invoice["remainingAmount"],
        )
        for invoice in payload["invoices"]
    ]
    level_text = "purring" if payload["level"] == "PURRING" else "inkasso"
    case = Case(
        case_number=str(number),
        creditor_id=creditor_id,
        request_id=request_id,
        creditor_ref=payload["creditorRef"],
        level=payload["level"],
        status="REGISTERED",
        debtor=json.dumps(payload["debtor"]),
        created_at=at,
        updated_at=now,
        principal_original=sum(invoice.remaining for invoice in invoices),
        interest_accrued_until=min(invoice.due_date for invoice in invoices),
        next_step_at=at + timing.first_letter_delay,
        invoices=invoices,
        events=[
            CaseEvent(at=at, kind="REGISTERED", text=f"Saken er registrert med saksnummer {number} ({level_text}).")
        ],
    )
    session.add(case)
    session.flush()
    return case


def seed_cases(session: Session, timing: Timing, creditor_id: int, count: int, level: str, now: datetime) -> list[str]:
    """`count` confirmed cases of one invoice each, as if submitted a while ago; their case numbers.

    Written with bulk inserts and ids assigned here (the transaction holds the write lock), because
    benchmarks seed thousands of cases and the ORM's row-by-row flush takes half a minute for 5,000.
    """

    def next_id(model: type[Base]) -> int:
        return (session.scalar(select(func.max(model.id))) or 0) + 1  # type: ignore[attr-defined]

    first_case, first_request = next_id(Case), next_id(CaseRequest)
    first_invoice, first_event = next_id(CaseInvoice), next_id(CaseEvent)
    due = (now - timedelta(days=30)).date()
    requests, cases, invoices, events = [], [], [], []
    for index in range(count):
        case_id = first_case + index
        number = str(CASE_NUMBER_BASE + case_id)
        request_id = str(uuid4())
        amount = 50_000 + (case_id * 7919) % 950_000
        invoice_no = f"S{case_id:07d}"
        debtor = {
            "type": "COMPANY",
            "name": f"Skyldner {case_id} AS",
            "orgNo": "923609016",
            "nationalId": None,
            "customerNo": f"K{case_id}",
            "email": None,
            "address": {
                "street": f"Storgata {case_id % 200 + 1}",
                "postalCode": "0155",
                "city": "Oslo",
                "country": "NO",
            },
        }
        requests.append(
            {
                "id": first_request + index,
                "request_id": request_id,
                "creditor_id": creditor_id,
                "creditor_ref": f"seed-{case_id}",
                "level": level,
                "payload": "{}",
                "status": "CONFIRMED",
                "received_at": now,
                "decide_at": now,
                "decided_at": now,
                "case_id": case_id,
            }
        )
        cases.append(
            {
                "id": case_id,
                "case_number": number,
                "creditor_id": creditor_id,
                "request_id": request_id,
                "creditor_ref": f"seed-{case_id}",
                "level": level,
                "status": "REGISTERED",
                "debtor": json.dumps(debtor),
                "created_at": now,
                "updated_at": now,
                "principal_original": amount,
                "interest_accrued_until": due,
                "next_step_at": now + timing.first_letter_delay,
            }
        )
        invoices.append(
            {
                "id": first_invoice + index,
                "case_id": case_id,
                "invoice_no": invoice_no,
                "match_no": invoice_no,
                "kid": None,
                "invoice_date": due - timedelta(days=14),
                "due_date": due,
                "amount": amount,
                "remaining": amount,
            }
        )
        events.append(
            {
                "id": first_event + index,
                "case_id": case_id,
                "at": now,
                "kind": "REGISTERED",
                "text": f"Saken er registrert med saksnummer {number}.",
            }
        )
    session.execute(insert(Case), cases)
    session.execute(insert(CaseRequest), requests)
    session.execute(insert(CaseInvoice), invoices)
    session.execute(insert(CaseEvent), events)
    return [str(case["case_number"]) for case in cases]


# --- the letter sequence -------------------------------------------------------------------------------


def _accrue_interest(case: Case, until: date) -> None:
    start = case.interest_accrued_until
    if start is None or until <= start:
        return
    for invoice in case.invoices:
        case.interest_original += late_interest_ore(invoice.remaining, max(start, invoice.due_date), until)
    case.interest_accrued_until = until


def _event(case: Case, at: datetime, kind: str, text: str, now: datetime) -> None:
    case.events.append(CaseEvent(at=at, kind=kind, text=text))
    case.updated_at = now


def _run_step(session: Session, case: Case, at: datetime, now: datetime) -> None:
    kind = STEPS[case.level][case.steps_done]
    case.steps_done += 1
    case.status = STATUS_AFTER_STEP[kind]
    if kind == "LEGAL":
        case.next_step_at = None
        _event(
            case,
            at,
            "LEGAL_PROCEEDINGS",
            "Fristen i betalingsoppfordringen er ute. Saken går til rettslig inndriving.",
            now,
        )
        return
    _accrue_interest(case, at.date())
    fee = letter_fee_ore(kind, at.date(), min(invoice.due_date for invoice in case.invoices))
    case.fees_original += fee
    deadline = at.date() + LETTER_INTERVAL
    dispatch = Dispatch(
        case=case,
        kind=kind,
        sent_at=at,
        deadline=deadline,
        fee_charged=fee,
        principal_due=case.principal_remaining,
        fees_due=case.fees_remaining,
        interest_due=case.interest_remaining,
        invoice_lines=json.dumps(
            [
                {
                    "invoiceNo": invoice.invoice_no,
                    "dueDate": invoice.due_date.isoformat(),
                    "kid": invoice.kid,
                    "remaining": invoice.remaining,
                }
                for invoice in case.invoices
                if invoice.remaining > 0
            ]
        ),
    )
    session.add(dispatch)
    case.next_step_at = at + LETTER_INTERVAL
    _event(
        case,
        at,
        f"{kind}_SENT",
        f"{LETTER_TITLES[kind]} sendt til skyldner. Å betale: {kroner_text(dispatch.total_due)} kr "
        f"innen {deadline.strftime('%d.%m.%Y')}.",
        now,
    )
    _schedule_random_payment(session, case, at)


def _schedule_random_payment(session: Session, case: Case, letter_at: datetime) -> None:
    """Demo mode: after a letter, some debtors pay within its deadline; the same seed gives the same story."""
    settings = state(session)
    if settings.random_payments_seed is None:
        return
    rng = random.Random(f"{settings.random_payments_seed}:{case.case_number}:{case.steps_done}")
    if rng.random() >= settings.random_payment_probability:
        return
    case.scheduled_payment_at = letter_at + timedelta(seconds=rng.uniform(3600, 13 * 86400))
    full = rng.random() < 0.75
    case.scheduled_payment = case.total_remaining if full else max(case.principal_remaining // 2, 100)


# --- payments, closing, messages -----------------------------------------------------------------------


def _allocate_principal(case: Case, amount: int, reference: str | None = None) -> list[tuple[CaseInvoice, int]]:
    """Spread `amount` of principal over the invoices: the one the reference names first, then oldest due."""

    def order(invoice: CaseInvoice) -> tuple[bool, date, int]:
        named = reference is not None and reference in (invoice.invoice_no, invoice.match_no, invoice.kid)
        return (not named, invoice.due_date, invoice.id)

    allocations = []
    for invoice in sorted(case.invoices, key=order):
        if amount == 0:
            break
        part = min(amount, invoice.remaining)
        if part > 0:
            invoice.remaining -= part
            amount -= part
            allocations.append((invoice, part))
    return allocations


def _close(case: Case, status: str, reason: str, at: datetime, text: str, now: datetime) -> None:
    case.status = status
    case.close_reason = reason
    case.closed_at = at
    case.next_step_at = None
    case.scheduled_payment_at = None
    case.scheduled_payment = None
    _event(case, at, "CLOSED", text, now)


def debtor_pays(session: Session, case: Case, amount: int, at: datetime, now: datetime) -> DebtorPayment:
    """The debtor pays the agency: principal first, then fees, then interest (RULES.md)."""
    if case.is_closed:
        raise ApiError(409, "case_closed", f"case {case.case_number} is closed")
    _accrue_interest(case, at.date())
    if amount <= 0 or amount > case.total_remaining:
        raise ApiError(
            422,
            "invalid_amount",
            f"amount must be between 0.01 and the {kroner(case.total_remaining)} still owed",
            "amount",
        )
    principal = min(amount, case.principal_remaining)
    fees = min(amount - principal, case.fees_remaining)
    interest = amount - principal - fees
    case.principal_paid += principal
    case.fees_paid += fees
    case.interest_paid += interest
    payment = DebtorPayment(
        case=case,
        paid_at=at,
        amount=amount,
        fees=fees,
        interest=interest,
        allocations=[
            PaymentAllocation(invoice=invoice, principal=part) for invoice, part in _allocate_principal(case, principal)
        ],
    )
    session.add(payment)
    _event(case, at, "DEBTOR_PAYMENT", f"Skyldner har betalt {kroner_text(amount)} kr til Svea.", now)
    if case.total_remaining == 0:
        _close(case, "CLOSED_PAID", "PAID_TO_SVEA", at, "Kravet er betalt i sin helhet. Saken er avsluttet.", now)
    return payment


def direct_payment(
    session: Session, case: Case, amount: int, paid_on: date, reference: str | None, now: datetime
) -> DirectPayment:
    """The creditor reports money the debtor paid to them; it reduces only the principal."""
    if case.is_closed:
        raise ApiError(409, "case_closed", f"case {case.case_number} is closed")
    _accrue_interest(case, min(paid_on, now.date()))
    if amount > case.principal_remaining:
        raise ApiError(
            422,
            "amount_exceeds_principal",
            f"amount is more than the {kroner(case.principal_remaining)} principal still owed",
            "amount",
        )
    _allocate_principal(case, amount, reference)
    case.principal_paid += amount
    payment = DirectPayment(case_id=case.id, amount=amount, paid_on=paid_on, reference=reference, received_at=now)
    session.add(payment)
    _event(
        case,
        now,
        "DIRECT_PAYMENT",
        f"Kreditor har meldt direkte innbetaling på {kroner_text(amount)} kr ({paid_on.strftime('%d.%m.%Y')}).",
        now,
    )
    if case.principal_remaining == 0:
        _close(
            case, "CLOSED_PAID", "PAID_TO_CREDITOR", now, "Hovedstolen er betalt til kreditor. Saken er avsluttet.", now
        )
    session.flush()
    return payment


def close_case(case: Case, reason: str, now: datetime) -> None:
    if case.is_closed:
        raise ApiError(409, "case_closed", f"case {case.case_number} is already closed")
    _close(case, CLOSE_STATUS[reason], reason, now, f"Saken er avsluttet: {CLOSE_TEXTS[reason]}.", now)


def post_message(session: Session, timing: Timing, case: Case, author: str, text: str, now: datetime) -> Message:
    message = Message(
        case=case,
        at=now,
        direction="TO_HANDLER",
        author=author,
        text=text,
        reply_due_at=now + timing.reply_delay,
    )
    session.add(message)
    _event(case, now, "MESSAGE_TO_HANDLER", "Melding sendt til saksbehandler.", now)
    session.flush()
    return message


def _reply(session: Session, message: Message, now: datetime) -> None:
    at = message.reply_due_at
    assert at is not None
    message.reply_due_at = None
    case = message.case
    if case.is_closed:
        text = f"Takk for meldingen. Sak {case.case_number} er avsluttet; vi har notert meldingen i saken."
    else:
        text = (
            f"Takk for meldingen. Vi har notert den på sak {case.case_number} og følger opp skyldner. "
            f"Restbeløp nå: {kroner_text(case.total_remaining)} kr."
        )
    session.add(Message(case=case, at=at, direction="FROM_HANDLER", author=HANDLER, text=text))
    _event(case, at, "MESSAGE_FROM_HANDLER", "Svar fra saksbehandler.", now)


# --- settlements ---------------------------------------------------------------------------------------


def settle(session: Session, at: datetime, now: datetime) -> list[Settlement]:
    """One settlement per creditor of the debtor payments made up to `at` and not yet settled."""
    payments = session.scalars(
        select(DebtorPayment)
        .join(Case)
        .where(DebtorPayment.settlement_id.is_(None), DebtorPayment.paid_at <= at)
        .order_by(Case.creditor_id, DebtorPayment.id)
        .options(selectinload(DebtorPayment.allocations).selectinload(PaymentAllocation.invoice))
    ).all()
    by_creditor: dict[int, list[DebtorPayment]] = {}
    for payment in payments:
        by_creditor.setdefault(payment.case.creditor_id, []).append(payment)
    settlements = []
    for creditor_id, creditor_payments in by_creditor.items():
        settlement = Settlement(creditor_id=creditor_id, settled_on=at.date(), created_at=at)
        settlement.lines = list(_settlement_lines(creditor_payments))
        session.add(settlement)
        session.flush()
        for payment in creditor_payments:
            payment.settlement_id = settlement.id
        settlements.append(settlement)
    return settlements


def _settlement_lines(payments: Iterable[DebtorPayment]) -> Iterable[SettlementLine]:
    for payment in payments:
        case = payment.case
        parts: list[tuple[CaseInvoice, int]] = [(a.invoice, a.principal) for a in payment.allocations]
        if not parts:
            parts = [(case.invoices[0], 0)]
        for index, (invoice, principal) in enumerate(parts):
            # The creditor is owed the principal; the agency keeps fees and interest, shown on the first line.
            first = index == 0
            yield SettlementLine(
                case_number=case.case_number,
                creditor_ref=case.creditor_ref,
                invoice_no=invoice.invoice_no,
                match_no=invoice.match_no,
                principal=principal,
                fees=payment.fees if first else 0,
                interest=payment.interest if first else 0,
                payout=principal,
            )


def find_case(session: Session, case_number: str, creditor_id: int | None = None) -> Case | None:
    query = select(Case).where(Case.case_number == case_number)
    if creditor_id is not None:
        query = query.where(Case.creditor_id == creditor_id)
    return session.scalar(query)
