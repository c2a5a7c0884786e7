"""The sandbox agency's own records, in its own database (never the app's).

Money is stored as integer øre: SQLite has no exact decimal type, and the agency never needs fractions of
an øre. Times are naive UTC datetimes on the sandbox clock.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

OPEN_STATUSES = ("REGISTERED", "PURRING", "INKASSOVARSEL", "BETALINGSOPPFORDRING", "RETTSLIG", "PAUSED", "SURVEILLANCE")
CLOSED_STATUSES = ("CLOSED_PAID", "CLOSED_WITHDRAWN", "CLOSED_CREDITED")


class Base(DeclarativeBase):
    pass


class SandboxState(Base):
    """One row: the sandbox clock and how far its state machine has run."""

    __tablename__ = "sandbox_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    clock_offset_seconds: Mapped[float] = mapped_column(default=0.0)
    processed_until: Mapped[datetime]
    random_payments_seed: Mapped[int | None]
    random_payment_probability: Mapped[float] = mapped_column(default=0.3)


class Creditor(Base):
    __tablename__ = "creditor"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_no: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    username: Mapped[str] = mapped_column(String(100))
    password_salt: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(64))

    def set_password(self, password: str) -> None:
        # A fast salted hash, not a slow KDF: every API call is authenticated, and these are
        # sandbox credentials guarding sandbox data.
        self.password_salt = secrets.token_hex(16)
        self.password_hash = _hash_password(self.password_salt, password)

    def check_password(self, password: str) -> bool:
        return hmac.compare_digest(self.password_hash, _hash_password(self.password_salt, password))


def _hash_password(salt: str, password: str) -> str:
    return hashlib.sha256(f"{salt}:{password}".encode()).hexdigest()


class IdempotencyRecord(Base):
    """The stored answer to a POST made with an Idempotency-Key; the unique constraint makes replays safe."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("creditor_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditor.id"))
    key: Mapped[str] = mapped_column(String(255))
    endpoint: Mapped[str] = mapped_column(String(200))
    status_code: Mapped[int] = mapped_column(default=0)
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class CaseRequest(Base):
    """A submitted case, waiting for the agency to confirm or reject it."""

    __tablename__ = "case_request"
    __table_args__ = (Index("ix_case_request_pending", "status", "decide_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(String(40), unique=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditor.id"))
    creditor_ref: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(20))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="PENDING")
    reason_code: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]
    decide_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    case_id: Mapped[int | None] = mapped_column(ForeignKey("svea_case.id"))

    case: Mapped[Case | None] = relationship()


class Case(Base):
    __tablename__ = "svea_case"
    __table_args__ = (Index("ix_case_creditor_updated", "creditor_id", "updated_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_number: Mapped[str] = mapped_column(String(20), unique=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditor.id"))
    request_id: Mapped[str] = mapped_column(String(40))
    creditor_ref: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30))
    debtor: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(30))
    principal_original: Mapped[int] = mapped_column(default=0)
    principal_paid: Mapped[int] = mapped_column(default=0)
    fees_original: Mapped[int] = mapped_column(default=0)
    fees_paid: Mapped[int] = mapped_column(default=0)
    interest_original: Mapped[int] = mapped_column(default=0)
    interest_paid: Mapped[int] = mapped_column(default=0)
    interest_accrued_until: Mapped[date | None]
    steps_done: Mapped[int] = mapped_column(default=0)
    next_step_at: Mapped[datetime | None] = mapped_column(index=True)
    scheduled_payment_at: Mapped[datetime | None] = mapped_column(index=True)
    scheduled_payment: Mapped[int | None]

    creditor: Mapped[Creditor] = relationship()
    invoices: Mapped[list[CaseInvoice]] = relationship(order_by="CaseInvoice.id", back_populates="case")
    events: Mapped[list[CaseEvent]] = relationship(order_by="CaseEvent.id", back_populates="case")

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    @property
    def principal_remaining(self) -> int:
        return self.principal_original - self.principal_paid

    @property
    def fees_remaining(self) -> int:
        return self.fees_original - self.fees_paid

    @property
    def interest_remaining(self) -> int:
        return self.interest_original - self.interest_paid

    @property
    def total_remaining(self) -> int:
        return self.principal_remaining + self.fees_remaining + self.interest_remaining


class CaseInvoice(Base):
    __tablename__ = "case_invoice"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("svea_case.id"), index=True)
    invoice_no: Mapped[str] = mapped_column(String(40))
    match_no: Mapped[str] = mapped_column(String(40))
    kid: Mapped[str | None] = mapped_column(String(30))
    invoice_date: Mapped[date]
    due_date: Mapped[date]
    amount: Mapped[int]
    remaining: Mapped[int]

    case: Mapped[Case] = relationship(back_populates="invoices")


class CaseEvent(Base):
    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("svea_case.id"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)

    case: Mapped[Case] = relationship(back_populates="events")


class Dispatch(Base):
    """A letter sent to the debtor; its PDF is rendered from this snapshot whenever it is fetched."""

    __tablename__ = "dispatch"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("svea_case.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    sent_at: Mapped[datetime]
    deadline: Mapped[date]
    fee_charged: Mapped[int]
    principal_due: Mapped[int]
    fees_due: Mapped[int]
    interest_due: Mapped[int]
    invoice_lines: Mapped[str] = mapped_column(Text)

    case: Mapped[Case] = relationship()

    @property
    def total_due(self) -> int:
        return self.principal_due + self.fees_due + self.interest_due


class Message(Base):
    __tablename__ = "message"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("svea_case.id"), index=True)
    at: Mapped[datetime]
    direction: Mapped[str] = mapped_column(String(20))
    author: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    reply_due_at: Mapped[datetime | None] = mapped_column(index=True)

    case: Mapped[Case] = relationship()


class DebtorPayment(Base):
    """Money the debtor paid to the agency; settled to the creditor later."""

    __tablename__ = "debtor_payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("svea_case.id"), index=True)
    paid_at: Mapped[datetime]
    amount: Mapped[int]
    fees: Mapped[int]
    interest: Mapped[int]
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("settlement.id"), index=True)

    case: Mapped[Case] = relationship()
    allocations: Mapped[list[PaymentAllocation]] = relationship(order_by="PaymentAllocation.id")


class PaymentAllocation(Base):
    """The part of a debtor payment that went to one invoice's principal."""

    __tablename__ = "payment_allocation"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("debtor_payment.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("case_invoice.id"))
    principal: Mapped[int]

    invoice: Mapped[CaseInvoice] = relationship()


class DirectPayment(Base):
    """A payment the debtor made straight to the creditor, reported by the creditor."""

    __tablename__ = "direct_payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("svea_case.id"), index=True)
    amount: Mapped[int]
    paid_on: Mapped[date]
    reference: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime]


class Settlement(Base):
    __tablename__ = "settlement"

    id: Mapped[int] = mapped_column(primary_key=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditor.id"), index=True)
    settled_on: Mapped[date]
    created_at: Mapped[datetime]

    lines: Mapped[list[SettlementLine]] = relationship(order_by="SettlementLine.id")


class SettlementLine(Base):
    __tablename__ = "settlement_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlement.id"), index=True)
    case_number: Mapped[str] = mapped_column(String(20))
    creditor_ref: Mapped[str] = mapped_column(String(100))
    invoice_no: Mapped[str] = mapped_column(String(40))
    match_no: Mapped[str] = mapped_column(String(40))
    principal: Mapped[int]
    fees: Mapped[int]
    interest: Mapped[int]
    payout: Mapped[int]
