"""A real sandbox for tests and benchmarks: on a free loopback port, driven over HTTP.

    with running_sandbox() as sandbox:
        client = SveaClient(sandbox.url, **DEMO)   # the demo creditor is seeded
        ...
        sandbox.advance_clock(300)                 # the agency confirms the submission

For a sandbox that must outlive the test process, start the console script instead
(`svea-sandbox --test-mode --port 0 --db FILE`; it prints its URL) and wrap it: `SandboxHandle(url)`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict

import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from svea_web.sandbox import DEFAULTS, create_app
from svea_web.sandbox.demo import DEMO_CREDITOR


class SandboxHandle:
    """The admin side of a running sandbox (its /sandbox/admin endpoints)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._http = requests.Session()

    def __repr__(self) -> str:
        return f"SandboxHandle({self.url!r})"

    def close(self) -> None:
        self._http.close()

    def admin(self, method: str, path: str, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        response = self._http.request(method, f"{self.url}/sandbox/admin{path}", json=json, params=params, timeout=120)
        if response.status_code >= 400:
            raise AssertionError(f"sandbox admin {method} {path}: {response.status_code} {response.text}")
        return response.json()

    def reset(self) -> None:
        """Back to a fresh sandbox (records, clock, faults), so tests can share one server."""
        self.admin("POST", "/reset")

    def now(self) -> datetime:
        return datetime.fromisoformat(self.admin("GET", "/clock")["now"])

    def advance_clock(self, seconds: float) -> datetime:
        """Moves the sandbox clock on; everything that falls due meanwhile happens, in order."""
        return datetime.fromisoformat(self.admin("POST", "/clock/advance", {"seconds": seconds})["now"])

    def set_faults(
        self,
        *,
        once: Sequence[str] = (),
        rates: dict[str, float] | None = None,
        delay_seconds: float = 2.0,
        error_status: int = 503,
        seed: int | None = None,
    ) -> None:
        """Faults for the next API calls: `once` in order, then at random by `rates` (see faults.KINDS)."""
        self.admin(
            "PUT",
            "/faults",
            {
                "once": list(once),
                "rates": rates or {},
                "delaySeconds": delay_seconds,
                "errorStatus": error_status,
                "seed": seed,
            },
        )

    def clear_faults(self) -> None:
        self.admin("DELETE", "/faults")

    def debtor_pays(self, case_number: str, amount: Decimal | str) -> dict[str, Any]:
        """The debtor pays the agency (principal, then fees, then interest)."""
        result: dict[str, Any] = self.admin("POST", f"/cases/{case_number}/debtor-payments", {"amount": str(amount)})
        return result

    def debtor_pays_many(self, payments: Sequence[tuple[str, Decimal | str]]) -> None:
        """Several debtor payments (case number, amount) in one transaction."""
        body = [{"caseNumber": number, "amount": str(amount)} for number, amount in payments]
        self.admin("POST", "/debtor-payments", {"payments": body})

    def settle_now(self) -> list[dict[str, Any]]:
        """Settles every creditor's unsettled debtor payments now (as midnight would)."""
        result: list[dict[str, Any]] = self.admin("POST", "/settle")["settlements"]
        return result

    def add_creditor(self, customer_no: str, username: str, password: str, name: str | None = None) -> None:
        body = {"customerNo": customer_no, "username": username, "password": password}
        if name is not None:
            body["name"] = name
        self.admin("POST", "/creditors", body)

    def bulk_seed(self, customer_no: str, count: int, level: str = "INKASSO") -> list[str]:
        """`count` confirmed cases for the creditor at once; their case numbers."""
        result: list[str] = self.admin(
            "POST", "/bulk-seed", {"customerNo": customer_no, "count": count, "level": level}
        )["caseNumbers"]
        return result

    def set_random_payments(self, seed: int | None, probability: float = 0.3) -> None:
        self.admin("PUT", "/random-payments", {"seed": seed, "probability": probability})

    def cases(self, customer_no: str | None = None) -> list[dict[str, Any]]:
        """Every case as the agency sees it (protocol JSON plus "customerNo")."""
        params = {"customerNo": customer_no} if customer_no else None
        result: list[dict[str, Any]] = self.admin("GET", "/cases", params=params)["cases"]
        return result

    def requests(self, customer_no: str | None = None) -> list[dict[str, Any]]:
        """Every submission the agency received, with its state."""
        params = {"customerNo": customer_no} if customer_no else None
        result: list[dict[str, Any]] = self.admin("GET", "/requests", params=params)["requests"]
        return result


class ClientCredentials(TypedDict):
    base_url: str
    customer_no: str
    username: str
    password: str


class RunningSandbox(SandboxHandle):
    """A sandbox served from a thread of this process; also knows the demo creditor's credentials."""

    demo_creditor = DEMO_CREDITOR

    def client_credentials(self) -> ClientCredentials:
        """base_url, customer_no, username and password of the demo creditor, as SveaClient takes them."""
        return {
            "base_url": self.url,
            "customer_no": DEMO_CREDITOR["customer_no"],
            "username": DEMO_CREDITOR["username"],
            "password": DEMO_CREDITOR["password"],
        }


class _QuietRequestHandler(WSGIRequestHandler):
    """Keeps the access log out of test output."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@contextmanager
def running_sandbox(**config: Any) -> Iterator[RunningSandbox]:
    """A sandbox in test mode on 127.0.0.1 and a free port, with the demo creditor, in memory by default.

    `config` overrides the sandbox settings (SANDBOX_DB, CONFIRM_DELAY_SECONDS, ...).
    """
    settings = {**DEFAULTS, "SANDBOX_DB": ":memory:", "TEST_MODE": True, "SANDBOX_DEMO": True, **config}
    server = make_server("127.0.0.1", 0, create_app(settings), threaded=True, request_handler=_QuietRequestHandler)
    # A short poll interval: shutdown() waits for the serving loop to look up, once per test.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="svea-sandbox", daemon=True
    )
    thread.start()
    handle = RunningSandbox(f"http://127.0.0.1:{server.server_port}")
    try:
        yield handle
    finally:
        handle.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
