"""Small builders for ledger data in tests."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from svea_web.extensions import db
from svea_web.ledger.models import STATUS_OPEN, STATUS_PAID, Customer, CustomerPost

_counter = {"n": 0}


def customer(client_id: int, name: str = "Kari Nordmann", kind: str = "person", **fields: Any) -> Customer:
    _counter["n"] += 1
    c = Customer(
        client_id=client_id,
        customer_no=fields.pop("customer_no", str(1000 + _counter["n"])),
        name=name,
        kind=kind,
        **fields,
    )
    db.session.add(c)
    db.session.flush()
    return c


def post(
    cust: Customer,
    amount: str | Decimal = "1000.00",
    due: date | None = None,
    open_amount: str | Decimal | None = None,
    **fields: Any,
) -> CustomerPost:
    _counter["n"] += 1
    n = _counter["n"]
    due = due or date(2026, 10, 1)
    amount = Decimal(amount)
    open_ = Decimal(open_amount) if open_amount is not None else amount
    p = CustomerPost(
        client_id=cust.client_id,
        customer_id=cust.id,
        invoice_no=fields.pop("invoice_no", str(50000 + n)),
        match_no=fields.pop("match_no", None) or str(50000 + n),
        kid=fields.pop("kid", None),
        invoice_date=fields.pop("invoice_date", due - timedelta(days=14)),
        due_date=due,
        amount=amount,
        open_amount=open_,
        status=STATUS_OPEN if open_ != 0 else STATUS_PAID,
        **fields,
    )
    db.session.add(p)
    db.session.flush()
    return p
