"""Job functions for the job-system tests. A worker subprocess imports them from the repository root."""

from __future__ import annotations

import time

from svea_web import audit
from svea_web.extensions import db
from svea_web.jobs_queue import TransientJobError, get_redis
from svea_web.svea.errors import SveaRejected


def attempts(key: str) -> int:
    return int(get_redis().get(f"probe:{key}:attempts") or 0)


def _attempt(key: str) -> int:
    return int(get_redis().incr(f"probe:{key}:attempts"))


def flaky(client_id: int, key: str, failures: int) -> str:
    """Fails transiently ``failures`` times, then records its success in the audit trail."""
    n = _attempt(key)
    if n <= failures:
        raise TransientJobError(f"Svea svarer ikke (forsøk {n})")
    audit.record(client_id, "probe.done", "probe", key, f"ok after {n} attempts")
    db.session.commit()
    return "ok"


def rejected(client_id: int, key: str) -> None:
    """Fails permanently, the way Svea refuses a case it cannot take."""
    _attempt(key)
    audit.record(client_id, "probe.half-done", "probe", key, "must never be committed")
    db.session.flush()
    raise SveaRejected("Debitor mangler adresse", status=422)


def gave_up(client_id: int, key: str, *_rest: object, reason: str) -> None:
    audit.record(client_id, "probe.gave_up", "probe", key, reason)


def tick() -> None:
    """A periodic task: counts its runs, and takes a moment so that runs can overlap."""
    get_redis().incr("probe:tick:runs")
    time.sleep(0.5)


def tick_until_the_other_run_is_over() -> None:
    """A periodic task that keeps running until the other job of the low queue has ended.

    Two runs can then only both happen if they overlap, so the test sees whether the lock held.
    """
    from rq import Queue

    get_redis().incr("probe:tick:runs")
    finished = Queue("low", connection=get_redis()).finished_job_registry
    deadline = time.monotonic() + 30
    while finished.get_job_count() < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
