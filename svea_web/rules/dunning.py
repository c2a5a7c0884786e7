"""The next in-app dunning step for one post, and when the post may go to Svea (RULES.md § Timing).

Pure functions over plain values. Decisions where RULES.md leaves room:
- A deadline is the last day the debtor may pay; it "has passed" from the day after.
- Every letter's deadline is ``max(days_between, 14)`` days after the day it is sent.
- A next step is only proposed after the previous step's deadline has passed, so a second fee
  always comes after the first letter's deadline (inkassoforskriften § 1-2).
- A fee needs the letter sent at least 14 days after the due date. Fee cap (§ 1-3): with a notice
  enabled, one reminder fee (the notice fee must stay possible); without, two reminder fees.
- The notice (inkassovarsel) is the last in-app step: nothing follows it in-app.
- ``paused_until`` is the day dunning resumes; ``paused`` without a date stops it until lifted.
- The first reminder may go the day after the due date; it then carries no fee. A run that wants the
  fee should wait for ``StepDecision.fee_from``.
"""

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from svea_web.rules.fees import fees_within_cap, reminder_fee_cap

StepKind = Literal["reminder", "notice"]
Action = Literal["reminder", "notice", "none"]
Reason = Literal[
    # a step is proposed; the reason tells about its fee
    "ok",
    "fee_disabled",
    "fee_too_early",
    "fee_cap_reached",
    # no step
    "nothing_open",
    "not_due",
    "paused",
    "below_min_amount",
    "no_in_app_steps",
    "too_early",
    "waiting_deadline",
    "steps_done",
]

MIN_DEADLINE_DAYS = 14
FEE_AFTER_DUE_DAYS = 14
NOTICE_MAX_AGE_MONTHS = 6


@dataclass(frozen=True)
class SentStep:
    kind: StepKind
    sent_on: date
    deadline: date
    fee_charged: bool


@dataclass(frozen=True)
class PostDunningState:
    due_date: date
    open_amount: Decimal
    steps_sent: tuple[SentStep, ...] = ()
    paused_until: date | None = None
    paused: bool = False


@dataclass(frozen=True)
class DunningPolicy:
    in_app_reminders: int
    notice_enabled: bool
    days_between: int
    fee_enabled: bool
    min_amount: Decimal

    def __post_init__(self) -> None:
        if self.in_app_reminders < 0:
            raise ValueError(f"in_app_reminders cannot be negative: {self.in_app_reminders}")

    @property
    def deadline_days(self) -> int:
        return max(self.days_between, MIN_DEADLINE_DAYS)

    @property
    def in_app_steps(self) -> int:
        return self.in_app_reminders + (1 if self.notice_enabled else 0)


@dataclass(frozen=True)
class StepDecision:
    """What to do for the post on the run date.

    ``step_no`` counts the post's letters (reminders and notice) from 1; ``deadline`` is the
    deadline to print. For ``action == "none"``, ``not_before`` is the first day the answer changes
    when that is known from dates alone. ``fee_from`` is the first day the proposed step could
    carry a fee, when the only obstacle is the 14 days after the due date.
    """

    action: Action
    step_no: int | None
    deadline: date | None
    fee_allowed: bool
    reason: Reason
    not_before: date | None = None
    fee_from: date | None = None


def _none(reason: Reason, not_before: date | None = None) -> StepDecision:
    return StepDecision("none", None, None, False, reason, not_before=not_before)


def _next_kind(state: PostDunningState, policy: DunningPolicy) -> StepKind | None:
    kinds = [step.kind for step in state.steps_sent]
    if "notice" in kinds:
        return None
    if kinds.count("reminder") < policy.in_app_reminders:
        return "reminder"
    return "notice" if policy.notice_enabled else None


def _last_deadline(state: PostDunningState) -> date | None:
    return max((step.deadline for step in state.steps_sent), default=None)


def _fee(
    kind: StepKind, state: PostDunningState, policy: DunningPolicy, run_date: date
) -> tuple[bool, Reason, date | None]:
    if not policy.fee_enabled:
        return False, "fee_disabled", None
    reminder_fees = sum(1 for s in state.steps_sent if s.kind == "reminder" and s.fee_charged)
    notice_fees = sum(1 for s in state.steps_sent if s.kind == "notice" and s.fee_charged)
    if kind == "reminder":
        within = reminder_fees < reminder_fee_cap(policy.notice_enabled) and fees_within_cap(
            reminder_fees + 1, notice_fees
        )
    else:
        within = fees_within_cap(reminder_fees, notice_fees + 1)
    if not within:
        return False, "fee_cap_reached", None
    fee_from = state.due_date + timedelta(days=FEE_AFTER_DUE_DAYS)
    if run_date < fee_from:
        return False, "fee_too_early", fee_from
    return True, "ok", None


def _blocked(state: PostDunningState, policy: DunningPolicy, run_date: date) -> StepDecision | None:
    """Reasons that stop dunning whatever steps were sent, in the order the user should hear them."""
    if state.open_amount <= 0:
        return _none("nothing_open")
    if run_date <= state.due_date:
        return _none("not_due", state.due_date + timedelta(days=1))
    if state.paused:
        return _none("paused")
    if state.paused_until is not None and run_date < state.paused_until:
        return _none("paused", state.paused_until)
    if state.open_amount < policy.min_amount:
        return _none("below_min_amount")
    if policy.in_app_steps == 0:
        return _none("no_in_app_steps")
    return None


def next_step(state: PostDunningState, policy: DunningPolicy, run_date: date) -> StepDecision:
    """The in-app step (reminder or notice) the post is eligible for on ``run_date``, or why none."""
    blocked = _blocked(state, policy, run_date)
    if blocked is not None:
        return blocked
    kind = _next_kind(state, policy)
    last_deadline = _last_deadline(state)
    if last_deadline is not None and run_date <= last_deadline:
        return _none("waiting_deadline" if kind is None else "too_early", last_deadline + timedelta(days=1))
    if kind is None:
        return _none("steps_done")
    fee_allowed, reason, fee_from = _fee(kind, state, policy, run_date)
    return StepDecision(
        action=kind,
        step_no=len(state.steps_sent) + 1,
        deadline=run_date + timedelta(days=policy.deadline_days),
        fee_allowed=fee_allowed,
        reason=reason,
        fee_from=fee_from,
    )


class StepDecider:
    """``next_step`` for the many posts of one run (one policy, one run date), decided once per situation.

    ``next_step`` reads a post's open amount only to compare it with zero and with the policy's minimum
    amount, so posts that agree on those two comparisons and on every other field of the state get the
    same decision. A large ledger has a few thousand such situations among tens of thousands of posts.
    Keep the key in step with ``_blocked`` and ``next_step``; a property test holds this equal to
    ``next_step``.
    """

    def __init__(self, policy: DunningPolicy, run_date: date) -> None:
        self.policy = policy
        self.run_date = run_date
        self._decisions: dict[tuple[object, ...], StepDecision] = {}

    def decide(
        self,
        due_date: date,
        open_amount: Decimal,
        steps_sent: tuple[SentStep, ...] = (),
        paused_until: date | None = None,
        paused: bool = False,
    ) -> StepDecision:
        key = (due_date, open_amount > 0, open_amount >= self.policy.min_amount, steps_sent, paused_until, paused)
        decision = self._decisions.get(key)
        if decision is None:
            state = PostDunningState(due_date, open_amount, steps_sent, paused_until, paused)
            decision = self._decisions[key] = next_step(state, self.policy, self.run_date)
        return decision


def eligible_for_svea_after(state: PostDunningState, policy: DunningPolicy, offer_days: int) -> date | None:
    """The first day the post may be handed to Svea, or None while it may not.

    With in-app steps (level Inkasso): the day after the last step's deadline, once every step is
    sent. With none (also level Purring, where Svea runs the reminders): overdue by ``offer_days``,
    and at least the day after the due date. A pause, a paid post or one below the minimum amount
    is not offered.
    """
    if offer_days < 0:
        raise ValueError(f"offer_days cannot be negative: {offer_days}")
    if state.open_amount <= 0 or state.open_amount < policy.min_amount or state.paused:
        return None
    if policy.in_app_steps == 0:
        first_day = state.due_date + timedelta(days=max(offer_days, 1))
    else:
        last_deadline = _last_deadline(state)
        if _next_kind(state, policy) is not None or last_deadline is None:
            return None
        first_day = last_deadline + timedelta(days=1)
    if state.paused_until is not None:
        return max(first_day, state.paused_until)
    return first_day


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def notice_too_old(state: PostDunningState, day: date) -> bool:
    """True when the latest notice was sent more than six months before ``day`` (practice: a case
    should not be handed over on a notice that old; send a new one first)."""
    notices = [step.sent_on for step in state.steps_sent if step.kind == "notice"]
    return bool(notices) and notice_expired(max(notices), day)


def notice_expired(sent_on: date, day: date) -> bool:
    """True when a notice sent on ``sent_on`` is more than six months old on ``day``."""
    return day > _add_months(sent_on, NOTICE_MAX_AGE_MONTHS)


LETTER_FIELDS = frozenset(
    {
        "invoice_no",
        "invoice_date",
        "due_date",
        "open_amount",
        "deadline",
        "account_no",
        "kid",
        "creditor",
        "fee",
    }
)


@dataclass(frozen=True)
class LetterWording:
    """Norwegian letter text for one kind of step, with ``str.format`` fields from LETTER_FIELDS.

    Amounts and dates are passed already formatted (parsing.format_amount / format_date).
    """

    title: str
    body: str
    fee_line: str

    def render(self, values: Mapping[str, str], fee: str | None = None) -> str:
        """Title, body and, when a fee is charged, the fee line. A missing field raises KeyError."""
        paragraphs = [self.body.format_map(values)]
        if fee is not None:
            paragraphs.append(self.fee_line.format_map({**values, "fee": fee}))
        return self.title + "\n" + "\n\n".join(paragraphs)


REMINDER_WORDING = LetterWording(
    title="Betalingspåminnelse",
    body=(
        "Vi kan ikke se å ha mottatt betaling for faktura {invoice_no} datert {invoice_date}, "
        "som forfalt til betaling {due_date}.\n\n"
        "Utestående beløp: {open_amount} kr.\n\n"
        "Vi ber om at beløpet betales innen {deadline} til kontonummer {account_no} med KID {kid}.\n\n"
        "Har du allerede betalt, kan du se bort fra denne påminnelsen. "
        "Har du spørsmål om kravet, ta kontakt med {creditor}."
    ),
    fee_line="Purregebyr for denne påminnelsen: {fee} kr.",
)

# Inkassoloven § 9: must say clearly that the claim goes to collection, and must not be called "purring".
NOTICE_WORDING = LetterWording(
    title="Inkassovarsel",
    body=(
        "Faktura {invoice_no} datert {invoice_date}, som forfalt til betaling {due_date}, "
        "er fortsatt ikke betalt.\n\n"
        "Utestående beløp: {open_amount} kr.\n\n"
        "Dersom beløpet ikke er betalt innen {deadline}, vil kravet bli sendt til inkasso hos Svea Finans. "
        "Du blir da ansvarlig for inkassokostnader i tillegg til kravet, og forsinkelsesrente påløper.\n\n"
        "Betal til kontonummer {account_no} med KID {kid}. "
        "Har du innsigelser mot kravet, må du gi beskjed til {creditor} før fristen går ut."
    ),
    fee_line="Gebyr for dette inkassovarselet: {fee} kr.",
)

_WORDING: Mapping[StepKind, LetterWording] = {"reminder": REMINDER_WORDING, "notice": NOTICE_WORDING}


def letter_wording(kind: StepKind) -> LetterWording:
    return _WORDING[kind]


def notice_wording() -> LetterWording:
    return NOTICE_WORDING


def reminder_wording() -> LetterWording:
    return REMINDER_WORDING
