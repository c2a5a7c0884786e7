"""Innbetaling: payments, how they are allocated to posts, payment files, Svea settlements and reports."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from svea_web.extensions import db
from svea_web.ledger.models import Customer, CustomerPost
from svea_web.models_base import Money, utcnow

SOURCE_MANUAL = "manual"
SOURCE_OCR = "ocr"
SOURCE_CAMT054 = "camt054"
SOURCE_SVEA = "svea_settlement"
SOURCES = (SOURCE_MANUAL, SOURCE_OCR, SOURCE_CAMT054, SOURCE_SVEA)

# A payment is booked (its whole amount sits on posts or a credit), waits in the queue for manual
# matching, or was dismissed by an admin (not the firm's money, refunded, a bank reversal handled elsewhere).
PAYMENT_BOOKED = "booked"
PAYMENT_UNMATCHED = "unmatched"
PAYMENT_DISMISSED = "dismissed"
PAYMENT_STATES = (PAYMENT_BOOKED, PAYMENT_UNMATCHED, PAYMENT_DISMISSED)

# How a booked payment found its posts.
MATCH_KID = "kid"
MATCH_MATCH_NO = "match_no"
MATCH_MANUAL = "manual"
MATCH_SETTLEMENT = "settlement"

IMPORT_QUEUED = "queued"
IMPORT_RUNNING = "running"
IMPORT_DONE = "done"
IMPORT_FAILED = "failed"

REPORT_PENDING = "pending"  # waiting for the job, or for the case to get its case number
REPORT_SENT = "sent"
REPORT_FAILED = "failed"  # Svea refused it; the reason is shown on the payment and in the case history
REPORT_CANCELLED = "cancelled"  # reversed before it was sent, or the case never reached Svea


class PaymentImport(db.Model):  # type: ignore[name-defined]
    """One uploaded payment file (OCR giro or camt.054). The file is kept so that the job can read it."""

    __tablename__ = "payment_import"
    __table_args__ = (Index("ix_payment_import_client_sha", "client_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(10))  # ocr | camt054
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    # Both large (a 10,000-payment file is some megabytes of each): deferred, so that listing the imports
    # or refreshing one after a commit does not read the file and decode its JSON; only the job reads them.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    # The transactions as read when the file was checked on upload, so the job does not read it again.
    parsed: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, deferred=True)
    status: Mapped[str] = mapped_column(String(10), default=IMPORT_QUEUED)
    transactions: Mapped[int] = mapped_column(default=0)
    booked: Mapped[int] = mapped_column(default=0)
    matched_kid: Mapped[int] = mapped_column(default=0)
    matched_match_no: Mapped[int] = mapped_column(default=0)
    unmatched: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    ignored: Mapped[int] = mapped_column(default=0)  # debit entries in a camt.054: not payments to the firm
    total_amount: Mapped[Money] = mapped_column(default=Decimal("0"))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class Payment(db.Model):  # type: ignore[name-defined]
    """Money in: one bank transaction, one manual registration or one Svea settlement line."""

    __tablename__ = "payment"
    __table_args__ = (
        # A transaction's own identity (OCR record numbers, the bank's reference, Svea's settlement line):
        # the same file imported twice books nothing twice.
        UniqueConstraint("client_id", "source", "external_id"),
        Index("ix_payment_client_state", "client_id", "state"),
        Index("ix_payment_client_paid_on", "client_id", "paid_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    paid_on: Mapped[date]
    amount: Mapped[Money]
    kid: Mapped[str | None] = mapped_column(String(25))
    match_no: Mapped[str | None] = mapped_column(String(40))
    reference_text: Mapped[str | None] = mapped_column(Text)
    payer_name: Mapped[str | None] = mapped_column(String(200))
    payer_account: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(120))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("payment_import.id", ondelete="SET NULL"), index=True)
    state: Mapped[str] = mapped_column(String(10), default=PAYMENT_UNMATCHED)
    matched_by: Mapped[str | None] = mapped_column(String(12))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id", ondelete="SET NULL"), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer | None] = relationship()
    allocations: Mapped[list[PaymentAllocation]] = relationship(
        back_populates="payment", order_by="PaymentAllocation.id"
    )

    @property
    def active_allocations(self) -> list[PaymentAllocation]:
        return [a for a in self.allocations if a.reversed_at is None]


class PaymentAllocation(db.Model):  # type: ignore[name-defined]
    """Part of a payment booked on a post. Reversal keeps the row (who, when, why) and restores the post."""

    __tablename__ = "payment_allocation"
    __table_args__ = (Index("ix_allocation_post", "post_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id", ondelete="CASCADE"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("customer_post.id", ondelete="CASCADE"))
    amount: Mapped[Money]
    # True for the overpayment: the allocation that created the credit post (negative open amount).
    is_credit: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reversed_at: Mapped[datetime | None]
    reversed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reversal_reason: Mapped[str | None] = mapped_column(Text)

    payment: Mapped[Payment] = relationship(back_populates="allocations")
    post: Mapped[CustomerPost] = relationship()
    report: Mapped[DirectPaymentReport | None] = relationship(back_populates="allocation", uselist=False)


class DirectPaymentReport(db.Model):  # type: ignore[name-defined]
    """A payment booked on a post in a Svea case, to be (or already) reported to Svea as a direct payment."""

    __tablename__ = "direct_payment_report"
    __table_args__ = (Index("ix_direct_payment_report_client_state", "client_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    allocation_id: Mapped[int] = mapped_column(ForeignKey("payment_allocation.id", ondelete="CASCADE"), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("svea_case.id", ondelete="CASCADE"), index=True)
    amount: Mapped[Money]
    paid_on: Mapped[date]
    reference: Mapped[str | None] = mapped_column(String(100))
    # Stored once, so every retry sends the same key and Svea books the payment once.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(10), default=REPORT_PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    svea_payment_id: Mapped[int | None]
    svea_status: Mapped[str | None] = mapped_column(String(30))
    principal_remaining: Mapped[Money | None]
    closed_case: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    allocation: Mapped[PaymentAllocation] = relationship(back_populates="report")


class Settlement(db.Model):  # type: ignore[name-defined]
    """An oppgjør from Svea: what Svea collected, the principal paid out to the firm, what Svea kept."""

    __tablename__ = "svea_settlement"
    __table_args__ = (UniqueConstraint("client_id", "svea_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    svea_id: Mapped[int]
    settled_on: Mapped[date]
    principal_total: Mapped[Money]
    fees_total: Mapped[Money]
    interest_total: Mapped[Money]
    payout_total: Mapped[Money]
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)

    lines: Mapped[list[SettlementLine]] = relationship(
        back_populates="settlement", order_by="SettlementLine.line_no", cascade="all, delete-orphan"
    )


class SettlementLine(db.Model):  # type: ignore[name-defined]
    __tablename__ = "svea_settlement_line"
    __table_args__ = (UniqueConstraint("settlement_id", "line_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("svea_settlement.id", ondelete="CASCADE"))
    line_no: Mapped[int]
    case_number: Mapped[str] = mapped_column(String(40))
    creditor_ref: Mapped[str] = mapped_column(String(100))
    invoice_no: Mapped[str] = mapped_column(String(40))
    match_no: Mapped[str] = mapped_column(String(40))
    principal: Mapped[Money]
    fees: Mapped[Money]
    interest: Mapped[Money]
    payout: Mapped[Money]
    post_id: Mapped[int | None] = mapped_column(ForeignKey("customer_post.id", ondelete="SET NULL"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id", ondelete="SET NULL"))

    settlement: Mapped[Settlement] = relationship(back_populates="lines")
    post: Mapped[CustomerPost | None] = relationship()
    payment: Mapped[Payment | None] = relationship()
