"""Purrestopp per customer or per post: skipped while in force, back by itself after the end date."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from svea_web.dunning import jobs
from svea_web.dunning.models import CustomerPause
from svea_web.extensions import db
from svea_web.jobs_queue import enqueue
from svea_web.ledger.models import CustomerPost
from tests import factories
from tests.conftest import Firm
from tests.dunning.conftest import html, row_of, set_today, start_run


def _overdue_post(firm: Firm, invoice_no: str, customer_no: str = "500") -> None:
    customer = factories.customer(firm.client.id, "Liv Dahl", email="liv@example.no", customer_no=customer_no)
    factories.post(customer, "3000.00", due=date(2026, 10, 1), invoice_no=invoice_no)
    db.session.commit()


def _preview(client: FlaskClient, day: date) -> str:
    run_id = start_run(client, day)
    return html(client.get(f"/dunning/runs/{run_id}?tab=skipped")) + html(client.get(f"/dunning/runs/{run_id}"))


def test_a_post_paused_with_an_end_date_resumes_the_day_after_without_the_daily_job(
    app: Flask, logged_in: FlaskClient, inkasso_firm: Firm
) -> None:
    _overdue_post(inkasso_firm, "8001")
    response = logged_in.post(
        "/dunning/pauses/post",
        data={"invoice_no": "8001", "reason": "Kunden har klaget", "end_date": "2026-12-05"},
        follow_redirects=True,
    )
    assert "Purrestopp er satt på faktura 8001." in html(response)
    pauses = html(logged_in.get("/dunning/pauses"))
    assert "Kunden har klaget" in pauses and "05.12.2026" in pauses

    assert row_of(_preview(logged_in, date(2026, 11, 27)), "8001").endswith(
        "Purrestopp på posten: Kunden har klaget 06.12.2026"
    )
    set_today(app, date(2026, 12, 5))
    assert "Purrestopp på posten" in row_of(_preview(logged_in, date(2026, 12, 5)), "8001")
    set_today(app, date(2026, 12, 6))
    assert " 1. Purring " in row_of(_preview(logged_in, date(2026, 12, 6)), "8001")
    assert "Kunden har klaget" not in html(logged_in.get("/dunning/pauses"))


@pytest.mark.all_backends
def test_the_daily_job_clears_pauses_whose_end_date_passed(
    app: Flask, logged_in: FlaskClient, inkasso_firm: Firm
) -> None:
    _overdue_post(inkasso_firm, "8002")
    logged_in.post("/dunning/pauses/post", data={"invoice_no": "8002", "reason": "Avtale", "end_date": "2026-12-01"})
    logged_in.post(
        "/dunning/pauses/customer", data={"customer_no": "500", "reason": "Konkursbo", "end_date": "2026-12-02"}
    )
    post = db.session.scalars(select(CustomerPost).where(CustomerPost.invoice_no == "8002")).one()

    set_today(app, date(2026, 12, 2))
    enqueue(jobs.resume_expired_pauses)
    db.session.refresh(post)
    assert (post.paused, post.paused_until, post.pause_reason) == (False, None, None)
    assert db.session.query(CustomerPause).count() == 1  # the customer's pause lasts through 02.12

    set_today(app, date(2026, 12, 3))
    enqueue(jobs.resume_expired_pauses)
    enqueue(jobs.resume_expired_pauses)
    assert db.session.query(CustomerPause).count() == 0


def test_a_paused_customer_is_skipped_until_the_pause_is_lifted(logged_in: FlaskClient, inkasso_firm: Firm) -> None:
    _overdue_post(inkasso_firm, "8003")
    response = logged_in.post(
        "/dunning/pauses/customer", data={"customer_no": "500", "reason": "Betalingsavtale"}, follow_redirects=True
    )
    assert "Purrestopp er satt på Liv Dahl." in html(response)
    assert row_of(_preview(logged_in, date(2026, 11, 27)), "8003").endswith("Purrestopp på kunden: Betalingsavtale")
    assert "Til den oppheves" in html(logged_in.get("/dunning/pauses"))

    customer_id = db.session.query(CustomerPause).one().customer_id
    response = logged_in.post(f"/dunning/pauses/customer/{customer_id}/lift", follow_redirects=True)
    assert "Purrestoppen på Liv Dahl er opphevet." in html(response)
    assert " 1. Purring " in row_of(_preview(logged_in, date(2026, 11, 27)), "8003")


def test_pause_forms_refuse_unknown_numbers_and_past_end_dates(logged_in: FlaskClient, inkasso_firm: Firm) -> None:
    _overdue_post(inkasso_firm, "8004")
    response = logged_in.post("/dunning/pauses/post", data={"invoice_no": "9999", "reason": "x"})
    assert response.status_code == 400
    assert "Fant ingen faktura med dette fakturanummeret." in html(response)
    response = logged_in.post(
        "/dunning/pauses/customer", data={"customer_no": "500", "reason": "x", "end_date": "2026-11-26"}
    )
    assert response.status_code == 400
    assert "Sluttdatoen er passert." in html(response)
    response = logged_in.post("/dunning/pauses/post", data={"invoice_no": "8004", "reason": ""})
    assert response.status_code == 400
    assert "Skriv en årsak." in html(response)
    assert db.session.query(CustomerPause).count() == 0


def test_another_firms_customer_or_post_cannot_be_paused(
    logged_in: FlaskClient, inkasso_firm: Firm, make_firm: object
) -> None:
    other = make_firm("Annen Firma AS")  # type: ignore[operator]
    customer = factories.customer(other.client.id, "Fremmed", customer_no="900")
    post = factories.post(customer, "1000.00", invoice_no="9001")
    db.session.commit()
    assert logged_in.post("/dunning/pauses/customer", data={"customer_no": "900", "reason": "x"}).status_code == 400
    assert logged_in.post("/dunning/pauses/post", data={"invoice_no": "9001", "reason": "x"}).status_code == 400
    assert logged_in.post(f"/dunning/pauses/post/{post.id}/lift").status_code == 404
    assert logged_in.post(f"/dunning/pauses/customer/{customer.id}/lift").status_code == 404
