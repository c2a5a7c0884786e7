"""The audit trail (Logg, /settings/audit): who sent, closed, messaged, paid, imported or changed settings,
and when, shown to the firm's administrators for their own firm only, filtered and a page at a time."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from svea_web.accounts.models import AuditEvent
from svea_web.audit import record
from svea_web.collection.models import SveaCase
from svea_web.extensions import db
from svea_web.ledger.models import CustomerPost
from svea_web.payments import ocr

from .conftest import Worlds, log_in
from .test_isolation import HTMX


@pytest.fixture
def admin(app: Flask, worlds: Worlds) -> FlaskClient:
    return log_in(app.test_client(), worlds.a.admin_id)


def rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in body.split("</tr>") if "<td" in row]


def test_an_admin_sees_the_firms_trail_newest_first_and_nothing_of_another_firm(
    admin: FlaskClient, worlds: Worlds
) -> None:
    page = admin.get("/settings/audit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"Hendelse {worlds.a.tag}" in html
    assert worlds.b.tag not in html
    shown = rows(html)
    assert shown[0].endswith(f"Hendelse {worlds.a.tag}"), "the last event made is on top"
    assert f"Admin {worlds.a.tag}" in shown[0]


def test_a_user_who_is_not_an_admin_is_refused(app: Flask, worlds: Worlds) -> None:
    browser = log_in(app.test_client(), worlds.a.user_id)
    assert browser.get("/settings/audit").status_code == 403


def test_the_settings_lead_an_admin_to_the_trail_and_a_user_not(app: Flask, worlds: Worlds) -> None:
    admin = log_in(app.test_client(), worlds.a.admin_id)
    assert 'href="/settings/audit"' in admin.get("/settings/").get_data(as_text=True)
    user = log_in(app.test_client(), worlds.a.user_id)
    page = user.get("/settings/")
    assert page.status_code == 200
    assert 'href="/settings/audit"' not in page.get_data(as_text=True)


def test_the_trail_is_filtered_by_action_and_by_user(admin: FlaskClient, worlds: Worlds) -> None:
    record(worlds.a.client_id, "payments.registered", "payment", 1, "99.00 kr", worlds.a.user_id)
    db.session.commit()
    by_action = rows(admin.get("/settings/audit?action=payments.registered").get_data(as_text=True))
    assert by_action and all("Innbetaling registrert" in row for row in by_action)
    by_user = rows(admin.get(f"/settings/audit?user={worlds.a.user_id}").get_data(as_text=True))
    assert by_user == [by_user[0]] and f"Bruker {worlds.a.tag}" in by_user[0]
    by_system = rows(admin.get("/settings/audit?user=system").get_data(as_text=True))
    assert all("Systemet" in row for row in by_system)
    unknown = admin.get(f"/settings/audit?user={worlds.b.admin_id}&action=finnes.ikke")
    assert len(rows(unknown.get_data(as_text=True))) > len(by_user), "an unknown filter value shows everything"
    fragment = admin.get("/settings/audit?action=payments.registered", headers=HTMX).get_data(as_text=True)
    assert fragment.startswith('<div id="audit-table">')


def test_the_trail_is_shown_a_page_at_a_time(admin: FlaskClient, worlds: Worlds) -> None:
    start = datetime(2020, 1, 1)
    for n in range(60):
        event = record(worlds.a.client_id, "mail.resend", "outgoing_mail", n, f"e-post {n:02d}", worlds.a.admin_id)
        event.at = start + timedelta(minutes=n)
    db.session.commit()
    first = rows(admin.get("/settings/audit?action=mail.resend").get_data(as_text=True))
    second = rows(admin.get("/settings/audit?action=mail.resend&page=2").get_data(as_text=True))
    assert len(first) == 50 and len(second) == 10
    assert first[0].endswith("e-post 59") and second[-1].endswith("e-post 00")


def test_sending_closing_messaging_paying_importing_and_settings_are_all_in_the_trail(
    admin: FlaskClient, worlds: Worlds
) -> None:
    """Each action done through the app's own forms, then read back from the trail."""
    a = worlds.a
    case_id = a.ids[SveaCase][0]
    post = db.session.scalar(select(CustomerPost).where(CustomerPost.client_id == a.client_id).limit(1))
    assert post is not None
    file = ocr.write([("0000050013", Decimal("10.00"))], nets_date=date(2026, 11, 26), assignment_number="0000777")
    before = {e.id for e in db.session.scalars(select(AuditEvent))}

    actions = [
        admin.post(f"/collection/cases/{case_id}/messages", data={"text": "Kunden har bestridt kravet."}),
        admin.post(f"/collection/cases/{case_id}/close", data={"reason": "OTHER"}),
        admin.post(
            "/payments/new",
            data={"token": "a" * 32, "post_id": post.id, "amount": "10,00", "paid_on": "27.11.2026"},
        ),
        admin.post(
            "/payments/files",
            data={"file": (io.BytesIO(file.encode()), "ocr.txt")},
            content_type="multipart/form-data",
        ),
        admin.post(
            "/settings/dunning",
            data={
                "in_app_steps": "2",
                "days_between": "14",
                "fee_enabled": "y",
                "min_amount": "0,00",
                "offer_after_days": "14",
            },
        ),
    ]
    assert all(answer.status_code in (200, 302, 303) for answer in actions), [a.status_code for a in actions]
    new = db.session.scalars(select(AuditEvent).where(AuditEvent.id.not_in(before))).all()
    made = {e.action for e in new}
    expected = {"collection.message", "collection.close", "payments.registered", "payments.import_uploaded"}
    assert expected | {"setup.dunning_saved"} <= made
    assert all(e.user_id == a.admin_id and e.client_id == a.client_id for e in new if e.action in expected)

    html = admin.get("/settings/audit").get_data(as_text=True)
    for label in (
        "Melding sendt til saksbehandler",
        "Sak avsluttet",
        "Innbetaling registrert",
        "Betalingsfil lastet opp",
        "Oppsett purre/rente endret",
    ):
        assert label in html
