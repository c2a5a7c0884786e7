"""The Svea protocol, /api/v1 (docs/svea-protocol.openapi.yaml)."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any

from flask import Blueprint, Response, request
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from svea_web.sandbox import agency
from svea_web.sandbox.errors import ApiError, invalid, not_found
from svea_web.sandbox.letters import render_letter
from svea_web.sandbox.models import (
    Case,
    CaseRequest,
    Creditor,
    Dispatch,
    IdempotencyRecord,
    Message,
    Settlement,
)
from svea_web.sandbox.runtime import Sandbox, current_sandbox
from svea_web.sandbox.serialize import (
    case_json,
    direct_payment_json,
    dispatch_json,
    message_json,
    request_json,
    settlement_json,
    timestamp,
)
from svea_web.sandbox.validation import Fields, parse_datetime, read_case_submission
from svea_web.sandbox.web import json_response, query_int, read_json

bp = Blueprint("sandbox_api", __name__, url_prefix="/api/v1")

PAGE_LIMIT = 500
CLOSE_REASONS = ("PAID_TO_CREDITOR", "WITHDRAWN", "CREDITED", "OTHER")


@dataclass
class Call:
    """One authenticated API call: its transaction, the sandbox time, and the creditor making it."""

    session: Session
    now: datetime
    creditor: Creditor
    sandbox: Sandbox

    def case(self, case_number: str) -> Case:
        case = agency.find_case(self.session, case_number, self.creditor.id)
        if case is None:
            raise not_found(f"case {case_number}")
        return case


def _unauthorized() -> ApiError:
    return ApiError(401, "unauthorized", "invalid credentials")


def _authenticate(session: Session) -> Creditor:
    customer_no = request.headers.get("X-Svea-Customer-No", "")
    auth = request.authorization
    if auth is None or auth.type != "basic" or not customer_no:
        raise _unauthorized()
    creditor = session.scalar(select(Creditor).where(Creditor.customer_no == customer_no))
    if creditor is None:
        raise _unauthorized()
    username_ok = hmac.compare_digest(creditor.username.encode(), (auth.username or "").encode())
    if not (creditor.check_password(auth.password or "") and username_ok):
        raise _unauthorized()
    return creditor


def api_call(view: Callable[..., Response]) -> Callable[..., Response]:
    @wraps(view)
    def wrapper(**kwargs: Any) -> Response:
        sandbox = current_sandbox()
        with sandbox.session() as (session, now):
            return view(Call(session, now, _authenticate(session), sandbox), **kwargs)

    return wrapper


def _idempotent(call: Call, produce: Callable[[], tuple[int, Any]], *, required: bool) -> Response:
    """Do the POST once per Idempotency-Key; the same key again gets the stored answer, with no new effect."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        if required:
            raise invalid("Idempotency-Key", "header is required")
        status, body = produce()
        return json_response(body, status)
    if not re.fullmatch(r"[!-~]{1,255}", key):
        raise invalid("Idempotency-Key", "must be 1 to 255 visible ASCII characters")
    endpoint = f"{request.method} {request.path}"
    record = IdempotencyRecord(creditor_id=call.creditor.id, key=key, endpoint=endpoint, created_at=call.now)
    call.session.add(record)
    try:
        call.session.flush()
    except IntegrityError:
        call.session.rollback()
        stored = call.session.scalars(
            select(IdempotencyRecord).where(
                IdempotencyRecord.creditor_id == call.creditor.id, IdempotencyRecord.key == key
            )
        ).one()
        if stored.endpoint != endpoint:
            raise ApiError(
                422, "idempotency_key_reused", f"this Idempotency-Key was used for {stored.endpoint}"
            ) from None
        response = json_response(json.loads(stored.body), stored.status_code)
        response.headers["Idempotent-Replayed"] = "true"
        return response
    status, body = produce()
    record.status_code = status
    record.body = json.dumps(body)
    return json_response(body, status)


@bp.get("/ping")
@api_call
def ping(call: Call) -> Response:
    return json_response(
        {
            "status": "ok",
            "customerNo": call.creditor.customer_no,
            "creditorName": call.creditor.name,
            "serverTime": timestamp(call.now),
        }
    )


@bp.post("/cases")
@api_call
def submit_case(call: Call) -> Response:
    def produce() -> tuple[int, Any]:
        payload = read_case_submission(read_json())
        case_request = agency.submit(call.session, call.sandbox.timing, call.creditor, payload, call.now)
        return 202, {"requestId": case_request.request_id, "status": case_request.status}

    return _idempotent(call, produce, required=True)


@bp.get("/requests/<request_id>")
@api_call
def get_request(call: Call, request_id: str) -> Response:
    case_request = call.session.scalar(
        select(CaseRequest).where(CaseRequest.request_id == request_id, CaseRequest.creditor_id == call.creditor.id)
    )
    if case_request is None:
        raise not_found(f"request {request_id}")
    return json_response(request_json(case_request))


def _encode_cursor(updated_at: datetime, case_id: int, server_time: datetime) -> str:
    raw = json.dumps({"u": updated_at.isoformat(), "i": case_id, "s": server_time.isoformat()})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int, datetime]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        position = (datetime.fromisoformat(data["u"]), data["i"], datetime.fromisoformat(data["s"]))
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise invalid("cursor", "is not a cursor this server gave out") from None
    if not isinstance(position[1], int) or any(value.tzinfo for value in (position[0], position[2])):
        raise invalid("cursor", "is not a cursor this server gave out")
    return position


@bp.get("/cases")
@api_call
def list_cases(call: Call) -> Response:
    """Cases changed since a time, oldest change first, in pages; a changed case may appear twice."""
    limit = query_int("limit", PAGE_LIMIT, 1, PAGE_LIMIT)
    query = select(Case).where(Case.creditor_id == call.creditor.id)
    since = request.args.get("updatedSince")
    if since is not None:
        query = query.where(Case.updated_at >= parse_datetime(since, "updatedSince"))
    server_time = call.now
    cursor = request.args.get("cursor")
    if cursor is not None:
        after_updated, after_id, server_time = _decode_cursor(cursor)
        query = query.where(
            or_(Case.updated_at > after_updated, and_(Case.updated_at == after_updated, Case.id > after_id))
        )
    cases = call.session.scalars(
        query.order_by(Case.updated_at, Case.id)
        .limit(limit + 1)
        .options(selectinload(Case.events), selectinload(Case.invoices))
    ).all()
    page = cases[:limit]
    next_cursor = _encode_cursor(page[-1].updated_at, page[-1].id, server_time) if len(cases) > limit else None
    return json_response(
        {"cases": [case_json(case) for case in page], "nextCursor": next_cursor, "serverTime": timestamp(server_time)}
    )


@bp.get("/cases/<case_number>")
@api_call
def get_case(call: Call, case_number: str) -> Response:
    return json_response(case_json(call.case(case_number)))


@bp.get("/cases/<case_number>/dispatches")
@api_call
def list_dispatches(call: Call, case_number: str) -> Response:
    case = call.case(case_number)
    dispatches = call.session.scalars(select(Dispatch).where(Dispatch.case_id == case.id).order_by(Dispatch.id))
    return json_response({"dispatches": [dispatch_json(dispatch) for dispatch in dispatches]})


@bp.get("/cases/<case_number>/dispatches/<int:dispatch_id>/pdf")
@api_call
def dispatch_pdf(call: Call, case_number: str, dispatch_id: int) -> Response:
    case = call.case(case_number)
    dispatch = call.session.scalar(select(Dispatch).where(Dispatch.id == dispatch_id, Dispatch.case_id == case.id))
    if dispatch is None:
        raise not_found(f"dispatch {dispatch_id} of case {case_number}")
    pdf = render_letter(dispatch, case, call.creditor.name)
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{case_number}-{dispatch_id}.pdf"'
    return response


@bp.get("/cases/<case_number>/messages")
@api_call
def list_messages(call: Call, case_number: str) -> Response:
    case = call.case(case_number)
    messages = call.session.scalars(select(Message).where(Message.case_id == case.id).order_by(Message.id))
    return json_response({"messages": [message_json(message) for message in messages]})


@bp.post("/cases/<case_number>/messages")
@api_call
def send_message(call: Call, case_number: str) -> Response:
    def produce() -> tuple[int, Any]:
        case = call.case(case_number)
        text = Fields(read_json(), "body").required_text("text", max_length=4000, multiline=True)
        message = agency.post_message(call.session, call.sandbox.timing, case, call.creditor.name, text, call.now)
        return 201, message_json(message)

    return _idempotent(call, produce, required=False)


@bp.post("/cases/<case_number>/direct-payments")
@api_call
def report_direct_payment(call: Call, case_number: str) -> Response:
    def produce() -> tuple[int, Any]:
        case = call.case(case_number)
        fields = Fields(read_json(), "body")
        amount = fields.money("amount")
        if amount == 0:
            raise invalid("amount", "must be more than zero")
        paid_on = fields.day("paidOn")
        reference = fields.text("reference", max_length=100, required=False)
        payment = agency.direct_payment(call.session, case, amount, paid_on, reference, call.now)
        return 201, direct_payment_json(payment, case)

    return _idempotent(call, produce, required=False)


@bp.post("/cases/<case_number>/close")
@api_call
def close_case(call: Call, case_number: str) -> Response:
    def produce() -> tuple[int, Any]:
        case = call.case(case_number)
        reason = Fields(read_json(), "body").choice("reason", CLOSE_REASONS)
        agency.close_case(case, reason, call.now)
        call.session.flush()
        return 200, case_json(case)

    return _idempotent(call, produce, required=False)


@bp.get("/settlements")
@api_call
def list_settlements(call: Call) -> Response:
    after_id = query_int("afterId", 0, 0, 2**53)
    limit = query_int("limit", 100, 1, PAGE_LIMIT)
    settlements = call.session.scalars(
        select(Settlement)
        .where(Settlement.creditor_id == call.creditor.id, Settlement.id > after_id)
        .order_by(Settlement.id)
        .limit(limit + 1)
        .options(selectinload(Settlement.lines))
    ).all()
    return json_response(
        {
            "settlements": [settlement_json(settlement) for settlement in settlements[:limit]],
            "hasMore": len(settlements) > limit,
        }
    )
