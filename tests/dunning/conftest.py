"""A firm at Svea level Inkasso with in-app reminders, and helpers to read the Purring pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from svea_web.dunning.models import LetterSettings
from svea_web.extensions import db
from svea_web.setup.models import DunningSettings, SveaSettings
from tests.conftest import Firm
from tests.mail.smtp import SmtpServer, running_smtp_server

ACCOUNT_NO = "86011117947"


def configure(
    client_id: int,
    *,
    level: str = "inkasso",
    reminders: int = 2,
    notice: bool = True,
    fee: bool = True,
    interest: bool = True,
    min_amount: str = "100.00",
    days_between: int = 14,
    account_no: str | None = ACCOUNT_NO,
) -> None:
    db.session.merge(SveaSettings(client_id=client_id, handover_level=level))
    db.session.merge(
        DunningSettings(
            client_id=client_id,
            in_app_steps=reminders,
            notice_enabled=notice,
            fee_enabled=fee,
            interest_enabled=interest,
            min_amount=Decimal(min_amount),
            days_between=days_between,
            offer_after_days=14,
        )
    )
    if account_no:
        db.session.merge(LetterSettings(client_id=client_id, account_no=account_no))
    db.session.commit()


@pytest.fixture
def inkasso_firm(firm: Firm) -> Firm:
    """2 reminders and a collection notice in the app, 14-day deadlines, fees and interest, minimum 100 kr."""
    configure(firm.client.id)
    return firm


def set_today(app: Flask, day: date) -> None:
    app.config["LEDGER_TODAY"] = day


def html(response: Any) -> str:
    return str(response.get_data(as_text=True))


def start_run(client: FlaskClient, day: date) -> int:
    response = client.post("/dunning/runs", data={"run_date": day.isoformat()})
    assert response.status_code == 302, html(response)
    match = re.search(r"/dunning/runs/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def digest_of(client: FlaskClient, run_id: int) -> str:
    page = html(client.get(f"/dunning/runs/{run_id}"))
    match = re.search(r'name="digest" type="hidden" value="([0-9a-f]{64})"', page) or re.search(
        r'name="digest" value="([0-9a-f]{64})"', page
    )
    assert match, "the preview offers no confirm button"
    return match.group(1)


def confirm(client: FlaskClient, run_id: int, digest: str | None = None) -> Any:
    digest = digest or digest_of(client, run_id)
    return client.post(f"/dunning/runs/{run_id}/confirm", data={"digest": digest}, follow_redirects=True)


def run_today(client: FlaskClient, day: date) -> int:
    run_id = start_run(client, day)
    response = confirm(client, run_id)
    assert "Kjøringen er bekreftet" in html(response), html(response)
    return run_id


def row_of(page: str, invoice_no: str) -> str:
    """The table row of one post, as text without tags and with plain spaces."""
    match = re.search(rf'<tr data-post="{re.escape(invoice_no)}">(.*?)</tr>', page, re.S)
    assert match, f"no row for {invoice_no}"
    text = re.sub(r"<[^>]+>", " ", match.group(1)).replace("\u00a0", " ")
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture
def smtp(app: Flask) -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_STARTTLS=False, SMTP_USERNAME=None)
        yield server
