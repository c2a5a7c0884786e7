"""Bad input to the sandbox gets a 4xx with a JSON error, never a 500 (raw HTTP, as any client might send)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from svea_web.sandbox.testing import RunningSandbox, running_sandbox

from .conftest import DEMO_PASSWORD

VALID_CASE: dict[str, Any] = {
    "level": "INKASSO",
    "creditorRef": "post-1",
    "debtor": {
        "type": "COMPANY",
        "name": "Kunde AS",
        "orgNo": "923609016",
        "address": {"street": "Gata 1", "postalCode": "0150", "city": "Oslo"},
    },
    "invoices": [
        {
            "invoiceNo": "1001",
            "invoiceDate": "2026-01-01",
            "dueDate": "2026-01-15",
            "amount": "100.00",
            "remainingAmount": "100.00",
        }
    ],
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    """One sandbox for the module: nothing here may change its state, and the tests assert that."""
    with running_sandbox() as running:
        yield running


@pytest.fixture
def http(sandbox: RunningSandbox) -> Iterator[requests.Session]:
    session = requests.Session()
    session.auth = ("demo-regnskap", DEMO_PASSWORD)
    session.headers["X-Svea-Customer-No"] = "10042"
    yield session
    session.close()


def changed(path: str, value: Any) -> dict[str, Any]:
    """VALID_CASE with the field at a dotted path set to `value` (or removed, for the marker `...`)."""
    body = copy.deepcopy(VALID_CASE)
    *parents, last = path.split(".")
    target: Any = body
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return body


def assert_json_error(response: requests.Response, status: int | tuple[int, ...]) -> dict[str, Any]:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.text
    assert response.headers["Content-Type"] == "application/json"
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] and error["message"]
    return error


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("level", "SOMETIMES"),
        ("level", 1),
        ("creditorRef", ...),
        ("creditorRef", ""),
        ("creditorRef", ["a"]),
        ("debtor", "Kunde AS"),
        ("debtor.type", None),
        ("debtor.name", "   "),
        ("debtor.name", "Kunde\u0000AS"),
        ("debtor.orgNo", 923609016),
        ("debtor.address", ...),
        ("debtor.address.country", "Norge"),
        ("invoices", []),
        ("invoices", {"invoiceNo": "1"}),
        ("invoices", [None]),
        ("invoices.0.amount", 100.0),
        ("invoices.0.amount", "100,00"),
        ("invoices.0.amount", "-5.00"),
        ("invoices.0.amount", "1e3"),
        ("invoices.0.amount", "١٠٠"),
        ("invoices.0.remainingAmount", ...),
        ("invoices.0.dueDate", "15.01.2026"),
        ("invoices.0.dueDate", "2026-02-30"),
        ("invoices.0.dueDate", 20260115),
        ("invoices.0.kid", "12AB"),
        ("invoices.0.kid", "1"),
        ("invoices.0.currency", "SEK"),
    ],
)
def test_case_with_a_wrong_field_is_a_400_naming_the_field(
    http: requests.Session, sandbox: RunningSandbox, path: str, value: Any
) -> None:
    received = len(sandbox.requests())

    response = http.post(
        f"{sandbox.url}/api/v1/cases", json=changed(path, value), headers={"Idempotency-Key": "k"}, timeout=10
    )

    error = assert_json_error(response, 400)
    assert error["field"].replace("[", ".").replace("]", "").startswith(path.split(".")[0])
    assert len(sandbox.requests()) == received


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"", "application/json", 400),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b"[]", "application/json", 400),
        (b"null", "application/json", 400),
        (json.dumps(VALID_CASE).encode(), "text/plain", 415),
        (b"level=INKASSO", "application/x-www-form-urlencoded", 415),
    ],
)
def test_body_that_is_not_a_json_object_is_refused(
    http: requests.Session, sandbox: RunningSandbox, body: bytes, content_type: str, status: int
) -> None:
    response = http.post(
        f"{sandbox.url}/api/v1/cases",
        data=body,
        headers={"Content-Type": content_type, "Idempotency-Key": "k"},
        timeout=10,
    )

    assert_json_error(response, status)


@pytest.mark.parametrize("path", ["/api/v1/cases", "/api/v1/cases/{case}/messages", "/sandbox/admin/creditors"])
def test_body_over_one_megabyte_is_413(http: requests.Session, sandbox: RunningSandbox, path: str) -> None:
    [number] = sandbox.bulk_seed("10042", 1)
    huge = {"text": "x" * (1024 * 1024 + 10)}

    response = http.post(
        f"{sandbox.url}{path.format(case=number)}", json=huge, headers={"Idempotency-Key": "k"}, timeout=30
    )

    assert_json_error(response, 413)


def test_submission_without_idempotency_key_is_refused(http: requests.Session, sandbox: RunningSandbox) -> None:
    for headers in ({}, {"Idempotency-Key": "with space"}, {"Idempotency-Key": "k" * 256}):
        response = http.post(f"{sandbox.url}/api/v1/cases", json=VALID_CASE, headers=headers, timeout=10)
        assert assert_json_error(response, 400)["field"] == "Idempotency-Key"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/cases/99999999"),
        ("GET", "/api/v1/cases/99999999/dispatches"),
        ("GET", "/api/v1/cases/99999999/dispatches/1/pdf"),
        ("GET", "/api/v1/cases/99999999/dispatches/abc/pdf"),
        ("GET", "/api/v1/cases/99999999/messages"),
        ("POST", "/api/v1/cases/99999999/messages"),
        ("POST", "/api/v1/cases/99999999/direct-payments"),
        ("POST", "/api/v1/cases/99999999/close"),
        ("GET", "/api/v1/requests/nope"),
        ("GET", "/api/v1/nothing-here"),
        ("POST", "/sandbox/admin/cases/99999999/debtor-payments"),
    ],
)
def test_unknown_case_or_path_is_a_json_404(
    http: requests.Session, sandbox: RunningSandbox, method: str, path: str
) -> None:
    body = {"text": "Hei", "amount": "1.00", "paidOn": "2026-01-01", "reason": "OTHER"}

    response = http.request(method, f"{sandbox.url}{path}", json=body, timeout=10)

    assert_json_error(response, 404)


def test_wrong_method_is_a_json_405_with_allow(http: requests.Session, sandbox: RunningSandbox) -> None:
    response = http.delete(f"{sandbox.url}/api/v1/cases", timeout=10)

    assert_json_error(response, 405)
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "501"},
        {"limit": "ten"},
        {"limit": "9" * 5000},
        {"updatedSince": "yesterday"},
        {"updatedSince": "0001-01-01T00:00:00+14:00"},
        {"cursor": "not-a-cursor"},
        {"cursor": "eyJ1IjogMX0"},
    ],
)
def test_bad_case_poll_parameters_are_400(http: requests.Session, sandbox: RunningSandbox, query: dict) -> None:
    response = http.get(f"{sandbox.url}/api/v1/cases", params=query, timeout=10)

    assert_json_error(response, 400)


@pytest.mark.parametrize("query", [{"afterId": "-1"}, {"afterId": "x"}, {"limit": "1000"}])
def test_bad_settlement_parameters_are_400(http: requests.Session, sandbox: RunningSandbox, query: dict) -> None:
    assert_json_error(http.get(f"{sandbox.url}/api/v1/settlements", params=query, timeout=10), 400)


def test_missing_or_broken_credentials_are_a_json_401(sandbox: RunningSandbox) -> None:
    url = f"{sandbox.url}/api/v1/ping"
    attempts = [
        requests.get(url, timeout=10),
        requests.get(url, auth=("demo-regnskap", DEMO_PASSWORD), timeout=10),
        requests.get(url, headers={"X-Svea-Customer-No": "10042", "Authorization": "Basic %%%"}, timeout=10),
        requests.get(url, headers={"X-Svea-Customer-No": "10042", "Authorization": "Bearer abc"}, timeout=10),
    ]

    for response in attempts:
        assert_json_error(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/direct-payments", {"amount": "0.00", "paidOn": "2026-01-01"}),
        ("/direct-payments", {"amount": 10, "paidOn": "2026-01-01"}),
        ("/direct-payments", {"amount": "10.00"}),
        ("/direct-payments", {"amount": "10.00", "paidOn": "2026-01-01", "reference": {"kid": "1"}}),
        ("/close", {"reason": "BORED"}),
        ("/close", {}),
        ("/messages", {"text": ""}),
        ("/messages", {"text": "x" * 4001}),
        ("/messages", {"message": "Hei"}),
    ],
)
def test_bad_bodies_for_case_actions_are_400(
    http: requests.Session, sandbox: RunningSandbox, path: str, body: dict
) -> None:
    [number] = sandbox.bulk_seed("10042", 1)

    response = http.post(f"{sandbox.url}/api/v1/cases/{number}{path}", json=body, timeout=10)

    assert_json_error(response, 400)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/clock/advance", {"seconds": -5}),
        ("/clock/advance", {"seconds": "300"}),
        ("/faults", {"rates": {"error": 2}}),
        ("/faults", {"rates": {"error": 0.7, "slow": 0.7}}),
        ("/faults", {"once": ["earthquake"]}),
        ("/bulk-seed", {"customerNo": "10042", "count": 0}),
        ("/creditors", {"customerNo": "1"}),
    ],
)
def test_bad_admin_requests_are_400(sandbox: RunningSandbox, path: str, body: dict) -> None:
    method = "PUT" if path == "/faults" else "POST"

    response = requests.request(method, f"{sandbox.url}/sandbox/admin{path}", json=body, timeout=10)

    assert_json_error(response, 400)
