"""The lists of Inkassosaker (Åpne saker, Arkiverte saker) and one case's detail, paged by the database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, union
from sqlalchemy.orm import joinedload

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
    """The cases in Åpne saker and Arkiverte saker. (Nye saker's count is asked for on its own: it
    counts candidates among every post of the ledger, which a tab should not wait for.)"""

    open: int
    archived: int


def tab_counts(client_id: int) -> TabCounts:
    by_state = dict(
        db.session.execute(
            select(SveaCase.state, func.count()).where(SveaCase.client_id == client_id).group_by(SveaCase.state)
        ).all()
    )
    return TabCounts(
        open=sum(by_state.get(state, 0) for state in ACTIVE_CASE_STATES),
        archived=sum(by_state.get(state, 0) for state in ARCHIVED_STATES),
    )


def _order(sorts: dict[str, Any], sort: str, direction: str, default: str) -> list[Any]:
    column = sorts.get(sort) or sorts[default]
    return [column.desc() if direction == "desc" else column.asc(), SveaCase.id.desc()]


def _page_of_cases(base: Any, order: list[Any], page: int, per_page: int, total: int) -> Page:
    """Pick the page's case ids first (few columns, sorted by the database), then load those cases."""
    ids = db.session.scalars(base.order_by(*order).limit(per_page).offset((page - 1) * per_page)).all()
    found = {
        case.id: case
        for case in db.session.scalars(
            select(SveaCase).options(joinedload(SveaCase.customer)).where(SveaCase.id.in_(ids))
        )
    }
    return Page([found[case_id] for case_id in ids], total, page, per_page)


def list_open(
    client_id: int, sort: str, direction: str, page: int, per_page: int = 50, total: int | None = None
) -> Page:
    """Åpne saker; pass `total` when the tab counts have it already."""
    conditions = [SveaCase.client_id == client_id, SveaCase.state.in_(ACTIVE_CASE_STATES)]
    if total is None:
        total = db.session.scalar(select(func.count()).select_from(SveaCase).where(*conditions)) or 0
    base = select(SveaCase.id).where(*conditions)
    if sort == "customer":
        base = base.join(Customer, Customer.id == SveaCase.customer_id)
    return _page_of_cases(base, _order(OPEN_SORTS, sort, direction, "created"), page, per_page, total)


def list_archived(client_id: int, q: str, sort: str, direction: str, page: int, per_page: int = 50) -> Page:
    conditions = [SveaCase.client_id == client_id, SveaCase.state.in_(ARCHIVED_STATES)]
    if q:
        # Two indexed lookups: an OR of the two columns would read every post of the firm.
        matching_posts = union(
            select(CustomerPost.id).where(CustomerPost.client_id == client_id, CustomerPost.invoice_no == q),
            select(CustomerPost.id).where(CustomerPost.client_id == client_id, CustomerPost.match_no == q),
        )
        invoice_cases = select(CasePost.case_id).where(CasePost.post_id.in_(matching_posts))
        conditions.append(
            or_(
                func.lower(Customer.name).like(f"%{q.lower()}%"),
                Customer.customer_no == q,
                SveaCase.case_number == q,
                SveaCase.id.in_(invoice_cases),
            )
        )
    base = select(SveaCase.id).join(Customer, Customer.id == SveaCase.customer_id).where(*conditions)
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    return _page_of_cases(base, _order(ARCHIVED_SORTS, sort, direction, "closed"), page, per_page, total)


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
