"""The dated tables of fees and rates: seeded from RULES.md, unconfirmed figures marked, edited by an admin."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from svea_web.extensions import db
from svea_web.rules import fees, figures
from svea_web.setup import services
from svea_web.setup.models import FigureRow
from tests.conftest import Firm
from tests.setup.conftest import csrf_token


@pytest.fixture(autouse=True)
def operator(firm: Firm) -> None:
    """The figure tables are shared by all firms: only the deployment's operator edits them."""
    firm.admin.is_operator = True
    db.session.commit()


def _row(kind: str, day: date) -> FigureRow:
    return db.session.query(FigureRow).filter_by(kind=kind, valid_from=day).one()


@pytest.mark.all_backends
def test_tables_are_seeded_from_the_rules_on_first_use(app: Flask) -> None:
    for kind, defaults in figures.DEFAULT_TABLES.items():
        assert services.figure_table(kind) == defaults
    marked = {(row.kind, row.valid_from) for row in db.session.query(FigureRow).filter_by(unconfirmed=True)}
    assert marked == set(figures.UNCONFIRMED)


def test_the_issue_names_of_the_tables_are_accepted(app: Flask) -> None:
    assert services.figure_table("reminder_fee") == figures.DEFAULT_REMINDER_FEES
    assert services.figure_table("late_interest_rate") == services.figure_table(figures.LATE_INTEREST_RATES)


def test_the_page_marks_unconfirmed_figures(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    page = logged_in.get("/settings/figures").get_data(as_text=True)
    row = _row(figures.REMINDER_FEES, date(2026, 1, 1))
    fragment = page.split(f'id="figure-{row.id}"')[1].split("</tr>")[0]
    assert "01.01.2026" in fragment and "37,50" in fragment and "ikke bekreftet" in fragment
    confirmed = _row(figures.REMINDER_FEES, date(2020, 10, 1))
    assert "ikke bekreftet" not in page.split(f'id="figure-{confirmed.id}"')[1].split("</tr>")[0]


@pytest.mark.all_backends
def test_an_admin_corrects_a_figure_and_the_rules_use_it(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    logged_in.get("/settings/figures")
    row = _row(figures.REMINDER_FEES, date(2026, 1, 1))

    response = logged_in.post(f"/settings/figures/row/{row.id}", data={"value": "37,00"})

    assert response.status_code == 302
    table = services.figure_table(figures.REMINDER_FEES)
    assert fees.reminder_fee_on(date(2026, 11, 27), table) == Decimal("37.00")
    assert fees.reminder_fee_on(date(2025, 11, 27), table) == Decimal("35.00")
    db.session.refresh(row)
    assert not row.unconfirmed


def test_an_admin_confirms_a_figure(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    logged_in.get("/settings/figures")
    row = _row(figures.LATE_INTEREST_RATES, date(2024, 7, 1))
    logged_in.post(f"/settings/figures/row/{row.id}/confirm")
    db.session.refresh(row)
    assert not row.unconfirmed and row.value == Decimal("12.50")


def test_an_admin_adds_a_new_half_year_rate(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    response = logged_in.post(
        "/settings/figures/late_interest_rates/add",
        data={"late_interest_rates-valid_from": "01.07.2026", "late_interest_rates-value": "11,75"},
    )
    assert response.status_code == 302
    table = services.figure_table(figures.LATE_INTEREST_RATES)
    assert figures.value_on(table, date(2026, 11, 27)) == Decimal("11.75")
    assert figures.value_on(table, date(2026, 6, 30)) == Decimal("12.00")


def test_invalid_new_figures_are_refused(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    cases = [
        ({"valid_from": "31.02.2026", "value": "10"}, "dato"),
        ({"valid_from": "", "value": "10"}, "Oppgi en dato"),
        ({"valid_from": "01.01.2026", "value": "-1"}, "Beløpet kan ikke være negativt"),
        ({"valid_from": "01.01.2026", "value": "mye"}, "ugyldig"),
        ({"valid_from": "01.01.2026", "value": "12,00"}, "Det finnes allerede en sats fra 01.01.2026"),
    ]
    for fields, message in cases:
        data = {f"late_interest_rates-{k}": v for k, v in fields.items()}
        response = logged_in.post("/settings/figures/late_interest_rates/add", data=data)
        assert response.status_code == 400, fields
        assert message in response.get_data(as_text=True), fields
    assert len(services.figure_table(figures.LATE_INTEREST_RATES)) == len(figures.DEFAULT_LATE_INTEREST_RATES)


def test_an_invalid_correction_changes_nothing(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    logged_in.get("/settings/figures")
    row = _row(figures.REMINDER_FEES, date(2026, 1, 1))
    response = logged_in.post(f"/settings/figures/row/{row.id}", data={"value": "tretti"}, follow_redirects=True)
    assert "Satsen ble ikke endret" in response.get_data(as_text=True)
    db.session.refresh(row)
    assert row.value == Decimal("37.50") and row.unconfirmed


def test_a_figure_can_be_deleted_but_not_the_last_one(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    logged_in.get("/settings/figures")
    rows = db.session.query(FigureRow).filter_by(kind=figures.COMPANY_COMPENSATION).order_by(FigureRow.valid_from).all()
    for row in rows[1:]:
        logged_in.post(f"/settings/figures/row/{row.id}/delete")
    response = logged_in.post(f"/settings/figures/row/{rows[0].id}/delete", follow_redirects=True)

    assert "Tabellen må ha minst én sats" in response.get_data(as_text=True)
    assert services.figure_table(figures.COMPANY_COMPENSATION) == (figures.DEFAULT_COMPANY_COMPENSATION[0],)


def test_a_user_who_is_not_admin_cannot_edit_figures(app: Flask, firm: Firm, client: FlaskClient, auth: Any) -> None:
    auth.login(firm.user)
    page = client.get("/settings/figures").get_data(as_text=True)
    assert "ikke bekreftet" in page and "Legg til sats" not in page
    row = _row(figures.REMINDER_FEES, date(2026, 1, 1))
    assert client.post(f"/settings/figures/row/{row.id}", data={"value": "1"}).status_code == 403
    assert client.post(f"/settings/figures/row/{row.id}/delete").status_code == 403


def test_a_firm_admin_who_is_not_the_operator_cannot_edit_shared_figures(
    app: Flask, firm: Firm, logged_in: FlaskClient
) -> None:
    firm.admin.is_operator = False
    db.session.commit()
    page = logged_in.get("/settings/figures").get_data(as_text=True)
    assert "endres av driftsansvarlig" in page and "Legg til sats" not in page
    row = _row(figures.REMINDER_FEES, date(2026, 1, 1))
    assert logged_in.post(f"/settings/figures/row/{row.id}", data={"value": "1"}).status_code == 403
    assert logged_in.post(f"/settings/figures/{figures.REMINDER_FEES}/add", data={}).status_code == 403
    assert _row(figures.REMINDER_FEES, date(2026, 1, 1)).value != Decimal("1")


def test_figure_edit_without_csrf_token_is_refused(csrf_browser: Any) -> None:
    csrf_app, browser = csrf_browser
    with csrf_app.app_context():
        from svea_web.accounts.models import User

        db.session.execute(db.update(User).values(is_operator=True))
        db.session.commit()
    page = browser.get("/settings/figures").get_data(as_text=True)
    with csrf_app.app_context():
        row_id = _row(figures.REMINDER_FEES, date(2026, 1, 1)).id
    assert browser.post(f"/settings/figures/row/{row_id}", data={"value": "1"}).status_code == 400
    token = csrf_token(page)
    assert browser.post(f"/settings/figures/row/{row_id}", data={"value": "1", "csrf_token": token}).status_code == 302
