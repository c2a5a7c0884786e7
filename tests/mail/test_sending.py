"""Sending mail: over a real SMTP server (aiosmtpd), once only, retried when the server is down."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from rq import Queue, SimpleWorker

from svea_web.extensions import db
from svea_web.jobs_queue import get_redis
from svea_web.mail import services
from svea_web.mail.models import OutgoingMail
from svea_web.models_base import utcnow
from tests.mail.smtp import SmtpServer, running_smtp_server, self_signed_certificate


def _queue(firm, **fields) -> OutgoingMail:  # noqa: ANN001
    values = {"to": "hamar@sveafinans.no", "subject": "Bestilling av avtale", "body": "Hei Svea,\nvi ønsker avtale."}
    values.update(fields)
    mail = services.queue_mail(firm.client.id, **values)
    db.session.commit()
    return mail


@pytest.mark.all_backends
def test_queued_mail_is_delivered_over_smtp_with_its_attachment(app: Flask, firm, smtp: SmtpServer) -> None:
    mail = _queue(
        firm, attachments=[("purring-50001.pdf", "application/pdf", b"%PDF-1.4 test")], reply_to="kari@nordlys.no"
    )

    services.enqueue_send(mail.id)

    assert len(smtp.messages) == 1
    received = smtp.messages[0]
    assert received.rcpt_tos == ["hamar@sveafinans.no"]
    assert received.message["Subject"] == "Bestilling av avtale"
    assert received.message["Reply-To"] == "kari@nordlys.no"
    assert received.message["Message-ID"] == mail.message_id
    body = received.message.get_body(("plain",))
    assert body is not None and "vi ønsker avtale" in body.get_content()
    attachments = list(received.message.iter_attachments())
    assert [(a.get_filename(), a.get_content_type(), a.get_content()) for a in attachments] == [
        ("purring-50001.pdf", "application/pdf", b"%PDF-1.4 test")
    ]
    db.session.refresh(mail)
    assert mail.state == "sent" and mail.sent_at is not None and mail.last_error is None


@pytest.mark.all_backends
def test_same_dedupe_key_gives_the_same_mail_and_one_message(app: Flask, firm, smtp: SmtpServer) -> None:
    first = _queue(firm, dedupe_key="access-order:abc")
    second = _queue(firm, dedupe_key="access-order:abc", subject="Annet emne")

    services.enqueue_send(first.id)
    services.enqueue_send(second.id)

    assert first.id == second.id
    assert db.session.query(OutgoingMail).count() == 1
    assert len(smtp.messages) == 1


def test_dedupe_key_is_per_firm(app: Flask, make_firm) -> None:
    one, two = make_firm("En AS"), make_firm("To AS")
    a = _queue(one, dedupe_key="same")
    b = _queue(two, dedupe_key="same")
    assert a.id != b.id


def test_queue_mail_does_not_commit(app: Flask, firm) -> None:
    services.queue_mail(firm.client.id, "a@b.no", "Emne", "Tekst")
    db.session.rollback()
    assert db.session.query(OutgoingMail).count() == 0


def test_a_sent_mail_is_never_sent_again(app: Flask, firm, smtp: SmtpServer) -> None:
    mail = _queue(firm)
    assert services.deliver(mail.id) == "sent"
    assert services.deliver(mail.id) == "sent"
    with pytest.raises(services.MailNotResendable):
        services.resend(mail.id)
    assert len(smtp.messages) == 1


@pytest.mark.all_backends
def test_a_mail_claimed_by_another_worker_is_left_alone(app: Flask, firm, smtp: SmtpServer) -> None:
    mail = _queue(firm)
    mail.state, mail.claimed_at = "sending", utcnow()
    db.session.commit()

    assert services.deliver(mail.id) == "sending"
    assert smtp.messages == []
    with pytest.raises(services.MailNotResendable):
        services.resend(mail.id)


def test_a_send_that_lost_its_worker_can_be_resent_by_the_user(app: Flask, firm, smtp: SmtpServer) -> None:
    mail = _queue(firm)
    mail.state, mail.claimed_at = "sending", utcnow() - timedelta(hours=1)
    db.session.commit()
    assert services.is_stale(mail)

    services.resend(mail.id)

    assert len(smtp.messages) == 1
    assert db.session.get(OutgoingMail, mail.id).state == "sent"


def test_without_smtp_host_the_mail_goes_to_the_local_outbox(app: Flask, firm, smtp_server: SmtpServer) -> None:
    assert not app.config["SMTP_HOST"]
    mail = _queue(firm)

    services.enqueue_send(mail.id)

    db.session.refresh(mail)
    assert mail.state == "outbox" and mail.sent_at is not None
    assert smtp_server.messages == []


@pytest.mark.all_backends
def test_smtp_down_marks_the_mail_failed_and_resend_sends_it(app: Flask, firm, smtp_down) -> None:
    mail = _queue(firm)

    services.enqueue_send(mail.id)

    db.session.refresh(mail)
    assert mail.state == "failed"
    assert "avvist" in mail.last_error and "Connection refused" in mail.last_error

    with running_smtp_server() as server:
        app.config["SMTP_PORT"] = server.port
        services.resend(mail.id, firm.client.id)
        assert len(server.messages) == 1
    db.session.refresh(mail)
    assert mail.state == "sent" and mail.last_error is None and mail.attempts == 2


def test_a_refused_recipient_fails_at_once_with_the_server_answer(app: Flask, firm, smtp: SmtpServer) -> None:
    smtp.recorder.refused_recipients.add("finnes.ikke@sveafinans.no")
    mail = _queue(firm, to="finnes.ikke@sveafinans.no")

    services.enqueue_send(mail.id)

    db.session.refresh(mail)
    assert mail.state == "failed"
    assert "550" in mail.last_error and "Ukjent mottaker" in mail.last_error
    assert smtp.messages == []


@pytest.fixture
def async_queue(app: Flask) -> Queue:
    """Jobs go to Redis and a real RQ worker runs them, with RQ's retries (no delay between tries)."""
    app.config.update(RQ_IS_ASYNC=True, MAIL_RETRY_INTERVALS=[0, 0])
    queue = Queue("default", connection=get_redis())
    queue.empty()
    return queue


def _run_worker(queue: Queue) -> None:
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def test_a_temporary_smtp_error_is_retried_by_the_worker(
    app: Flask, firm, smtp: SmtpServer, async_queue: Queue
) -> None:
    smtp.fail_next(1)
    mail = _queue(firm)

    services.enqueue_send(mail.id)
    _run_worker(async_queue)

    assert len(smtp.messages) == 1
    db.session.refresh(mail)
    assert mail.state == "sent" and mail.attempts == 2


def test_giving_up_after_the_retries_marks_the_mail_failed(
    app: Flask, firm, smtp: SmtpServer, async_queue: Queue
) -> None:
    smtp.fail_next(10)
    mail = _queue(firm)

    services.enqueue_send(mail.id)
    _run_worker(async_queue)

    db.session.refresh(mail)
    assert mail.state == "failed" and mail.attempts == 3
    assert mail.last_error.startswith("451") and "prøv igjen" in mail.last_error
    assert smtp.messages == []


def test_starttls_and_login_are_used_when_configured(app: Flask, firm, tmp_path, monkeypatch) -> None:
    cert, key = self_signed_certificate(tmp_path)
    # The client checks the server certificate against the system's trust store; trust the test's own.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with running_smtp_server(tls_files=(cert, key), users={"svea-web": "hemmelig-smtp"}) as server:
        app.config.update(
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=server.port,
            SMTP_STARTTLS=True,
            SMTP_USERNAME="svea-web",
            SMTP_PASSWORD="hemmelig-smtp",
        )
        mail = _queue(firm)
        services.enqueue_send(mail.id)
        assert [m.authenticated_as for m in server.messages] == ["svea-web"]


def test_wrong_smtp_password_fails_with_the_server_answer(app: Flask, firm, tmp_path, monkeypatch) -> None:
    cert, key = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with running_smtp_server(tls_files=(cert, key), users={"svea-web": "hemmelig-smtp"}) as server:
        app.config.update(
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=server.port,
            SMTP_STARTTLS=True,
            SMTP_USERNAME="svea-web",
            SMTP_PASSWORD="feil",
        )
        mail = _queue(firm)
        services.enqueue_send(mail.id)
        db.session.refresh(mail)
        assert mail.state == "failed" and mail.last_error.startswith("535")
        assert server.messages == []
