"""Inkassosaker tests: a firm set up for the sandbox agency, which runs over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient

from svea_web.crypto import encrypt_secret
from svea_web.extensions import db
from svea_web.sandbox import DEMO_CREDITOR
from svea_web.sandbox.testing import RunningSandbox, running_sandbox
from svea_web.setup.models import DunningSettings, SveaSettings
from tests import factories


@pytest.fixture
def app_config(app_config: dict[str, Any], database_url: str) -> dict[str, Any]:
    # Svea calls fail fast in tests: short timeouts, tiny backoff between GET retries. (database_url is
    # named so that pytest sees the backend parameter behind the overridden fixture.)
    return {**app_config, "SVEA_BACKOFF_SECONDS": 0.01, "SVEA_READ_TIMEOUT": 5.0, "SVEA_CONNECT_TIMEOUT": 2.0}


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox() as running:
        yield running


def configure_svea(
    client_id: int,
    url: str,
    *,
    level: str = "purring",
    group: bool = False,
    password: str = DEMO_CREDITOR["password"],
    in_app_steps: int = 0,
    notice: bool = False,
    offer_after_days: int = 14,
    min_amount: str = "0",
) -> None:
    db.session.merge(
        SveaSettings(
            client_id=client_id,
            customer_no=DEMO_CREDITOR["customer_no"],
            username=DEMO_CREDITOR["username"],
            password_encrypted=encrypt_secret(password),
            handover_level=level,
            kid_length=25,
            group_by_customer=group,
            base_url=url,
            has_agreement=True,
        )
    )
    db.session.merge(
        DunningSettings(
            client_id=client_id,
            in_app_steps=in_app_steps,
            notice_enabled=notice,
            days_between=14,
            offer_after_days=offer_after_days,
            min_amount=Decimal(min_amount),
        )
    )
    db.session.commit()


@pytest.fixture
def svea_firm(firm: Any, sandbox: RunningSandbox) -> Any:
    configure_svea(firm.client.id, sandbox.url)
    return firm


def debtor(client_id: int, name: str = "Kari Nordmann", **fields: Any) -> Any:
    """A person with everything Svea needs: fødselsnummer and address."""
    defaults = {"national_id": "01017012345", "address": "Storgata 1", "postcode": "0155", "city": "Oslo"}
    return factories.customer(client_id, name, **{**defaults, **fields})


def company(client_id: int, name: str = "Fjord Bygg AS", **fields: Any) -> Any:
    defaults = {"org_no": "923609016", "address": "Kaia 2", "postcode": "5003", "city": "Bergen"}
    return factories.customer(client_id, name, kind="company", **{**defaults, **fields})


def overdue_post(customer: Any, amount: str = "1000.00", due: date = date(2026, 10, 1), **fields: Any) -> Any:
    post = factories.post(customer, amount, due, **fields)
    db.session.commit()
    return post


def page_text(client: FlaskClient, path: str, htmx: bool = False) -> str:
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def create_cases(client: FlaskClient, *keys: str, htmx: bool = False) -> Any:
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post("/collection/cases", data={"row": list(keys)}, headers=headers)


def sync(client: FlaskClient) -> Any:
    """Press «Oppdater nå»: one delta poll (the job runs inline in tests)."""
    response = client.post("/collection/sync", headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response


def fresh(model: Any, **where: Any) -> Any:
    """Rows as the requests left them (the test's session would otherwise keep its own copies)."""
    db.session.expire_all()
    return db.session.query(model).filter_by(**where).order_by(model.id).all()
