"""Outgoing e-mail: queue a mail, send it once over SMTP (or keep it in the local outbox), resend.

How a feature sends a mail::

    mail = queue_mail(client_id, to, subject, body, dedupe_key=f"reminder:{post.id}:{step}")
    ...  # the feature's own changes
    db.session.commit()
    enqueue_send(mail.id)

queue_mail never commits: the mail is saved with the change it belongs to, or not at all. The job is
enqueued only after the commit, since a worker may run it at once. Two transactions that race on one
dedupe_key cannot both commit: the later one fails with IntegrityError at its flush or commit, and
calling queue_mail again after the rollback returns the mail the winner saved.

Without SMTP_HOST (the embedded default) a mail is not sent but kept in the local outbox, where the
user reads it in the app (/mail/outbox).
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from collections.abc import Iterable
from datetime import UTC, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from flask import current_app
from rq import Retry, get_current_job
from sqlalchemy import select, update

from svea_web import audit
from svea_web.extensions import db
from svea_web.jobs_queue import SMTP_RETRY, TransientJobError, enqueue
from svea_web.mail.models import (
    MAIL_FAILED,
    MAIL_OUTBOX,
    MAIL_QUEUED,
    MAIL_SENDING,
    MAIL_SENT,
    MailAttachment,
    OutgoingMail,
)
from svea_web.models_base import utcnow

log = logging.getLogger(__name__)

# A send that has been "sending" this long lost its worker (crash, kill): the user may send it again.
# It is never taken over automatically, since the server may have accepted it just before the crash.
STALE_SENDING = timedelta(minutes=15)
SMTP_TIMEOUT_SECONDS = 30


class MailNotResendable(Exception):
    """The mail is sent, in the outbox, or still on its way; sending it again could duplicate it."""


def queue_mail(
    client_id: int,
    to: str,
    subject: str,
    body: str,
    attachments: Iterable[tuple[str, str, bytes]] = (),
    purpose: str = "",
    object_type: str | None = None,
    object_id: int | None = None,
    dedupe_key: str | None = None,
    reply_to: str | None = None,
) -> OutgoingMail:
    """Add a mail in state queued to the session (flushed, not committed) and return it.

    ``attachments`` are (filename, content_type, data) triples. With a ``dedupe_key`` already used
    by this client, the existing mail is returned and nothing new is added.
    """
    if dedupe_key is not None:
        existing = db.session.scalar(
            select(OutgoingMail).where(OutgoingMail.client_id == client_id, OutgoingMail.dedupe_key == dedupe_key)
        )
        if existing is not None:
            return existing
    mail = OutgoingMail(
        client_id=client_id,
        to_addr=to.strip(),
        reply_to=reply_to,
        subject=subject,
        body=body,
        purpose=purpose,
        object_type=object_type,
        object_id=object_id,
        dedupe_key=dedupe_key,
        state=MAIL_QUEUED,
        message_id=make_msgid(domain=_sender_domain()),
    )
    mail.attachments = [
        MailAttachment(filename=filename, content_type=content_type, data=data)
        for filename, content_type, data in attachments
    ]
    db.session.add(mail)
    db.session.flush()
    return mail


def retry_policy() -> Retry:
    """jobs_queue.SMTP_RETRY (30 s, 2 min, 8 min, 32 min), or MAIL_RETRY_INTERVALS (seconds) when set."""
    intervals = current_app.config.get("MAIL_RETRY_INTERVALS")
    if intervals is None:
        return SMTP_RETRY
    return Retry(max=len(intervals), interval=list(intervals))


def enqueue_send(mail_id: int) -> None:
    """Start the send job for a committed mail. Safe to call twice: only one job can claim the mail."""
    from svea_web.mail import jobs

    enqueue(jobs.send_mail, mail_id, queue="default", retry=retry_policy(), job_timeout=SMTP_TIMEOUT_SECONDS * 4)


def _sender_domain() -> str:
    sender = str(current_app.config.get("MAIL_FROM") or "svea-web@localhost")
    return sender.rpartition("@")[2] or "localhost"


def build_message(mail: OutgoingMail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config.get("MAIL_FROM") or "svea-web@localhost"
    message["To"] = mail.to_addr
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.created_at.replace(tzinfo=UTC))
    message["Message-ID"] = mail.message_id or make_msgid(domain=_sender_domain())
    message.set_content(mail.body)
    for attachment in mail.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return message


def _smtp_send(message: EmailMessage) -> None:
    config = current_app.config
    host = str(config["SMTP_HOST"])
    port = int(config.get("SMTP_PORT") or 587)
    with smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        smtp.ehlo()
        if config.get("SMTP_STARTTLS", True):
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if config.get("SMTP_USERNAME"):
            smtp.login(str(config["SMTP_USERNAME"]), str(config.get("SMTP_PASSWORD") or ""))
        refused = smtp.send_message(message)
    if refused:
        raise smtplib.SMTPRecipientsRefused(refused)


def _is_transient(error: Exception) -> bool:
    """Worth another try later: no connection, a timeout, a dropped line or a 4xx answer."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _msg in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    return isinstance(error, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError | socket.timeout | OSError)


def describe_error(error: Exception) -> str:
    """The SMTP error as the user sees it: the server's code and text, or what went wrong on the line."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in sorted(error.recipients.items()))
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    if isinstance(error, ConnectionRefusedError):
        return f"Tilkoblingen til e-posttjeneren ble avvist ({error.strerror or error})"
    if isinstance(error, socket.timeout | TimeoutError):
        return "E-posttjeneren svarte ikke i tide"
    if isinstance(error, ssl.SSLError):
        return f"TLS-feil mot e-posttjeneren: {error}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _claim(mail_id: int) -> bool:
    """Move the mail from queued to sending in one statement, so that only one worker gets it."""
    now = utcnow()
    result = db.session.execute(
        update(OutgoingMail)
        .where(OutgoingMail.id == mail_id, OutgoingMail.state == MAIL_QUEUED)
        .values(state=MAIL_SENDING, claimed_at=now, attempts=OutgoingMail.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return bool(getattr(result, "rowcount", 0) == 1)


def _retries_left() -> bool:
    """True when RQ will run this job again after it raises (an inline queue never retries)."""
    if not current_app.config.get("RQ_IS_ASYNC", True):
        return False
    job = get_current_job()
    return bool(job is not None and job.retries_left)


class TransientMailError(TransientJobError):
    """Raised out of the job so that RQ retries it later; the mail is back in state queued."""


def deliver(mail_id: int) -> str:
    """Send one queued mail (or put it in the outbox) and return its new state.

    A mail that is not queued (sent, in the outbox, failed, or claimed by another worker) is left
    alone, so running this twice never sends twice.
    """
    if not _claim(mail_id):
        mail = db.session.get(OutgoingMail, mail_id)
        return mail.state if mail is not None else "missing"
    mail = db.session.get(OutgoingMail, mail_id)
    assert mail is not None
    if not current_app.config.get("SMTP_HOST"):
        mail.state = MAIL_OUTBOX
        mail.sent_at = utcnow()
        mail.last_error = None
        db.session.commit()
        log.info("mail %s kept in the local outbox (no SMTP_HOST)", mail.id)
        return mail.state
    try:
        message = build_message(mail)
        # No transaction may stay open across the network call: a slow server must not hold database locks.
        db.session.commit()
        _smtp_send(message)
    except (smtplib.SMTPException, OSError) as error:
        return _after_failure(mail, error)
    except Exception as error:
        # A bug, not the server: never leave the mail claimed forever; show the error and let RQ log it.
        db.session.rollback()
        _mark_failed(mail, describe_error(error))
        raise
    mail.state = MAIL_SENT
    mail.sent_at = utcnow()
    mail.last_error = None
    db.session.commit()
    log.info("mail %s sent", mail.id)
    return mail.state


def _after_failure(mail: OutgoingMail, error: Exception) -> str:
    text = describe_error(error)[:2000]
    mail.last_error = text
    if _is_transient(error) and _retries_left():
        mail.state = MAIL_QUEUED
        db.session.commit()
        log.warning("mail %s: transient SMTP error, will retry: %s", mail.id, text)
        raise TransientMailError(text) from error
    _mark_failed(mail, text)
    return mail.state


def _mark_failed(mail: OutgoingMail, text: str) -> None:
    mail.state = MAIL_FAILED
    mail.last_error = text
    mail.failed_at = utcnow()
    db.session.commit()
    log.warning("mail %s failed: %s", mail.id, text)


def is_stale(mail: OutgoingMail) -> bool:
    return mail.state == MAIL_SENDING and mail.claimed_at is not None and utcnow() - mail.claimed_at > STALE_SENDING


def can_resend(mail: OutgoingMail) -> bool:
    return mail.state == MAIL_FAILED or is_stale(mail)


def resend(mail_id: int, client_id: int | None = None) -> OutgoingMail:
    """Queue a failed (or lost) mail again and start its job. Sent mails are never sent again.

    ``client_id`` limits the lookup to one firm (pass it from a request; a job may leave it out).
    """
    query = select(OutgoingMail).where(OutgoingMail.id == mail_id)
    if client_id is not None:
        query = query.where(OutgoingMail.client_id == client_id)
    mail = db.session.scalar(query)
    if mail is None:
        raise LookupError(f"no mail {mail_id}")
    if not can_resend(mail):
        raise MailNotResendable(mail.state)
    # Conditional, like the claim: two resend clicks queue it once.
    result = db.session.execute(
        update(OutgoingMail)
        .where(OutgoingMail.id == mail.id, OutgoingMail.state == mail.state)
        .values(state=MAIL_QUEUED, failed_at=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        db.session.rollback()
        raise MailNotResendable("changed")
    audit.record(mail.client_id, "mail.resend", "outgoing_mail", mail.id, mail.subject)
    db.session.commit()
    enqueue_send(mail.id)
    db.session.refresh(mail)
    return mail


def state_label(mail: OutgoingMail) -> str:
    from flask_babel import gettext as _

    if is_stale(mail):
        return _("Stoppet under sending")
    labels = {
        MAIL_QUEUED: _("I kø"),
        MAIL_SENDING: _("Sendes"),
        MAIL_SENT: _("Sendt"),
        MAIL_OUTBOX: _("I lokal utboks"),
        MAIL_FAILED: _("Feilet"),
    }
    return labels.get(mail.state, mail.state)
