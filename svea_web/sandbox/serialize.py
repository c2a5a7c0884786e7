"""The protocol's JSON shapes (docs/svea-protocol.openapi.yaml). Money is always a decimal string."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from svea_web.sandbox.agency import kroner
from svea_web.sandbox.models import (
    Case,
    CaseRequest,
    DirectPayment,
    Dispatch,
    Message,
    Settlement,
)


def timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def optional_timestamp(value: datetime | None) -> str | None:
    return None if value is None else timestamp(value)


def _balance(original: int, paid: int) -> dict[str, str]:
    return {"original": kroner(original), "paid": kroner(paid), "remaining": kroner(original - paid)}


def amounts(case: Case) -> dict[str, Any]:
    return {
        "principal": _balance(case.principal_original, case.principal_paid),
        "fees": _balance(case.fees_original, case.fees_paid),
        "interest": _balance(case.interest_original, case.interest_paid),
    }


def case_json(case: Case) -> dict[str, Any]:
    debtor = json.loads(case.debtor)
    return {
        "caseNumber": case.case_number,
        "requestId": case.request_id,
        "creditorRef": case.creditor_ref,
        "level": case.level,
        "status": case.status,
        "closeReason": case.close_reason,
        "debtor": {"type": debtor["type"], "name": debtor["name"], "customerNo": debtor.get("customerNo")},
        "amounts": amounts(case),
        "createdAt": timestamp(case.created_at),
        "updatedAt": timestamp(case.updated_at),
        "closedAt": optional_timestamp(case.closed_at),
        "events": [
            {"id": event.id, "at": timestamp(event.at), "kind": event.kind, "text": event.text} for event in case.events
        ],
        "invoices": [
            {
                "invoiceNo": invoice.invoice_no,
                "matchNo": invoice.match_no,
                "kid": invoice.kid,
                "amount": kroner(invoice.amount),
                "remainingAmount": kroner(invoice.remaining),
            }
            for invoice in case.invoices
        ],
    }


def request_json(request: CaseRequest) -> dict[str, Any]:
    return {
        "requestId": request.request_id,
        "status": request.status,
        "creditorRef": request.creditor_ref,
        "caseNumber": request.case.case_number if request.case is not None else None,
        "reasonCode": request.reason_code,
        "reason": request.reason,
        "receivedAt": timestamp(request.received_at),
        "decidedAt": optional_timestamp(request.decided_at),
    }


def dispatch_json(dispatch: Dispatch) -> dict[str, Any]:
    number = dispatch.case.case_number
    return {
        "id": dispatch.id,
        "caseNumber": number,
        "kind": dispatch.kind,
        "sentAt": timestamp(dispatch.sent_at),
        "deadline": dispatch.deadline.isoformat(),
        "feeCharged": kroner(dispatch.fee_charged),
        "totalDue": kroner(dispatch.total_due),
        "pdfUrl": f"/api/v1/cases/{number}/dispatches/{dispatch.id}/pdf",
    }


def message_json(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "caseNumber": message.case.case_number,
        "at": timestamp(message.at),
        "direction": message.direction,
        "author": message.author,
        "text": message.text,
    }


def direct_payment_json(payment: DirectPayment, case: Case) -> dict[str, Any]:
    return {
        "paymentId": payment.id,
        "caseNumber": case.case_number,
        "status": case.status,
        "closed": case.is_closed,
        "amounts": amounts(case),
    }


def settlement_json(settlement: Settlement) -> dict[str, Any]:
    return {
        "id": settlement.id,
        "date": settlement.settled_on.isoformat(),
        "lines": [
            {
                "caseNumber": line.case_number,
                "creditorRef": line.creditor_ref,
                "invoiceNo": line.invoice_no,
                "matchNo": line.match_no,
                "principal": kroner(line.principal),
                "fees": kroner(line.fees),
                "interest": kroner(line.interest),
                "payoutToCreditor": kroner(line.payout),
            }
            for line in settlement.lines
        ],
    }
