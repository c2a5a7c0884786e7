"""Confirming a run records each step once, books the fees, updates the posts and sends the letters."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from svea_web.dunning import services
from svea_web.dunning.models import ReminderLetter, ReminderRun, ReminderStep
from svea_web.extensions import db
from svea_web.ledger.models import POST_FEE, STATUS_PAID, CustomerPost
from svea_web.ledger.queries import customer_balance
from svea_web.mail.models import OutgoingMail
from svea_web.rules.dunning import eligible_for_svea_after
from tests import factories
from tests.conftest import Firm
from tests.dunning.conftest import Ledger, confirm, digest_of, html, run_today, set_today, start_run

RUN_DATE = date(2026, 11, 27)


def _steps(post: CustomerPost) -> list[tuple[str, int, date, date, Decimal]]:
    return [
        (s.kind, s.step_no, s.sent_on, s.deadline, s.fee)
        for s in db.session.scalars(
            select(ReminderStep).where(ReminderStep.post_id == post.id).order_by(ReminderStep.step_no)
        )
    ]


def test_confirm_records_the_step_on_each_post(logged_in: FlaskClient, ledger: Ledger) -> None:
    run_today(logged_in, RUN_DATE)
    post = ledger.posts["1001"]
    db.session.refresh(post)
    assert _steps(post) == [("reminder", 1, RUN_DATE, date(2026, 12, 11), Decimal("37.50"))]
    assert (post.reminder_step, post.last_reminder_at, post.reminder_deadline) == (1, RUN_DATE, date(2026, 12, 11))
    notice = ledger.posts["4001"]
    db.session.refresh(notice)
    assert _steps(notice)[-1] == ("notice", 3, RUN_DATE, date(2026, 12, 11), Decimal("37.50"))
    assert notice.reminder_step == 3
    untouched = ledger.posts["2003"]
    db.session.refresh(untouched)
    assert untouched.reminder_step == 1


@pytest.mark.all_backends
def test_fees_are_booked_as_posts_in_the_customers_balance(logged_in: FlaskClient, ledger: Ledger) -> None:
    kari = ledger.customers["kari"]
    before = customer_balance(kari.id)
    run_today(logged_in, RUN_DATE)
    fee = db.session.scalar(select(CustomerPost).where(CustomerPost.invoice_no == "GEB-1001-1"))
    assert fee is not None
    assert (fee.kind, fee.match_no, fee.kid, fee.amount, fee.open_amount, fee.due_date) == (
        POST_FEE,
        "1001",
        "0000010017",
        Decimal("37.50"),
        Decimal("37.50"),
        date(2026, 12, 11),
    )
    # Kari: a reminder fee on 1001 and a notice fee on 1004.
    assert customer_balance(kari.id) == before + Decimal("75.00")
    page = html(logged_in.get(f"/ledger/customers/{kari.id}")).replace("\u00a0", " ")
    assert (
        f'<strong id="customer-balance">{before + Decimal("75.00"):,.2f} kr</strong>'.replace(",", " ").replace(
            ".", ","
        )
        in page
    )
    # No fee where the cap is reached.
    assert db.session.scalar(select(CustomerPost).where(CustomerPost.invoice_no == "GEB-2001-2")) is None


@pytest.mark.all_backends
def test_confirming_twice_applies_the_run_once(logged_in: FlaskClient, ledger: Ledger) -> None:
    run_id = start_run(logged_in, RUN_DATE)
    digest = digest_of(logged_in, run_id)
    first = confirm(logged_in, run_id, digest)
    assert "Kjøringen er bekreftet" in html(first)
    second = confirm(logged_in, run_id, digest)
    assert "Kjøringen er allerede bekreftet; ingenting ble gjort på nytt." in html(second)

    assert db.session.query(ReminderStep).filter_by(run_id=run_id).count() == 4
    assert db.session.query(CustomerPost).filter_by(kind=POST_FEE).count() == 1 + 3  # the fixture's + this run's
    assert db.session.query(ReminderLetter).filter_by(run_id=run_id).count() == 4
    assert db.session.query(OutgoingMail).count() == 3


def test_a_second_run_the_same_day_steps_nothing_again(logged_in: FlaskClient, ledger: Ledger) -> None:
    run_today(logged_in, RUN_DATE)
    run_id = start_run(logged_in, RUN_DATE)
    page = html(logged_in.get(f"/dunning/runs/{run_id}"))
    assert "Ingen poster får et nytt trinn på denne datoen." in page
    assert 'name="digest"' not in page


def test_a_preview_gone_stale_is_not_applied(logged_in: FlaskClient, ledger: Ledger) -> None:
    run_id = start_run(logged_in, RUN_DATE)
    stale = digest_of(logged_in, run_id)
    paid = ledger.posts["1001"]
    paid.open_amount = Decimal("0")
    paid.status = STATUS_PAID
    db.session.commit()

    response = confirm(logged_in, run_id, stale)
    assert "Reskontroen er endret siden forhåndsvisningen." in html(response)
    assert db.session.query(ReminderStep).filter_by(run_id=run_id).count() == 0
    assert db.session.get(ReminderRun, run_id).state == "preview"  # type: ignore[union-attr]

    response = confirm(logged_in, run_id)
    assert "Kjøringen er bekreftet. Nye trinn: 3. Brev: 3." in html(response)
    assert _steps(paid) == []


def test_a_run_is_confirmed_only_on_its_own_date(app: Flask, logged_in: FlaskClient, ledger: Ledger) -> None:
    run_id = start_run(logged_in, RUN_DATE)
    digest = digest_of(logged_in, run_id)
    set_today(app, date(2026, 11, 28))
    response = confirm(logged_in, run_id, digest)
    assert "En kjøring kan bare bekreftes på sin egen dato." in html(response)
    assert db.session.query(ReminderStep).filter_by(run_id=run_id).count() == 0


def test_no_letters_go_out_without_the_firms_account_number(logged_in: FlaskClient, ledger: Ledger) -> None:
    from svea_web.dunning.models import LetterSettings

    db.session.delete(db.session.get(LetterSettings, ledger.posts["1001"].client_id))
    db.session.commit()
    run_id = start_run(logged_in, RUN_DATE)
    page = html(logged_in.get(f"/dunning/runs/{run_id}"))
    assert "Legg inn kontonummeret som skal stå i brevene" in page
    assert 'name="digest"' not in page

    response = logged_in.post("/dunning/settings", data={"account_no": "8601.11.17948"}, follow_redirects=True)
    assert "Ugyldig kontonummer" in html(response)
    response = logged_in.post("/dunning/settings", data={"account_no": "8601.11.17947"}, follow_redirects=True)
    assert "Brevoppsettet er lagret." in html(response)
    assert "Kjøringen er bekreftet" in html(confirm(logged_in, run_id))


def test_history_lists_confirmed_runs_with_their_letters(logged_in: FlaskClient, ledger: Ledger) -> None:
    run_id = run_today(logged_in, RUN_DATE)
    index = html(logged_in.get("/dunning/")).replace("\u00a0", " ")
    assert f'<a href="/dunning/runs/{run_id}">27.11.2026</a>' in index
    assert "112,50 kr" in index and "15 141,75 kr" in index
    page = html(logged_in.get(f"/dunning/runs/{run_id}"))
    letters = db.session.scalars(select(ReminderLetter).where(ReminderLetter.run_id == run_id)).all()
    assert sorted((letter.customer.name, letter.kind) for letter in letters) == [
        ("Fjell Bygg AS", "reminder"),
        ("Kari Nordmann", "notice"),
        ("Kari Nordmann", "reminder"),
        ("Per Berg", "notice"),
    ]
    for letter in letters:
        assert f"/dunning/letters/{letter.id}.pdf" in page


def test_the_last_steps_deadline_passed_makes_the_post_eligible_for_svea(
    app: Flask, logged_in: FlaskClient, inkasso_firm: Firm
) -> None:
    """A post's whole in-app life: two reminders and a notice on the 14-day rhythm, then Nye saker."""
    customer = factories.customer(inkasso_firm.client.id, "Åse Berg", email="ase@example.no")
    post = factories.post(customer, "5000.00", due=date(2026, 10, 1), invoice_no="7001")
    db.session.commit()
    client_id = inkasso_firm.client.id

    for day, expected in [
        (date(2026, 10, 15), ("reminder", 1, date(2026, 10, 29), Decimal("37.50"))),
        (date(2026, 10, 30), ("reminder", 2, date(2026, 11, 13), Decimal("0.00"))),
        (date(2026, 11, 14), ("notice", 3, date(2026, 11, 28), Decimal("37.50"))),
    ]:
        set_today(app, day)
        run_today(logged_in, day)
        kind, step_no, deadline, fee = expected
        assert _steps(post)[-1] == (kind, step_no, day, deadline, fee)
        state = services.post_dunning_states(client_id, [post.id], day)[post.id]
        policy = services.run_settings(client_id).policy
        assert eligible_for_svea_after(state, policy, 14) == (date(2026, 11, 29) if kind == "notice" else None)

    set_today(app, date(2026, 11, 28))
    run_id = start_run(logged_in, date(2026, 11, 28))
    assert "Venter på fristen i inkassovarselet" in html(logged_in.get(f"/dunning/runs/{run_id}?tab=skipped"))
    set_today(app, date(2026, 11, 29))
    run_id = start_run(logged_in, date(2026, 11, 29))
    assert "Alle trinn sendt – klar for Nye saker" in html(logged_in.get(f"/dunning/runs/{run_id}?tab=skipped"))
    db.session.refresh(post)
    assert (post.reminder_step, post.reminder_deadline) == (3, date(2026, 11, 28))


def test_another_firms_run_and_letters_are_not_found(
    logged_in: FlaskClient, ledger: Ledger, make_firm: object, auth: object, client: FlaskClient
) -> None:
    run_id = run_today(logged_in, RUN_DATE)
    letter = db.session.scalars(select(ReminderLetter).where(ReminderLetter.run_id == run_id)).first()
    assert letter is not None
    other = make_firm("Annen Firma AS")  # type: ignore[operator]
    auth.logout()  # type: ignore[attr-defined]
    auth.login(other.admin)  # type: ignore[attr-defined]
    for url in (
        f"/dunning/runs/{run_id}",
        f"/dunning/letters/{letter.id}",
        f"/dunning/letters/{letter.id}.pdf",
        f"/dunning/runs/{run_id}/letters.pdf",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/dunning/runs/{run_id}/confirm", data={"digest": "0" * 64}).status_code == 404


@pytest.mark.all_backends
def test_two_confirms_at_the_same_moment_apply_the_run_once(app: Flask, logged_in: FlaskClient, ledger: Ledger) -> None:
    run_id = start_run(logged_in, RUN_DATE)
    digest = digest_of(logged_in, run_id)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def confirm_in_own_session() -> None:
        with app.app_context():
            run = db.session.get(ReminderRun, run_id)
            assert run is not None
            barrier.wait()
            outcomes.append(services.confirm_run(run, digest, RUN_DATE, None).outcome)
            db.session.remove()

    threads = [threading.Thread(target=confirm_in_own_session) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["already_confirmed", "confirmed"]
    db.session.expire_all()
    assert db.session.query(ReminderStep).filter_by(run_id=run_id).count() == 4
    assert db.session.query(CustomerPost).filter_by(kind=POST_FEE).count() == 1 + 3


def test_a_preview_can_be_discarded_but_a_confirmed_run_cannot(logged_in: FlaskClient, ledger: Ledger) -> None:
    run_id = start_run(logged_in, RUN_DATE)
    assert f"/dunning/runs/{run_id}" in html(logged_in.get("/dunning/"))
    response = logged_in.post(f"/dunning/runs/{run_id}/discard", follow_redirects=True)
    assert "Forhåndsvisningen er forkastet." in html(response)
    assert db.session.get(ReminderRun, run_id) is None

    confirmed = run_today(logged_in, RUN_DATE)
    response = logged_in.post(f"/dunning/runs/{confirmed}/discard", follow_redirects=True)
    assert "En bekreftet kjøring kan ikke forkastes." in html(response)
    assert db.session.query(ReminderStep).filter_by(run_id=confirmed).count() == 4
