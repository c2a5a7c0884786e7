"""Each customer's letter: a printable page, a PDF, and an e-mail with the PDF when it has an address."""

from __future__ import annotations

import re
import zlib
from datetime import date
from decimal import Decimal

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from svea_web.dunning import jobs, services
from svea_web.dunning.letters import build_content, letter_text
from svea_web.dunning.models import ReminderLetter, ReminderRun
from svea_web.extensions import db
from svea_web.jobs_queue import enqueue
from svea_web.mail.models import MAIL_FAILED, MAIL_OUTBOX, MAIL_SENT, OutgoingMail
from tests.dunning.conftest import Ledger, digest_of, html, run_today, start_run
from tests.mail.smtp import SmtpServer, closed_port

RUN_DATE = date(2026, 11, 27)


def _pdf_text(data: bytes) -> str:
    """The text drawn by the PDF's content streams (fpdf2 compresses them with zlib)."""
    chunks = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            chunks.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            continue
    return " ".join(re.findall(r"\((.*?)\) ?Tj", "\n".join(chunks)))


def _letter(run_id: int, customer_name: str, kind: str) -> ReminderLetter:
    for letter in db.session.scalars(select(ReminderLetter).where(ReminderLetter.run_id == run_id)):
        if letter.customer.name == customer_name and letter.kind == kind:
            return letter
    raise AssertionError(f"no {kind} letter to {customer_name}")


def test_letter_pdf_lists_each_post_with_its_figures_and_the_payment_details(
    logged_in: FlaskClient, ledger: Ledger
) -> None:
    run_id = run_today(logged_in, RUN_DATE)
    letter = _letter(run_id, "Kari Nordmann", "reminder")
    response = logged_in.get(f"/dunning/letters/{letter.id}.pdf")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.data.startswith(b"%PDF")
    text = _pdf_text(response.data).replace("\xa0", " ")
    assert "Betalingspåminnelse" in text
    for figure in ("1001", "01.10.2026", "10 000,00", "37,50", "187,40", "10 224,90", "11.12.2026", "0000010017"):
        assert figure in text, figure
    assert "8601.11.17947" in text
    assert "12,00 % per år" in text
    assert "purregebyr på 37,50 kr" in text


def test_the_same_letter_gives_the_same_pdf_every_time(logged_in: FlaskClient, ledger: Ledger) -> None:
    run_id = run_today(logged_in, RUN_DATE)
    letter = _letter(run_id, "Per Berg", "notice")
    first = logged_in.get(f"/dunning/letters/{letter.id}.pdf").data
    assert logged_in.get(f"/dunning/letters/{letter.id}.pdf").data == first


def test_collection_notice_says_the_claim_goes_to_collection_and_never_calls_itself_purring(
    logged_in: FlaskClient, ledger: Ledger
) -> None:
    run_id = run_today(logged_in, RUN_DATE)
    letter = _letter(run_id, "Per Berg", "notice")
    page = html(logged_in.get(f"/dunning/letters/{letter.id}"))
    body = re.sub(r"<[^>]+>", " ", page.split('<article class="letter">')[1]).replace("\xa0", " ")
    pdf = _pdf_text(logged_in.get(f"/dunning/letters/{letter.id}.pdf").data).replace("\xa0", " ")
    mail = db.session.get(OutgoingMail, letter.mail_id)
    assert mail is not None
    for text in (body, pdf, mail.subject + "\n" + mail.body):
        assert "Inkassovarsel" in text
        assert "purr" not in text.lower()
    for text in (body, pdf, mail.body):
        assert "vil kravet bli sendt til inkasso hos Svea Finans AS" in text
        assert "inkassoloven § 9" in text or "Inkassovarsel" in text
    assert "Varsel om inkasso etter inkassoloven § 9" in body


def test_printable_page_and_all_letters_of_a_run_as_one_pdf(logged_in: FlaskClient, ledger: Ledger) -> None:
    run_id = run_today(logged_in, RUN_DATE)
    letter = _letter(run_id, "Fjell Bygg AS", "reminder")
    page = html(logged_in.get(f"/dunning/letters/{letter.id}")).replace("\xa0", " ")
    assert "Fjell Bygg AS" in page and "2 069,06" in page and "data-print" in page
    run_page = html(logged_in.get(f"/dunning/runs/{run_id}"))
    assert "1 brev uten e-post (PDF for utskrift)" in run_page
    without_email = logged_in.get(f"/dunning/runs/{run_id}/letters.pdf?without_email=1")
    assert without_email.headers["Content-Type"] == "application/pdf"
    text = _pdf_text(without_email.data)
    assert "Fjell Bygg AS" in text and "Kari Nordmann" not in text
    everything = _pdf_text(logged_in.get(f"/dunning/runs/{run_id}/letters.pdf").data)
    for name in ("Fjell Bygg AS", "Kari Nordmann", "Per Berg"):
        assert name in everything


def test_customers_with_an_email_address_get_the_letter_as_a_pdf_attachment(
    app: Flask, logged_in: FlaskClient, ledger: Ledger, smtp: SmtpServer
) -> None:
    run_id = run_today(logged_in, RUN_DATE)
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == ["kari@example.no", "kari@example.no", "per@example.no"]
    per = next(m.message for m in smtp.messages if m.rcpt_tos == ["per@example.no"])
    assert per["Subject"] == "Inkassovarsel fra Nordlys Rørlegger AS"
    (attachment,) = list(per.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "inkassovarsel-400-2026-11-27.pdf"
    assert attachment.get_content().startswith(b"%PDF")
    letters = db.session.scalars(select(ReminderLetter).where(ReminderLetter.run_id == run_id)).all()
    assert {letter.customer.name: letter.mail.state if letter.mail else None for letter in letters} == {
        "Kari Nordmann": MAIL_SENT,
        "Per Berg": MAIL_SENT,
        "Fjell Bygg AS": None,
    }
    page = html(logged_in.get(f"/dunning/runs/{run_id}"))
    assert page.count(">Sendt</span>") == 3
    assert '<dd id="mail-sent">3</dd>' in page and '<dd id="mail-print">1</dd>' in page
    assert "Ingen e-post – skrives ut" in page


def test_a_failed_email_shows_on_the_run_and_can_be_sent_again(
    app: Flask, logged_in: FlaskClient, ledger: Ledger, smtp: SmtpServer
) -> None:
    smtp_port = app.config["SMTP_PORT"]
    app.config["SMTP_PORT"] = closed_port()
    run_id = run_today(logged_in, RUN_DATE)
    letter = _letter(run_id, "Per Berg", "notice")
    assert letter.mail is not None and letter.mail.state == MAIL_FAILED
    page = html(logged_in.get(f"/dunning/runs/{run_id}"))
    row = re.search(rf'<tr data-letter="{letter.id}">(.*?)</tr>', page, re.S)
    assert row and "Feilet" in row.group(1) and "Send på nytt" in row.group(1)
    assert '<dd id="mail-failed">3</dd>' in page
    failed_only = html(logged_in.get(f"/dunning/runs/{run_id}?tab=letters&mail=failed", headers={"HX-Request": "true"}))
    assert failed_only.startswith('<div id="run-detail"')
    assert failed_only.count("<tr data-letter=") == 3 and "Ingen e-post – skrives ut" not in failed_only

    app.config["SMTP_PORT"] = smtp_port
    response = logged_in.post(f"/dunning/letters/{letter.id}/resend", follow_redirects=True)
    assert "E-posten sendes på nytt." in html(response)
    db.session.refresh(letter.mail)
    assert letter.mail.state == MAIL_SENT
    assert [m.rcpt_tos for m in smtp.messages] == [["per@example.no"]]
    response = logged_in.post(f"/dunning/letters/{letter.id}/resend", follow_redirects=True)
    assert "sendes ikke en gang til" in html(response)
    assert len(smtp.messages) == 1


def test_without_smtp_the_letters_wait_in_the_local_outbox(logged_in: FlaskClient, ledger: Ledger) -> None:
    run_id = run_today(logged_in, RUN_DATE)
    states = {m.to_addr: m.state for m in db.session.scalars(select(OutgoingMail))}
    assert states == {"kari@example.no": MAIL_OUTBOX, "per@example.no": MAIL_OUTBOX}
    assert db.session.scalar(select(OutgoingMail).where(OutgoingMail.to_addr == "per@example.no")).object_id == (  # type: ignore[union-attr]
        _letter(run_id, "Per Berg", "notice").id
    )


def test_the_mail_status_polls_until_every_letter_is_on_its_way(logged_in: FlaskClient, ledger: Ledger) -> None:
    run_id = start_run(logged_in, RUN_DATE)
    run = db.session.get(ReminderRun, run_id)
    assert run is not None
    # Confirmed by the service alone: the job that queues the e-mails has not run yet.
    assert services.confirm_run(run, digest_of(logged_in, run_id), RUN_DATE, None).outcome == "confirmed"
    status = html(logged_in.get(f"/dunning/runs/{run_id}?part=status", headers={"HX-Request": "true"}))
    assert 'hx-trigger="every 2s"' in status and '<dd id="mail-preparing">3</dd>' in status
    assert "Start utsendingen på nytt" in status

    response = logged_in.post(f"/dunning/runs/{run_id}/send", follow_redirects=True)
    assert "Utsendingen av e-post er startet." in html(response)
    enqueue(jobs.send_run_letters, run_id)
    status = html(logged_in.get(f"/dunning/runs/{run_id}?part=status", headers={"HX-Request": "true"}))
    assert "hx-trigger" not in status and '<dd id="mail-outbox">3</dd>' in status
    assert db.session.query(OutgoingMail).count() == 3


def test_the_pdf_file_name_keeps_to_safe_characters_whatever_the_customer_number() -> None:
    line = {
        "post_id": 1,
        "invoice_no": "1",
        "invoice_date": date(2026, 10, 1),
        "due_date": date(2026, 10, 15),
        "kid": None,
        "step_no": 1,
        "principal": Decimal("100.00"),
        "earlier_fees": Decimal("0.00"),
        "fee": Decimal("0.00"),
        "interest": Decimal("0.00"),
        "interest_rate": None,
        "amount_due": Decimal("100.00"),
        "deadline": date(2026, 12, 11),
    }
    for customer_no, expected in [
        ('<b>"Ø 12";x=1</b>', "inkassovarsel-b-12-x-1-b-2026-11-27.pdf"),
        ("", "inkassovarsel-kunde-2026-11-27.pdf"),
        ("A-100", "inkassovarsel-A-100-2026-11-27.pdf"),
    ]:
        content = build_content(
            "notice", RUN_DATE, {"name": "Firma AS"}, {"name": "X", "customer_no": customer_no}, [line]
        )
        assert letter_text(content).filename == expected
