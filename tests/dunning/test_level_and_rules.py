"""The page follows the Svea level, and the preview's batch interest and batch decisions equal the rules."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from svea_web.dunning.models import ReminderRun
from svea_web.dunning.services import InterestCalculator
from svea_web.extensions import db
from svea_web.rules.dunning import DunningPolicy, PostDunningState, SentStep, StepDecider, next_step
from svea_web.rules.figures import DEFAULT_LATE_INTEREST_RATES
from svea_web.rules.interest import late_interest
from tests.conftest import Firm
from tests.dunning.conftest import configure, html


def test_at_level_purring_svea_runs_the_reminders_and_the_app_offers_no_run(logged_in: FlaskClient, firm: Firm) -> None:
    configure(firm.client.id, level="purring")
    page = html(logged_in.get("/dunning/"))
    assert "Svea kjører purringene" in page
    assert 'action="/dunning/runs"' not in page
    response = logged_in.post("/dunning/runs", data={"run_date": "2026-11-27"}, follow_redirects=True)
    assert "Purrekjøring i appen er ikke slått på for denne klienten." in html(response)
    assert db.session.query(ReminderRun).count() == 0


def test_without_in_app_steps_the_page_says_posts_go_straight_to_svea(logged_in: FlaskClient, firm: Firm) -> None:
    configure(firm.client.id, reminders=0, notice=False)
    page = html(logged_in.get("/dunning/"))
    assert "Ingen purretrinn i appen" in page
    assert 'action="/dunning/runs"' not in page


def test_at_level_inkasso_the_page_offers_a_run_and_shows_the_setup(logged_in: FlaskClient, firm: Firm) -> None:
    configure(firm.client.id)
    page = html(logged_in.get("/dunning/"))
    assert 'action="/dunning/runs"' in page
    assert 'value="2026-11-27"' in page
    assert "Purring" in page and "Ingen bekreftede kjøringer ennå." in page


principals = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("10000000"), places=3)
days = st.dates(min_value=date(2020, 1, 1), max_value=date(2027, 12, 31))


@settings(max_examples=300, deadline=None)
@given(principals, days, st.integers(min_value=0, max_value=1500))
def test_batch_interest_equals_the_rule_for_any_post(principal: Decimal, due: date, overdue_days: int) -> None:
    until = due + timedelta(days=overdue_days)
    calculator = InterestCalculator(until, DEFAULT_LATE_INTEREST_RATES)
    # Twice: the second answer comes from the cached factor of the due date.
    for _ in range(2):
        assert calculator.interest(principal, due) == late_interest(principal, due, until, DEFAULT_LATE_INTEREST_RATES)


sent_steps = st.lists(
    st.builds(
        SentStep,
        kind=st.sampled_from(["reminder", "notice"]),
        sent_on=days,
        deadline=days,
        fee_charged=st.booleans(),
    ),
    max_size=3,
).map(tuple)
policies = st.builds(
    DunningPolicy,
    in_app_reminders=st.integers(min_value=0, max_value=3),
    notice_enabled=st.booleans(),
    days_between=st.integers(min_value=0, max_value=30),
    fee_enabled=st.booleans(),
    min_amount=st.decimals(min_value=Decimal("0"), max_value=Decimal("500"), places=2),
)
amounts = st.decimals(min_value=Decimal("-100"), max_value=Decimal("1000"), places=2)


@settings(max_examples=300, deadline=None)
@given(
    policies,
    days,
    st.lists(
        st.tuples(days, st.lists(amounts, min_size=1, max_size=4), sent_steps, st.none() | days, st.booleans()),
        min_size=1,
        max_size=6,
    ),
)
def test_batch_decisions_equal_the_rule_for_any_post(
    policy: DunningPolicy,
    run_date: date,
    situations: list[tuple[date, list[Decimal], tuple[SentStep, ...], date | None, bool]],
) -> None:
    """Posts in one situation with different amounts (above, at, under the minimum, zero, credit) share
    a decision in the preview; each must still get exactly what next_step gives it."""
    decider = StepDecider(policy, run_date)
    for due, post_amounts, steps, paused_until, paused in situations:
        for amount in [*post_amounts, policy.min_amount, Decimal("0")]:
            state = PostDunningState(due, amount, steps, paused_until, paused)
            assert decider.decide(due, amount, steps, paused_until, paused) == next_step(state, policy, run_date)
