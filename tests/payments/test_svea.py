"""Payments and Svea, against the sandbox over real HTTP: direct payments close cases, partial ones
lower the principal, payments on pending cases wait for the case number, settlements come back as
payments and are never reported back."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from svea_web.collection.models import CASE_CLOSED, CASE_OPEN, CaseEvent, CasePost, SveaCase, SyncState
from svea_web.extensions import db
from svea_web.ledger.models import STATUS_OPEN, STATUS_PAID, CustomerPost
from svea_web.payments import services
from svea_web.payments.models import (
    REPORT_CANCELLED,
    REPORT_PENDING,
    REPORT_SENT,
    SOURCE_SVEA,
    DirectPaymentReport,
    Payment,
    Settlement,
)
from tests import factories
from tests.payments.conftest import confirm_at_svea, connect_to_svea, hand_over, svea_case, upload

DATA = Path(__file__).parent / "data"


def register(client, post_id: int, amount: str):  # noqa: ANN201
    return client.post(
        "/payments/new",
        data={"token": uuid.uuid4().hex, "paid_on": "26.11.2026", "post_id": post_id, "amount": amount},
    )


def events(case_id: int) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(CaseEvent.text).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)))


def reports() -> list[DirectPaymentReport]:
    db.session.expire_all()
    return list(db.session.scalars(select(DirectPaymentReport).order_by(DirectPaymentReport.id)))


def in_case(firm, sandbox, amount: str = "1250.00", kid: str = "10000123", confirm: bool = True):  # noqa: ANN201
    connect_to_svea(firm.client.id, sandbox)
    debtor = factories.customer(firm.client.id, "Fjellheim Bygg AS", kind="company")
    post = factories.post(debtor, amount, kid=kid)
    db.session.commit()
    return post, hand_over(sandbox, post, confirm=confirm)


def test_full_payment_into_the_firm_closes_the_case_at_svea(logged_in, firm, sandbox):
    post, handed = in_case(firm, sandbox)

    response = register(logged_in, post.id, "1 250,00")

    at_svea = svea_case(sandbox, handed.case_number)
    assert at_svea["status"] == "CLOSED_PAID"
    assert at_svea["closeReason"] == "PAID_TO_CREDITOR"
    assert Decimal(at_svea["amounts"]["principal"]["remaining"]) == 0
    case = db.session.get(SveaCase, handed.case.id)
    assert case.state == CASE_CLOSED and case.close_reason == "PAID_TO_CREDITOR"
    history = events(case.id)
    assert services.CLOSED_PAID_TEXT in history
    # The payment also asked for a status sync, which brought Svea's own account of the closing.
    assert "Hovedstolen er betalt til kreditor. Saken er avsluttet." in history
    assert db.session.scalar(select(CasePost.active).where(CasePost.case_id == case.id)) is False
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Meldt som direkte innbetaling" in page and "Saken avsluttet" in page


@pytest.mark.all_backends
def test_a_file_payment_on_a_post_in_a_case_is_reported_too(logged_in, firm, sandbox, backend):
    from datetime import date

    from svea_web.payments import ocr

    post, handed = in_case(firm, sandbox)

    upload(logged_in, "ocr.txt", ocr.write([("10000123", Decimal("1250.00"))], nets_date=date(2026, 11, 26)).encode())

    assert svea_case(sandbox, handed.case_number)["status"] == "CLOSED_PAID"
    assert [r.state for r in reports()] == [REPORT_SENT]


def test_partial_payment_only_lowers_the_principal_at_svea(logged_in, firm, sandbox):
    post, handed = in_case(firm, sandbox)

    register(logged_in, post.id, "250,00")

    at_svea = svea_case(sandbox, handed.case_number)
    assert at_svea["status"] not in ("CLOSED_PAID", "CLOSED_WITHDRAWN", "CLOSED_CREDITED")
    assert Decimal(at_svea["amounts"]["principal"]["remaining"]) == Decimal("1000.00")
    case = db.session.get(SveaCase, handed.case.id)
    assert case.state == CASE_OPEN and case.principal_remaining == Decimal("1000.00")
    assert any("Gjenstående hovedstol: 1 000,00 kr" in text for text in events(case.id))


def test_payment_on_a_pending_case_waits_for_the_case_number_and_is_then_reported_once(logged_in, firm, sandbox):
    post, handed = in_case(firm, sandbox, confirm=False)

    register(logged_in, post.id, "1 250,00")

    [waiting] = reports()
    assert waiting.state == REPORT_PENDING
    assert services.flush_pending_direct_payments(firm.client.id).waiting == 1
    number = confirm_at_svea(sandbox, handed)
    assert svea_case(sandbox, number)["status"] != "CLOSED_PAID"

    first = services.flush_pending_direct_payments(firm.client.id)
    again = services.flush_pending_direct_payments(firm.client.id)

    assert (first.sent, first.closed_cases, again.sent) == (1, 1, 0)
    at_svea = svea_case(sandbox, number)
    assert at_svea["status"] == "CLOSED_PAID"
    assert Decimal(at_svea["amounts"]["principal"]["paid"]) == Decimal("1250.00")  # booked once at Svea


def test_svea_down_keeps_the_report_pending_and_nothing_is_lost(logged_in, firm, sandbox):
    post, handed = in_case(firm, sandbox)
    sandbox.set_faults(once=["error"], error_status=503)

    register(logged_in, post.id, "1 250,00")

    [report] = reports()
    assert report.state == REPORT_PENDING and "503" in (report.last_error or "")
    assert svea_case(sandbox, handed.case_number)["status"] != "CLOSED_PAID"
    sandbox.clear_faults()
    services.flush_pending_direct_payments(firm.client.id)
    assert reports()[0].state == REPORT_SENT
    assert svea_case(sandbox, handed.case_number)["status"] == "CLOSED_PAID"


def test_reversing_a_payment_before_it_is_sent_cancels_the_report(logged_in, firm, sandbox):
    post, handed = in_case(firm, sandbox, confirm=False)
    payment_url = register(logged_in, post.id, "1 250,00").headers["Location"]

    logged_in.post(f"{payment_url}/reverse", data={"reason": "Feil post"})
    number = confirm_at_svea(sandbox, handed)
    services.flush_pending_direct_payments(firm.client.id)

    assert [r.state for r in reports()] == [REPORT_CANCELLED]
    assert Decimal(svea_case(sandbox, number)["amounts"]["principal"]["paid"]) == 0


def test_svea_settlement_is_booked_as_payments_and_never_reported_back(logged_in, firm, sandbox):
    post, handed = in_case(firm, sandbox, amount="1000.00")
    sandbox.debtor_pays(handed.case_number, "400.00")
    sandbox.settle_now()

    fragment = logged_in.post("/payments/settlements/fetch").get_data(as_text=True)

    assert "1 nytt oppgjør fra Svea er bokført." in fragment
    db.session.expire_all()
    payment = db.session.scalar(select(Payment).where(Payment.source == SOURCE_SVEA))
    assert payment is not None and payment.amount == Decimal("400.00") and payment.state == "booked"
    fresh = db.session.get(CustomerPost, post.id)
    assert fresh.open_amount == Decimal("600.00") and fresh.status == STATUS_OPEN
    assert reports() == []  # money Svea collected is not a direct payment
    settlement = db.session.scalar(select(Settlement))
    assert db.session.get(SyncState, firm.client.id).last_settlement_id == settlement.svea_id
    page = logged_in.get(f"/payments/settlements/{settlement.id}").get_data(as_text=True)
    assert handed.case_number in page and "400,00" in page

    services.fetch_settlements(firm.client.id)
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1


def test_settlement_that_pays_the_rest_marks_the_post_paid_and_shows_fees_svea_kept(logged_in, firm, sandbox):
    post, handed = in_case(firm, sandbox, amount="1000.00")
    owed = svea_case(sandbox, handed.case_number)["amounts"]
    total = sum(Decimal(owed[part]["remaining"]) for part in ("principal", "fees", "interest"))
    sandbox.debtor_pays(handed.case_number, str(total))
    sandbox.settle_now()

    services.fetch_settlements(firm.client.id)

    db.session.expire_all()
    assert db.session.get(CustomerPost, post.id).status == STATUS_PAID
    settlement = db.session.scalar(select(Settlement))
    assert settlement.payout_total == Decimal("1000.00")
    assert settlement.fees_total + settlement.interest_total == total - Decimal("1000.00")
    listing = logged_in.get("/payments/settlements").get_data(as_text=True)
    assert str(settlement.svea_id) in listing


def test_reversing_a_payment_svea_already_has_tells_the_case_history(logged_in, firm, sandbox):
    post, handed = in_case(firm, sandbox)
    payment_url = register(logged_in, post.id, "1 250,00").headers["Location"]

    logged_in.post(f"{payment_url}/reverse", data={"reason": "Banken trakk beløpet tilbake"})

    history = events(handed.case.id)
    assert any("Banken trakk beløpet tilbake" in text and "Svea har allerede fått den" in text for text in history)
    assert [r.state for r in reports()] == [REPORT_SENT]  # what Svea was told is not rewritten


def test_the_periodic_job_books_settlements_and_sends_waiting_reports_for_every_firm(logged_in, firm, sandbox):
    from svea_web.payments import jobs
    from svea_web.periodic import PERIODIC_TASKS, resolve

    waiting_post, pending = in_case(firm, sandbox, confirm=False)
    collected = factories.post(waiting_post.customer, "800.00", kid="10000206")
    db.session.commit()
    handed = hand_over(sandbox, collected)
    register(logged_in, waiting_post.id, "1 250,00")
    number = confirm_at_svea(sandbox, pending)
    sandbox.debtor_pays(handed.case_number, "800.00")
    sandbox.settle_now()
    [task] = [t for t in PERIODIC_TASKS if t.name == "svea-settlements"]

    assert resolve(task.func) is jobs.fetch_all_settlements
    jobs.fetch_all_settlements()

    assert svea_case(sandbox, number)["status"] == "CLOSED_PAID"
    db.session.expire_all()
    assert db.session.get(CustomerPost, collected.id).status == STATUS_PAID
    assert db.session.scalar(select(func.count()).select_from(Settlement)) == 1
