"""The ledger lists: filters, search, sorting and paging done by the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import contains_eager, selectinload

from svea_web.extensions import db
from svea_web.ledger.models import STATUS_OPEN, STATUS_PAID, Customer, CustomerPost

POST_FILTERS = ("all", "open", "overdue", "in_case", "paid")
POST_SORTS = {
    "due_date": CustomerPost.due_date,
    "invoice_date": CustomerPost.invoice_date,
    "invoice_no": CustomerPost.invoice_no,
    "amount": CustomerPost.amount,
    "open_amount": CustomerPost.open_amount,
    "customer": Customer.name,
}


@dataclass(frozen=True)
class PostQuery:
    filter: str = "all"
    q: str = ""
    sort: str = "due_date"
    direction: str = "asc"
    page: int = 1
    customer_id: int | None = None
    # Days overdue, inclusive, for the aged-receivables buckets (None = open end).
    days_from: int | None = None
    days_to: int | None = None

    @classmethod
    def from_args(cls, args: Any) -> PostQuery:
        def _int(name: str) -> int | None:
            raw = args.get(name, "")
            try:
                return int(raw) if raw not in ("", None) else None
            except ValueError:
                return None

        flt = args.get("filter", "all")
        sort = args.get("sort", "due_date")
        direction = args.get("dir", "asc")
        return cls(
            filter=flt if flt in POST_FILTERS else "all",
            q=(args.get("q") or "").strip()[:100],
            sort=sort if sort in POST_SORTS else "due_date",
            direction=direction if direction in ("asc", "desc") else "asc",
            page=max(1, _int("page") or 1),
            customer_id=_int("customer"),
            days_from=_int("days_from"),
            days_to=_int("days_to"),
        )


@dataclass
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _needs_customer_join(pq: PostQuery) -> bool:
    return bool(pq.q) or pq.sort == "customer"


def _filtered_posts(client_id: int, pq: PostQuery, today: date) -> Select[Any]:
    # The customer is joined only when the search or the sort needs it: the common lists then run
    # on the (client, status, due date, open amount) index alone.
    stmt = select(CustomerPost).where(CustomerPost.client_id == client_id)
    if _needs_customer_join(pq):
        stmt = stmt.join(CustomerPost.customer)
    if pq.filter == "open":
        stmt = stmt.where(CustomerPost.status == STATUS_OPEN)
    elif pq.filter == "overdue":
        stmt = stmt.where(CustomerPost.status == STATUS_OPEN, CustomerPost.due_date < today)
    elif pq.filter == "in_case":
        stmt = stmt.where(CustomerPost.svea_case_id.is_not(None))
    elif pq.filter == "paid":
        stmt = stmt.where(CustomerPost.status == STATUS_PAID)
    if pq.days_from is not None or pq.days_to is not None:
        stmt = stmt.where(CustomerPost.status == STATUS_OPEN)
        if pq.days_from is not None:
            stmt = stmt.where(CustomerPost.due_date <= today - timedelta(days=pq.days_from))
        if pq.days_to is not None:
            stmt = stmt.where(CustomerPost.due_date >= today - timedelta(days=pq.days_to))
    if pq.customer_id is not None:
        stmt = stmt.where(CustomerPost.customer_id == pq.customer_id)
    if pq.q:
        like = f"%{pq.q.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Customer.name).like(like),
                Customer.customer_no == pq.q,
                CustomerPost.invoice_no == pq.q,
                CustomerPost.match_no == pq.q,
                CustomerPost.kid == pq.q,
            )
        )
    return stmt


def list_posts(client_id: int, pq: PostQuery, today: date, per_page: int = 50) -> tuple[Page, Decimal]:
    """One page of posts, and the open amount of the whole selection."""
    stmt = _filtered_posts(client_id, pq, today)
    count, total_open = db.session.execute(
        stmt.with_only_columns(func.count(), func.coalesce(func.sum(CustomerPost.open_amount), 0))
    ).one()
    column = POST_SORTS[pq.sort]
    descending = pq.direction == "desc"
    # The tie-break runs the same way as the sort, so one index scan gives the order.
    order = (column.desc(), CustomerPost.id.desc()) if descending else (column.asc(), CustomerPost.id.asc())
    loader = contains_eager(CustomerPost.customer) if _needs_customer_join(pq) else selectinload(CustomerPost.customer)
    stmt = stmt.options(loader).order_by(*order).limit(per_page).offset((pq.page - 1) * per_page)
    return Page(list(db.session.scalars(stmt).unique()), count or 0, pq.page, per_page), Decimal(total_open or 0)


CUSTOMER_SORTS = {"name": Customer.name, "customer_no": Customer.customer_no}


def list_customers(client_id: int, q: str, sort: str, direction: str, page: int, per_page: int = 50) -> Page:
    balance = (
        select(func.coalesce(func.sum(CustomerPost.open_amount), 0))
        .where(CustomerPost.customer_id == Customer.id, CustomerPost.status == STATUS_OPEN)
        .correlate(Customer)
        .scalar_subquery()
    )
    stmt = select(Customer, balance.label("balance")).where(Customer.client_id == client_id)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(func.lower(Customer.name).like(like), Customer.customer_no == q, Customer.org_no == q))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    order: Any
    if sort == "balance":
        order = balance.desc() if direction == "desc" else balance.asc()
    else:
        column = CUSTOMER_SORTS.get(sort, Customer.name)
        order = column.desc() if direction == "desc" else column.asc()
    rows = db.session.execute(stmt.order_by(order, Customer.id).limit(per_page).offset((page - 1) * per_page)).all()
    return Page([(row[0], Decimal(row[1])) for row in rows], total, page, per_page)


def customer_balance(customer_id: int) -> Decimal:
    total = db.session.scalar(
        select(func.coalesce(func.sum(CustomerPost.open_amount), 0)).where(
            CustomerPost.customer_id == customer_id, CustomerPost.status == STATUS_OPEN
        )
    )
    return Decimal(total or 0)
