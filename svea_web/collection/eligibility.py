"""Nye saker: which posts may go to Svea now, as database queries over the whole ledger.

The rule is `svea_web.rules.dunning.eligible_for_svea_after`, written as SQL so that a ledger of
100,000 posts is filtered, counted and paged by the database (tests check the two agree):

- an open invoice with something left to pay (and at least the minimum amount), overdue, and not
  already in a case;
- not under a purrestopp, neither the post's own nor its customer's (CustomerPause), read as
  svea_web.dunning reads them: a pause whose resume day has come counts for nothing;
- at level Purring (Svea runs the reminders), or with no in-app steps: overdue by ``offer_after_days``;
- at level Inkasso with in-app steps: every step sent and the last step's deadline passed;
- a customer who already has a case at Svea: any newly overdue post goes straight to Nye saker.

Rows: one per post (its match number shown), or with Gruppere poster one per customer holding all its
eligible posts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, func, or_, select

from svea_web.collection.models import (
    ACTIVE_CASE_STATES,
    CASE_REJECTED,
    LEVEL_INKASSO,
    LEVEL_PURRING,
    CasePost,
    SveaCase,
)
from svea_web.dunning.models import STEP_NOTICE, CustomerPause, ReminderStep
from svea_web.extensions import db
from svea_web.ledger.models import KIND_COMPANY, POST_INVOICE, STATUS_OPEN, Customer, CustomerPost
from svea_web.rules.dunning import DunningPolicy, notice_expired
from svea_web.setup.services import dunning_settings, svea_settings
from svea_web.svea.models import CloseReason

# Svea takes at most this many invoices in one case; a bigger group is sent as several cases.
MAX_INVOICES_PER_CASE = 200


@dataclass(frozen=True)
class Policy:
    level: str
    required_steps: int  # in-app steps every post must have been through (0: offer after the due date)
    offer_after_days: int
    min_amount: Decimal
    group_by_customer: bool


def policy_for(client_id: int) -> Policy:
    svea = svea_settings(client_id)
    dunning = dunning_settings(client_id)
    level = svea.handover_level if svea is not None else LEVEL_PURRING
    required = 0
    if level == LEVEL_INKASSO and dunning is not None:
        required = DunningPolicy(
            in_app_reminders=dunning.in_app_steps,
            notice_enabled=dunning.notice_enabled,
            days_between=dunning.days_between,
            fee_enabled=dunning.fee_enabled,
            min_amount=dunning.min_amount,
        ).in_app_steps
    return Policy(
        level=level,
        required_steps=required,
        offer_after_days=dunning.offer_after_days if dunning is not None else 14,
        min_amount=dunning.min_amount if dunning is not None else Decimal("0"),
        group_by_customer=bool(svea and svea.group_by_customer),
    )


def customers_with_case(client_id: int) -> Any:
    return select(SveaCase.customer_id).where(SveaCase.client_id == client_id, SveaCase.state.in_(ACTIVE_CASE_STATES))


def eligible_conditions(client_id: int, policy: Policy, today: date) -> list[ColumnElement[bool]]:
    if policy.required_steps == 0:
        ready = CustomerPost.due_date <= today - timedelta(days=max(policy.offer_after_days, 1))
    else:
        # The deadline is the last day to pay: the post is ready from the day after.
        ready = and_(
            CustomerPost.reminder_step >= policy.required_steps,
            CustomerPost.reminder_deadline.is_not(None),
            CustomerPost.reminder_deadline < today,
        )
    return [
        CustomerPost.client_id == client_id,
        CustomerPost.status == STATUS_OPEN,
        CustomerPost.kind == POST_INVOICE,
        CustomerPost.open_amount > 0,
        CustomerPost.open_amount >= policy.min_amount,
        CustomerPost.svea_case_id.is_(None),
        _post_not_paused(today),
        CustomerPost.customer_id.not_in(paused_customers(client_id, today)),
        CustomerPost.due_date < today,
        or_(ready, CustomerPost.customer_id.in_(customers_with_case(client_id))),
    ]


def _post_not_paused(today: date) -> ColumnElement[bool]:
    """The post's own purrestopp is not in force, read as svea_web.dunning reads it: a dated pause holds
    until its resume day ``paused_until`` (the flag beside a date counts for nothing), an undated one
    while ``paused`` is set."""
    return or_(
        and_(CustomerPost.paused_until.is_(None), CustomerPost.paused.is_(False)),
        CustomerPost.paused_until <= today,
    )


def paused_customers(client_id: int, today: date) -> Any:
    """Customers under a purrestopp (CustomerPause) today: none of their posts may go to Svea.

    ``paused_until`` is the day dunning resumes (None: until lifted), as in svea_web.dunning."""
    return select(CustomerPause.customer_id).where(
        CustomerPause.client_id == client_id, CustomerPause.in_force_on(today)
    )


@dataclass
class NewCaseRow:
    """One row of Nye saker: what one marked check box turns into (one case, or a few if very large)."""

    key: str  # "p<post id>" or "c<customer id>"
    customer: Customer
    posts: list[Any]  # CustomerPost per post; rows of id, match_no, due_date, open_amount per customer
    open_amount: Decimal
    oldest_due: date
    post_count: int
    warnings: list[str] = field(default_factory=list)
    history: list[tuple[str, str]] = field(default_factory=list)  # (badge kind, text)


def count_rows(client_id: int, policy: Policy, today: date) -> int:
    conditions = eligible_conditions(client_id, policy, today)
    if policy.group_by_customer:
        stmt = select(func.count(func.distinct(CustomerPost.customer_id))).where(*conditions)
    else:
        stmt = select(func.count()).select_from(CustomerPost).where(*conditions)
    return int(db.session.scalar(stmt) or 0)


@dataclass
class RowsPage:
    """One page of Nye saker. It knows whether another page follows, not how many rows there are in all:
    counting every candidate is left to the tab label, which asks for it on its own (new_count)."""

    items: list[NewCaseRow]
    page: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def list_rows(client_id: int, policy: Policy, today: date, page: int = 1, per_page: int = 50) -> RowsPage:
    """One page of Nye saker, oldest due date first.

    Only this one order is offered: the candidates' index hands the posts out in due-date order, so a
    page costs a short walk along it, not a sort of every candidate in the ledger.
    """
    conditions = eligible_conditions(client_id, policy, today)
    oldest_first = (CustomerPost.due_date, CustomerPost.id)
    if policy.group_by_customer:
        customer_ids = _customers_by_oldest_post(conditions, (page - 1) * per_page, per_page + 1)
        has_next = len(customer_ids) > per_page
        customer_ids = customer_ids[:per_page]
        # Plain rows of the few columns a grouped row shows, not ORM objects (a page holds hundreds of
        # posts), and no ORDER BY: sorted here, so that the database seeks these customers by the
        # candidates-by-customer index instead of walking every candidate in due-date order.
        page_posts = db.session.execute(
            select(
                CustomerPost.id,
                CustomerPost.customer_id,
                CustomerPost.match_no,
                CustomerPost.due_date,
                CustomerPost.open_amount,
                CustomerPost.reminder_step,
            ).where(*conditions, CustomerPost.customer_id.in_(customer_ids))
        ).all()
        posts_by_customer: dict[int, list[Any]] = defaultdict(list)
        for post in sorted(page_posts, key=lambda post: (post.due_date, post.id)):
            posts_by_customer[post.customer_id].append(post)
        customers = {c.id: c for c in db.session.scalars(select(Customer).where(Customer.id.in_(customer_ids)))}
        rows = [
            NewCaseRow(
                key=f"c{customer_id}",
                customer=customers[customer_id],
                posts=posts_by_customer[customer_id],
                open_amount=sum((post.open_amount for post in posts_by_customer[customer_id]), Decimal("0")),
                oldest_due=posts_by_customer[customer_id][0].due_date,
                post_count=len(posts_by_customer[customer_id]),
            )
            for customer_id in customer_ids
        ]
    else:
        pairs = db.session.execute(
            select(CustomerPost, Customer)
            .join(Customer, Customer.id == CustomerPost.customer_id)
            .where(*conditions)
            .order_by(*oldest_first)
            .limit(per_page + 1)
            .offset((page - 1) * per_page)
        ).all()
        has_next = len(pairs) > per_page
        pairs = pairs[:per_page]
        rows = [
            NewCaseRow(
                key=f"p{post.id}",
                customer=customer,
                posts=[post],
                open_amount=post.open_amount,
                oldest_due=post.due_date,
                post_count=1,
            )
            for post, customer in pairs
        ]
    _annotate(rows, policy, today)
    return RowsPage(rows, page, has_next)


def _customers_by_oldest_post(conditions: list[ColumnElement[bool]], skip: int, take: int) -> list[int]:
    """Customers ordered by their oldest candidate post: ``take`` of them after the first ``skip``.

    Walks the candidates in due-date order and stops at the last customer wanted, instead of grouping
    every candidate in the ledger to sort the groups.
    """
    seen: dict[int, None] = {}
    result = db.session.execute(
        select(CustomerPost.customer_id)
        .where(*conditions)
        .order_by(CustomerPost.due_date, CustomerPost.id)
        .execution_options(yield_per=1000)
    )
    try:
        for customer_id in result.scalars():
            seen.setdefault(customer_id, None)
            if len(seen) >= skip + take:
                break
    finally:
        result.close()
    return list(seen)[skip : skip + take]


def debtor_warnings(customer: Customer) -> list[str]:
    """What Svea will miss about the debtor: shown before sending, since Svea rejects such cases."""
    warnings = []
    if customer.kind == KIND_COMPANY and not customer.org_no:
        warnings.append(_("Mangler organisasjonsnummer"))
    if customer.kind != KIND_COMPANY and not customer.national_id:
        warnings.append(_("Mangler fødselsnummer"))
    if not (customer.address and customer.postcode and customer.city):
        warnings.append(_("Mangler adresse"))
    return warnings


def _annotate(rows: list[NewCaseRow], policy: Policy, today: date) -> None:
    """Warnings about the debtor and about the in-app steps (a stale collection notice, or none because
    the customer already has a case), and what became of earlier cases with these posts."""
    post_ids = [post.id for row in rows for post in row.posts]
    stale_notice: set[int] = set()
    if post_ids:
        for post_id, sent_on in db.session.execute(
            select(ReminderStep.post_id, func.max(ReminderStep.sent_on))
            .where(ReminderStep.post_id.in_(post_ids), ReminderStep.kind == STEP_NOTICE)
            .group_by(ReminderStep.post_id)
        ):
            if notice_expired(sent_on, today):
                stale_notice.add(post_id)
    earlier: dict[int, list[tuple[str, str | None, str | None, str | None]]] = defaultdict(list)
    if post_ids:
        for post_id, state, case_number, reason, close_reason in db.session.execute(
            select(CasePost.post_id, SveaCase.state, SveaCase.case_number, SveaCase.last_error, SveaCase.close_reason)
            .join(SveaCase, SveaCase.id == CasePost.case_id)
            .where(CasePost.post_id.in_(post_ids), CasePost.active.is_(False))
            .order_by(SveaCase.id)
        ):
            earlier[post_id].append((state, case_number, reason, close_reason))
    for row in rows:
        row.warnings = debtor_warnings(row.customer)
        if policy.required_steps and any((post.reminder_step or 0) < policy.required_steps for post in row.posts):
            # Offered only because the customer already has a case at Svea (see eligible_conditions).
            row.warnings.append(_("Ikke gjennom purringene i appen – kunden har allerede en sak hos Svea"))
        if any(post.id in stale_notice for post in row.posts):
            # Practice (RULES.md, Timing): a case is not handed over on a notice older than about six months.
            row.warnings.append(_("Inkassovarselet er over 6 måneder gammelt – send et nytt før saken overleveres"))
        notes: list[tuple[str, str]] = []
        for post in row.posts:
            for state, case_number, reason, close_reason in earlier.get(post.id, [])[-1:]:
                if state == CASE_REJECTED:
                    note = ("danger", _("Avvist av Svea: %(reason)s", reason=reason or ""))
                elif close_reason == CloseReason.PAID_TO_CREDITOR.value:
                    # The customer paid the firm, but no payment is booked: the post is open in the ledger.
                    note = (
                        "danger",
                        _(
                            "Sak %(number)s ble avsluttet som betalt direkte til oss – registrer innbetalingen "
                            "i stedet for å sende posten på nytt",
                            number=case_number or "",
                        ),
                    )
                else:
                    note = ("info", _("Var i sak %(number)s (avsluttet)", number=case_number or ""))
                if note not in notes:
                    notes.append(note)
        row.history = notes


def posts_for_rows(client_id: int, policy: Policy, today: date, keys: list[str]) -> list[list[CustomerPost]]:
    """The posts each marked row stands for now (paid or already sent posts drop out), one list per case."""
    post_ids = sorted({int(key[1:]) for key in keys if key[:1] == "p" and key[1:].isdigit()})
    customer_ids = sorted({int(key[1:]) for key in keys if key[:1] == "c" and key[1:].isdigit()})
    conditions = eligible_conditions(client_id, policy, today)
    groups: list[list[CustomerPost]] = []
    if post_ids:
        for post in db.session.scalars(
            select(CustomerPost).where(*conditions, CustomerPost.id.in_(post_ids)).order_by(CustomerPost.id)
        ):
            groups.append([post])
    if customer_ids:
        by_customer: dict[int, list[CustomerPost]] = defaultdict(list)
        for post in db.session.scalars(
            select(CustomerPost)
            .where(*conditions, CustomerPost.customer_id.in_(customer_ids))
            .order_by(CustomerPost.customer_id, CustomerPost.due_date, CustomerPost.id)
        ):
            by_customer[post.customer_id].append(post)
        for posts in by_customer.values():
            groups.extend(
                posts[start : start + MAX_INVOICES_PER_CASE] for start in range(0, len(posts), MAX_INVOICES_PER_CASE)
            )
    return groups
