"""Payments test helpers: posts with KIDs, file uploads, and a firm connected to a real Svea sandbox."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient

from svea_web.collection.models import CASE_OPEN, CASE_PENDING, CasePost, SveaCase
from svea_web.crypto import encrypt_secret
from svea_web.extensions import db
from svea_web.ledger.models import Customer, CustomerPost
from svea_web.sandbox.testing import RunningSandbox, running_sandbox
from svea_web.setup.models import SveaSettings
from svea_web.svea import Address, CaseLevel, CaseSubmission, Debtor, DebtorType, Invoice, RequestState, SveaClient


def upload(client: FlaskClient, filename: str, data: bytes) -> Any:
    return client.post(
        "/payments/files",
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox() as running:
        yield running


def connect_to_svea(client_id: int, sandbox: RunningSandbox, kid_length: int = 25) -> None:
    credentials = sandbox.client_credentials()
    db.session.merge(
        SveaSettings(
            client_id=client_id,
            customer_no=credentials["customer_no"],
            username=credentials["username"],
            password_encrypted=encrypt_secret(credentials["password"]),
            base_url=sandbox.url,
            kid_length=kid_length,
        )
    )
    db.session.commit()


@dataclass
class CaseAtSvea:
    case: SveaCase
    case_number: str | None
    request_id: str


def hand_over(sandbox: RunningSandbox, post: CustomerPost, *, confirm: bool = True) -> CaseAtSvea:
    """Hands the post to Svea with the client itself (as the collection feature will) and records the case."""
    customer: Customer = post.customer
    today = date.today()
    invoice = Invoice(
        invoice_no=post.invoice_no,
        match_no=post.match_no,
        invoice_date=today - timedelta(days=60),
        due_date=today - timedelta(days=45),
        amount=post.amount,
        remaining_amount=post.open_amount,
        kid=post.kid,
    )
    key = uuid.uuid4().hex
    submission = CaseSubmission(
        level=CaseLevel.INKASSO,
        creditor_ref=key,
        debtor=Debtor(
            type=DebtorType.COMPANY,
            name=customer.name,
            address=Address("Strandgata 4", "5004", "Bergen"),
            org_no="923609016",
            customer_no=customer.customer_no,
        ),
        invoices=(invoice,),
    )
    with SveaClient(**sandbox.client_credentials()) as svea:
        request_id = svea.submit_case(submission, key).request_id
        case_number = None
        if confirm:
            sandbox.advance_clock(300)
            status = svea.get_request(request_id)
            assert status.state is RequestState.CONFIRMED, status
            case_number = status.case_number
    case = SveaCase(
        client_id=post.client_id,
        customer_id=post.customer_id,
        level="inkasso",
        state=CASE_OPEN if confirm else CASE_PENDING,
        idempotency_key=key,
        request_id=request_id,
        case_number=case_number,
        principal_original=post.open_amount,
        principal_remaining=post.open_amount,
    )
    db.session.add(case)
    db.session.flush()
    db.session.add(CasePost(case_id=case.id, post_id=post.id, active=True, amount_at_handover=post.open_amount))
    post.svea_case_id = case.id
    post.svea_reference = case_number
    db.session.commit()
    return CaseAtSvea(case, case_number, request_id)


def confirm_at_svea(sandbox: RunningSandbox, handed: CaseAtSvea) -> str:
    """Svea's five minutes pass; the case gets its number (as the collection sync would record it)."""
    sandbox.advance_clock(300)
    with SveaClient(**sandbox.client_credentials()) as svea:
        status = svea.get_request(handed.request_id)
    assert status.case_number is not None
    case = db.session.get(SveaCase, handed.case.id)
    assert case is not None
    case.case_number = status.case_number
    case.state = CASE_OPEN
    db.session.commit()
    return status.case_number


def svea_case(sandbox: RunningSandbox, case_number: str) -> dict[str, Any]:
    [found] = [c for c in sandbox.cases() if c["caseNumber"] == case_number]
    return found


def money(value: str) -> Decimal:
    return Decimal(value)
