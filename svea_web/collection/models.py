"""Cases handed to Svea, their posts, history, letters and messages."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from svea_web.extensions import db
from svea_web.ledger.models import Customer, CustomerPost
from svea_web.models_base import Money, utcnow

LEVEL_PURRING = "purring"
LEVEL_INKASSO = "inkasso"
LEVELS = (LEVEL_PURRING, LEVEL_INKASSO)

# The app's own view of a case's life; Svea's status is kept beside it in ``svea_status``.
CASE_PENDING = "pending"  # created in the app, job queued
CASE_SUBMITTED = "submitted"  # Svea answered with a request id, not yet confirmed
CASE_OPEN = "open"  # confirmed with a case number
CASE_REJECTED = "rejected"  # Svea rejected the request (reason in last_error)
CASE_FAILED = "failed"  # a job gave up (reason in last_error); retry possible
CASE_CLOSED = "closed"
CASE_STATES = (CASE_PENDING, CASE_SUBMITTED, CASE_OPEN, CASE_REJECTED, CASE_FAILED, CASE_CLOSED)
ACTIVE_CASE_STATES = (CASE_PENDING, CASE_SUBMITTED, CASE_OPEN, CASE_FAILED)

# SveaCase.close_status: closing sent to Svea by a job, or the job gave up.
CLOSE_PENDING = "pending"
CLOSE_FAILED = "failed"

MESSAGE_PENDING = "pending"
MESSAGE_SENT = "sent"
MESSAGE_FAILED = "failed"
MESSAGE_RECEIVED = "received"

SYNC_IDLE = "idle"
SYNC_QUEUED = "queued"
SYNC_RUNNING = "running"
SYNC_FAILED = "failed"


class SveaCase(db.Model):  # type: ignore[name-defined]
    __tablename__ = "svea_case"
    __table_args__ = (
        UniqueConstraint("client_id", "case_number"),
        Index("ix_svea_case_client_state", "client_id", "state", "created_at"),
        Index("ix_svea_case_client_batch", "client_id", "batch_key"),
        Index("ix_svea_case_client_request", "client_id", "request_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    level: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(12), default=CASE_PENDING)
    svea_status: Mapped[str | None] = mapped_column(String(30))
    # Sent with POST /cases; unique so that one case can never be submitted as two.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    request_id: Mapped[str | None] = mapped_column(String(64))
    case_number: Mapped[str | None] = mapped_column(String(40))
    submitted_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(40))
    close_requested_at: Mapped[datetime | None]
    # A close sent to Svea by a job: pending while the job runs, failed when it gave up (retry possible).
    close_status: Mapped[str | None] = mapped_column(String(10))
    close_idempotency_key: Mapped[str | None] = mapped_column(String(64))
    close_attempts: Mapped[int] = mapped_column(default=0)
    # The cases marked together share a batch key: the progress bar of one bulk submission.
    batch_key: Mapped[str | None] = mapped_column(String(32))
    # When the submitted request's status was last asked for (rejections only show there).
    request_checked_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    principal_original: Mapped[Money] = mapped_column(default=Decimal("0"))
    principal_paid: Mapped[Money] = mapped_column(default=Decimal("0"))
    principal_remaining: Mapped[Money] = mapped_column(default=Decimal("0"))
    fees_remaining: Mapped[Money] = mapped_column(default=Decimal("0"))
    interest_remaining: Mapped[Money] = mapped_column(default=Decimal("0"))
    last_event_at: Mapped[datetime | None]
    svea_updated_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship()
    links: Mapped[list[CasePost]] = relationship(back_populates="case", cascade="all, delete-orphan")
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.at", cascade="all, delete-orphan"
    )

    @property
    def free_withdrawal_until(self) -> date | None:
        """Svea's terms: withdrawal is free within 40 days of handover."""
        handed_over = self.acknowledged_at or self.submitted_at
        return (handed_over + timedelta(days=40)).date() if handed_over else None


class CasePost(db.Model):  # type: ignore[name-defined]
    """A post handed over in a case. A post is active in at most one case (partial unique index)."""

    __tablename__ = "case_post"
    __table_args__ = (
        UniqueConstraint("case_id", "post_id"),
        # A post's cases, active or not (the archive's invoice search, earlier cases in Nye saker).
        Index("ix_case_post_post", "post_id"),
        Index(
            "uq_case_post_active_post",
            "post_id",
            unique=True,
            sqlite_where=text("active = 1"),
            postgresql_where=text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("svea_case.id", ondelete="CASCADE"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("customer_post.id", ondelete="CASCADE"))
    active: Mapped[bool] = mapped_column(default=True)
    amount_at_handover: Mapped[Money]

    case: Mapped[SveaCase] = relationship(back_populates="links")
    post: Mapped[CustomerPost] = relationship()


class CaseEvent(db.Model):  # type: ignore[name-defined]
    """The case's history: every event from Svea and from the app."""

    __tablename__ = "case_event"
    __table_args__ = (UniqueConstraint("case_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("svea_case.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(10), default="app")  # app | svea
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text, default="")
    external_id: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    case: Mapped[SveaCase] = relationship(back_populates="events")


class Dispatch(db.Model):  # type: ignore[name-defined]
    """A letter Svea sent to the debtor (utsendelse)."""

    __tablename__ = "dispatch"
    __table_args__ = (UniqueConstraint("case_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("svea_case.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200), default="")
    sent_at: Mapped[datetime]
    deadline: Mapped[date | None]
    fee_charged: Mapped[Money | None]
    total_due: Mapped[Money | None]


MESSAGE_OUT = "out"
MESSAGE_IN = "in"


class CaseMessage(db.Model):  # type: ignore[name-defined]
    """A message to or from Svea's case handler."""

    __tablename__ = "case_message"
    __table_args__ = (UniqueConstraint("case_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("svea_case.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(3))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(10), default="pending")  # pending | sent | failed | received
    external_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # Outgoing messages: sent with this key, so a retried job cannot post the message twice.
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    author: Mapped[str | None] = mapped_column(String(200))


class SyncState(db.Model):  # type: ignore[name-defined]
    """Per client firm: how far the delta poll and the settlement cursor have come."""

    __tablename__ = "sync_state"

    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), primary_key=True)
    updated_since: Mapped[datetime | None]
    last_synced_at: Mapped[datetime | None]
    last_settlement_id: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(12), default="idle")  # idle | queued | running | failed
    last_error: Mapped[str | None] = mapped_column(Text)
    # When the current sync was asked for: a sync queued longer ago than that is presumed lost.
    requested_at: Mapped[datetime | None]


# Nye saker filters the ledger by these columns only (see eligibility.py): equalities first, then the
# due-date range, and the rest carried along, so counting the candidates among 100,000 posts reads this
# index alone and never the table. The pause columns come after the due date: a pause is read from both
# (a dated pause by its resume day, an undated one by the flag), which is no equality to seek by.
# Declared here, beside the query that needs it.
Index(
    "ix_post_svea_candidates",
    CustomerPost.client_id,
    CustomerPost.status,
    CustomerPost.kind,
    CustomerPost.svea_case_id,
    CustomerPost.due_date,
    CustomerPost.open_amount,
    CustomerPost.customer_id,
    CustomerPost.reminder_step,
    CustomerPost.reminder_deadline,
    CustomerPost.paused,
    CustomerPost.paused_until,
)
# The same candidates by customer: a page of grouped rows (Gruppere poster) fetches its customers' posts.
Index(
    "ix_post_svea_candidates_customer",
    CustomerPost.client_id,
    CustomerPost.status,
    CustomerPost.kind,
    CustomerPost.svea_case_id,
    CustomerPost.customer_id,
    CustomerPost.due_date,
    CustomerPost.open_amount,
    CustomerPost.reminder_step,
    CustomerPost.reminder_deadline,
    CustomerPost.paused,
    CustomerPost.paused_until,
)
