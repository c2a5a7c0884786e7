"""Registering a payment by hand, matching from the queue, reversal and dismissal, as a user sees them."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from svea_web.accounts.models import AuditEvent
from svea_web.extensions import db
from svea_web.ledger.models import STATUS_OPEN, STATUS_PAID, CustomerPost
from svea_web.ledger.queries import customer_balance
from svea_web.payments.models import PAYMENT_BOOKED, PAYMENT_DISMISSED, PAYMENT_UNMATCHED, Payment, PaymentAllocation
from tests import factories
from tests.payments.conftest import upload

DATA = Path(__file__).parent / "data"


def reload(model: type, object_id: int):  # noqa: ANN201
    db.session.expire_all()
    return db.session.get(model, object_id)


def register(client, **fields: object):  # noqa: ANN201
    data = {"token": uuid.uuid4().hex, "paid_on": "26.11.2026", **fields}
    return client.post("/payments/new", data=data)


def test_post_is_found_by_kid_invoice_match_number_or_customer(logged_in, firm):
    kari = factories.customer(firm.client.id, "Kari Nordmann", customer_no="K-17")
    post = factories.post(kari, "1250.00", invoice_no="20417", match_no="M-20417", kid="10000123")
    db.session.commit()

    for q in ("10000123", "20417", "M-20417", "K-17", "nordmann"):
        fragment = logged_in.get(f"/payments/targets?q={q}").get_data(as_text=True)
        assert f'name="post_id" value="{post.id}"' in fragment, q
    assert "Ingen poster eller kunder passer" in logged_in.get("/payments/targets?q=99999").get_data(as_text=True)


def test_full_payment_by_hand_marks_the_post_paid(logged_in, firm):
    kari = factories.customer(firm.client.id, "Kari Nordmann")
    post = factories.post(kari, "1250.00")
    db.session.commit()

    response = register(logged_in, post_id=post.id, amount="1 250,00")

    assert response.status_code == 302
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Innbetalingen på 1\xa0250,00 kr er registrert." in page
    assert post.invoice_no in page[page.index('id="allocations"') :]
    fresh = reload(CustomerPost, post.id)
    assert fresh.status == STATUS_PAID and fresh.open_amount == 0


def test_partial_payment_by_hand_leaves_the_rest_open(logged_in, firm):
    kari = factories.customer(firm.client.id, "Kari Nordmann")
    post = factories.post(kari, "1250.00")
    db.session.commit()

    register(logged_in, post_id=post.id, amount="250")

    fresh = reload(CustomerPost, post.id)
    assert fresh.status == STATUS_OPEN and fresh.open_amount == Decimal("1000.00")


def test_payment_on_a_customer_pays_the_oldest_posts_first_and_keeps_the_rest_as_credit(logged_in, firm):
    from datetime import date

    kari = factories.customer(firm.client.id, "Kari Nordmann")
    newer = factories.post(kari, "300.00", due=date(2026, 10, 15))
    older = factories.post(kari, "500.00", due=date(2026, 9, 15))
    db.session.commit()

    register(logged_in, customer_id=kari.id, amount="1 000,00")

    assert reload(CustomerPost, older.id).status == STATUS_PAID
    assert reload(CustomerPost, newer.id).status == STATUS_PAID
    assert customer_balance(kari.id) == Decimal("-200.00")
    customer_page = logged_in.get(f"/ledger/customers/{kari.id}").get_data(as_text=True)
    assert "KRED-" in customer_page


def test_a_form_sent_twice_books_the_payment_once(logged_in, firm):
    kari = factories.customer(firm.client.id, "Kari Nordmann")
    post = factories.post(kari, "1000.00")
    db.session.commit()
    token = uuid.uuid4().hex

    register(logged_in, post_id=post.id, amount="400", token=token)
    register(logged_in, post_id=post.id, amount="400", token=token)

    assert reload(CustomerPost, post.id).open_amount == Decimal("600.00")
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1


def test_bad_amount_or_date_is_shown_in_norwegian_and_nothing_is_booked(logged_in, firm):
    kari = factories.customer(firm.client.id, "Kari Nordmann")
    post = factories.post(kari, "1000.00")
    db.session.commit()

    response = register(logged_in, post_id=post.id, amount="1.234", paid_on="31.02.2026")

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Ugyldig beløp «1.234»" in page and "Ugyldig dato «31.02.2026»: datoen finnes ikke" in page
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


def test_a_queued_payment_is_matched_to_the_chosen_post(logged_in, firm):
    per = factories.customer(firm.client.id, "Ola Nordmann")
    post = factories.post(per, "1500.00")
    db.session.commit()
    upload(logged_in, "camt054.xml", (DATA / "camt054_no_credit.001.02.xml").read_bytes())
    waiting = db.session.scalar(select(Payment).where(Payment.payer_name == "Ola Nordmansen"))

    response = logged_in.post(f"/payments/{waiting.id}/match", data={"post_id": post.id})

    assert "Innbetalingen er avstemt." in logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert reload(Payment, waiting.id).state == PAYMENT_BOOKED
    assert reload(CustomerPost, post.id).status == STATUS_PAID
    again = logged_in.post(f"/payments/{waiting.id}/match", data={"post_id": post.id})
    assert "allerede avstemt" in logged_in.get(again.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PaymentAllocation)) == 1


@pytest.mark.all_backends
def test_admin_reverses_a_payment_with_a_reason_and_the_history_is_kept(logged_in, firm, backend):
    kari = factories.customer(firm.client.id, "Kari Nordmann")
    post = factories.post(kari, "1000.00")
    db.session.commit()
    payment_url = register(logged_in, post_id=post.id, amount="1 200").headers["Location"]
    payment_id = int(payment_url.rsplit("/", 1)[1])

    response = logged_in.post(f"{payment_url}/reverse", data={"reason": "Feil kunde"})

    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "reversert og ligger igjen til avstemming" in page
    allocations = page[page.index('id="allocations"') :]
    assert allocations.count("Feil kunde") == 2  # the post and the credit, both kept with the reason
    fresh = reload(CustomerPost, post.id)
    assert fresh.status == STATUS_OPEN and fresh.open_amount == Decimal("1000.00")
    assert customer_balance(kari.id) == Decimal("1000.00")  # the 200 credit is neutralised
    assert reload(Payment, payment_id).state == PAYMENT_UNMATCHED
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "payments.reversed")).detail == "Feil kunde"


def test_a_credit_already_used_cannot_be_reversed_silently(logged_in, firm):
    kari = factories.customer(firm.client.id, "Kari Nordmann")
    post = factories.post(kari, "1000.00")
    db.session.commit()
    payment_url = register(logged_in, post_id=post.id, amount="1 200").headers["Location"]
    credit = db.session.scalar(select(CustomerPost).where(CustomerPost.kind == "credit_note"))
    credit.open_amount = Decimal("-50.00")  # the ledger set 150 of it off against another invoice
    db.session.commit()

    response = logged_in.post(f"{payment_url}/reverse", data={"reason": "Feil kunde"})

    assert "er delvis brukt" in logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert reload(CustomerPost, post.id).status == STATUS_PAID


def test_a_user_who_is_not_admin_cannot_reverse_or_dismiss(client, auth, firm):
    kari = factories.customer(firm.client.id, "Kari Nordmann")
    post = factories.post(kari, "1000.00")
    db.session.commit()
    auth.login(firm.user)
    payment_url = register(client, post_id=post.id, amount="1000").headers["Location"]

    assert client.post(f"{payment_url}/reverse", data={"reason": "x"}).status_code == 403
    assert client.post(f"{payment_url}/dismiss", data={"reason": "x"}).status_code == 403
    assert "Reverser innbetalingen" not in client.get(payment_url).get_data(as_text=True)


def test_admin_dismisses_a_queued_payment_with_a_reason(logged_in, firm):
    upload(logged_in, "camt054.xml", (DATA / "camt054_no_credit.001.02.xml").read_bytes())
    waiting = db.session.scalar(select(Payment).where(Payment.payer_name == "Ola Nordmansen"))

    logged_in.post(f"/payments/{waiting.id}/dismiss", data={"reason": "Betalt tilbake til avsender"})

    fresh = reload(Payment, waiting.id)
    assert fresh.state == PAYMENT_DISMISSED and fresh.note == "Betalt tilbake til avsender"
    assert "Ola Nordmansen" not in logged_in.get("/payments/unmatched").get_data(as_text=True)
