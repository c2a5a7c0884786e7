"""The customer ledger (kundereskontro): customers and their posts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from svea_web.accounts.models import Client
from svea_web.extensions import db
from svea_web.models_base import Money, utcnow

KIND_PERSON = "person"
KIND_COMPANY = "company"
CUSTOMER_KINDS = (KIND_PERSON, KIND_COMPANY)

POST_INVOICE = "invoice"
POST_CREDIT_NOTE = "credit_note"
POST_FEE = "fee"
POST_KINDS = (POST_INVOICE, POST_CREDIT_NOTE, POST_FEE)

STATUS_OPEN = "open"
STATUS_PAID = "paid"
POST_STATUSES = (STATUS_OPEN, STATUS_PAID)


class Customer(db.Model):  # type: ignore[name-defined]
    __tablename__ = "customer"
    __table_args__ = (
        UniqueConstraint("client_id", "customer_no"),
        Index("ix_customer_client_name", "client_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    customer_no: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10), default=KIND_PERSON)
    org_no: Mapped[str | None] = mapped_column(String(9))
    national_id: Mapped[str | None] = mapped_column(String(11))
    address: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    client: Mapped[Client] = relationship()
    posts: Mapped[list[CustomerPost]] = relationship(back_populates="customer", order_by="CustomerPost.due_date")

    @property
    def masked_national_id(self) -> str | None:
        """Fødselsnummer shown and logged only as birth date + masked personal number."""
        if not self.national_id:
            return None
        return self.national_id[:6] + "*****"


class CustomerPost(db.Model):  # type: ignore[name-defined]
    """One item on a customer: an invoice, a credit note or a booked reminder fee."""

    __tablename__ = "customer_post"
    __table_args__ = (
        UniqueConstraint("client_id", "invoice_no"),
        # Covers the overdue lists and their totals without touching the table.
        # With the id in it, the index also gives the lists' order (due date, then id) without a sort.
        Index("ix_post_client_status_due", "client_id", "status", "due_date", "id", "open_amount"),
        Index("ix_post_client_customer", "client_id", "customer_id"),
        Index("ix_post_client_kid", "client_id", "kid"),
        Index("ix_post_client_match", "client_id", "match_no"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12), default=POST_INVOICE)
    invoice_no: Mapped[str] = mapped_column(String(40))
    match_no: Mapped[str] = mapped_column(String(40))
    kid: Mapped[str | None] = mapped_column(String(25))
    invoice_date: Mapped[date]
    due_date: Mapped[date]
    amount: Mapped[Money]
    open_amount: Mapped[Money]
    currency: Mapped[str] = mapped_column(String(3), default="NOK")
    status: Mapped[str] = mapped_column(String(10), default=STATUS_OPEN)
    text: Mapped[str | None] = mapped_column(Text)
    # In-app dunning state (the last step sent and its deadline).
    reminder_step: Mapped[int] = mapped_column(default=0)
    last_reminder_at: Mapped[date | None]
    reminder_deadline: Mapped[date | None]
    paused_until: Mapped[date | None]
    pause_reason: Mapped[str | None] = mapped_column(String(200))
    paused: Mapped[bool] = mapped_column(default=False)
    # The Svea case currently holding this post, and the case number Svea gave it (Svea reference).
    svea_case_id: Mapped[int | None] = mapped_column(
        ForeignKey("svea_case.id", ondelete="SET NULL", use_alter=True), index=True
    )
    svea_reference: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="posts")

    @property
    def is_open(self) -> bool:
        return self.status == STATUS_OPEN and self.open_amount != Decimal("0")

    def days_overdue(self, today: date) -> int:
        return max(0, (today - self.due_date).days)


class ImportBatch(db.Model):  # type: ignore[name-defined]
    """One imported file (CSV of customers and posts); kept for the history and progress."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20), default="csv")
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    total_rows: Mapped[int] = mapped_column(default=0)
    done_rows: Mapped[int] = mapped_column(default=0)
    customers_created: Mapped[int] = mapped_column(default=0)
    customers_updated: Mapped[int] = mapped_column(default=0)
    posts_created: Mapped[int] = mapped_column(default=0)
    posts_updated: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    # The first rows as understood and the bad rows (line, reason), shown in the preview.
    preview: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    row_errors: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
