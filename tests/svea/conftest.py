"""A real Svea sandbox on loopback for every test, and the client pointed at it as the demo creditor."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from svea_web.sandbox.testing import RunningSandbox, running_sandbox
from svea_web.svea import (
    Address,
    CaseLevel,
    CaseSubmission,
    Debtor,
    DebtorType,
    Invoice,
    RequestState,
    SveaClient,
)

DEMO_PASSWORD = "sandbox-2026"


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[RunningSandbox]:
    with running_sandbox() as running:
        yield running


@pytest.fixture
def sandbox(sandbox_server: RunningSandbox) -> RunningSandbox:
    """A fresh sandbox for the test: the session's server, reset (starting a server per test costs more)."""
    sandbox_server.reset()
    return sandbox_server


@pytest.fixture
def make_client(sandbox: RunningSandbox) -> Iterator[Callable[..., SveaClient]]:
    """Clients of the demo creditor; retries back off in milliseconds so the fault tests stay quick."""
    made: list[SveaClient] = []

    def make(**options: Any) -> SveaClient:
        settings: dict[str, Any] = {**sandbox.client_credentials(), "backoff_seconds": 0.01, "read_timeout": 10.0}
        settings.update(options)
        client = SveaClient(**settings)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., SveaClient]) -> SveaClient:
    return make_client()


class RequestLog:
    """The HTTP answers a client's session received (not counting attempts that never got one)."""

    def __init__(self) -> None:
        self.responses: list[requests.Response] = []

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        self.responses.append(response)
        return response

    def count(self, method: str | None = None, path: str | None = None) -> int:
        return sum(
            1
            for response in self.responses
            if (method is None or response.request.method == method)
            and (path is None or (response.request.path_url or "").split("?")[0].endswith(path))
        )


@pytest.fixture
def logged_client(make_client: Callable[..., SveaClient]) -> tuple[SveaClient, RequestLog]:
    log = RequestLog()
    session = requests.Session()
    session.hooks["response"].append(log)
    return make_client(session=session), log


def overdue_invoice(number: str = "1001", amount: str = "1250.00", days_overdue: int = 30, **fields: Any) -> Invoice:
    due = date.today() - timedelta(days=days_overdue)
    values: dict[str, Any] = {
        "invoice_no": number,
        "match_no": number,
        "invoice_date": due - timedelta(days=14),
        "due_date": due,
        "amount": Decimal(amount),
        "remaining_amount": Decimal(amount),
        "kid": f"00{number}5" if number.isdigit() else None,
    }
    values.update(fields)
    return Invoice(**values)


def submission(
    *invoices: Invoice,
    level: CaseLevel = CaseLevel.INKASSO,
    creditor_ref: str = "post-1",
    debtor: Debtor | None = None,
) -> CaseSubmission:
    return CaseSubmission(
        level=level,
        creditor_ref=creditor_ref,
        debtor=debtor
        or Debtor(
            type=DebtorType.COMPANY,
            name="Fjordkraft Bygg AS",
            address=Address("Strandgata 4", "5004", "Bergen"),
            org_no="923609016",
            customer_no="K-77",
        ),
        invoices=invoices or (overdue_invoice(),),
    )


def open_case(
    client: SveaClient, sandbox: RunningSandbox, case: CaseSubmission | None = None, key: str = "case-1"
) -> str:
    """Submits a case, lets the agency's five minutes pass, and returns its case number."""
    result = client.submit_case(case or submission(), key)
    sandbox.advance_clock(300)
    status = client.get_request(result.request_id)
    assert status.state is RequestState.CONFIRMED, status
    assert status.case_number is not None
    return status.case_number
