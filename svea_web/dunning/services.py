"""The reminder run (purring) at Svea level Inkasso: preview, confirm, letters, pauses.

The preview decides every open overdue invoice with the pure rules (svea_web.rules.dunning) from
three set queries (the posts, their earlier steps, their open fees), never one query per post, so
a run over a large ledger previews in seconds. Confirming recomputes the same decisions and applies
them only if they are still what the user saw (a digest of the preview travels with the form).

Choices made here, where the rules leave room:
- With fees on, a step whose fee would come too early (under 14 days after the due date) waits for
  the day the fee is allowed instead of going out without one.
- A run is confirmed only on its own date (the ledger's today): a letter's sent date and its
  deadline are counted from the run date, and the letters go out when it is confirmed.
- Interest is counted on the open amount, from the due date up to and including the run date.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal, cast

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from svea_web import audit
from svea_web.accounts.models import Client
from svea_web.dunning import letters
from svea_web.dunning.models import (
    PROBLEM_CHANGED,
    PROBLEM_NO_ACCOUNT,
    PROBLEM_NOTHING,
    RUN_CONFIRMED,
    RUN_CONFIRMING,
    RUN_PREVIEW,
    CustomerPause,
    LetterSettings,
    ReminderLetter,
    ReminderRun,
    ReminderStep,
)
from svea_web.extensions import db
from svea_web.gc_pause import cycle_collection_paused
from svea_web.ledger.models import POST_FEE, POST_INVOICE, STATUS_OPEN, Customer, CustomerPost
from svea_web.models_base import utcnow
from svea_web.rules import dunning as rules
from svea_web.rules import fees, figures
from svea_web.rules.figures import DatedValue
from svea_web.rules.interest import late_interest_exact
from svea_web.setup import services as setup_services
from svea_web.setup.models import LEVEL_INKASSO

ZERO = Decimal("0.00")
# How far ahead a preview may look; a run is only confirmed on its own date.
MAX_PREVIEW_DAYS_AHEAD = 90

SkipReason = Literal[
    "too_early",
    "fee_too_early",
    "waiting_deadline",
    "steps_done",
    "notice_too_old",
    "paused",
    "customer_paused",
    "below_min_amount",
    "in_svea_case",
    "no_in_app_steps",
    "not_due",
    "nothing_open",
]


# ---------------------------------------------------------------------------------------------
# Settings and figures


@dataclass(frozen=True)
class RunSettings:
    handover_level: str
    policy: rules.DunningPolicy
    interest_enabled: bool
    reminder_fees: tuple[DatedValue, ...]
    interest_rates: tuple[DatedValue, ...]

    @property
    def level_inkasso(self) -> bool:
        return self.handover_level == LEVEL_INKASSO

    @property
    def runs_in_app(self) -> bool:
        return self.level_inkasso and self.policy.in_app_steps > 0


def run_settings(client_id: int) -> RunSettings:
    """Oppsett Svea and Oppsett purre/rente, and the admin-edited dated fee and rate tables."""
    dunning = setup_services.dunning_settings(client_id)
    policy = rules.DunningPolicy(
        in_app_reminders=dunning.in_app_steps,
        notice_enabled=dunning.notice_enabled,
        days_between=dunning.days_between,
        fee_enabled=dunning.fee_enabled,
        min_amount=dunning.min_amount,
    )
    return RunSettings(
        handover_level=setup_services.svea_settings(client_id).handover_level,
        policy=policy,
        interest_enabled=dunning.interest_enabled,
        reminder_fees=setup_services.figure_table("reminder_fee"),
        interest_rates=setup_services.figure_table("late_interest_rate"),
    )


def letter_settings(client_id: int) -> LetterSettings:
    found = db.session.get(LetterSettings, client_id)
    return found if found is not None else LetterSettings(client_id=client_id)


def save_letter_settings(client_id: int, account_no: str, reply_to: str | None) -> LetterSettings:
    found = db.session.get(LetterSettings, client_id)
    if found is None:
        found = LetterSettings(client_id=client_id)
        db.session.add(found)
    found.account_no = account_no
    found.reply_to = reply_to or None
    audit.record(client_id, "dunning.letter_settings", "client", client_id, f"kontonr {account_no}")
    db.session.commit()
    return found


# ---------------------------------------------------------------------------------------------
# Pauses (purrestopp)


def _resume_day(end_date: date | None) -> date | None:
    """The user gives the last paused day; the rules keep the day dunning resumes."""
    return None if end_date is None else end_date + timedelta(days=1)


def pause_end(paused_until: date | None) -> date | None:
    return None if paused_until is None else paused_until - timedelta(days=1)


def _pause_in_force(paused: bool, paused_until: date | None, day: date) -> tuple[bool, date | None]:
    """(paused until lifted, resume day) as the rules read them; an expired dated pause counts for
    nothing, and ``paused`` with a date (written elsewhere) is read as a dated pause."""
    if paused_until is not None:
        return (False, paused_until) if day < paused_until else (False, None)
    return paused, None


def pause_post(client_id: int, post: CustomerPost, reason: str, end_date: date | None) -> None:
    post.paused = end_date is None
    post.paused_until = _resume_day(end_date)
    post.pause_reason = reason
    detail = f"{post.invoice_no}: {reason}" + (f" (til og med {end_date.isoformat()})" if end_date else "")
    audit.record(client_id, "dunning.pause_post", "customer_post", post.id, detail)
    db.session.commit()


def lift_post_pause(client_id: int, post: CustomerPost) -> None:
    post.paused = False
    post.paused_until = None
    post.pause_reason = None
    audit.record(client_id, "dunning.resume_post", "customer_post", post.id, post.invoice_no)
    db.session.commit()


def pause_customer(
    client_id: int, customer: Customer, reason: str, end_date: date | None, user_id: int | None
) -> CustomerPause:
    pause = db.session.scalar(select(CustomerPause).where(CustomerPause.customer_id == customer.id))
    if pause is None:
        pause = CustomerPause(client_id=client_id, customer_id=customer.id)
        db.session.add(pause)
    pause.reason = reason
    pause.paused_until = _resume_day(end_date)
    pause.created_by_id = user_id
    pause.created_at = utcnow()
    detail = f"{customer.customer_no}: {reason}" + (f" (til og med {end_date.isoformat()})" if end_date else "")
    audit.record(client_id, "dunning.pause_customer", "customer", customer.id, detail)
    db.session.commit()
    return pause


def lift_customer_pause(client_id: int, customer_id: int) -> bool:
    result = db.session.execute(
        delete(CustomerPause).where(CustomerPause.client_id == client_id, CustomerPause.customer_id == customer_id)
    )
    if not getattr(result, "rowcount", 0):
        db.session.rollback()
        return False
    audit.record(client_id, "dunning.resume_customer", "customer", customer_id)
    db.session.commit()
    return True


@dataclass(frozen=True)
class PauseRow:
    kind: Literal["customer", "post"]
    object_id: int
    customer_id: int
    customer_name: str
    customer_no: str
    invoice_no: str | None
    reason: str
    end_date: date | None


def active_pauses(client_id: int, day: date) -> list[PauseRow]:
    """Pauses in force on ``day`` (expired ones are left out even before the daily job clears them)."""
    rows: list[PauseRow] = []
    customer_pauses = db.session.execute(
        select(CustomerPause, Customer.name, Customer.customer_no)
        .join(Customer, Customer.id == CustomerPause.customer_id)
        .where(
            CustomerPause.client_id == client_id,
            CustomerPause.in_force_on(day),
        )
        .order_by(Customer.name)
    ).all()
    for pause, name, customer_no in customer_pauses:
        rows.append(
            PauseRow(
                "customer",
                pause.customer_id,
                pause.customer_id,
                name,
                customer_no,
                None,
                pause.reason,
                pause_end(pause.paused_until),
            )
        )
    posts = db.session.execute(
        select(CustomerPost, Customer.name, Customer.customer_no)
        .join(Customer, Customer.id == CustomerPost.customer_id)
        .where(
            CustomerPost.client_id == client_id,
            CustomerPost.status == STATUS_OPEN,
            ((CustomerPost.paused.is_(True)) & CustomerPost.paused_until.is_(None)) | (CustomerPost.paused_until > day),
        )
        .order_by(Customer.name, CustomerPost.due_date)
    ).all()
    for post, name, customer_no in posts:
        rows.append(
            PauseRow(
                "post",
                post.id,
                post.customer_id,
                name,
                customer_no,
                post.invoice_no,
                post.pause_reason or "",
                pause_end(post.paused_until),
            )
        )
    return rows


def resume_expired_pauses(day: date) -> int:
    """Clear pauses whose last day is before ``day``, for every firm. Safe to run twice."""
    expired_posts = db.session.execute(
        select(CustomerPost.client_id, func.count())
        .where(CustomerPost.paused_until.is_not(None), CustomerPost.paused_until <= day)
        .group_by(CustomerPost.client_id)
    ).all()
    expired_customers = db.session.execute(
        select(CustomerPause.client_id, func.count())
        .where(CustomerPause.paused_until.is_not(None), CustomerPause.paused_until <= day)
        .group_by(CustomerPause.client_id)
    ).all()
    db.session.execute(
        update(CustomerPost)
        .where(CustomerPost.paused_until.is_not(None), CustomerPost.paused_until <= day)
        .values(paused=False, paused_until=None, pause_reason=None)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        delete(CustomerPause)
        .where(CustomerPause.paused_until.is_not(None), CustomerPause.paused_until <= day)
        .execution_options(synchronize_session=False)
    )
    counts: Counter[int] = Counter()
    for client_id, count in [*expired_posts, *expired_customers]:
        counts[client_id] += count
    for client_id, count in sorted(counts.items()):
        audit.record(client_id, "dunning.pauses_expired", detail=f"{count} purrestopp utløpt")
    db.session.commit()
    return sum(counts.values())


# ---------------------------------------------------------------------------------------------
# Preview


# Plain slotted classes: a preview makes tens of thousands of them, and frozen ones are slow to build.
@dataclass(slots=True)
class StepLine:
    post_id: int
    customer_id: int
    customer_name: str
    customer_no: str
    email: str | None
    invoice_no: str
    match_no: str
    kid: str | None
    invoice_date: date
    due_date: date
    principal: Decimal
    kind: rules.StepKind
    step_no: int
    deadline: date
    fee: Decimal
    fee_reason: rules.Reason
    earlier_fees: Decimal
    interest: Decimal
    interest_rate: Decimal | None
    amount_due: Decimal


@dataclass(slots=True)
class SkipLine:
    post_id: int
    customer_id: int
    customer_name: str
    customer_no: str
    invoice_no: str
    due_date: date
    principal: Decimal
    steps_sent: int
    reason: SkipReason
    not_before: date | None
    note: str | None


@dataclass
class Preview:
    run_date: date
    settings: RunSettings
    steps: list[StepLine] = field(default_factory=list)
    skipped: list[SkipLine] = field(default_factory=list)

    @property
    def digest(self) -> str:
        """What the user confirms: every step with its figures. Any change gives another digest."""
        text = "\n".join(
            f"{s.post_id}:{s.step_no}:{s.kind}:{s.deadline}:{s.principal}:{s.fee}:{s.interest}:{s.amount_due}"
            for s in sorted(self.steps, key=lambda s: s.post_id)
        )
        return hashlib.sha256(f"{self.run_date}\n{text}".encode()).hexdigest()

    @property
    def letter_keys(self) -> set[tuple[int, str]]:
        return {(s.customer_id, s.kind) for s in self.steps}

    @property
    def summary(self) -> dict[str, Any]:
        letters_by_key = {(s.customer_id, s.kind): bool(s.email) for s in self.steps}
        return {
            "steps": len(self.steps),
            "reminders": sum(1 for s in self.steps if s.kind == "reminder"),
            "notices": sum(1 for s in self.steps if s.kind == "notice"),
            "letters": len(letters_by_key),
            "emails": sum(1 for has_email in letters_by_key.values() if has_email),
            "fee_total": sum((s.fee for s in self.steps), ZERO),
            "interest_total": sum((s.interest for s in self.steps), ZERO),
            "amount_total": sum((s.amount_due for s in self.steps), ZERO),
            "skipped": len(self.skipped),
            "skipped_by_reason": Counter(s.reason for s in self.skipped),
        }


def _overdue_filter(client_id: int, run_date: date) -> tuple[Any, ...]:
    return (
        CustomerPost.client_id == client_id,
        CustomerPost.kind == POST_INVOICE,
        CustomerPost.status == STATUS_OPEN,
        CustomerPost.open_amount > 0,
        CustomerPost.due_date < run_date,
    )


def _sent_step(kind: str, sent_on: date, deadline: date, fee: Decimal | None) -> rules.SentStep:
    return rules.SentStep(cast(rules.StepKind, kind), sent_on, deadline, bool(fee and fee > 0))


def _sent_steps(client_id: int, run_date: date) -> dict[int, tuple[rules.SentStep, ...]]:
    rows = (
        db.session.connection()
        .execute(
            select(
                ReminderStep.post_id, ReminderStep.kind, ReminderStep.sent_on, ReminderStep.deadline, ReminderStep.fee
            )
            .join(CustomerPost, CustomerPost.id == ReminderStep.post_id)
            .where(ReminderStep.client_id == client_id, *_overdue_filter(client_id, run_date))
            .order_by(ReminderStep.post_id, ReminderStep.step_no)
        )
        .all()
    )
    sent: dict[int, list[rules.SentStep]] = defaultdict(list)
    for post_id, kind, sent_on, deadline, fee in rows:
        sent[post_id].append(_sent_step(kind, sent_on, deadline, fee))
    return {post_id: tuple(steps) for post_id, steps in sent.items()}


def _open_fees_by_match(client_id: int) -> dict[str, Decimal]:
    rows = (
        db.session.connection()
        .execute(
            select(CustomerPost.match_no, func.sum(CustomerPost.open_amount))
            .where(
                CustomerPost.client_id == client_id, CustomerPost.kind == POST_FEE, CustomerPost.status == STATUS_OPEN
            )
            .group_by(CustomerPost.match_no)
        )
        .all()
    )
    return {match_no: Decimal(total).quantize(ZERO) for match_no, total in rows if total}


def _customer_pauses(client_id: int) -> dict[int, tuple[date | None, str]]:
    rows = db.session.execute(
        select(CustomerPause.customer_id, CustomerPause.paused_until, CustomerPause.reason).where(
            CustomerPause.client_id == client_id
        )
    ).all()
    return {customer_id: (until, reason) for customer_id, until, reason in rows}


class InterestCalculator:
    """rules.interest.late_interest for many posts on one day, in whole øre with integers only.

    The exact interest is linear in the principal: principal x factor(due date), where the factor
    (an exact fraction, from late_interest_exact of 1 krone) is computed once per due date. Rounding
    is the rule's: half up to øre. A property test holds this equal to late_interest.
    """

    def __init__(self, until: date, rates: Sequence[DatedValue]) -> None:
        self.until = until
        self.rates = rates
        self._factors: dict[date, tuple[int, int]] = {}

    def interest(self, principal: Decimal, due_date: date) -> Decimal:
        if principal <= 0:
            return ZERO
        factor = self._factors.get(due_date)
        if factor is None:
            exact = late_interest_exact(Decimal(1), due_date, self.until, self.rates)
            factor = self._factors[due_date] = (exact.numerator, exact.denominator)
        # principal = a / b exactly; øre = floor(100 * a * n / (b * d) + 1/2), in integers.
        a, b = principal.as_integer_ratio()
        n, d = factor
        return Decimal((200 * a * n + b * d) // (2 * b * d)).scaleb(-2)


def _combine_pauses(
    post_paused: bool, post_until: date | None, customer_pause: tuple[date | None, str] | None, day: date
) -> tuple[bool, date | None, bool]:
    """(paused until lifted, resume day, held by the customer's pause rather than the post's own)."""
    paused, until = _pause_in_force(post_paused, post_until, day)
    if customer_pause is None:
        return paused, until, False
    c_paused, c_until = _pause_in_force(customer_pause[0] is None, customer_pause[0], day)
    if not c_paused and c_until is None:
        return paused, until, False
    by_customer = not paused and (c_paused or until is None or (c_until is not None and c_until > until))
    dates = [d for d in (until, c_until) if d is not None]
    return paused or c_paused, max(dates) if dates else None, by_customer


def build_preview(client_id: int, run_date: date, settings: RunSettings | None = None) -> Preview:
    """Every open overdue invoice of the firm on ``run_date``: the step it gets, or why none."""
    with cycle_collection_paused():
        return _build_preview(client_id, run_date, settings)


# What the preview reads of each open overdue post (bench/bench_reminder_preview.py's baseline reads the same).
PREVIEW_COLUMNS = (
    CustomerPost.id,
    CustomerPost.customer_id,
    CustomerPost.invoice_no,
    CustomerPost.match_no,
    CustomerPost.kid,
    CustomerPost.invoice_date,
    CustomerPost.due_date,
    CustomerPost.open_amount,
    CustomerPost.paused,
    CustomerPost.paused_until,
    CustomerPost.pause_reason,
    CustomerPost.svea_case_id,
    Customer.name,
    Customer.customer_no,
    Customer.email,
)


def _build_preview(client_id: int, run_date: date, settings: RunSettings | None) -> Preview:
    settings = settings or run_settings(client_id)
    preview = Preview(run_date=run_date, settings=settings)
    policy = settings.policy
    rows = (
        db.session.connection()
        .execute(
            select(*PREVIEW_COLUMNS)
            .join(Customer, Customer.id == CustomerPost.customer_id)
            .where(*_overdue_filter(client_id, run_date))
            .order_by(Customer.name, Customer.id, CustomerPost.due_date, CustomerPost.id)
        )
        .all()
    )
    sent = _sent_steps(client_id, run_date)
    open_fees = _open_fees_by_match(client_id)
    customer_pauses = _customer_pauses(client_id)
    interest = InterestCalculator(run_date, settings.interest_rates)
    rate = figures.value_on(settings.interest_rates, run_date) if settings.interest_enabled else None
    interest_enabled = settings.interest_enabled
    fee_amounts = {
        "reminder": fees.reminder_fee_on(run_date, settings.reminder_fees),
        "notice": fees.notice_fee_on(run_date, settings.reminder_fees),
    }
    decider = rules.StepDecider(policy, run_date)
    no_steps: tuple[rules.SentStep, ...] = ()
    skipped, steps = preview.skipped, preview.steps
    for (
        post_id,
        customer_id,
        invoice_no,
        match_no,
        kid,
        invoice_date,
        due_date,
        open_amount,
        post_paused,
        post_until,
        pause_reason,
        svea_case_id,
        customer_name,
        customer_no,
        email,
    ) in rows:
        steps_sent = sent.get(post_id, no_steps)
        principal = open_amount.quantize(ZERO)
        if svea_case_id is not None:
            skipped.append(
                SkipLine(
                    post_id=post_id, customer_id=customer_id, customer_name=customer_name, customer_no=customer_no,
                    invoice_no=invoice_no, due_date=due_date, principal=principal, steps_sent=len(steps_sent),
                    reason="in_svea_case", not_before=None, note=None,
                )
            )  # fmt: skip
            continue
        customer_pause = customer_pauses.get(customer_id)
        if customer_pause is None and not post_paused and post_until is None:
            paused, until, by_customer = False, None, False
        else:
            paused, until, by_customer = _combine_pauses(bool(post_paused), post_until, customer_pause, run_date)
        decision = decider.decide(due_date, principal, steps_sent, until, paused)
        action = decision.action
        if action == "none" or decision.reason == "fee_too_early":
            reason: SkipReason
            note = None
            not_before = decision.not_before
            if action != "none":
                reason, not_before = "fee_too_early", decision.fee_from
            else:
                reason = decision.reason  # type: ignore[assignment]
                if reason == "paused":
                    if by_customer and customer_pause is not None:
                        reason, note = "customer_paused", customer_pause[1]
                    else:
                        note = pause_reason
                elif reason == "steps_done" and rules.notice_too_old(
                    rules.PostDunningState(due_date, principal, steps_sent, until, paused), run_date
                ):
                    reason = "notice_too_old"
            skipped.append(
                SkipLine(
                    post_id=post_id, customer_id=customer_id, customer_name=customer_name, customer_no=customer_no,
                    invoice_no=invoice_no, due_date=due_date, principal=principal, steps_sent=len(steps_sent),
                    reason=reason, not_before=not_before, note=note,
                )
            )  # fmt: skip
            continue
        assert decision.step_no is not None and decision.deadline is not None
        fee = fee_amounts[action] if decision.fee_allowed else ZERO
        earlier_fees = open_fees.get(match_no, ZERO)
        post_interest = interest.interest(principal, due_date) if interest_enabled else ZERO
        steps.append(
            StepLine(
                post_id=post_id, customer_id=customer_id, customer_name=customer_name, customer_no=customer_no,
                email=email or None, invoice_no=invoice_no, match_no=match_no, kid=kid, invoice_date=invoice_date,
                due_date=due_date, principal=principal, kind=action, step_no=decision.step_no,
                deadline=decision.deadline, fee=fee, fee_reason=decision.reason, earlier_fees=earlier_fees,
                interest=post_interest, interest_rate=rate, amount_due=principal + earlier_fees + fee + post_interest,
            )
        )  # fmt: skip
    return preview


# ---------------------------------------------------------------------------------------------
# Runs


class RunDateError(ValueError):
    """The date cannot be used for a run; ``str()`` is the Norwegian message."""


def check_run_date(run_date: date, today: date) -> None:
    if run_date < today:
        raise RunDateError("En purrekjøring kan ikke gjelde en dato som er passert.")
    if run_date > today + timedelta(days=MAX_PREVIEW_DAYS_AHEAD):
        raise RunDateError(f"Velg en dato høyst {MAX_PREVIEW_DAYS_AHEAD} dager fram i tid.")


def start_run(client_id: int, run_date: date, today: date, user_id: int | None) -> ReminderRun:
    """The unconfirmed run for ``run_date``, reused if one is waiting, else a new one."""
    check_run_date(run_date, today)
    run = db.session.scalar(
        select(ReminderRun).where(
            ReminderRun.client_id == client_id, ReminderRun.state == RUN_PREVIEW, ReminderRun.run_date == run_date
        )
    )
    if run is None:
        run = ReminderRun(client_id=client_id, run_date=run_date, state=RUN_PREVIEW, created_by_id=user_id)
        db.session.add(run)
        db.session.flush()
        audit.record(client_id, "dunning.run_start", "reminder_run", run.id, run_date.isoformat(), user_id=user_id)
        db.session.commit()
    return run


def discard_run(run: ReminderRun, user_id: int | None) -> bool:
    client_id, run_id, run_date = run.client_id, run.id, run.run_date
    result = db.session.execute(delete(ReminderRun).where(ReminderRun.id == run_id, ReminderRun.state == RUN_PREVIEW))
    if not getattr(result, "rowcount", 0):
        db.session.rollback()
        return False
    audit.record(client_id, "dunning.run_discard", "reminder_run", run_id, run_date.isoformat(), user_id=user_id)
    db.session.commit()
    return True


ConfirmOutcome = Literal[
    "queued", "confirmed", "already_confirmed", "changed", "wrong_date", "nothing", "no_account"
]  # fmt: skip


@dataclass(frozen=True)
class ConfirmResult:
    outcome: ConfirmOutcome
    run: ReminderRun


def _creditor(client: Client, settings: LetterSettings) -> dict[str, Any]:
    return {
        "name": client.name,
        "org_no": client.org_no,
        "address": client.address,
        "postcode": client.postcode,
        "city": client.city,
        "email": settings.reply_to or client.email,
        "phone": client.phone,
        "account_no": settings.account_no,
    }


def _recipients(customer_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    wanted = sorted(set(customer_ids))
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(wanted), 500):
        for customer in db.session.scalars(select(Customer).where(Customer.id.in_(wanted[start : start + 500]))):
            found[customer.id] = {
                "name": customer.name,
                "customer_no": customer.customer_no,
                "address": customer.address,
                "postcode": customer.postcode,
                "city": customer.city,
                "email": customer.email,
            }
    return found


def _fee_invoice_no(post_invoice_no: str, post_id: int, step_no: int) -> str:
    invoice_no = f"GEB-{post_invoice_no}-{step_no}"
    return invoice_no if len(invoice_no) <= 40 else f"GEB-{post_id}-{step_no}"


def queue_confirm(run: ReminderRun, digest: str, today: date, user_id: int | None) -> ConfirmResult:
    """The user's confirm: move the run from preview to confirming, for the job to apply ("queued").

    A conditional UPDATE, so a second confirm (a double click, a second tab, a retried request)
    finds nothing to move, changes nothing and queues nothing ("already_confirmed").
    """
    if run.state != RUN_PREVIEW:
        return ConfirmResult("already_confirmed", run)
    if run.run_date != today:
        return ConfirmResult("wrong_date", run)
    if not letter_settings(run.client_id).account_no:
        return ConfirmResult("no_account", run)
    claimed = db.session.execute(
        update(ReminderRun)
        .where(ReminderRun.id == run.id, ReminderRun.state == RUN_PREVIEW)
        .values(
            state=RUN_CONFIRMING,
            confirmed_by_id=user_id,
            confirmed_at=utcnow(),
            confirm_digest=digest,
            confirm_problem=None,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        db.session.rollback()
        db.session.refresh(run)
        return ConfirmResult("already_confirmed", run)
    db.session.commit()
    db.session.refresh(run)
    return ConfirmResult("queued", run)


def apply_confirmed_run(run_id: int) -> ConfirmOutcome:
    """The job: apply a confirming run once - steps, fee posts, letters, the posts' dunning columns -
    in one transaction, if the preview is still the one the user confirmed. Safe to run twice.

    The run moves from confirming to confirmed by a conditional UPDATE inside that transaction, so a
    second job finds nothing to move. The unique (post, step_no) of ReminderStep stops two different
    runs stepping the same post twice. A run that cannot be applied goes back to preview with the
    reason in ``confirm_problem``, and nothing of it is kept.
    """
    with cycle_collection_paused():
        return _apply_confirmed_run(run_id)


def _apply_confirmed_run(run_id: int) -> ConfirmOutcome:
    run = db.session.get(ReminderRun, run_id)
    if run is None or run.state != RUN_CONFIRMING:
        return "already_confirmed"
    sender = letter_settings(run.client_id)
    if not sender.account_no:
        return _hand_back(run, PROBLEM_NO_ACCOUNT)
    claimed = db.session.execute(
        update(ReminderRun)
        .where(ReminderRun.id == run.id, ReminderRun.state == RUN_CONFIRMING)
        .values(state=RUN_CONFIRMED, confirmed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        db.session.rollback()
        return "already_confirmed"
    preview = build_preview(run.client_id, run.run_date)
    if preview.digest != run.confirm_digest:
        return _hand_back(run, PROBLEM_CHANGED)
    if not preview.steps:
        return _hand_back(run, PROBLEM_NOTHING)
    try:
        _apply(run, preview, sender)
        db.session.commit()
    except IntegrityError:
        # Another run stepped one of these posts meanwhile: nothing of this one is kept.
        return _hand_back(run, PROBLEM_CHANGED)
    db.session.refresh(run)
    return "confirmed"


def _hand_back(run: ReminderRun, problem: Literal["changed", "nothing", "no_account"]) -> ConfirmOutcome:
    """Undo this job's changes and put the confirming run back to preview, saying why."""
    db.session.rollback()
    hand_back_run(run.id, problem)
    db.session.commit()
    db.session.refresh(run)
    return problem


def hand_back_run(run_id: int, problem: str) -> None:
    """A confirming run back to preview with ``problem`` (the caller commits). A run the job has
    confirmed meanwhile stays confirmed."""
    db.session.execute(
        update(ReminderRun)
        .where(ReminderRun.id == run_id, ReminderRun.state == RUN_CONFIRMING)
        .values(
            state=RUN_PREVIEW, confirm_problem=problem, confirm_digest=None, confirmed_by_id=None, confirmed_at=None
        )
        .execution_options(synchronize_session=False)
    )


def confirm_run(run: ReminderRun, digest: str, today: date, user_id: int | None) -> ConfirmResult:
    """Confirm and apply in one go, without the queue (scripts, the security walk, the benchmark)."""
    queued = queue_confirm(run, digest, today, user_id)
    if queued.outcome != "queued":
        return queued
    outcome = apply_confirmed_run(run.id)
    db.session.refresh(run)
    return ConfirmResult(outcome, run)


def _apply(run: ReminderRun, preview: Preview, sender: LetterSettings) -> None:
    client_id = run.client_id
    client = db.session.get(Client, client_id)
    assert client is not None
    creditor = _creditor(client, sender)
    recipients = _recipients(step.customer_id for step in preview.steps)
    grouped: dict[tuple[int, str], list[StepLine]] = defaultdict(list)
    for step in preview.steps:
        grouped[(step.customer_id, step.kind)].append(step)
    keys = sorted(grouped, key=lambda key: (recipients[key[0]]["name"], key[0], key[1]))
    letter_rows = []
    for customer_id, kind in keys:
        lines = [
            {
                "post_id": s.post_id,
                "invoice_no": s.invoice_no,
                "invoice_date": s.invoice_date,
                "due_date": s.due_date,
                "kid": s.kid,
                "step_no": s.step_no,
                "principal": s.principal,
                "earlier_fees": s.earlier_fees,
                "fee": s.fee,
                "interest": s.interest,
                "interest_rate": s.interest_rate,
                "amount_due": s.amount_due,
                "deadline": s.deadline,
            }
            for s in sorted(grouped[(customer_id, kind)], key=lambda s: (s.due_date, s.invoice_no))
        ]
        recipient = recipients[customer_id]
        content = letters.build_content(kind, run.run_date, creditor, recipient, lines)
        letter_rows.append(
            {
                "client_id": client_id,
                "run_id": run.id,
                "customer_id": customer_id,
                "kind": kind,
                "email": recipient["email"] or None,
                "content": content,
                "amount_due": Decimal(content["total"]),
            }
        )
    # Core executemany on the tables, no RETURNING: the ORM's bulk insert with RETURNING slows down
    # quadratically over thousands of rows. The new ids are read back in one query each.
    now = utcnow()
    letters_table = ReminderLetter.__table__
    db.session.execute(insert(letters_table), [{**row, "created_at": now} for row in letter_rows])
    letter_by_key: dict[tuple[int, str], int] = {
        (customer_id, kind): letter_id
        for letter_id, customer_id, kind in db.session.execute(
            select(ReminderLetter.id, ReminderLetter.customer_id, ReminderLetter.kind).where(
                ReminderLetter.run_id == run.id
            )
        )
    }
    charged = [s for s in preview.steps if s.fee > 0]
    fee_rows = [
        {
            "client_id": client_id,
            "customer_id": s.customer_id,
            "kind": POST_FEE,
            "invoice_no": _fee_invoice_no(s.invoice_no, s.post_id, s.step_no),
            "match_no": s.match_no,
            "kid": s.kid,
            "invoice_date": run.run_date,
            "due_date": s.deadline,
            "amount": s.fee,
            "open_amount": s.fee,
            "status": STATUS_OPEN,
            "text": ("Gebyr inkassovarsel" if s.kind == "notice" else "Purregebyr") + f" faktura {s.invoice_no}",
            "created_at": now,
            "updated_at": now,
        }
        for s in charged
    ]
    fee_post_ids: dict[int, int] = {}
    if fee_rows:
        db.session.execute(insert(CustomerPost.__table__), fee_rows)
        by_invoice_no = dict(
            db.session.execute(
                select(CustomerPost.invoice_no, CustomerPost.id).where(
                    CustomerPost.client_id == client_id,
                    CustomerPost.kind == POST_FEE,
                    CustomerPost.invoice_date == run.run_date,
                )
            ).all()
        )
        fee_post_ids = {
            s.post_id: by_invoice_no[str(row["invoice_no"])] for s, row in zip(charged, fee_rows, strict=True)
        }
    db.session.execute(
        insert(ReminderStep.__table__),
        [
            {
                "client_id": client_id,
                "run_id": run.id,
                "post_id": s.post_id,
                "letter_id": letter_by_key[(s.customer_id, s.kind)],
                "kind": s.kind,
                "step_no": s.step_no,
                "sent_on": run.run_date,
                "deadline": s.deadline,
                "principal": s.principal,
                "fee": s.fee,
                "fee_post_id": fee_post_ids.get(s.post_id),
                "interest_until_run": s.interest,
                "interest_rate": s.interest_rate,
                "amount_due": s.amount_due,
            }
            for s in preview.steps
        ],
    )
    posts = CustomerPost.__table__
    db.session.execute(
        update(posts)
        .where(posts.c.id == bindparam("post_id"))
        .values(
            reminder_step=bindparam("step_no"),
            last_reminder_at=run.run_date,
            reminder_deadline=bindparam("deadline"),
            updated_at=now,
        ),
        [{"post_id": s.post_id, "step_no": s.step_no, "deadline": s.deadline} for s in preview.steps],
    )
    summary = preview.summary
    db.session.execute(
        update(ReminderRun)
        .where(ReminderRun.id == run.id)
        .values(
            step_count=summary["steps"],
            letter_count=summary["letters"],
            fee_total=summary["fee_total"],
            amount_total=summary["amount_total"],
        )
        .execution_options(synchronize_session=False)
    )
    audit.record(
        client_id,
        "dunning.run_confirm",
        "reminder_run",
        run.id,
        f"{summary['steps']} trinn, {summary['letters']} brev, gebyr {summary['fee_total']}",
        user_id=run.confirmed_by_id,  # the job has no login: the user who confirmed
    )


# ---------------------------------------------------------------------------------------------
# Letters and their e-mail


def queue_letter_mails(run_id: int) -> list[int]:
    """Queue one e-mail with the PDF per letter that has an address and no mail yet; commit, then
    start the sends. Running it twice queues nothing twice (mail_id, and the mail's dedupe key)."""
    from svea_web.mail.services import enqueue_send, queue_mail

    run = db.session.get(ReminderRun, run_id)
    if run is None or run.state != RUN_CONFIRMED:
        return []
    sender = letter_settings(run.client_id)
    client = db.session.get(Client, run.client_id)
    assert client is not None
    reply_to = sender.reply_to or client.email
    pending = db.session.scalars(
        select(ReminderLetter)
        .where(ReminderLetter.run_id == run.id, ReminderLetter.email.is_not(None), ReminderLetter.mail_id.is_(None))
        .order_by(ReminderLetter.id)
    ).all()
    queued: list[int] = []
    batch: list[int] = []
    for letter in pending:
        assert letter.email is not None
        pdf = letters.render_pdf([letter.content], run.confirmed_at or run.created_at)
        text = letters.letter_text(letter.content)
        mail = queue_mail(
            run.client_id,
            letter.email,
            letters.email_subject(letter.content),
            letters.email_body(letter.content),
            attachments=[(text.filename, "application/pdf", pdf)],
            purpose="reminder_letter",
            object_type="reminder_letter",
            object_id=letter.id,
            dedupe_key=f"reminder-letter:{letter.id}",
            reply_to=reply_to,
        )
        letter.mail_id = mail.id
        batch.append(mail.id)
        if len(batch) >= 50:
            db.session.commit()
            for mail_id in batch:
                enqueue_send(mail_id)
            queued += batch
            batch = []
    db.session.commit()
    for mail_id in batch:
        enqueue_send(mail_id)
    return queued + batch


def letter_pdf(letter: ReminderLetter) -> bytes:
    return letters.render_pdf([letter.content], letter.run.confirmed_at or letter.run.created_at)


def run_letters_pdf(run: ReminderRun, only_without_email: bool) -> bytes | None:
    query = select(ReminderLetter).where(ReminderLetter.run_id == run.id).order_by(ReminderLetter.id)
    if only_without_email:
        query = query.where(ReminderLetter.email.is_(None))
    contents = [letter.content for letter in db.session.scalars(query)]
    if not contents:
        return None
    return letters.render_pdf(contents, run.confirmed_at or run.created_at)


# ---------------------------------------------------------------------------------------------
# For other features: a post's dunning state, and when it may go to Svea


def post_dunning_states(client_id: int, post_ids: Sequence[int], day: date) -> dict[int, rules.PostDunningState]:
    """The rules' view of each post (steps sent, pauses of the post and its customer), for
    rules.dunning.eligible_for_svea_after and friends. Two queries per 500 posts."""
    states: dict[int, rules.PostDunningState] = {}
    customer_pauses = _customer_pauses(client_id)
    wanted = sorted(set(post_ids))
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        sent: dict[int, list[rules.SentStep]] = defaultdict(list)
        for post_id, kind, sent_on, deadline, fee in db.session.execute(
            select(
                ReminderStep.post_id, ReminderStep.kind, ReminderStep.sent_on, ReminderStep.deadline, ReminderStep.fee
            )
            .where(ReminderStep.client_id == client_id, ReminderStep.post_id.in_(chunk))
            .order_by(ReminderStep.post_id, ReminderStep.step_no)
        ):
            sent[post_id].append(_sent_step(kind, sent_on, deadline, fee))
        for post_id, customer_id, due_date, open_amount, paused, paused_until in db.session.execute(
            select(
                CustomerPost.id,
                CustomerPost.customer_id,
                CustomerPost.due_date,
                CustomerPost.open_amount,
                CustomerPost.paused,
                CustomerPost.paused_until,
            ).where(CustomerPost.client_id == client_id, CustomerPost.id.in_(chunk))
        ):
            is_paused, until, _by_customer = _combine_pauses(
                bool(paused), paused_until, customer_pauses.get(customer_id), day
            )
            states[post_id] = rules.PostDunningState(
                due_date=due_date,
                open_amount=Decimal(open_amount),
                steps_sent=tuple(sent.get(post_id, ())),
                paused_until=until,
                paused=is_paused,
            )
    return states
