"""In-app reminder runs (purring): the run, each step sent on a post, the letters, customer pauses.

The post's own dunning columns (CustomerPost.reminder_step, reminder_deadline, last_reminder_at,
paused, paused_until, pause_reason) are kept up to date by the run so that other features (Nye saker)
can read them without joining these tables. ``paused_until`` follows svea_web.rules.dunning: it is
the day dunning resumes, and ``paused`` without a date means until lifted.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import JSON, ColumnElement, ForeignKey, Index, Numeric, String, UniqueConstraint, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from svea_web.accounts.models import User
from svea_web.extensions import db
from svea_web.ledger.models import Customer, CustomerPost
from svea_web.mail.models import OutgoingMail
from svea_web.models_base import Money, utcnow

RUN_PREVIEW = "preview"
# Confirmed by the user; the job applying it is queued or running.
RUN_CONFIRMING = "confirming"
RUN_CONFIRMED = "confirmed"
RUN_STATES = (RUN_PREVIEW, RUN_CONFIRMING, RUN_CONFIRMED)

# Why the job handed a run back to preview instead of applying it.
PROBLEM_CHANGED: Final = "changed"  # the ledger changed since the preview the user confirmed
PROBLEM_NOTHING: Final = "nothing"  # no post gets a step any more
PROBLEM_NO_ACCOUNT: Final = "no_account"  # the letters' account number was removed meanwhile
PROBLEM_FAILED: Final = "failed"  # the job failed; nothing of the run was kept

STEP_REMINDER = "reminder"
STEP_NOTICE = "notice"
STEP_KINDS = (STEP_REMINDER, STEP_NOTICE)


class ReminderRun(db.Model):  # type: ignore[name-defined]
    """One reminder run for a date. Confirming moves it preview -> confirming (the request, a
    conditional UPDATE) -> confirmed (the job, a conditional UPDATE in the transaction that applies
    it), so it is applied exactly once; the unique step per (post, step_no) stops two runs stepping
    one post twice. A job that cannot apply it hands it back to preview with ``confirm_problem``."""

    __tablename__ = "reminder_run"
    __table_args__ = (Index("ix_reminder_run_client_state_date", "client_id", "state", "run_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    run_date: Mapped[date]
    state: Mapped[str] = mapped_column(String(10), default=RUN_PREVIEW)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    confirmed_at: Mapped[datetime | None]
    # The preview digest the user confirmed; the job applies the run only if it still matches.
    confirm_digest: Mapped[str | None] = mapped_column(String(64))
    confirm_problem: Mapped[str | None] = mapped_column(String(20))
    # Totals written on confirm, so the history lists runs without summing their steps.
    step_count: Mapped[int] = mapped_column(default=0)
    letter_count: Mapped[int] = mapped_column(default=0)
    fee_total: Mapped[Money] = mapped_column(default=Decimal("0"))
    amount_total: Mapped[Money] = mapped_column(default=Decimal("0"))

    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    @property
    def is_confirmed(self) -> bool:
        return self.state == RUN_CONFIRMED

    @property
    def is_confirming(self) -> bool:
        return self.state == RUN_CONFIRMING


class ReminderLetter(db.Model):  # type: ignore[name-defined]
    """One letter to one customer in a run: all its posts that got a step of one kind.

    A reminder and a collection notice never share a letter: the notice must read as a notice of
    collection (inkassoloven § 9), not as a reminder. ``content`` is the frozen text data the
    printable page and the PDF are made from, so a letter reads the same years later.
    """

    __tablename__ = "reminder_letter"
    __table_args__ = (UniqueConstraint("run_id", "customer_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("reminder_run.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    email: Mapped[str | None] = mapped_column(String(254))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    amount_due: Mapped[Money] = mapped_column(default=Decimal("0"))
    # The OutgoingMail carrying the PDF (svea_web.mail); None for letters without an e-mail address
    # or not yet queued by the job.
    mail_id: Mapped[int | None] = mapped_column(ForeignKey("outgoing_mail.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    run: Mapped[ReminderRun] = relationship()
    customer: Mapped[Customer] = relationship()
    mail: Mapped[OutgoingMail | None] = relationship()


class ReminderStep(db.Model):  # type: ignore[name-defined]
    """A reminder or collection notice sent on one post in a confirmed run."""

    __tablename__ = "reminder_step"
    __table_args__ = (
        UniqueConstraint("post_id", "step_no"),
        Index("ix_reminder_step_client_post", "client_id", "post_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(ForeignKey("reminder_run.id", ondelete="CASCADE"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("customer_post.id", ondelete="CASCADE"))
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("reminder_letter.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    step_no: Mapped[int]
    sent_on: Mapped[date]
    deadline: Mapped[date]
    principal: Mapped[Money]
    fee: Mapped[Money] = mapped_column(default=Decimal("0"))
    fee_post_id: Mapped[int | None] = mapped_column(ForeignKey("customer_post.id", ondelete="SET NULL"))
    interest_until_run: Mapped[Money] = mapped_column(default=Decimal("0"))
    interest_rate: Mapped[Decimal | None] = mapped_column(Numeric(6, 2, asdecimal=True))
    amount_due: Mapped[Money] = mapped_column(default=Decimal("0"))

    run: Mapped[ReminderRun] = relationship()
    post: Mapped[CustomerPost] = relationship(foreign_keys=[post_id])
    letter: Mapped[ReminderLetter | None] = relationship()


class CustomerPause(db.Model):  # type: ignore[name-defined]
    """Purrestopp for every post of a customer, also posts imported later.

    ``paused_until`` is the day dunning resumes (None: until lifted), as for CustomerPost.
    """

    __tablename__ = "customer_pause"
    __table_args__ = (UniqueConstraint("customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(200))
    paused_until: Mapped[date | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship()

    @staticmethod
    def in_force_on(day: date) -> ColumnElement[bool]:
        """The pauses that hold on ``day``: undated ones, and dated ones before their resume day."""
        return or_(CustomerPause.paused_until.is_(None), CustomerPause.paused_until > day)


class LetterSettings(db.Model):  # type: ignore[name-defined]
    """What the firm's reminder letters print as payment details (the client firm has no account number)."""

    __tablename__ = "reminder_letter_settings"

    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), primary_key=True)
    # 11 digits, MOD11 (stdnum.no.kontonr); printed as 1234.56.78903.
    account_no: Mapped[str | None] = mapped_column(String(11))
    # Where a debtor's reply goes; empty means the firm's e-mail address.
    reply_to: Mapped[str | None] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
