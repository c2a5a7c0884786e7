"""Nye saker: which posts are offered to Svea, one row per post or per customer (Gruppere poster)."""

from __future__ import annotations

import itertools
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import update

from svea_web.collection import eligibility
from svea_web.collection.models import CASE_CLOSED, CASE_OPEN, CasePost, SveaCase
from svea_web.dunning.models import RUN_CONFIRMED, CustomerPause, ReminderRun, ReminderStep
from svea_web.extensions import db
from svea_web.rules.dunning import DunningPolicy, PostDunningState, SentStep, eligible_for_svea_after
from svea_web.setup.models import SveaSettings
from tests.collection.conftest import company, configure_svea, create_cases, debtor, overdue_post, page_text
from tests.conftest import TODAY

NEW_TAB = "/collection/new"


def offered(client: Any) -> str:
    """The Nye saker table as the user sees it (the HTMX fragment of the tab)."""
    html = page_text(client, NEW_TAB, htmx=True)
    return html[html.index('id="new-cases-table"') :]


def new_count(client: Any) -> int:
    """The count in the Nye saker tab label (the label fetches it on its own)."""
    html = page_text(client, NEW_TAB, htmx=True)
    assert 'hx-get="/collection/new/count"' in html
    match = re.search(r'data-count="new">(\d+)<', page_text(client, "/collection/new/count", htmx=True))
    assert match is not None
    return int(match.group(1))


def test_purring_level_offers_posts_overdue_by_the_configured_days(logged_in: Any, svea_firm: Any) -> None:
    kari = debtor(svea_firm.client.id)
    overdue_post(kari, due=TODAY - timedelta(days=13), match_no="M13")
    overdue_post(kari, due=TODAY - timedelta(days=14), match_no="M14")
    overdue_post(kari, due=TODAY - timedelta(days=40), match_no="M40")

    table = offered(logged_in)

    assert "M13" not in table
    assert "M14" in table and "M40" in table
    assert new_count(logged_in) == 2


def test_paid_credited_paused_small_and_sent_posts_are_not_offered(
    logged_in: Any, svea_firm: Any, sandbox: Any
) -> None:
    configure_svea(svea_firm.client.id, sandbox.url, min_amount="100")
    kari = debtor(svea_firm.client.id)
    overdue_post(kari, match_no="OK1")
    overdue_post(kari, match_no="PAID", open_amount="0")
    overdue_post(kari, "-500.00", match_no="CREDIT", kind="credit_note")
    overdue_post(kari, match_no="PAUSED", paused=True)
    overdue_post(kari, match_no="PAUSEDUNTIL", paused_until=TODAY + timedelta(days=3))
    overdue_post(kari, match_no="PAUSEOVER", paused_until=TODAY)
    overdue_post(kari, "99.99", match_no="SMALL")
    overdue_post(kari, match_no="NOTDUE", due=TODAY)

    table = offered(logged_in)

    for shown in ("OK1", "PAUSEOVER"):
        assert shown in table
    for hidden in ("PAID", "CREDIT", "PAUSED<", "PAUSEDUNTIL", "SMALL", "NOTDUE"):
        assert hidden not in table


def test_a_post_paid_meanwhile_disappears_from_nye_saker(logged_in: Any, svea_firm: Any) -> None:
    post = overdue_post(debtor(svea_firm.client.id), match_no="SOONPAID")
    assert "SOONPAID" in offered(logged_in)

    post.open_amount = Decimal("0")
    post.status = "paid"
    db.session.commit()

    assert "SOONPAID" not in offered(logged_in)


def test_inkasso_level_offers_posts_once_the_in_app_steps_are_done_and_the_deadline_passed(
    logged_in: Any, svea_firm: Any, sandbox: Any
) -> None:
    configure_svea(svea_firm.client.id, sandbox.url, level="inkasso", in_app_steps=1, notice=True)
    kari = debtor(svea_firm.client.id)
    yesterday, today = TODAY - timedelta(days=1), TODAY
    overdue_post(kari, match_no="READY", reminder_step=2, reminder_deadline=yesterday)
    overdue_post(kari, match_no="DEADLINETODAY", reminder_step=2, reminder_deadline=today)
    overdue_post(kari, match_no="ONESTEP", reminder_step=1, reminder_deadline=yesterday)
    overdue_post(kari, match_no="NOSTEPS", due=TODAY - timedelta(days=90))

    table = offered(logged_in)

    assert "READY" in table
    assert "DEADLINETODAY" not in table and "ONESTEP" not in table and "NOSTEPS" not in table
    assert "Opprett Svea inkasso" in page_text(logged_in, NEW_TAB, htmx=True)


def _notice_sent(post: Any, sent_on: date) -> None:
    run = ReminderRun(client_id=post.client_id, run_date=sent_on, state=RUN_CONFIRMED)
    db.session.add(run)
    db.session.flush()
    deadline = sent_on + timedelta(days=14)
    db.session.add(
        ReminderStep(
            client_id=post.client_id,
            run_id=run.id,
            post_id=post.id,
            kind="notice",
            step_no=1,
            sent_on=sent_on,
            deadline=deadline,
            principal=post.open_amount,
        )
    )
    post.reminder_step, post.reminder_deadline = 1, deadline
    db.session.commit()


def test_a_post_whose_collection_notice_is_over_six_months_old_is_offered_with_a_warning(
    logged_in: Any, svea_firm: Any, sandbox: Any
) -> None:
    # RULES.md, Timing: a case should not be handed over on a notice older than about six months.
    configure_svea(svea_firm.client.id, sandbox.url, level="inkasso", in_app_steps=0, notice=True)
    old, recent = debtor(svea_firm.client.id, name="Gammel Varsel"), debtor(svea_firm.client.id, name="Ny Varsel")
    _notice_sent(overdue_post(old, match_no="OLDNOTICE", due=date(2026, 3, 1)), date(2026, 5, 26))  # 6 months + 1 day
    _notice_sent(overdue_post(recent, match_no="NEWNOTICE", due=date(2026, 3, 1)), date(2026, 5, 27))  # 6 months

    rows = [row.split("</tr>")[0] for row in offered(logged_in).split("<tr")[1:]]
    old_row = next(row for row in rows if "OLDNOTICE" in row)
    new_row = next(row for row in rows if "NEWNOTICE" in row)
    assert "Inkassovarselet er over 6 måneder gammelt" in old_row
    assert "Inkassovarselet er over 6 måneder gammelt" not in new_row


def _closed_case(post: Any, number: str, close_reason: str) -> None:
    case = SveaCase(
        client_id=post.client_id,
        customer_id=post.customer_id,
        level="purring",
        state=CASE_CLOSED,
        idempotency_key=f"k-{number}",
        case_number=number,
        close_reason=close_reason,
    )
    db.session.add(case)
    db.session.flush()
    db.session.add(CasePost(case_id=case.id, post_id=post.id, amount_at_handover=post.open_amount, active=False))
    db.session.commit()


def test_a_post_whose_case_was_closed_as_paid_to_the_firm_says_to_register_the_payment(
    logged_in: Any, svea_firm: Any
) -> None:
    kari = debtor(svea_firm.client.id)
    _closed_case(overdue_post(kari, match_no="PAIDTOUS"), "40000077", "PAID_TO_CREDITOR")
    _closed_case(overdue_post(kari, match_no="WITHDRAWN"), "40000078", "WITHDRAWN")

    rows = [row.split("</tr>")[0] for row in offered(logged_in).split("<tr")[1:]]
    paid = next(row for row in rows if "PAIDTOUS" in row)
    withdrawn = next(row for row in rows if "WITHDRAWN" in row)
    assert "Sak 40000077 ble avsluttet som betalt direkte til oss – registrer innbetalingen" in paid
    assert "Var i sak 40000078 (avsluttet)" in withdrawn and "registrer innbetalingen" not in withdrawn


def test_a_customer_with_an_open_case_gets_newly_overdue_posts_directly(
    logged_in: Any, svea_firm: Any, sandbox: Any
) -> None:
    configure_svea(svea_firm.client.id, sandbox.url, level="inkasso", in_app_steps=2)
    in_case, other = debtor(svea_firm.client.id, "Per Hansen"), debtor(svea_firm.client.id, "Liv Berg")
    old = overdue_post(in_case, match_no="OLD", reminder_step=2, reminder_deadline=TODAY - timedelta(days=1))
    case = SveaCase(
        client_id=svea_firm.client.id,
        customer_id=in_case.id,
        level="inkasso",
        state=CASE_OPEN,
        idempotency_key="k-open",
        case_number="40000099",
    )
    db.session.add(case)
    db.session.flush()
    db.session.add(CasePost(case_id=case.id, post_id=old.id, amount_at_handover=old.open_amount))
    old.svea_case_id = case.id
    overdue_post(in_case, match_no="FRESH", due=TODAY - timedelta(days=1))
    overdue_post(other, match_no="OTHERFRESH", due=TODAY - timedelta(days=1))
    overdue_post(in_case, match_no="NOTYET", due=TODAY)
    db.session.commit()

    table = offered(logged_in)

    assert "FRESH" in table
    assert "OTHERFRESH" not in table and "NOTYET" not in table and ">OLD<" not in table
    # ... and the user is told it has not been through the in-app reminders, grouped or not.
    fresh_row = next(row.split("</tr>")[0] for row in table.split("<tr")[1:] if "FRESH" in row)
    assert "Ikke gjennom purringene i appen – kunden har allerede en sak hos Svea" in fresh_row
    db.session.execute(update(SveaSettings).values(group_by_customer=True))
    db.session.commit()
    grouped = offered(logged_in)
    assert "Per Hansen" in grouped and "Ikke gjennom purringene i appen" in grouped


@pytest.mark.all_backends
def test_with_gruppere_poster_one_row_and_one_case_per_customer(logged_in: Any, svea_firm: Any, sandbox: Any) -> None:
    configure_svea(svea_firm.client.id, sandbox.url, level="inkasso", group=True)
    kari, fjord = debtor(svea_firm.client.id), company(svea_firm.client.id)
    first = overdue_post(kari, match_no="K1")
    second = overdue_post(kari, match_no="K2", due=date(2026, 9, 1))
    overdue_post(fjord, match_no="F1")

    table = offered(logged_in)
    assert new_count(logged_in) == 2
    assert table.count('name="row"') == 2
    assert "2 poster" in table and "K1" in table and "K2" in table

    create_cases(logged_in, f"c{kari.id}")

    case = db.session.query(SveaCase).one()
    assert {link.post_id for link in case.links} == {first.id, second.id}
    assert new_count(logged_in) == 1


def test_without_grouping_one_row_and_one_case_per_post(logged_in: Any, svea_firm: Any) -> None:
    kari = debtor(svea_firm.client.id)
    first, second = overdue_post(kari, match_no="P1"), overdue_post(kari, match_no="P2")

    assert offered(logged_in).count('name="row"') == 2
    create_cases(logged_in, f"p{first.id}", f"p{second.id}")

    cases = db.session.query(SveaCase).order_by(SveaCase.id).all()
    assert [[link.post_id for link in case.links] for case in cases] == [[first.id], [second.id]]


def _pure_first_day(step: int, deadline: date | None, due: date, policy: DunningPolicy, offer_days: int) -> date | None:
    kinds = ["reminder"] * min(step, policy.in_app_reminders) + ["notice"] * max(0, step - policy.in_app_reminders)
    steps = tuple(
        SentStep(
            kind=kind, sent_on=due, deadline=deadline if deadline and i == len(kinds) - 1 else due, fee_charged=False
        )
        for i, kind in enumerate(kinds)
    )
    state = PostDunningState(due_date=due, open_amount=Decimal("100"), steps_sent=steps)
    return eligible_for_svea_after(state, policy, offer_days)


@pytest.mark.all_backends
@pytest.mark.parametrize(("reminders", "notice"), [(0, False), (1, False), (2, True), (0, True)])
def test_the_database_rule_agrees_with_the_pure_dunning_rule(
    app: Any, svea_firm: Any, sandbox: Any, reminders: int, notice: bool
) -> None:
    configure_svea(svea_firm.client.id, sandbox.url, level="inkasso", in_app_steps=reminders, notice=notice)
    policy = DunningPolicy(
        in_app_reminders=reminders, notice_enabled=notice, days_between=14, fee_enabled=False, min_amount=Decimal("0")
    )
    customer = debtor(svea_firm.client.id)
    expected: dict[int, bool] = {}
    # Every sent step has a deadline; a post with no step has none.
    for due_offset, step, deadline_offset in itertools.product((1, 13, 14, 30), (0, 1, 2, 3), (-1, 0, 2)):
        due = TODAY - timedelta(days=due_offset)
        deadline = None if step == 0 else TODAY + timedelta(days=deadline_offset)
        post = overdue_post(customer, due=due, reminder_step=step, reminder_deadline=deadline)
        first_day = _pure_first_day(step, deadline, due, policy, 14)
        expected[post.id] = first_day is not None and first_day <= TODAY

    found = eligibility.posts_for_rows(
        svea_firm.client.id, eligibility.policy_for(svea_firm.client.id), TODAY, [f"p{pid}" for pid in expected]
    )

    assert {group[0].id for group in found} == {pid for pid, ok in expected.items() if ok}


@pytest.mark.parametrize("grouped", [False, True])
def test_nye_saker_pages_go_from_the_oldest_due_date(app: Any, svea_firm: Any, sandbox: Any, grouped: bool) -> None:
    configure_svea(svea_firm.client.id, sandbox.url, group=grouped)
    oldest, middle, newest = (debtor(svea_firm.client.id, name) for name in ("Eldst", "Midt", "Nyest"))
    overdue_post(newest, due=date(2026, 10, 20))
    overdue_post(oldest, due=date(2026, 8, 1))
    overdue_post(middle, due=date(2026, 9, 1))
    overdue_post(oldest, due=date(2026, 10, 25))  # a grouped row holds it beside the customer's oldest
    policy = eligibility.policy_for(svea_firm.client.id)

    first = eligibility.list_rows(svea_firm.client.id, policy, TODAY, page=1, per_page=2)
    second = eligibility.list_rows(svea_firm.client.id, policy, TODAY, page=2, per_page=2)

    names = [[row.customer.name for row in page.items] for page in (first, second)]
    if grouped:
        assert names == [["Eldst", "Midt"], ["Nyest"]]
        assert [len(row.posts) for row in first.items] == [2, 1]
    else:
        assert names == [["Eldst", "Midt"], ["Nyest", "Eldst"]]
    assert first.has_next and not first.has_prev
    assert second.has_prev and not second.has_next


def test_a_post_whose_dated_pause_has_ended_is_offered_even_with_the_flag_left_set(
    logged_in: Any, svea_firm: Any
) -> None:
    # svea_web.dunning reads a dated pause by its resume day alone: the flag beside it counts for nothing.
    kari = debtor(svea_firm.client.id)
    overdue_post(kari, match_no="FLAGENDED", paused=True, paused_until=TODAY)
    overdue_post(kari, match_no="FLAGLONGENDED", paused=True, paused_until=TODAY - timedelta(days=30))
    overdue_post(kari, match_no="FLAGRUNNING", paused=True, paused_until=TODAY + timedelta(days=1))

    table = offered(logged_in)

    assert "FLAGENDED" in table and "FLAGLONGENDED" in table
    assert "FLAGRUNNING" not in table
    assert new_count(logged_in) == 2


def _pause_customer(customer: Any, paused_until: date | None) -> None:
    db.session.add(
        CustomerPause(client_id=customer.client_id, customer_id=customer.id, reason="Tvist", paused_until=paused_until)
    )
    db.session.commit()


@pytest.mark.all_backends
@pytest.mark.parametrize("grouped", [False, True])
def test_posts_of_a_customer_under_purrestopp_are_not_offered_until_the_pause_ends(
    logged_in: Any, svea_firm: Any, sandbox: Any, grouped: bool
) -> None:
    configure_svea(svea_firm.client.id, sandbox.url, group=grouped)
    client_id = svea_firm.client.id
    until_lifted, dated, ended, free = (
        debtor(client_id, name) for name in ("Stopp Uten Dato", "Stopp Med Dato", "Stopp Utløpt", "Uten Stopp")
    )
    for customer, match_no in ((until_lifted, "UNDATED"), (dated, "DATED"), (ended, "ENDED"), (free, "FREE")):
        overdue_post(customer, match_no=match_no)
    _pause_customer(until_lifted, None)
    _pause_customer(dated, TODAY + timedelta(days=5))
    _pause_customer(ended, TODAY)  # the resume day has come

    table = offered(logged_in)

    assert "ENDED" in table and "FREE" in table
    assert "UNDATED" not in table and "DATED" not in table
    assert new_count(logged_in) == 2


def test_marked_posts_of_a_customer_paused_meanwhile_are_not_sent(logged_in: Any, svea_firm: Any) -> None:
    kari, per = debtor(svea_firm.client.id), debtor(svea_firm.client.id, "Per Hansen")
    paused_post = overdue_post(kari, match_no="PAUSEDLATER")
    free_post = overdue_post(per, match_no="STILLFREE")
    assert "PAUSEDLATER" in offered(logged_in)

    _pause_customer(kari, None)
    create_cases(logged_in, f"p{paused_post.id}", f"p{free_post.id}", f"c{kari.id}")

    cases = db.session.query(SveaCase).all()
    assert [[link.post_id for link in case.links] for case in cases] == [[free_post.id]]
