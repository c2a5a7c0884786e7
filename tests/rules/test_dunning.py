"""The next in-app dunning step for one post (RULES.md § Timing), by table.

All cases use due date Saturday 10 January 2026. "+14" means a 14-day deadline from the day sent;
a fee needs the letter sent at least 14 days after the due date, i.e. on or after 24 January.
A deadline "has passed" from the day after it.
"""

import string
from datetime import date
from decimal import Decimal

import pytest

from svea_web.rules.dunning import (
    LETTER_FIELDS,
    NOTICE_WORDING,
    REMINDER_WORDING,
    DunningPolicy,
    PostDunningState,
    SentStep,
    StepDecision,
    eligible_for_svea_after,
    letter_wording,
    next_step,
    notice_too_old,
    notice_wording,
    reminder_wording,
)

DUE = date(2026, 1, 10)


def d(month, day, year=2026):
    return date(year, month, day)


def policy(reminders=1, notice=True, days_between=14, fee=True, min_amount="0"):
    return DunningPolicy(
        in_app_reminders=reminders,
        notice_enabled=notice,
        days_between=days_between,
        fee_enabled=fee,
        min_amount=Decimal(min_amount),
    )


def state(*steps, open_amount="1000.00", paused=False, paused_until=None):
    return PostDunningState(
        due_date=DUE,
        open_amount=Decimal(open_amount),
        steps_sent=tuple(steps),
        paused_until=paused_until,
        paused=paused,
    )


def reminder(sent_on, deadline, fee=True):
    return SentStep(kind="reminder", sent_on=sent_on, deadline=deadline, fee_charged=fee)


def notice(sent_on, deadline, fee=True):
    return SentStep(kind="notice", sent_on=sent_on, deadline=deadline, fee_charged=fee)


# reminder 1 sent on 24 Jan with a fee, deadline 24 Jan + 14 = 7 Feb
R1 = reminder(d(1, 24), d(2, 7))
# the second letter sent 8 Feb, deadline 8 Feb + 14 = 22 Feb
R2 = reminder(d(2, 8), d(2, 22))
R2_NO_FEE = reminder(d(2, 8), d(2, 22), fee=False)
N2 = notice(d(2, 8), d(2, 22))


def decision(action, step_no, deadline, fee_allowed, reason, not_before=None, fee_from=None):
    return StepDecision(
        action=action,
        step_no=step_no,
        deadline=deadline,
        fee_allowed=fee_allowed,
        reason=reason,
        not_before=not_before,
        fee_from=fee_from,
    )


@pytest.mark.parametrize(
    ("post", "rules", "run", "expected"),
    [
        pytest.param(
            state(),
            policy(),
            DUE,
            decision("none", None, None, False, "not_due", not_before=d(1, 11)),
            id="due-day",
        ),
        # the day after the due date a reminder may go, but its fee only from 24 Jan (10 + 14)
        pytest.param(
            state(),
            policy(),
            d(1, 11),
            decision("reminder", 1, d(1, 25), False, "fee_too_early", fee_from=d(1, 24)),
            id="reminder-without-fee-before-day-14",
        ),
        pytest.param(
            state(),
            policy(),
            d(1, 23),
            decision("reminder", 1, d(2, 6), False, "fee_too_early", fee_from=d(1, 24)),
            id="day-13-still-no-fee",
        ),
        pytest.param(
            state(), policy(), d(1, 24), decision("reminder", 1, d(2, 7), True, "ok"), id="day-14-fee-allowed"
        ),
        # the deadline day itself belongs to the debtor
        pytest.param(
            state(R1),
            policy(),
            d(2, 7),
            decision("none", None, None, False, "too_early", not_before=d(2, 8)),
            id="previous-deadline-not-passed",
        ),
        # 1 reminder fee + the notice fee is one of the § 1-3 combinations
        pytest.param(
            state(R1),
            policy(),
            d(2, 8),
            decision("notice", 2, d(2, 22), True, "ok"),
            id="notice-after-deadline",
        ),
        pytest.param(
            state(R1, N2),
            policy(),
            d(2, 22),
            decision("none", None, None, False, "waiting_deadline", not_before=d(2, 23)),
            id="notice-deadline-running",
        ),
        pytest.param(
            state(R1, N2),
            policy(),
            d(2, 23),
            decision("none", None, None, False, "steps_done"),
            id="ready-for-svea",
        ),
        # without a notice two reminder fees are allowed
        pytest.param(
            state(R1),
            policy(reminders=2, notice=False),
            d(2, 8),
            decision("reminder", 2, d(2, 22), True, "ok"),
            id="second-reminder-fee-without-notice",
        ),
        pytest.param(
            state(R1, R2),
            policy(reminders=3, notice=False),
            d(2, 23),
            decision("reminder", 3, d(3, 9), False, "fee_cap_reached"),
            id="third-reminder-fee-over-cap",
        ),
        # with a notice to come, only one reminder fee: the notice fee must stay possible
        pytest.param(
            state(R1),
            policy(reminders=2, notice=True),
            d(2, 8),
            decision("reminder", 2, d(2, 22), False, "fee_cap_reached"),
            id="second-reminder-fee-kept-for-notice",
        ),
        pytest.param(
            state(R1, R2_NO_FEE),
            policy(reminders=2, notice=True),
            d(2, 23),
            decision("notice", 3, d(3, 9), True, "ok"),
            id="notice-fee-after-one-reminder-fee",
        ),
        # two reminder fees already charged (settings changed since): no notice fee
        pytest.param(
            state(R1, R2),
            policy(reminders=2, notice=True),
            d(2, 23),
            decision("notice", 3, d(3, 9), False, "fee_cap_reached"),
            id="notice-fee-after-two-reminder-fees",
        ),
        # first reminder sent early without a fee; the second may carry the first fee (26 - 10 = 16 days)
        pytest.param(
            state(reminder(d(1, 11), d(1, 25), fee=False)),
            policy(reminders=2, notice=False),
            d(1, 26),
            decision("reminder", 2, d(2, 9), True, "ok"),
            id="first-fee-on-second-reminder",
        ),
        # the notice is the last in-app step, even if the settings now ask for more reminders
        pytest.param(
            state(N2),
            policy(reminders=3, notice=True),
            d(2, 23),
            decision("none", None, None, False, "steps_done"),
            id="nothing-after-notice",
        ),
        pytest.param(
            state(),
            policy(fee=False),
            d(1, 24),
            decision("reminder", 1, d(2, 7), False, "fee_disabled"),
            id="fees-off",
        ),
        # days between below the legal 14 are raised to 14; above is kept
        pytest.param(
            state(),
            policy(days_between=10),
            d(1, 24),
            decision("reminder", 1, d(2, 7), True, "ok"),
            id="deadline-at-least-14",
        ),
        pytest.param(
            state(),
            policy(days_between=21),
            d(1, 24),
            decision("reminder", 1, d(2, 14), True, "ok"),
            id="deadline-21",
        ),
        pytest.param(
            state(paused=True), policy(), d(1, 24), decision("none", None, None, False, "paused"), id="paused"
        ),
        pytest.param(
            state(paused_until=d(3, 1)),
            policy(),
            d(2, 28),
            decision("none", None, None, False, "paused", not_before=d(3, 1)),
            id="paused-until",
        ),
        pytest.param(
            state(paused_until=d(3, 1)),
            policy(),
            d(3, 1),
            decision("reminder", 1, d(3, 15), True, "ok"),
            id="pause-ends-on-its-date",
        ),
        pytest.param(
            state(open_amount="50.00"),
            policy(min_amount="100"),
            d(1, 24),
            decision("none", None, None, False, "below_min_amount"),
            id="below-min",
        ),
        pytest.param(
            state(open_amount="100.00"),
            policy(min_amount="100"),
            d(1, 24),
            decision("reminder", 1, d(2, 7), True, "ok"),
            id="at-min",
        ),
        pytest.param(
            state(open_amount="0.00"),
            policy(),
            d(1, 24),
            decision("none", None, None, False, "nothing_open"),
            id="paid",
        ),
        pytest.param(
            state(open_amount="-200.00"),
            policy(),
            d(1, 24),
            decision("none", None, None, False, "nothing_open"),
            id="credit",
        ),
        pytest.param(
            state(),
            policy(reminders=0, notice=False),
            d(1, 24),
            decision("none", None, None, False, "no_in_app_steps"),
            id="svea-runs-everything",
        ),
        # with no reminders the notice is the first and only in-app step
        pytest.param(
            state(),
            policy(reminders=0, notice=True),
            d(1, 24),
            decision("notice", 1, d(2, 7), True, "ok"),
            id="notice-only",
        ),
        # precedence: a paid post is reported as such before anything else
        pytest.param(
            state(open_amount="0", paused=True),
            policy(),
            DUE,
            decision("none", None, None, False, "nothing_open"),
            id="paid-before-not-due",
        ),
    ],
)
def test_next_step(post, rules, run, expected):
    assert next_step(post, rules, run) == expected


def test_policy_refuses_negative_reminder_count():
    with pytest.raises(ValueError):
        policy(reminders=-1)


@pytest.mark.parametrize(
    ("post", "rules", "offer_days", "eligible"),
    [
        # the notice deadline 22 Feb has passed from 23 Feb
        pytest.param(state(R1, N2), policy(), 0, d(2, 23), id="after-notice-deadline"),
        pytest.param(state(R1), policy(), 0, None, id="notice-not-sent"),
        pytest.param(state(), policy(), 0, None, id="nothing-sent"),
        pytest.param(state(R1, R2), policy(reminders=2, notice=False), 0, d(2, 23), id="after-last-reminder"),
        # no in-app steps: overdue by the offer days, 10 Jan + 20 = 30 Jan
        pytest.param(state(), policy(reminders=0, notice=False), 20, d(1, 30), id="offer-days"),
        # zero offer days still needs the post to be overdue: the day after the due date
        pytest.param(state(), policy(reminders=0, notice=False), 0, d(1, 11), id="offer-days-zero"),
        pytest.param(state(R1, N2, paused=True), policy(), 0, None, id="paused"),
        pytest.param(state(R1, N2, paused_until=d(3, 1)), policy(), 0, d(3, 1), id="paused-until-later"),
        pytest.param(state(R1, N2, paused_until=d(2, 1)), policy(), 0, d(2, 23), id="pause-over"),
        pytest.param(state(R1, N2, open_amount="0"), policy(), 0, None, id="paid"),
        pytest.param(state(R1, N2, open_amount="50"), policy(min_amount="100"), 0, None, id="below-min"),
    ],
)
def test_eligible_for_svea_after(post, rules, offer_days, eligible):
    assert eligible_for_svea_after(post, rules, offer_days) == eligible


def test_eligible_for_svea_refuses_negative_offer_days():
    with pytest.raises(ValueError):
        eligible_for_svea_after(state(), policy(reminders=0, notice=False), -1)


def test_steps_done_and_svea_eligibility_agree_from_the_same_day():
    post, rules = state(R1, N2), policy()
    first = eligible_for_svea_after(post, rules, 0)
    assert next_step(post, rules, first).reason == "steps_done"
    assert next_step(post, rules, d(2, 22)).reason == "waiting_deadline"


@pytest.mark.parametrize(
    ("sent_on", "day", "too_old"),
    [
        (d(2, 8), d(8, 8), False),  # exactly six months
        (d(2, 8), d(8, 9), True),
        # 31 Aug + 6 months = 28 Feb (no 31 Feb)
        (d(8, 31, 2025), d(2, 28), False),
        (d(8, 31, 2025), d(3, 1), True),
    ],
)
def test_a_notice_older_than_six_months_is_too_old_to_hand_over(sent_on, day, too_old):
    assert notice_too_old(state(R1, notice(sent_on, sent_on)), day) is too_old


def test_a_post_without_notice_has_no_stale_notice():
    assert notice_too_old(state(R1), d(12, 31)) is False


def _placeholders(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("wording", [REMINDER_WORDING, NOTICE_WORDING])
def test_letter_texts_use_only_known_fields(wording):
    for text in (wording.title, wording.body, wording.fee_line):
        assert _placeholders(text) <= LETTER_FIELDS


def test_notice_says_collection_and_never_purring():
    wording = notice_wording()
    assert wording == letter_wording("notice") == NOTICE_WORDING
    assert wording.title == "Inkassovarsel"
    every_text = f"{wording.title} {wording.body} {wording.fee_line}".lower()
    assert "purr" not in every_text
    assert "sendt til inkasso" in wording.body
    assert "{deadline}" in wording.body


def test_reminder_states_the_claim_and_the_amount():
    wording = letter_wording("reminder")
    assert wording == reminder_wording()
    assert wording.title == "Betalingspåminnelse"
    assert {"invoice_no", "open_amount", "deadline", "due_date"} <= _placeholders(wording.body)
    assert "inkasso" not in wording.body.lower()


VALUES = {
    "invoice_no": "10042",
    "invoice_date": "01.12.2025",
    "due_date": "10.01.2026",
    "open_amount": "1\u00a0000,00",
    "deadline": "22.02.2026",
    "account_no": "1234.56.78903",
    "kid": "12344",
    "creditor": "Eksempel AS",
}


def test_rendered_notice_fills_every_field_and_the_fee():
    text = NOTICE_WORDING.render(VALUES, fee="35,00")
    assert text.startswith("Inkassovarsel\n")
    assert "22.02.2026" in text
    assert "35,00 kr" in text
    assert "{" not in text


def test_rendered_letter_without_fee_has_no_fee_line():
    text = REMINDER_WORDING.render(VALUES)
    assert "gebyr" not in text.lower()
    assert "1\u00a0000,00 kr" in text


def test_rendering_without_a_field_fails_loudly():
    values = {k: v for k, v in VALUES.items() if k != "deadline"}
    with pytest.raises(KeyError):
        NOTICE_WORDING.render(values)
