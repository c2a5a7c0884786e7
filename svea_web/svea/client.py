"""SveaClient: the only code in the app that speaks HTTP to Svea (protocol: docs/svea-protocol.openapi.yaml).

Reads (GET) are retried with exponential backoff when Svea is unavailable. Writes (POST) are never retried
here: each carries an Idempotency-Key, and the caller's job retries with the same key, so a POST that
timed out after Svea acted on it cannot act twice.
"""

from __future__ import annotations

import base64
import logging
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import quote

import requests

from svea_web.svea import parsing
from svea_web.svea.errors import (
    SveaAuthError,
    SveaConflict,
    SveaError,
    SveaMalformedResponse,
    SveaNotFound,
    SveaRejected,
    SveaUnavailable,
)
from svea_web.svea.models import (
    CaseInfo,
    CasePage,
    CaseSubmission,
    CloseReason,
    DirectPaymentResult,
    Dispatch,
    Invoice,
    Message,
    PingResult,
    RequestStatus,
    Settlement,
    SubmitResult,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
PAGE_SIZE = 500
_CENT = Decimal("0.01")


def _money(amount: Decimal) -> str:
    if not isinstance(amount, Decimal) or amount != amount.quantize(_CENT):
        raise ValueError(f"amount must be a Decimal with at most two decimals, not {amount!r}")
    return str(amount.quantize(_CENT))


class SveaClient:
    def __init__(
        self,
        base_url: str,
        customer_no: str,
        username: str,
        password: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        get_attempts: int = 4,
        backoff_seconds: float = 0.5,
        backoff_max_seconds: float = 8.0,
        page_size: int = PAGE_SIZE,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.customer_no = customer_no
        self.username = username
        self._password = password
        credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._headers = {
            "Authorization": f"Basic {credentials}",
            "X-Svea-Customer-No": customer_no,
            "Accept": "application/json",
        }
        self.timeout = (connect_timeout, read_timeout)
        self.get_attempts = max(1, get_attempts)
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.page_size = page_size
        self._session = session or requests.Session()

    def __repr__(self) -> str:
        return f"SveaClient(base_url={self.base_url!r}, customer_no={self.customer_no!r}, username={self.username!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> SveaClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- the protocol ----------------------------------------------------------------------------------

    def ping(self) -> PingResult:
        """Checks the credentials (Oppsett Svea's "Test connection")."""
        return self._get_json("/ping", parsing.ping)

    def submit_case(self, submission: CaseSubmission, idempotency_key: str) -> SubmitResult:
        """Hands a case to Svea. Svea answers at once with a request id; the case number comes later."""
        response = self._send("POST", "/cases", json=_submission_body(submission), idempotency_key=idempotency_key)
        data = self._json_object(response, "/cases")
        return SubmitResult(
            request_id=data.text("requestId"),
            replayed=response.headers.get("Idempotent-Replayed") == "true",
        )

    def get_request(self, request_id: str) -> RequestStatus:
        return self._get_json(f"/requests/{_segment(request_id)}", parsing.request_status)

    def get_case(self, case_number: str) -> CaseInfo:
        return self._get_json(f"/cases/{_segment(case_number)}", parsing.case)

    def get_cases_page(self, since: datetime | None = None, cursor: str | None = None) -> CasePage:
        params: dict[str, Any] = {"limit": self.page_size}
        if since is not None:
            params["updatedSince"] = _timestamp(since)
        if cursor is not None:
            params["cursor"] = cursor
        return self._get_json("/cases", parsing.case_page, params=params)

    def iter_case_pages(self, since: datetime | None = None) -> Iterator[CasePage]:
        """Every page of cases changed at or after `since` (all cases when None), following the cursors.

        Store the first page's `server_time` as the next poll's `since`. A case changed while the pages
        are read may come twice; the later copy is the newer one.
        """
        page = self.get_cases_page(since)
        yield page
        while page.next_cursor is not None:
            page = self.get_cases_page(since, page.next_cursor)
            yield page

    def iter_cases_updated_since(self, since: datetime | None = None) -> Iterator[CaseInfo]:
        for page in self.iter_case_pages(since):
            yield from page.cases

    def get_dispatches(self, case_number: str) -> list[Dispatch]:
        data = self._get_json(f"/cases/{_segment(case_number)}/dispatches", lambda obj: obj)
        return list(data.items("dispatches", parsing.dispatch))

    def get_dispatch_pdf(self, case_number: str, dispatch_id: int) -> bytes:
        path = f"/cases/{_segment(case_number)}/dispatches/{int(dispatch_id)}/pdf"
        response = self._send("GET", path, accept="application/pdf")
        if not response.content.startswith(b"%PDF-"):
            raise SveaMalformedResponse(f"GET {path}: the answer is not a PDF document", status=response.status_code)
        return response.content

    def get_messages(self, case_number: str) -> list[Message]:
        data = self._get_json(f"/cases/{_segment(case_number)}/messages", lambda obj: obj)
        return list(data.items("messages", parsing.message))

    def send_message(self, case_number: str, text: str, idempotency_key: str) -> Message:
        path = f"/cases/{_segment(case_number)}/messages"
        response = self._send("POST", path, json={"text": text}, idempotency_key=idempotency_key)
        return parsing.message(self._json_object(response, path))

    def report_direct_payment(
        self, case_number: str, amount: Decimal, paid_on: date, reference: str | None, idempotency_key: str
    ) -> DirectPaymentResult:
        """Tells Svea the debtor paid the creditor directly; Svea closes the case when no principal is left."""
        path = f"/cases/{_segment(case_number)}/direct-payments"
        body = {"amount": _money(amount), "paidOn": paid_on.isoformat(), "reference": reference}
        response = self._send("POST", path, json=body, idempotency_key=idempotency_key)
        return parsing.direct_payment(self._json_object(response, path))

    def close_case(self, case_number: str, reason: CloseReason, idempotency_key: str) -> CaseInfo:
        """Closes the case at Svea; SveaConflict when it is already closed."""
        path = f"/cases/{_segment(case_number)}/close"
        response = self._send("POST", path, json={"reason": CloseReason(reason).value}, idempotency_key=idempotency_key)
        return parsing.case(self._json_object(response, path))

    def get_settlements(self, after_id: int = 0) -> list[Settlement]:
        """Every settlement with an id above `after_id`, oldest first (all pages)."""
        settlements: list[Settlement] = []
        while True:
            params = {"afterId": after_id, "limit": self.page_size}
            data = self._get_json("/settlements", lambda obj: obj, params=params)
            page = data.items("settlements", parsing.settlement)
            settlements.extend(page)
            if not data.flag("hasMore") or not page:
                return settlements
            after_id = page[-1].id

    # --- transport -------------------------------------------------------------------------------------

    def _get_json(self, path: str, parse: Callable[[parsing.Obj], T], params: dict[str, Any] | None = None) -> T:
        response = self._send("GET", path, params=params)
        return parse(self._json_object(response, path))

    def _json_object(self, response: requests.Response, path: str) -> parsing.Obj:
        try:
            data = response.json()
        except ValueError:
            raise SveaMalformedResponse(
                f"{response.request.method} {path}: the answer is not JSON", status=response.status_code
            ) from None
        try:
            return parsing.Obj(data, "answer")
        except SveaMalformedResponse as error:
            raise SveaMalformedResponse(
                f"{response.request.method} {path}: {error}", status=response.status_code
            ) from None

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
        accept: str = "application/json",
    ) -> requests.Response:
        if method != "GET" and not idempotency_key:
            raise ValueError(f"{method} {path} needs an idempotency key")
        headers = {**self._headers, "Accept": accept}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        attempts = self.get_attempts if method == "GET" else 1
        for attempt in range(1, attempts + 1):
            started = time.monotonic()
            try:
                response = self._session.request(
                    method,
                    self.base_url + "/api/v1" + path,
                    params=params,
                    json=json,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except requests.Timeout:
                failure: SveaError = SveaUnavailable(f"{method} {path}: Svea did not answer in time")
            except requests.RequestException as error:
                failure = SveaUnavailable(f"{method} {path}: no connection to Svea ({type(error).__name__})")
            else:
                log.debug(
                    "Svea %s %s -> %s in %.0f ms",
                    method,
                    path,
                    response.status_code,
                    (time.monotonic() - started) * 1000,
                )
                if response.status_code not in RETRY_STATUSES:
                    return self._check(response, method, path)
                failure = SveaUnavailable(
                    f"{method} {path}: Svea answered {response.status_code}", status=response.status_code
                )
            if attempt < attempts:
                delay = min(self.backoff_max_seconds, self.backoff_seconds * 2 ** (attempt - 1))
                delay *= random.uniform(0.5, 1.0)  # jitter: workers that failed together don't retry together
                log.warning("%s; retry %d of %d in %.2f s", failure.message, attempt, attempts - 1, delay)
                time.sleep(delay)
        raise failure

    def _check(self, response: requests.Response, method: str, path: str) -> requests.Response:
        status = response.status_code
        if 200 <= status < 300:
            return response
        code, message, field = self._error_details(response)
        where = f"{method} {path}"
        if status in (401, 403):
            raise SveaAuthError(f"{where}: Svea refused the credentials for customer {self.customer_no}", status=status)
        if status == 404:
            raise SveaNotFound(f"{where}: {message or 'not found'}", status=status)
        if status == 409:
            raise SveaConflict(f"{where}: {message or 'conflict'}", status=status)
        if 400 <= status < 500:
            raise SveaRejected(message or f"Svea answered {status}", status=status, code=code, field=field)
        raise SveaMalformedResponse(f"{where}: unexpected status {status}", status=status)

    def _error_details(self, response: requests.Response) -> tuple[str | None, str | None, str | None]:
        """Svea's error code, message and field, when the error body has the protocol's shape."""
        try:
            error = response.json()["error"]
            code, message, field = error.get("code"), error.get("message"), error.get("field")
        except (ValueError, KeyError, TypeError, AttributeError):
            return None, None, None

        def clean(value: Any) -> str | None:
            if not isinstance(value, str):
                return None
            # Svea's text goes into logs and pages; it must never carry our secret back out.
            return value.replace(self._password, "***")[:500] if self._password else value[:500]

        return clean(code), clean(message), clean(field)


def _segment(value: str) -> str:
    return quote(str(value), safe="")


def _timestamp(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("since must be a timezone-aware datetime")
    return value.astimezone(UTC).isoformat()


def _invoice_body(invoice: Invoice) -> dict[str, Any]:
    return {
        "invoiceNo": invoice.invoice_no,
        "matchNo": invoice.match_no,
        "invoiceDate": invoice.invoice_date.isoformat(),
        "dueDate": invoice.due_date.isoformat(),
        "amount": _money(invoice.amount),
        "remainingAmount": _money(invoice.remaining_amount),
        "kid": invoice.kid,
        "currency": invoice.currency,
    }


def _submission_body(submission: CaseSubmission) -> dict[str, Any]:
    debtor = submission.debtor
    return {
        "level": submission.level.value,
        "creditorRef": submission.creditor_ref,
        "debtor": {
            "type": debtor.type.value,
            "name": debtor.name,
            "orgNo": debtor.org_no,
            "nationalId": debtor.national_id,
            "email": debtor.email,
            "customerNo": debtor.customer_no,
            "address": {
                "street": debtor.address.street,
                "postalCode": debtor.address.postal_code,
                "city": debtor.address.city,
                "country": debtor.address.country,
            },
        },
        "invoices": [_invoice_body(invoice) for invoice in submission.invoices],
    }
