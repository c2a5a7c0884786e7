"""What goes to Svea and what comes back, as typed values. Money is Decimal; KIDs and numbers are str."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class CaseLevel(StrEnum):
    PURRING = "PURRING"  # Svea sends the reminder first
    INKASSO = "INKASSO"  # Svea starts at the collection notice


class CaseStatus(StrEnum):
    REGISTERED = "REGISTERED"
    PURRING = "PURRING"
    INKASSOVARSEL = "INKASSOVARSEL"
    BETALINGSOPPFORDRING = "BETALINGSOPPFORDRING"
    RETTSLIG = "RETTSLIG"
    PAUSED = "PAUSED"
    SURVEILLANCE = "SURVEILLANCE"
    CLOSED_PAID = "CLOSED_PAID"
    CLOSED_WITHDRAWN = "CLOSED_WITHDRAWN"
    CLOSED_CREDITED = "CLOSED_CREDITED"
    REJECTED = "REJECTED"

    @property
    def is_closed(self) -> bool:
        return self in (CaseStatus.CLOSED_PAID, CaseStatus.CLOSED_WITHDRAWN, CaseStatus.CLOSED_CREDITED)


class RequestState(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    REJECTED = "REJECTED"


class CloseReason(StrEnum):
    PAID_TO_CREDITOR = "PAID_TO_CREDITOR"
    WITHDRAWN = "WITHDRAWN"
    CREDITED = "CREDITED"
    OTHER = "OTHER"


class DebtorType(StrEnum):
    PERSON = "PERSON"
    COMPANY = "COMPANY"


class DispatchKind(StrEnum):
    REMINDER = "REMINDER"  # betalingspåminnelse
    COLLECTION_NOTICE = "COLLECTION_NOTICE"  # inkassovarsel
    PAYMENT_DEMAND = "PAYMENT_DEMAND"  # betalingsoppfordring


class MessageDirection(StrEnum):
    TO_HANDLER = "TO_HANDLER"
    FROM_HANDLER = "FROM_HANDLER"


# --- what the app sends --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    street: str
    postal_code: str
    city: str
    country: str = "NO"


@dataclass(frozen=True)
class Debtor:
    type: DebtorType
    name: str
    address: Address
    org_no: str | None = None
    national_id: str | None = None
    email: str | None = None
    customer_no: str | None = None


@dataclass(frozen=True)
class Invoice:
    invoice_no: str
    match_no: str
    invoice_date: date
    due_date: date
    amount: Decimal
    remaining_amount: Decimal
    kid: str | None = None
    currency: str = "NOK"


@dataclass(frozen=True)
class CaseSubmission:
    level: CaseLevel
    creditor_ref: str
    debtor: Debtor
    invoices: Sequence[Invoice]


# --- what Svea answers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PingResult:
    customer_no: str
    creditor_name: str
    server_time: datetime


@dataclass(frozen=True)
class SubmitResult:
    request_id: str
    replayed: bool  # True when Svea answered from an earlier request with the same idempotency key


@dataclass(frozen=True)
class RequestStatus:
    request_id: str
    state: RequestState
    creditor_ref: str
    case_number: str | None
    reason_code: str | None
    reason: str | None
    received_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True)
class AmountBalance:
    original: Decimal
    paid: Decimal
    remaining: Decimal


@dataclass(frozen=True)
class CaseAmounts:
    principal: AmountBalance
    fees: AmountBalance
    interest: AmountBalance

    @property
    def total_remaining(self) -> Decimal:
        return self.principal.remaining + self.fees.remaining + self.interest.remaining


@dataclass(frozen=True)
class CaseEvent:
    id: int
    at: datetime
    kind: str
    text: str


@dataclass(frozen=True)
class CaseInvoice:
    invoice_no: str
    match_no: str
    kid: str | None
    amount: Decimal
    remaining_amount: Decimal


@dataclass(frozen=True)
class CaseInfo:
    case_number: str
    request_id: str
    creditor_ref: str
    level: CaseLevel
    status: CaseStatus
    close_reason: str | None
    debtor_name: str
    amounts: CaseAmounts
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    events: tuple[CaseEvent, ...] = field(default=())
    invoices: tuple[CaseInvoice, ...] = field(default=())

    @property
    def is_closed(self) -> bool:
        return self.status.is_closed


@dataclass(frozen=True)
class CasePage:
    """One page of a delta poll. Keep the first page's `server_time` as the next poll's `since`."""

    cases: tuple[CaseInfo, ...]
    next_cursor: str | None
    server_time: datetime


@dataclass(frozen=True)
class Dispatch:
    id: int
    case_number: str
    kind: DispatchKind
    sent_at: datetime
    deadline: date
    fee_charged: Decimal
    total_due: Decimal


@dataclass(frozen=True)
class Message:
    id: int
    case_number: str
    at: datetime
    direction: MessageDirection
    author: str
    text: str


@dataclass(frozen=True)
class DirectPaymentResult:
    payment_id: int
    case_number: str
    status: CaseStatus
    closed: bool
    amounts: CaseAmounts


@dataclass(frozen=True)
class SettlementLine:
    case_number: str
    creditor_ref: str
    invoice_no: str
    match_no: str
    principal: Decimal
    fees: Decimal
    interest: Decimal
    payout_to_creditor: Decimal


@dataclass(frozen=True)
class Settlement:
    id: int
    date: date
    lines: tuple[SettlementLine, ...]

    @property
    def payout_to_creditor(self) -> Decimal:
        return sum((line.payout_to_creditor for line in self.lines), Decimal("0.00"))
