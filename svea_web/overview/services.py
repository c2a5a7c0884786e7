"""The overview's figures, as of a day, computed by aggregate queries in the database.

The ledger keeps each post's open amount as it stands now. The picture of an earlier day D is
taken back from that: payments booked on the post that were paid after D are added back, and
allocations reversed after D that were paid on or before D are taken off again. This equals
"amount − allocations paid on or before D and not reversed before D" whenever the open amount is
the amount less its allocations, and stays right for posts imported with an open amount already
reduced by payments the app never saw (their history before the import is unknown).

Cases, reminder steps and customer pauses have dates, so their state on D comes from them. A pause
on the post itself has no start date: a pause in force now is taken to have been in force on D.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, SQLColumnExpression, and_, case, func, literal, or_, select, union_all
from sqlalchemy.sql.selectable import Subquery

from svea_web.clock import OSLO
from svea_web.collection import eligibility
from svea_web.collection.models import CASE_CLOSED, CASE_OPEN, CASE_REJECTED, CasePost, SveaCase
from svea_web.dunning.models import CustomerPause, ReminderStep
from svea_web.extensions import db
from svea_web.ledger.models import POST_INVOICE, STATUS_OPEN, Customer, CustomerPost
from svea_web.payments.models import (
    REPORT_CANCELLED,
    SOURCE_SVEA,
    DirectPaymentReport,
    Payment,
    PaymentAllocation,
    Settlement,
)

CENT = Decimal("0.01")
# Open amounts are compared with half a cent, not with zero: SQLite sums NUMERIC as binary floats.
HALF_CENT = Decimal("0.005")
# The parts of the summary statement's rows (see _summary).
PART_STAGE, PART_DEBTOR, PART_BUCKET = 0, 1, 2


@dataclass(frozen=True)
class BucketDef:
    key: str
    label: Any
    days_from: int | None  # days overdue, inclusive; None = open end
    days_to: int | None


# Due today is not overdue: "not due" is every post with days overdue ≤ 0.
BUCKETS: tuple[BucketDef, ...] = (
    BucketDef("not_due", _l("Ikke forfalt"), None, 0),
    BucketDef("d1_14", _l("1–14 dager"), 1, 14),
    BucketDef("d15_30", _l("15–30 dager"), 15, 30),
    BucketDef("d31_60", _l("31–60 dager"), 31, 60),
    BucketDef("d61_90", _l("61–90 dager"), 61, 90),
    BucketDef("over_90", _l("Over 90 dager"), 91, None),
)


@dataclass(frozen=True)
class StageDef:
    key: str
    label: Any


# Where an overdue post is in the follow-up, in the order the money moves. A post is in one stage:
# the first of case → pause → Nye saker → reminded → not reminded that holds for it.
STAGES: tuple[StageDef, ...] = (
    StageDef("not_reminded", _l("Ikke purret")),
    StageDef("reminded", _l("Purret i appen")),
    StageDef("paused", _l("På pause")),
    StageDef("new", _l("Nye saker")),
    StageDef("svea_pending", _l("Sendt til Svea, venter")),
    StageDef("svea_open", _l("Åpen sak hos Svea")),
)
STAGE_KEYS = tuple(s.key for s in STAGES)


@dataclass(frozen=True)
class Bucket:
    key: str
    label: Any
    days_from: int | None
    days_to: int | None
    count: int
    amount: Decimal


@dataclass(frozen=True)
class Stage:
    key: str
    label: Any
    count: int
    amount: Decimal


@dataclass(frozen=True)
class Month:
    first_day: date
    paid_after_reminder: Decimal
    paid_direct_in_case: Decimal
    collected_by_svea: Decimal
    cases_opened: int
    cases_closed: int


@dataclass(frozen=True)
class Debtor:
    customer_id: int
    name: str
    customer_no: str
    amount: Decimal
    posts: int
    oldest_due: date
    stage: StageDef
    case_numbers: tuple[str, ...]


@dataclass(frozen=True)
class Overview:
    as_of: date
    buckets: list[Bucket]
    stages: list[Stage]
    debtors: list[Debtor]

    @property
    def open_total(self) -> Decimal:
        return sum((b.amount for b in self.buckets), Decimal("0"))

    @property
    def overdue_total(self) -> Decimal:
        return sum((b.amount for b in self.buckets if b.key != "not_due"), Decimal("0"))

    @property
    def stage_total(self) -> Decimal:
        return sum((s.amount for s in self.stages), Decimal("0"))


def start_of_day_utc(day: date) -> datetime:
    """Midnight in Oslo at the start of ``day``, as the naive UTC the timestamps are stored in."""
    return datetime.combine(day, time.min, tzinfo=OSLO).astimezone(UTC).replace(tzinfo=None)


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


def _stage_case(
    svea_open: ColumnElement[bool],
    in_case: ColumnElement[bool],
    paused: ColumnElement[bool],
    new: ColumnElement[bool],
    reminded: ColumnElement[bool],
) -> ColumnElement[int]:
    """The post's stage as an index into STAGES: the first of these that holds for it."""
    index = STAGE_KEYS.index
    # Most overdue posts are in no case: test that first and ask which case only for those that are.
    return case(
        (in_case, case((svea_open, index("svea_open")), else_=index("svea_pending"))),
        (paused, index("paused")),
        (new, index("new")),
        (reminded, index("reminded")),
        else_=index("not_reminded"),
    )


def _customer_pause(client_id: int, day: date, since: datetime | None = None) -> Select[Any]:
    """Customers under a purrestopp on the day (svea_web.dunning: ``paused_until`` is the resume day)."""
    stmt = select(CustomerPause.customer_id).where(
        CustomerPause.client_id == client_id,
        or_(CustomerPause.paused_until.is_(None), CustomerPause.paused_until > day),
    )
    if since is not None:
        stmt = stmt.where(CustomerPause.created_at < since)
    return stmt


def _post_paused(day: date) -> ColumnElement[bool]:
    # As svea_web.dunning reads a pause: a dated pause holds until its resume day, else the flag.
    return or_(
        and_(CustomerPost.paused_until.is_not(None), CustomerPost.paused_until > day),
        and_(CustomerPost.paused_until.is_(None), CustomerPost.paused.is_(True)),
    )


def _firm_rows_filter(client_id: int) -> ColumnElement[bool]:
    """The firm's posts, for a query that reads most of each post's columns.

    Left to itself, SQLite follows the ledger's (client, status, due date) index and then looks up
    every overdue row in the table. Read front to back instead, the covering index Nye saker keeps
    (svea_web.collection.models, ix_post_svea_candidates) holds every column the stage needs, and the
    page costs about half (bench/bench_overview.py). An expression on the column keeps SQLite off
    the narrower index. The embedded SQLite file holds one firm or an office's few; PostgreSQL plans
    this by itself.
    """
    if db.engine.dialect.name == "sqlite":
        return (CustomerPost.client_id + 0) == client_id
    return CustomerPost.client_id == client_id


class _PostState:
    """Each post's open amount and stage on one day, for the overview's queries to select from."""

    open_amount: SQLColumnExpression[Any]

    def __init__(self, client_id: int, as_of: date, policy: eligibility.Policy) -> None:
        self.client_id = client_id
        self.as_of = as_of
        self.policy = policy
        self.firm_rows = _firm_rows_filter(client_id)

    def posts(self, *columns: Any, with_stage: bool = True) -> Select[Any]:
        """The client's posts open on the day, selecting ``columns``; ``with_stage`` off when the query
        reads no more than the due date and the open amount (the buckets)."""
        raise NotImplementedError

    def stage(self) -> ColumnElement[int]:
        raise NotImplementedError

    def open_cases(self) -> ColumnElement[bool]:
        """Cases open at Svea on the day (the ones with a case number)."""
        raise NotImplementedError

    def overdue_debit(self) -> ColumnElement[bool]:
        """Overdue money: credit notes and overpayments are not owed, and neither dunning nor Svea
        takes them."""
        return and_(CustomerPost.due_date < self.as_of, self.open_amount >= HALF_CENT)

    def bucket(self) -> ColumnElement[int]:
        """The post's bucket as an index into BUCKETS, by its due date."""
        whens = [
            (CustomerPost.due_date >= self.as_of - timedelta(days=bucket.days_to), index)
            for index, bucket in enumerate(BUCKETS)
            if bucket.days_to is not None
        ]
        return case(*whens, else_=len(BUCKETS) - 1)

    def bucket_totals(self) -> Select[Any] | None:
        """Rows of (bucket index, posts, open amount); None when the pass over the posts sums them
        (see _summary)."""
        return None


class _Today(_PostState):
    """The ledger as it stands, read as the lists the charts link to read it (ledger, dunning,
    Nye saker), so that a bar and its list hold the same posts."""

    def __init__(self, client_id: int, as_of: date, policy: eligibility.Policy) -> None:
        super().__init__(client_id, as_of, policy)
        self.open_amount = CustomerPost.open_amount

    def posts(self, *columns: Any, with_stage: bool = True) -> Select[Any]:
        # The stage needs no join: its lookups are small lists the database builds once per query.
        # Without it, the ledger's (client, status, due date, open amount) index holds all it reads.
        firm = self.firm_rows if with_stage else CustomerPost.client_id == self.client_id
        return select(*columns).select_from(CustomerPost).where(firm, CustomerPost.status == STATUS_OPEN)

    def stage(self) -> ColumnElement[int]:
        open_cases = select(SveaCase.id).where(self.open_cases())
        return _stage_case(
            svea_open=CustomerPost.svea_case_id.in_(open_cases),
            in_case=CustomerPost.svea_case_id.is_not(None),
            paused=or_(
                _post_paused(self.as_of),
                CustomerPost.customer_id.in_(_customer_pause(self.client_id, self.as_of)),
            ),
            new=and_(*eligibility.eligible_conditions(self.client_id, self.policy, self.as_of)),
            reminded=CustomerPost.reminder_step > 0,
        )

    def open_cases(self) -> ColumnElement[bool]:
        return and_(SveaCase.client_id == self.client_id, SveaCase.state == CASE_OPEN)

    def bucket_totals(self) -> Select[Any]:
        # One range of due dates per bucket: each part reads a slice of the ledger's (client, status,
        # due date, open amount) index, with nothing to sort or group.
        due = CustomerPost.due_date
        parts = []
        for index, bucket in enumerate(BUCKETS):
            part = self.posts(literal(index), func.count(), func.sum(self.open_amount), with_stage=False)
            if bucket.days_to is not None:
                part = part.where(due >= self.as_of - timedelta(days=bucket.days_to))
            if bucket.days_from is not None:
                part = part.where(due <= self.as_of - timedelta(days=bucket.days_from))
            parts.append(part)
        return union_all(*parts)  # type: ignore[return-value]


class _Past(_PostState):
    """An earlier day, taken back from the payments, reminder steps, cases and pauses with their dates."""

    def __init__(self, client_id: int, as_of: date, policy: eligibility.Policy) -> None:
        super().__init__(client_id, as_of, policy)
        self.next_day = start_of_day_utc(as_of + timedelta(days=1))
        self.adjustment = self._adjustment()
        self.steps = self._steps()
        self.open_amount = CustomerPost.open_amount + func.coalesce(self.adjustment.c.amount, 0)

    def _adjustment(self) -> Subquery:
        applied_later = and_(PaymentAllocation.reversed_at.is_(None), Payment.paid_on > self.as_of)
        undone_later = and_(PaymentAllocation.reversed_at >= self.next_day, Payment.paid_on <= self.as_of)
        return (
            select(
                PaymentAllocation.post_id.label("post_id"),
                func.sum(
                    case(
                        (applied_later, PaymentAllocation.amount),
                        (undone_later, -PaymentAllocation.amount),
                        else_=literal(Decimal("0")),
                    )
                ).label("amount"),
            )
            .join(Payment, Payment.id == PaymentAllocation.payment_id)
            .where(PaymentAllocation.client_id == self.client_id, or_(applied_later, undone_later))
            .group_by(PaymentAllocation.post_id)
            .subquery("adjustment")
        )

    def _steps(self) -> Subquery:
        return (
            select(
                ReminderStep.post_id.label("post_id"),
                func.count().label("sent"),
                func.max(ReminderStep.deadline).label("last_deadline"),
            )
            .where(ReminderStep.client_id == self.client_id, ReminderStep.sent_on <= self.as_of)
            .group_by(ReminderStep.post_id)
            .subquery("steps")
        )

    def case_active(self) -> ColumnElement[bool]:
        # A rejected case gave its posts back within minutes of the request (no date is kept for it).
        return and_(
            SveaCase.client_id == self.client_id,
            SveaCase.created_at < self.next_day,
            SveaCase.state != CASE_REJECTED,
            or_(
                SveaCase.closed_at >= self.next_day,
                and_(SveaCase.closed_at.is_(None), SveaCase.state != CASE_CLOSED),
            ),
        )

    def _posts_in_cases(self, *conditions: ColumnElement[bool]) -> Select[Any]:
        return (
            select(CasePost.post_id)
            .join(SveaCase, SveaCase.id == CasePost.case_id)
            .where(self.case_active(), *conditions)
        )

    def posts(self, *columns: Any, with_stage: bool = True) -> Select[Any]:
        stmt = (
            select(*columns)
            .select_from(CustomerPost)
            .outerjoin(self.adjustment, self.adjustment.c.post_id == CustomerPost.id)
        )
        if with_stage:
            stmt = stmt.outerjoin(self.steps, self.steps.c.post_id == CustomerPost.id)
        return stmt.where(
            self.firm_rows,
            CustomerPost.invoice_date <= self.as_of,
            func.abs(self.open_amount) >= HALF_CENT,
        )

    def stage(self) -> ColumnElement[int]:
        sent = func.coalesce(self.steps.c.sent, 0)
        policy = self.policy
        # svea_web.collection.eligibility's rule, on the day's state instead of the post's columns.
        if policy.required_steps == 0:
            ready: ColumnElement[bool] = CustomerPost.due_date <= self.as_of - timedelta(
                days=max(policy.offer_after_days, 1)
            )
        else:
            ready = and_(sent >= policy.required_steps, self.steps.c.last_deadline < self.as_of)
        customers_with_case = select(SveaCase.customer_id).where(self.case_active())
        new = and_(
            CustomerPost.kind == POST_INVOICE,
            self.open_amount >= max(Decimal(policy.min_amount), HALF_CENT),
            or_(ready, CustomerPost.customer_id.in_(customers_with_case)),
        )
        paused_customers = _customer_pause(self.client_id, self.as_of, since=self.next_day)
        return _stage_case(
            svea_open=CustomerPost.id.in_(self._posts_in_cases(SveaCase.acknowledged_at < self.next_day)),
            in_case=CustomerPost.id.in_(self._posts_in_cases()),
            paused=or_(_post_paused(self.as_of), CustomerPost.customer_id.in_(paused_customers)),
            new=new,
            reminded=sent > 0,
        )

    def open_cases(self) -> ColumnElement[bool]:
        return and_(self.case_active(), SveaCase.acknowledged_at < self.next_day)


def _summary(state: _PostState, limit: int) -> tuple[list[Bucket], list[Stage], list[Debtor]]:
    """One pass over the posts, summed per customer and stage (and bucket, when the state sums the
    buckets in the same pass); from those sums one statement gives the stages (summed over the
    customers), the top debtors (the largest customers) and the buckets.

    Only the overdue debit posts are summed per customer and stage: the others count in the buckets
    alone, and their stage is never worked out.
    """
    overdue = state.overdue_debit()
    by_bucket = state.bucket_totals()
    if by_bucket is None:
        # Labels that name no column of the posts: PostgreSQL reads a GROUP BY name as the input column.
        per_group = state.posts(
            state.bucket().label("bucket"),
            case((overdue, CustomerPost.customer_id)).label("debtor_id"),
            case((overdue, state.stage())).label("stage"),
            func.count().label("posts"),
            func.sum(state.open_amount).label("amount"),
            func.min(CustomerPost.due_date).label("oldest_due"),
        ).group_by("bucket", "debtor_id", "stage")
    else:
        per_group = (
            state.posts(
                CustomerPost.customer_id.label("debtor_id"),
                state.stage().label("stage"),
                func.count().label("posts"),
                func.sum(state.open_amount).label("amount"),
                func.min(CustomerPost.due_date).label("oldest_due"),
            )
            .where(overdue)
            .group_by(CustomerPost.customer_id, "stage")
        )
    c = per_group.cte("per_group").c

    def summed(part: int, key: Any) -> Select[Any]:
        return select(
            literal(part), key, func.sum(c.posts), func.sum(c.amount), func.min(c.oldest_due), literal(0)
        ).group_by(key)

    parts = [summed(PART_STAGE, c.stage).where(c.stage.is_not(None))]
    amount = func.sum(c.amount).label("total")
    top = (
        select(
            literal(PART_DEBTOR).label("part"),
            c.debtor_id,
            func.sum(c.posts),
            amount,
            func.min(c.oldest_due),
            # The furthest stage any of the customer's overdue posts has reached.
            func.max(c.stage),
        )
        .where(c.debtor_id.is_not(None))
        .group_by(c.debtor_id)
        .order_by(amount.desc(), c.debtor_id)
        .limit(limit)
        .subquery("top")
    )
    parts.append(select(*top.c))
    if by_bucket is None:
        parts.append(summed(PART_BUCKET, c.bucket))
    bucket_counts = [0] * len(BUCKETS)
    bucket_amounts = [Decimal("0")] * len(BUCKETS)
    if by_bucket is not None:
        for index, count, total in db.session.execute(by_bucket):
            bucket_counts[index] = count
            bucket_amounts[index] = _money(total)
    counts = [0] * len(STAGES)
    amounts = [Decimal("0")] * len(STAGES)
    ranked: list[tuple[int, int, Decimal, date, int]] = []
    for part, key, posts, total, oldest_due, stage in db.session.execute(union_all(*parts)):
        if part == PART_STAGE:
            counts[key] = int(posts)
            amounts[key] = _money(total)
        elif part == PART_BUCKET:
            bucket_counts[key] = int(posts)
            bucket_amounts[key] = _money(total)
        else:
            ranked.append((key, int(posts), _money(total), _as_date(oldest_due), stage))
    ranked.sort(key=lambda row: (-row[2], row[0]))
    ids = [row[0] for row in ranked]
    named = select(Customer.id, Customer.name, Customer.customer_no).where(Customer.id.in_(ids))
    names = {row.id: (row.name, row.customer_no) for row in db.session.execute(named)} if ids else {}
    numbers = _case_numbers(state, ids)
    debtors = [
        Debtor(
            customer_id=customer_id,
            name=names[customer_id][0],
            customer_no=names[customer_id][1],
            amount=total,
            posts=posts,
            oldest_due=oldest_due,
            stage=STAGES[stage],
            case_numbers=tuple(numbers.get(customer_id, ())),
        )
        for customer_id, posts, total, oldest_due, stage in ranked
    ]
    buckets = [
        Bucket(d.key, d.label, d.days_from, d.days_to, bucket_counts[i], bucket_amounts[i])
        for i, d in enumerate(BUCKETS)
    ]
    return buckets, [Stage(d.key, d.label, counts[i], amounts[i]) for i, d in enumerate(STAGES)], debtors


def _as_date(value: Any) -> date:
    # SQLite hands MIN() of a DATE column back as text.
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _case_numbers(state: _PostState, customer_ids: Sequence[int]) -> dict[int, list[str]]:
    if not customer_ids:
        return {}
    numbers: dict[int, list[str]] = {}
    stmt = (
        select(SveaCase.customer_id, SveaCase.case_number)
        .where(state.open_cases(), SveaCase.customer_id.in_(customer_ids), SveaCase.case_number.is_not(None))
        .order_by(SveaCase.customer_id, SveaCase.case_number)
    )
    for customer_id, case_number in db.session.execute(stmt):
        numbers.setdefault(customer_id, []).append(str(case_number))
    return numbers


def month_starts(as_of: date, count: int = 12) -> list[date]:
    """The first days of the ``count`` months ending with the month of ``as_of``, oldest first."""
    months = []
    year, month = as_of.year, as_of.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def _month_index(column: Any, starts: Sequence[date | datetime]) -> ColumnElement[int]:
    """Which of the months a value falls in (0 = oldest); callers bound the value to the range."""
    return case(*[(column >= start, index) for index, start in reversed(list(enumerate(starts)))], else_=0)


def monthly_results(client_id: int, as_of: date, count: int = 12) -> list[Month]:
    """Results per month for the ``count`` months ending with the month of ``as_of``, up to that day."""
    starts = month_starts(as_of, count)
    first = starts[0]
    next_day = start_of_day_utc(as_of + timedelta(days=1))
    starts_utc = [start_of_day_utc(s) for s in starts]

    not_reversed = or_(PaymentAllocation.reversed_at.is_(None), PaymentAllocation.reversed_at >= next_day)
    # The payments module records every payment booked on a post in a Svea case as a direct payment
    # to report; a cancelled report means the case never reached Svea.
    reported = and_(
        DirectPaymentReport.allocation_id == PaymentAllocation.id, DirectPaymentReport.state != REPORT_CANCELLED
    )
    in_case = (
        select(_month_index(Payment.paid_on, starts).label("month"), PaymentAllocation.amount.label("amount"))
        .select_from(DirectPaymentReport)
        .join(PaymentAllocation, reported)
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(
            DirectPaymentReport.client_id == client_id,
            Payment.paid_on >= first,
            Payment.paid_on <= as_of,
            not_reversed,
        )
        .subquery("in_case")
    )
    # Starting from the first reminders keeps the query to the reminded posts' payments: most
    # invoices are paid without one.
    after_reminder = (
        select(_month_index(Payment.paid_on, starts).label("month"), PaymentAllocation.amount.label("amount"))
        .select_from(ReminderStep)
        .join(PaymentAllocation, PaymentAllocation.post_id == ReminderStep.post_id)
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(
            ReminderStep.client_id == client_id,
            ReminderStep.step_no == 1,
            Payment.paid_on >= ReminderStep.sent_on,
            Payment.paid_on >= first,
            Payment.paid_on <= as_of,
            Payment.source != SOURCE_SVEA,
            not_reversed,
            ~select(DirectPaymentReport.id).where(reported).exists(),
        )
        .subquery("after_reminder")
    )
    direct = []
    for paid in (after_reminder, in_case):
        sums = [Decimal("0")] * count
        for month, amount in db.session.execute(select(paid.c.month, func.sum(paid.c.amount)).group_by(paid.c.month)):
            sums[month] += _money(amount)
        direct.append(sums)

    settled = (
        select(_month_index(Settlement.settled_on, starts).label("month"), Settlement.principal_total.label("amount"))
        .where(Settlement.client_id == client_id, Settlement.settled_on >= first, Settlement.settled_on <= as_of)
        .subquery("settled")
    )
    collected = [Decimal("0")] * count
    for month, amount in db.session.execute(
        select(settled.c.month, func.sum(settled.c.amount)).group_by(settled.c.month)
    ).all():
        collected[month] += _money(amount)

    opened = _count_cases_by_month(client_id, SveaCase.acknowledged_at, starts_utc, next_day)
    closed = _count_cases_by_month(client_id, SveaCase.closed_at, starts_utc, next_day)
    return [Month(starts[i], direct[0][i], direct[1][i], collected[i], opened[i], closed[i]) for i in range(count)]


def _count_cases_by_month(client_id: int, column: Any, starts: Sequence[datetime], end: datetime) -> list[int]:
    inner = (
        select(_month_index(column, starts).label("month"))
        .where(SveaCase.client_id == client_id, column >= starts[0], column < end)
        .subquery("case_months")
    )
    counts = [0] * len(starts)
    for month, number in db.session.execute(select(inner.c.month, func.count()).group_by(inner.c.month)).all():
        counts[month] += number
    return counts


def build_overview(client_id: int, as_of: date, today: date, top: int = 10) -> Overview:
    policy = eligibility.policy_for(client_id)
    state: _PostState = (_Today if as_of >= today else _Past)(client_id, as_of, policy)
    buckets, stages, debtors = _summary(state, top)
    return Overview(as_of=as_of, buckets=buckets, stages=stages, debtors=debtors)


__all__ = ["BUCKETS", "STAGES", "Overview", "build_overview", "month_starts", "start_of_day_utc"]
