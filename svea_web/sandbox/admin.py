"""/sandbox/admin: levers for tests and demos. Registered only in test or demo mode; no auth (loopback use)."""

from __future__ import annotations

from flask import Blueprint, Response, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from svea_web.sandbox import agency
from svea_web.sandbox.errors import invalid, not_found
from svea_web.sandbox.faults import read_plan
from svea_web.sandbox.models import Case, CaseRequest, Creditor
from svea_web.sandbox.runtime import current_sandbox
from svea_web.sandbox.serialize import amounts, case_json, request_json, settlement_json, timestamp
from svea_web.sandbox.validation import Fields
from svea_web.sandbox.web import json_response, read_json

bp = Blueprint("sandbox_admin", __name__, url_prefix="/sandbox/admin")

BULK_SEED_MAX = 20_000


def _creditor_filter() -> str | None:
    return request.args.get("customerNo")


@bp.get("/clock")
def clock() -> Response:
    with current_sandbox().session() as (session, now):
        offset = agency.state(session).clock_offset_seconds
        return json_response({"now": timestamp(now), "offsetSeconds": offset})


@bp.post("/clock/advance")
def advance_clock() -> Response:
    body = read_json()
    seconds = body.get("seconds") if isinstance(body, dict) else None
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not 0 <= seconds <= 10 * 365 * 86400:
        raise invalid("seconds", "must be a number of seconds from 0 to ten years")
    sandbox = current_sandbox()
    with sandbox.session() as (session, _now):
        now = agency.advance_clock(session, sandbox.timing, seconds)
        return json_response({"now": timestamp(now)})


@bp.post("/reset")
def reset() -> Response:
    """Forget everything: cases, requests, creditors (but the demo one), clock offset, faults."""
    current_sandbox().reset()
    return json_response({"reset": True})


@bp.get("/faults")
def get_faults() -> Response:
    return json_response(current_sandbox().faults.plan.as_json())


@bp.put("/faults")
def set_faults() -> Response:
    plan = read_plan(read_json())
    current_sandbox().faults.set(plan)
    return json_response(plan.as_json())


@bp.delete("/faults")
def clear_faults() -> Response:
    sandbox = current_sandbox()
    sandbox.faults.clear()
    return json_response(sandbox.faults.plan.as_json())


@bp.put("/random-payments")
def random_payments() -> Response:
    body = read_json()
    if not isinstance(body, dict):
        raise invalid("body", "must be a JSON object")
    seed, probability = body.get("seed"), body.get("probability", 0.3)
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise invalid("seed", "must be an integer, or null to switch random payments off")
    if not isinstance(probability, int | float) or not 0 <= probability <= 1:
        raise invalid("probability", "must be between 0 and 1")
    current_sandbox().set_random_payments(seed, float(probability))
    return json_response({"seed": seed, "probability": probability})


@bp.post("/creditors")
def add_creditor() -> Response:
    fields = Fields(read_json(), "body")
    customer_no = fields.required_text("customerNo", max_length=20)
    username = fields.required_text("username", max_length=100)
    password = fields.required_text("password", max_length=200)
    name = fields.text("name", max_length=200, required=False) or f"Kreditor {customer_no}"
    created = current_sandbox().ensure_creditor(customer_no, username, password, name)
    return json_response({"customerNo": customer_no, "name": name}, 201 if created else 200)


@bp.post("/cases/<case_number>/debtor-payments")
def debtor_pays(case_number: str) -> Response:
    amount = Fields(read_json(), "body").money("amount")
    with current_sandbox().session() as (session, now):
        case = agency.find_case(session, case_number)
        if case is None:
            raise not_found(f"case {case_number}")
        payment = agency.debtor_pays(session, case, amount, now, now)
        session.flush()
        return json_response(
            {"paymentId": payment.id, "caseNumber": case.case_number, "status": case.status, "amounts": amounts(case)},
            201,
        )


@bp.post("/debtor-payments")
def debtor_pays_many() -> Response:
    """Many debtor payments in one go (benchmarks change thousands of cases): {"payments": [{caseNumber, amount}]}."""
    payments = [
        (item.required_text("caseNumber", max_length=20), item.money("amount"))
        for item in Fields(read_json(), "body").objects("payments", min_items=1, max_items=BULK_SEED_MAX)
    ]
    with current_sandbox().session() as (session, now):
        cases = {
            case.case_number: case
            for case in session.scalars(
                select(Case)
                .where(Case.case_number.in_([number for number, _ in payments]))
                .options(selectinload(Case.invoices), selectinload(Case.events))
            )
        }
        for number, amount in payments:
            if number not in cases:
                raise not_found(f"case {number}")
            agency.debtor_pays(session, cases[number], amount, now, now)
        return json_response({"paid": len(payments)}, 201)


@bp.post("/settle")
def settle_now() -> Response:
    with current_sandbox().session() as (session, now):
        settlements = agency.settle(session, now, now)
        creditors = session.execute(select(Creditor.id, Creditor.customer_no))
        customer_numbers = {row.id: row.customer_no for row in creditors}
        return json_response(
            {
                "settlements": [
                    {**settlement_json(settlement), "customerNo": customer_numbers[settlement.creditor_id]}
                    for settlement in settlements
                ]
            }
        )


@bp.post("/bulk-seed")
def bulk_seed() -> Response:
    """Confirmed cases straight into the books, as if submitted earlier: for benchmarks and big demos."""
    body = read_json()
    fields = Fields(body, "body")
    customer_no = fields.required_text("customerNo", max_length=20)
    level = fields.choice("level", ("PURRING", "INKASSO"), default="INKASSO")
    count = body.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= BULK_SEED_MAX:
        raise invalid("count", f"must be a whole number from 1 to {BULK_SEED_MAX}")
    sandbox = current_sandbox()
    with sandbox.session() as (session, now):
        creditor = session.scalar(select(Creditor).where(Creditor.customer_no == customer_no))
        if creditor is None:
            raise not_found(f"creditor {customer_no}")
        numbers = agency.seed_cases(session, sandbox.timing, creditor.id, count, level, now)
        return json_response({"caseNumbers": numbers}, 201)


@bp.get("/cases")
def list_cases() -> Response:
    """Every case as the agency sees it, with its creditor's customer number (for assertions in tests)."""
    customer_no = _creditor_filter()
    with current_sandbox().session() as (session, _now):
        query = (
            select(Case, Creditor.customer_no)
            .join(Creditor)
            .order_by(Case.id)
            .options(selectinload(Case.events), selectinload(Case.invoices))
        )
        if customer_no is not None:
            query = query.where(Creditor.customer_no == customer_no)
        rows = session.execute(query).all()
        return json_response({"cases": [{**case_json(case), "customerNo": number} for case, number in rows]})


@bp.get("/requests")
def list_requests() -> Response:
    customer_no = _creditor_filter()
    with current_sandbox().session() as (session, _now):
        query = (
            select(CaseRequest, Creditor.customer_no)
            .join(Creditor, CaseRequest.creditor_id == Creditor.id)
            .order_by(CaseRequest.id)
            .options(selectinload(CaseRequest.case))
        )
        if customer_no is not None:
            query = query.where(Creditor.customer_no == customer_no)
        rows = session.execute(query).all()
        return json_response(
            {"requests": [{**request_json(case_request), "customerNo": number} for case_request, number in rows]}
        )
