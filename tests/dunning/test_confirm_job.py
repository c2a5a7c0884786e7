"""Confirming a run queues a job that applies it once; the run page shows its progress, then the letters."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from svea_web.accounts.models import AuditEvent
from svea_web.dunning import jobs
from svea_web.dunning.models import ReminderLetter, ReminderRun, ReminderStep
from svea_web.extensions import db
from svea_web.ledger.models import POST_FEE, CustomerPost
from tests.conftest import Firm
from tests.dunning.conftest import Ledger, digest_of, html, start_run
from tests.jobs.worker_process import run_worker

RUN_DATE = date(2026, 11, 27)
HTMX = {"HX-Request": "true"}


def _counts(run_id: int) -> tuple[int, int, int]:
    db.session.expire_all()
    return (
        db.session.query(ReminderStep).filter_by(run_id=run_id).count(),
        db.session.query(ReminderLetter).filter_by(run_id=run_id).count(),
        db.session.query(CustomerPost).filter_by(kind=POST_FEE).count(),
    )


def _state(run_id: int) -> str:
    db.session.expire_all()
    run = db.session.get(ReminderRun, run_id)
    assert run is not None
    return run.state


def test_the_confirm_request_queues_the_run_and_the_page_polls_until_the_letters_are_made(
    app: Flask, logged_in: FlaskClient, ledger: Ledger, inkasso_firm: Firm, queued_jobs: None
) -> None:
    run_id = start_run(logged_in, RUN_DATE)
    digest = digest_of(logged_in, run_id)
    response = logged_in.post(f"/dunning/runs/{run_id}/confirm", data={"digest": digest})
    assert response.status_code == 302
    # Nothing is applied inside the request: the run waits for the worker.
    assert _state(run_id) == "confirming"
    assert _counts(run_id) == (0, 0, 1)

    page = html(logged_in.get(f"/dunning/runs/{run_id}"))
    assert 'id="confirm-progress"' in page
    assert f'hx-get="/dunning/runs/{run_id}?part=progress" hx-trigger="every 1s"' in page
    waiting = html(logged_in.get(f"/dunning/runs/{run_id}?part=progress", headers=HTMX))
    assert "<html" not in waiting and 'id="confirm-progress"' in waiting
    assert "Bekreftes nå: 27.11.2026" in html(logged_in.get("/dunning/"))
    # A second click on the confirm button queues nothing more.
    again = logged_in.post(f"/dunning/runs/{run_id}/confirm", data={"digest": digest}, follow_redirects=True)
    assert "Kjøringen er allerede bekreftet; ingenting ble gjort på nytt." in html(again)

    finished = run_worker(app)
    assert finished.returncode == 0, finished.stderr
    assert _state(run_id) == "confirmed"
    assert _counts(run_id) == (4, 4, 4)
    # The worker has no login; the audit trail still names the user who confirmed.
    confirmed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "dunning.run_confirm")).one()
    assert confirmed.user_id == inkasso_firm.admin.id

    done = html(logged_in.get(f"/dunning/runs/{run_id}?part=progress", headers=HTMX))
    assert "<html" not in done and "part=progress" not in done
    assert "Kjøringen er bekreftet. Nye trinn: 4. Brev: 4." in done
    assert 'id="letters"' in done and "Kari Nordmann" in done
    assert 'id="mail-status"' in done


def test_a_confirm_job_run_again_applies_nothing_twice(
    app: Flask, logged_in: FlaskClient, ledger: Ledger, queued_jobs: None
) -> None:
    run_id = start_run(logged_in, RUN_DATE)
    logged_in.post(f"/dunning/runs/{run_id}/confirm", data={"digest": digest_of(logged_in, run_id)})
    # "Start bekreftelsen på nytt" while the first job still waits: two jobs for one run.
    assert logged_in.post(f"/dunning/runs/{run_id}/confirm/restart").status_code == 302
    finished = run_worker(app)
    assert finished.returncode == 0, finished.stderr
    assert _counts(run_id) == (4, 4, 4)
    assert jobs.confirm_run(run_id) == "already_confirmed"
    assert _counts(run_id) == (4, 4, 4)


def test_a_confirm_job_that_fails_keeps_nothing_and_hands_the_preview_back(
    logged_in: FlaskClient, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_letters(*args: object) -> None:
        raise RuntimeError("letter builder broke half-way")

    monkeypatch.setattr("svea_web.dunning.letters.build_content", broken_letters)
    run_id = start_run(logged_in, RUN_DATE)
    response = logged_in.post(
        f"/dunning/runs/{run_id}/confirm", data={"digest": digest_of(logged_in, run_id)}, follow_redirects=True
    )
    assert "Bekreftelsen stoppet med en feil, og ingenting av kjøringen ble lagret." in html(response)
    assert _state(run_id) == "preview"
    assert _counts(run_id) == (0, 0, 1)

    monkeypatch.undo()
    response = logged_in.post(
        f"/dunning/runs/{run_id}/confirm", data={"digest": digest_of(logged_in, run_id)}, follow_redirects=True
    )
    assert "Kjøringen er bekreftet. Nye trinn: 4. Brev: 4." in html(response)
    assert "Bekreftelsen stoppet" not in html(response)


def test_a_run_handed_back_while_the_page_polls_reloads_as_the_preview(logged_in: FlaskClient, ledger: Ledger) -> None:
    from svea_web.dunning import services

    run_id = start_run(logged_in, RUN_DATE)
    run = db.session.get(ReminderRun, run_id)
    assert run is not None
    assert services.queue_confirm(run, "0" * 64, RUN_DATE, None).outcome == "queued"
    assert jobs.confirm_run(run_id) == "changed"
    response = logged_in.get(f"/dunning/runs/{run_id}?part=progress", headers=HTMX)
    assert response.headers["HX-Redirect"] == f"/dunning/runs/{run_id}"
    page = html(logged_in.get(f"/dunning/runs/{run_id}"))
    assert "Reskontroen er endret siden forhåndsvisningen." in page
    assert _counts(run_id) == (0, 0, 1)


@pytest.mark.all_backends
def test_two_confirm_jobs_at_the_same_moment_apply_the_run_once(
    app: Flask, logged_in: FlaskClient, ledger: Ledger
) -> None:
    """Two workers pick up the same run (a restart while the first job still ran): one applies it."""
    from svea_web.dunning import services

    run_id = start_run(logged_in, RUN_DATE)
    run = db.session.get(ReminderRun, run_id)
    assert run is not None
    assert services.queue_confirm(run, digest_of(logged_in, run_id), RUN_DATE, None).outcome == "queued"
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def apply_in_own_session() -> None:
        with app.app_context():
            barrier.wait()
            outcomes.append(services.apply_confirmed_run(run_id))
            db.session.remove()

    threads = [threading.Thread(target=apply_in_own_session) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["already_confirmed", "confirmed"]
    assert _counts(run_id) == (4, 4, 4)
