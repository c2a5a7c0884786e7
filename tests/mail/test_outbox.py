"""The outbox page: the current firm's mails only, one mail with its attachments, resend."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from svea_web.accounts.models import Client
from svea_web.extensions import db
from svea_web.mail import services
from svea_web.mail.models import OutgoingMail
from tests.mail.conftest import csrf_token


def _mail(client_id: int, subject: str, **fields: Any):  # noqa: ANN202
    mail = services.queue_mail(client_id, "hamar@sveafinans.no", subject, "Tekst i e-posten", **fields)
    db.session.commit()
    services.enqueue_send(mail.id)
    return mail


def test_outbox_lists_the_firms_mails_kept_locally(app: Flask, firm, logged_in: FlaskClient) -> None:
    _mail(firm.client.id, "Bestilling av Svea-avtale")

    page = logged_in.get("/mail/outbox").get_data(as_text=True)

    assert "Bestilling av Svea-avtale" in page
    assert "I lokal utboks" in page
    assert "Ingen e-posttjener er satt opp" in page


def test_another_firms_mail_is_not_listed_and_is_404(app: Flask, firm, make_firm, logged_in: FlaskClient) -> None:
    other = make_firm("Annen Klient AS")
    theirs = _mail(other.client.id, "Hemmelig for andre")

    assert "Hemmelig for andre" not in logged_in.get("/mail/outbox").get_data(as_text=True)
    assert logged_in.get(f"/mail/outbox/{theirs.id}").status_code == 404
    assert logged_in.post(f"/mail/outbox/{theirs.id}/resend").status_code == 404


def test_one_mail_shows_its_body_and_its_attachment_downloads(app: Flask, firm, logged_in: FlaskClient) -> None:
    mail = _mail(firm.client.id, "Purring", attachments=[("purring.pdf", "application/pdf", b"%PDF-1.4 x")])
    attachment_id = mail.attachments[0].id

    listing = logged_in.get("/mail/outbox").get_data(as_text=True)
    assert "(1 vedlegg)" in listing
    page = logged_in.get(f"/mail/outbox/{mail.id}").get_data(as_text=True)
    assert "Tekst i e-posten" in page and "purring.pdf" in page

    download = logged_in.get(f"/mail/outbox/{mail.id}/attachments/{attachment_id}")
    assert download.status_code == 200
    assert download.data == b"%PDF-1.4 x"
    assert download.headers["Content-Type"] == "application/pdf"
    assert "attachment" in download.headers["Content-Disposition"]


def test_filter_by_state(app: Flask, firm, logged_in: FlaskClient, smtp_down) -> None:
    _mail(firm.client.id, "Feilet e-post")

    assert "Feilet e-post" in logged_in.get("/mail/outbox?state=failed").get_data(as_text=True)
    assert "Feilet e-post" not in logged_in.get("/mail/outbox?state=sent").get_data(as_text=True)


def test_failed_mail_shows_the_error_and_resend_sends_it(app: Flask, firm, logged_in: FlaskClient, smtp_down) -> None:
    mail = _mail(firm.client.id, "Til Svea")
    page = logged_in.get(f"/mail/outbox/{mail.id}").get_data(as_text=True)
    assert "Feilet" in page and "Connection refused" in page and "Send på nytt" in page

    from tests.mail.smtp import running_smtp_server

    with running_smtp_server() as server:
        app.config["SMTP_PORT"] = server.port
        response = logged_in.post(f"/mail/outbox/{mail.id}/resend", follow_redirects=True)
        assert len(server.messages) == 1
    assert "Sendt" in response.get_data(as_text=True)


def test_resend_without_csrf_token_is_refused(csrf_browser: Any) -> None:
    csrf_app, browser = csrf_browser
    with csrf_app.app_context():
        firm_id = db.session.query(Client).one().id
        mail = services.queue_mail(firm_id, "a@b.no", "Emne", "Tekst")
        mail.state = "failed"
        db.session.commit()
        mail_id = mail.id

    assert browser.post(f"/mail/outbox/{mail_id}/resend").status_code == 400
    with csrf_app.app_context():
        assert db.session.get(OutgoingMail, mail_id).state == "failed"

    token = csrf_token(browser.get(f"/mail/outbox/{mail_id}").get_data(as_text=True))
    assert browser.post(f"/mail/outbox/{mail_id}/resend", data={"csrf_token": token}).status_code == 302
    with csrf_app.app_context():
        assert db.session.get(OutgoingMail, mail_id).state == "outbox"
