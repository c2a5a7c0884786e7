"""Importing payment files through the Innbetaling page: matching, duplicates, partial and over-payment,
the queue, and refusal of broken files."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from svea_web.accounts.models import AuditEvent
from svea_web.extensions import db
from svea_web.ledger.models import STATUS_OPEN, STATUS_PAID, CustomerPost
from svea_web.ledger.queries import customer_balance
from svea_web.payments.models import (
    PAYMENT_BOOKED,
    PAYMENT_UNMATCHED,
    SOURCE_CAMT054,
    SOURCE_OCR,
    Payment,
    PaymentAllocation,
    PaymentImport,
)
from svea_web.setup.models import SveaSettings
from tests import factories
from tests.payments.conftest import upload

DATA = Path(__file__).parent / "data"
OCR_SAMPLE = (DATA / "netsgiro_ocr_giro_transactions.txt").read_bytes()
CAMT_SAMPLE = (DATA / "camt054_no_credit.001.02.xml").read_bytes()


def reload(post: CustomerPost) -> CustomerPost:
    db.session.expire_all()
    fresh = db.session.get(CustomerPost, post.id)
    assert fresh is not None
    return fresh


def count(model: type, **where: object) -> int:
    stmt = select(func.count()).select_from(model)
    for name, value in where.items():
        stmt = stmt.where(getattr(model, name) == value)
    return db.session.scalar(stmt) or 0


@pytest.mark.all_backends
def test_ocr_file_books_full_partial_and_over_payments_by_kid(logged_in, firm, backend):
    db.session.add(SveaSettings(client_id=firm.client.id, kid_length=7))
    kari = factories.customer(firm.client.id, "Kari Nordmann")
    full = factories.post(kari, "1020.00", kid="0000531")
    partial = factories.post(kari, "2000.00", kid="36633")  # the bank pads it to the KID length 7: 0036633
    over = factories.post(kari, "500.00", kid="0048763")
    db.session.commit()

    response = upload(logged_in, "ocr.txt", OCR_SAMPLE)

    assert response.status_code == 302
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Bokført på KID</dt><dd>3</dd>" in page
    assert "Til avstemming</dt><dd><a" in page
    assert reload(full).status == STATUS_PAID and reload(full).open_amount == 0
    assert reload(partial).status == STATUS_OPEN and reload(partial).open_amount == Decimal("980.00")
    assert reload(over).status == STATUS_PAID
    credit = db.session.scalar(select(CustomerPost).where(CustomerPost.kind == "credit_note"))
    assert credit is not None and credit.open_amount == Decimal("-60.00") and credit.invoice_no.startswith("KRED-")
    # The customer's balance shows the overpayment as a credit: 980 still owed minus 60 in credit.
    assert customer_balance(kari.id) == Decimal("920.00")
    assert count(Payment, state=PAYMENT_BOOKED) == 3
    assert count(Payment, state=PAYMENT_UNMATCHED) == 17


def test_a_bank_file_named_without_extension_is_recognised_by_its_content(logged_in):
    response = upload(logged_in, "OCR.D261126", OCR_SAMPLE)

    assert response.status_code == 302
    assert "OCR giro" in logged_in.get(response.headers["Location"]).get_data(as_text=True)


def test_importing_the_same_file_twice_books_nothing_twice(logged_in, firm):
    kari = factories.customer(firm.client.id, "Kari Nordmann")
    post = factories.post(kari, "5000.00", kid="0000531")
    db.session.commit()

    upload(logged_in, "ocr.txt", OCR_SAMPLE)
    second = upload(logged_in, "ocr-igjen.txt", OCR_SAMPLE)

    page = logged_in.get(second.headers["Location"]).get_data(as_text=True)
    assert "Denne filen ble også importert" in page
    assert "Allerede bokført (duplikater)</dt><dd>20</dd>" in page
    assert count(Payment) == 20
    assert count(PaymentAllocation) == 1
    assert reload(post).open_amount == Decimal("3980.00")  # 1 020 taken once


@pytest.mark.all_backends
def test_a_file_booked_meanwhile_by_another_import_fails_the_second_and_books_nothing_twice(
    logged_in, firm, backend, monkeypatch
):
    from svea_web.payments import booking

    kari = factories.customer(firm.client.id, "Kari Nordmann")
    post = factories.post(kari, "5000.00", kid="0000531")
    db.session.commit()
    upload(logged_in, "ocr.txt", OCR_SAMPLE)
    # The second job checked for duplicates before the first one committed, so it saw none.
    monkeypatch.setattr(booking, "existing_external_ids", lambda *args: set())

    upload(logged_in, "ocr-igjen.txt", OCR_SAMPLE)

    db.session.expire_all()
    second = db.session.scalar(select(PaymentImport).order_by(PaymentImport.id.desc()).limit(1))
    assert second is not None and second.status == "failed" and "samtidig" in (second.error or "")
    assert count(Payment) == 20
    assert count(PaymentAllocation) == 1
    assert reload(post).open_amount == Decimal("3980.00")


def test_a_file_overlapping_an_earlier_one_books_only_its_new_transactions(logged_in, firm):
    from datetime import date

    from svea_web.payments import ocr

    kari = factories.customer(firm.client.id, "Kari Nordmann")
    post = factories.post(kari, "900.00", kid="10000123")
    db.session.commit()
    first = ocr.write([("10000123", Decimal("100.00"))], nets_date=date(2026, 11, 25))
    both = ocr.write([("10000123", Decimal("100.00")), ("10000123", Decimal("200.00"))], nets_date=date(2026, 11, 25))

    upload(logged_in, "a.txt", first.encode())
    upload(logged_in, "b.txt", both.encode())

    assert reload(post).open_amount == Decimal("600.00")
    assert count(Payment, source=SOURCE_OCR) == 2


@pytest.mark.all_backends
def test_cents_paid_in_parts_close_the_post_with_nothing_left(logged_in, firm, backend):
    from datetime import date

    from svea_web.payments import ocr

    kari = factories.customer(firm.client.id, "Kari Nordmann")
    across_files = factories.post(kari, "0.30", kid="10000123")
    in_one_file = factories.post(kari, "0.30", kid="10000131")
    db.session.commit()
    day = date(2026, 11, 25)

    upload(logged_in, "a.txt", ocr.write([("10000123", Decimal("0.10"))], nets_date=day).encode())
    upload(
        logged_in,
        "b.txt",
        ocr.write(
            [("10000123", Decimal("0.20")), ("10000131", Decimal("0.10")), ("10000131", Decimal("0.20"))],
            nets_date=day,
            assignment_number="0000002",
        ).encode(),
    )

    for post in (across_files, in_one_file):
        assert reload(post).status == STATUS_PAID and reload(post).open_amount == 0
    assert count(CustomerPost, kind="credit_note") == 0


def test_an_uploaded_file_is_in_the_audit_trail_with_its_import(logged_in, firm):
    upload(logged_in, "ocr.txt", OCR_SAMPLE)

    record = db.session.scalar(select(PaymentImport))
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "payments.import_uploaded"))
    assert record is not None and event is not None
    assert (event.object_type, event.object_id, event.detail) == ("payment_import", str(record.id), "ocr.txt")


def test_camt054_books_by_kid_and_by_match_number_in_the_text_and_queues_the_rest(logged_in, firm):
    kari = factories.customer(firm.client.id, "Kari Nordmann")
    bygg = factories.customer(firm.client.id, "Fjellheim Bygg AS", kind="company")
    per = factories.customer(firm.client.id, "Per Hansen")
    by_kid = factories.post(kari, "1250.00", kid="10000123")
    second = factories.post(bygg, "2450.00", kid="10000206")
    by_match = factories.post(per, "980.00", invoice_no="20417", match_no="20417")
    db.session.commit()

    response = upload(logged_in, "camt054.xml", CAMT_SAMPLE)

    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Bokført på KID</dt><dd>2</dd>" in page
    assert "Bokført på motpostnr</dt><dd>1</dd>" in page
    assert "Ikke innbetalinger (debet, ubekreftet)</dt><dd>2</dd>" in page
    for post in (by_kid, second, by_match):
        assert reload(post).status == STATUS_PAID
    matched = db.session.scalar(select(Payment).where(Payment.matched_by == "match_no"))
    assert matched is not None and matched.payer_name == "Per Hansen" and matched.source == SOURCE_CAMT054
    queue = logged_in.get("/payments/unmatched").get_data(as_text=True)
    assert "Ola Nordmansen" in queue and "1\xa0500,00" in queue


def test_an_unmatched_payment_suggests_posts_of_the_same_amount_and_of_a_similar_name(logged_in, firm):
    ola = factories.customer(firm.client.id, "Ola Nordmann")
    other = factories.customer(firm.client.id, "Berit Berg")
    by_name = factories.post(ola, "700.00", invoice_no="30001")
    by_amount = factories.post(other, "1500.00", invoice_no="30002")
    db.session.commit()
    upload(logged_in, "camt054.xml", CAMT_SAMPLE)
    waiting = db.session.scalar(select(Payment).where(Payment.payer_name == "Ola Nordmansen"))
    assert waiting is not None and waiting.state == PAYMENT_UNMATCHED

    page = logged_in.get(f"/payments/{waiting.id}").get_data(as_text=True)

    suggestions = page[page.index('id="suggestions"') :]
    assert f'value="{by_amount.id}"' in suggestions and "Samme åpne beløp" in suggestions
    assert f'value="{by_name.id}"' in suggestions and "Lignende kundenavn" in suggestions


def test_a_kid_shared_by_posts_of_two_customers_is_not_guessed(logged_in, firm):
    one = factories.customer(firm.client.id, "En Kunde")
    two = factories.customer(firm.client.id, "To Kunde")
    factories.post(one, "1020.00", kid="0000531")
    factories.post(two, "1020.00", kid="0000531")
    db.session.commit()

    upload(logged_in, "ocr.txt", OCR_SAMPLE)

    payment = db.session.scalar(select(Payment).where(Payment.kid == "0000531"))
    assert payment is not None and payment.state == PAYMENT_UNMATCHED
    assert count(PaymentAllocation) == 0


def test_a_broken_file_is_refused_whole_naming_the_line_and_nothing_is_written(logged_in, firm):
    kari = factories.customer(firm.client.id, "Kari Nordmann")
    post = factories.post(kari, "1020.00", kid="0000531")
    db.session.commit()
    lines = OCR_SAMPLE.decode().splitlines()
    lines[9] = lines[9][:70]  # a cut record late in the file: the good records before it are not booked either

    response = upload(logged_in, "ocr.txt", "\n".join(lines).encode())

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Filen er avvist, ingenting er bokført." in page and "Linje 10" in page and "denne har 70" in page
    assert count(Payment) == 0 and count(PaymentImport) == 0
    assert reload(post).open_amount == Decimal("1020.00")


def test_a_user_reading_english_is_told_why_a_file_is_refused_in_english(logged_in, firm):
    logged_in.post("/language/en")
    lines = OCR_SAMPLE.decode().splitlines()
    lines[9] = lines[9][:70]
    page = upload(logged_in, "ocr.txt", "\n".join(lines).encode()).get_data(as_text=True)
    assert "Line 10: a record must be exactly 80 characters, this one has 70" in page
    broken = CAMT_SAMPLE.replace(b'<Amt Ccy="NOK">2450.00</Amt>', b'<Amt Ccy="NOK">2450,00</Amt>')
    page = upload(logged_in, "camt054.xml", broken).get_data(as_text=True)
    assert "TxDtls[2]/AmtDtls/TxAmt/Amt: “2450,00” is not an amount" in page


def test_a_broken_camt054_is_refused_naming_the_element(logged_in, firm):
    broken = CAMT_SAMPLE.replace(b'<Amt Ccy="NOK">2450.00</Amt>', b'<Amt Ccy="NOK">2450,00</Amt>')

    response = upload(logged_in, "camt054.xml", broken)

    assert response.status_code == 400
    assert "Ntfctn[1]/Ntry[1]/NtryDtls[1]/TxDtls[2]/AmtDtls/TxAmt/Amt" in response.get_data(as_text=True)
    assert count(Payment) == 0


def test_payments_of_another_firm_are_not_seen(logged_in, firm, make_firm, client):
    other = make_firm("Annen Firma AS")
    stranger = factories.customer(other.client.id, "Fremmed Kunde")
    factories.post(stranger, "1020.00", kid="0000531")
    db.session.commit()
    upload(logged_in, "ocr.txt", OCR_SAMPLE)  # imported by our firm: the other firm's post is never touched
    assert count(PaymentAllocation) == 0
    their_import = PaymentImport(
        client_id=other.client.id, kind="ocr", filename="x", sha256="0" * 64, content=b"", status="done"
    )
    db.session.add(their_import)
    db.session.commit()

    assert logged_in.get(f"/payments/files/{their_import.id}").status_code == 404
    theirs = Payment(
        client_id=other.client.id,
        paid_on=their_import.created_at.date(),
        amount=Decimal("1"),
        source="manual",
        external_id="x",
    )
    db.session.add(theirs)
    db.session.commit()
    assert logged_in.get(f"/payments/{theirs.id}").status_code == 404
    assert logged_in.post(f"/payments/{theirs.id}/match", data={"customer_id": stranger.id}).status_code == 404
    assert logged_in.post(f"/payments/{theirs.id}/reverse", data={"reason": "x"}).status_code == 404
    assert db.session.get(Payment, theirs.id).state == PAYMENT_UNMATCHED
