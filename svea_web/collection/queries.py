"""The lists of Inkassosaker (Åpne saker, Arkiverte saker) and one case's detail, paged by the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import contains_eager

from svea_web.collection import eligibility
from svea_web.collection.models import (
    ACTIVE_CASE_STATES,
    CASE_CLOSED,
    CASE_PENDING,
    CASE_REJECTED,
    CLOSE_PENDING,
    MESSAGE_PENDING,
    CaseEvent,
    CaseMessage,
    CasePost,
    Dispatch,
    SveaCase,
)
from svea_web.extensions import db
from svea_web.ledger.models import Customer, CustomerPost
from svea_web.ledger.queries import Page

ARCHIVED_STATES = (CASE_CLOSED, CASE_REJECTED)

OPEN_SORTS = {
    "case_number": SveaCase.case_number,
    "customer": Customer.name,
    "remaining": SveaCase.principal_remaining,
    "last_event": SveaCase.last_event_at,
    "created": SveaCase.created_at,
}
ARCHIVED_SORTS = {
    "case_number": SveaCase.case_number,
    "customer": Customer.name,
    "closed": SveaCase.closed_at,
}


@dataclass(frozen=True)
class TabCounts:
    new: int
    open: int
    archived: int


def tab_counts(client_id: int, policy: eligibility.Policy, today: date) -> TabCounts:
    by_state = dict(
        db.session.execute(
            select(SveaCase.state, func.count()).where(SveaCase.client_id == client_id).group_by(SveaCase.state)
        ).all()
    )
    return TabCounts(
        new=eligibility.count_rows(client_id, policy, today),
        open=sum(by_state.get(state, 0) for state in ACTIVE_CASE_STATES),
        archived=sum(by_state.get(state, 0) for state in ARCHIVED_STATES),
    )


def _order(sorts: dict[str, object], sort: str, direction: str, default: str) -> list[object]:
    column = sorts.get(sort) or sorts[default]
    ordered = column.desc() if direction == "desc" else column.asc()  # type: ignore[attr-defined]
    return [ordered, SveaCase.id.desc()]


def list_open(client_id: int, sort: str, direction: str, page: int, per_page: int = 50) -> Page:
    conditions = [SveaCase.client_id == client_id, SveaCase.state.in_(ACTIVE_CASE_STATES)]
    total = db.session.scalar(select(func.count()).select_from(SveaCase).where(*conditions)) or 0
    cases = db.session.scalars(
        select(SveaCase)
        .join(SveaCase.customer)
        .options(contains_eager(SveaCase.customer))
        .where(*conditions)
        .order_by(*_order(OPEN_SORTS, sort, direction, "created"))  # type: ignore[arg-type]
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(list(cases), total, page, per_page)


def list_archived(client_id: int, q: str, sort: str, direction: str, page: int, per_page: int = 50) -> Page:
    conditions = [SveaCase.client_id == client_id, SveaCase.state.in_(ARCHIVED_STATES)]
    if q:
        invoice_cases = (
            select(CasePost.case_id)
            .join(CustomerPost, CustomerPost.id == CasePost.post_id)
            .where(CustomerPost.client_id == client_id, or_(CustomerPost.invoice_no == q, CustomerPost.match_no == q))
        )
        conditions.append(
            or_(
                func.lower(Customer.name).like(f"%{q.lower()}%"),
                Customer.customer_no == q,
                SveaCase.case_number == q,
                SveaCase.id.in_(invoice_cases),
            )
        )
    base = select(SveaCase).join(SveaCase.customer).where(*conditions)
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    cases = db.session.scalars(
        base.options(contains_eager(SveaCase.customer))
        .order_by(*_order(ARCHIVED_SORTS, sort, direction, "closed"))  # type: ignore[arg-type]
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(list(cases), total, page, per_page)


@dataclass
class CaseDetail:
    case: SveaCase
    posts: list[tuple[CasePost, CustomerPost]]
    events: list[CaseEvent]
    dispatches: list[Dispatch]
    messages: list[CaseMessage]

    @property
    def busy(self) -> bool:
        """A job is working on the case: the pane refreshes itself until it is done."""
        return (
            self.case.state == CASE_PENDING
            or self.case.close_status == CLOSE_PENDING
            or any(message.state == MESSAGE_PENDING for message in self.messages)
        )


def case_detail(case: SveaCase) -> CaseDetail:
    posts = db.session.execute(
        select(CasePost, CustomerPost)
        .join(CustomerPost, CustomerPost.id == CasePost.post_id)
        .where(CasePost.case_id == case.id)
        .order_by(CustomerPost.due_date, CustomerPost.id)
    ).all()
    events = db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.at.desc(), CaseEvent.id.desc())
    )
    dispatches = db.session.scalars(
        select(Dispatch).where(Dispatch.case_id == case.id).order_by(Dispatch.sent_at, Dispatch.id)
    )
    messages = db.session.scalars(
        select(CaseMessage).where(CaseMessage.case_id == case.id).order_by(CaseMessage.at, CaseMessage.id)
    )
    return CaseDetail(case, list(posts), list(events), list(dispatches), list(messages))
