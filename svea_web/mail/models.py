"""Outgoing e-mail: every mail the app sends (or keeps in the local outbox), with its attachments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from svea_web.extensions import db
from svea_web.models_base import utcnow

MAIL_QUEUED = "queued"  # waiting for the send job (also after a transient error, until the retry)
MAIL_SENDING = "sending"  # claimed by one worker; nobody else may send it
MAIL_SENT = "sent"  # the SMTP server accepted it
MAIL_OUTBOX = "outbox"  # no SMTP server configured: kept in the local outbox instead
MAIL_FAILED = "failed"  # gave up; last_error says why, resend() queues it again
MAIL_STATES = (MAIL_QUEUED, MAIL_SENDING, MAIL_SENT, MAIL_OUTBOX, MAIL_FAILED)


class OutgoingMail(db.Model):  # type: ignore[name-defined]
    __tablename__ = "outgoing_mail"
    __table_args__ = (
        # A double click or a re-run job finds the mail already there instead of making a second one.
        UniqueConstraint("client_id", "dedupe_key"),
        Index("ix_outgoing_mail_client_created", "client_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    to_addr: Mapped[str] = mapped_column(String(254))
    reply_to: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(60), default="")
    object_type: Mapped[str | None] = mapped_column(String(60))
    object_id: Mapped[int | None]
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(10), default=MAIL_QUEUED)
    # Set once, before the first attempt, so that a retried send carries the same Message-ID.
    message_id: Mapped[str | None] = mapped_column(String(250))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]

    attachments: Mapped[list[MailAttachment]] = relationship(
        back_populates="mail", cascade="all, delete-orphan", order_by="MailAttachment.id"
    )

    def __repr__(self) -> str:
        return f"<OutgoingMail {self.id} {self.state}>"


class MailAttachment(db.Model):  # type: ignore[name-defined]
    __tablename__ = "mail_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    mail_id: Mapped[int] = mapped_column(ForeignKey("outgoing_mail.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    data: Mapped[bytes] = mapped_column(LargeBinary)

    mail: Mapped[OutgoingMail] = relationship(back_populates="attachments")

    @property
    def size(self) -> int:
        return len(self.data)
