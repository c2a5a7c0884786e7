"""Svea's JSON into the typed results, strictly: anything off the protocol is SveaMalformedResponse."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from svea_web.svea.errors import SveaMalformedResponse
from svea_web.svea.models import (
    AmountBalance,
    CaseAmounts,
    CaseEvent,
    CaseInfo,
    CaseInvoice,
    CaseLevel,
    CasePage,
    CaseStatus,
    DirectPaymentResult,
    Dispatch,
    DispatchKind,
    Message,
    MessageDirection,
    PingResult,
    RequestState,
    RequestStatus,
    Settlement,
    SettlementLine,
)

_MONEY = re.compile(r"-?[0-9]+(\.[0-9]{1,2})?")
E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")


class Obj:
    """One JSON object of an answer; every getter names the field's path when the answer is off."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, dict):
            raise SveaMalformedResponse(f"{path}: expected a JSON object")
        self._data = data
        self._path = path

    def _bad(self, key: str, expected: str) -> SveaMalformedResponse:
        return SveaMalformedResponse(f"{self._path}.{key}: expected {expected}")

    def _get(self, key: str, expected: str, optional: bool) -> Any:
        value = self._data.get(key)
        if value is None and not optional:
            raise self._bad(key, expected)
        return value

    def text(self, key: str) -> str:
        value = self._get(key, "a string", False)
        if not isinstance(value, str):
            raise self._bad(key, "a string")
        return value

    def opt_text(self, key: str) -> str | None:
        value = self._get(key, "a string or null", True)
        if value is not None and not isinstance(value, str):
            raise self._bad(key, "a string or null")
        return value

    def integer(self, key: str) -> int:
        value = self._get(key, "an integer", False)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._bad(key, "an integer")
        return value

    def flag(self, key: str) -> bool:
        value = self._get(key, "true or false", False)
        if not isinstance(value, bool):
            raise self._bad(key, "true or false")
        return value

    def money(self, key: str) -> Decimal:
        value = self._get(key, "a decimal string", False)
        if not isinstance(value, str) or not _MONEY.fullmatch(value):
            raise self._bad(key, "a decimal string")
        return Decimal(value)

    def timestamp(self, key: str) -> datetime:
        return self._datetime(key, self.text(key))

    def opt_timestamp(self, key: str) -> datetime | None:
        value = self.opt_text(key)
        return None if value is None else self._datetime(key, value)

    def _datetime(self, key: str, value: str) -> datetime:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise self._bad(key, "an ISO 8601 date-time") from None
        if parsed.tzinfo is None:
            raise self._bad(key, "a date-time with a time zone")
        return parsed

    def day(self, key: str) -> date:
        value = self.text(key)
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise self._bad(key, "an ISO 8601 date") from None

    def enum(self, key: str, kind: type[E]) -> E:
        value = self.text(key)
        try:
            return kind(value)
        except ValueError:
            raise self._bad(key, f"one of {', '.join(kind)}") from None

    def obj(self, key: str) -> Obj:
        return Obj(self._get(key, "an object", False), f"{self._path}.{key}")

    def items(self, key: str, item: Callable[[Obj], T]) -> tuple[T, ...]:
        value = self._get(key, "an array", False)
        if not isinstance(value, list):
            raise self._bad(key, "an array")
        return tuple(item(Obj(element, f"{self._path}.{key}[{index}]")) for index, element in enumerate(value))


def _balance(data: Obj) -> AmountBalance:
    return AmountBalance(data.money("original"), data.money("paid"), data.money("remaining"))


def amounts(data: Obj) -> CaseAmounts:
    return CaseAmounts(
        principal=_balance(data.obj("principal")),
        fees=_balance(data.obj("fees")),
        interest=_balance(data.obj("interest")),
    )


def ping(data: Obj) -> PingResult:
    return PingResult(data.text("customerNo"), data.text("creditorName"), data.timestamp("serverTime"))


def request_status(data: Obj) -> RequestStatus:
    status = RequestStatus(
        request_id=data.text("requestId"),
        state=data.enum("status", RequestState),
        creditor_ref=data.text("creditorRef"),
        case_number=data.opt_text("caseNumber"),
        reason_code=data.opt_text("reasonCode"),
        reason=data.opt_text("reason"),
        received_at=data.timestamp("receivedAt"),
        decided_at=data.opt_timestamp("decidedAt"),
    )
    if status.state is RequestState.CONFIRMED and status.case_number is None:
        raise SveaMalformedResponse("request: CONFIRMED without a caseNumber")
    if status.state is RequestState.REJECTED and status.reason is None:
        raise SveaMalformedResponse("request: REJECTED without a reason")
    return status


def _event(data: Obj) -> CaseEvent:
    return CaseEvent(data.integer("id"), data.timestamp("at"), data.text("kind"), data.text("text"))


def _case_invoice(data: Obj) -> CaseInvoice:
    return CaseInvoice(
        invoice_no=data.text("invoiceNo"),
        match_no=data.text("matchNo"),
        kid=data.opt_text("kid"),
        amount=data.money("amount"),
        remaining_amount=data.money("remainingAmount"),
    )


def case(data: Obj) -> CaseInfo:
    return CaseInfo(
        case_number=data.text("caseNumber"),
        request_id=data.text("requestId"),
        creditor_ref=data.text("creditorRef"),
        level=data.enum("level", CaseLevel),
        status=data.enum("status", CaseStatus),
        close_reason=data.opt_text("closeReason"),
        debtor_name=data.obj("debtor").text("name"),
        amounts=amounts(data.obj("amounts")),
        created_at=data.timestamp("createdAt"),
        updated_at=data.timestamp("updatedAt"),
        closed_at=data.opt_timestamp("closedAt"),
        events=data.items("events", _event),
        invoices=data.items("invoices", _case_invoice),
    )


def case_page(data: Obj) -> CasePage:
    return CasePage(
        cases=data.items("cases", case),
        next_cursor=data.opt_text("nextCursor"),
        server_time=data.timestamp("serverTime"),
    )


def dispatch(data: Obj) -> Dispatch:
    return Dispatch(
        id=data.integer("id"),
        case_number=data.text("caseNumber"),
        kind=data.enum("kind", DispatchKind),
        sent_at=data.timestamp("sentAt"),
        deadline=data.day("deadline"),
        fee_charged=data.money("feeCharged"),
        total_due=data.money("totalDue"),
    )


def message(data: Obj) -> Message:
    return Message(
        id=data.integer("id"),
        case_number=data.text("caseNumber"),
        at=data.timestamp("at"),
        direction=data.enum("direction", MessageDirection),
        author=data.text("author"),
        text=data.text("text"),
    )


def direct_payment(data: Obj) -> DirectPaymentResult:
    return DirectPaymentResult(
        payment_id=data.integer("paymentId"),
        case_number=data.text("caseNumber"),
        status=data.enum("status", CaseStatus),
        closed=data.flag("closed"),
        amounts=amounts(data.obj("amounts")),
    )


def _settlement_line(data: Obj) -> SettlementLine:
    return SettlementLine(
        case_number=data.text("caseNumber"),
        creditor_ref=data.text("creditorRef"),
        invoice_no=data.text("invoiceNo"),
        match_no=data.text("matchNo"),
        principal=data.money("principal"),
        fees=data.money("fees"),
        interest=data.money("interest"),
        payout_to_creditor=data.money("payoutToCreditor"),
    )


def settlement(data: Obj) -> Settlement:
    return Settlement(id=data.integer("id"), date=data.day("date"), lines=data.items("lines", _settlement_line))
