"""Periodic jobs: the registry of what the worker runs on a schedule, and the scheduler that runs it.

A feature adds its periodic callable to ``PERIODIC_TASKS`` by dotted path. The callable takes no
arguments, is idempotent, and covers every client firm (it may enqueue one job per firm itself, so
that one firm's failure does not stop the others). An entry whose module does not exist yet is
skipped with a log line, so the registry can name features before they land.

RQ's own cron scheduler (``rq.cron.CronScheduler``, RQ >= 2.5) does the timing. Each worker.py runs
one in a child process, so several worker.py instances would each enqueue every tick; two guards
keep a tick from running twice:

* a leader lease in Redis: only the scheduler holding it enqueues; another one takes over within
  ``LEASE_SECONDS`` when the leader dies, and resumes from the last enqueue time stored in Redis;
* a run lock per task, taken by the job itself: a second run of the same task while one is still
  running (a slow run, a leader change) returns at once without calling the task.

Intervals come from the configuration (environment), e.g. ``SYNC_INTERVAL_SECONDS``.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from redis import Redis
from redis.exceptions import LockError
from redis.lock import Lock
from rq import get_current_job
from rq.cron import CronJob, CronScheduler

from svea_web.jobs_queue import get_redis

log = logging.getLogger(__name__)


DEFAULT_TIMEOUT = 15 * 60


@dataclass(frozen=True)
class PeriodicTask:
    name: str  # stable: it names the Redis keys and RQ's cron history
    func: str  # dotted path of a callable without arguments
    interval_setting: str  # configuration key (environment variable) with the interval in seconds
    default_interval: int
    queue: str = "low"
    timeout: int = DEFAULT_TIMEOUT


PERIODIC_TASKS: tuple[PeriodicTask, ...] = (
    # Flow 6: one delta poll per client firm with open cases.
    PeriodicTask("svea-status-sync", "svea_web.collection.jobs.sync_all_clients", "SYNC_INTERVAL_SECONDS", 300),
    # Flow 9: money collected by Svea, booked as payments.
    PeriodicTask(
        "svea-settlements", "svea_web.payments.jobs.fetch_all_settlements", "SETTLEMENT_INTERVAL_SECONDS", 3600
    ),
    # RULES.md: paused reminders whose pause has ended go on with their next step.
    PeriodicTask("resume-reminders", "svea_web.dunning.jobs.resume_expired_pauses", "REMINDER_INTERVAL_SECONDS", 3600),
)

LEADER_KEY = "svea:periodic:leader"
# Longer than the 60 s the cron loop sleeps at most, so a living leader always renews in time.
LEASE_SECONDS = 90


def _last_run_key(name: str) -> str:
    return f"svea:periodic:{name}:last"


def _run_lock_key(name: str) -> str:
    return f"svea:periodic:{name}:running"


def interval_of(task: PeriodicTask, config: Mapping[str, Any]) -> int:
    raw = config.get(task.interval_setting) or os.environ.get(task.interval_setting)
    seconds = int(raw) if raw else task.default_interval
    if seconds < 1:
        raise ValueError(f"{task.interval_setting} must be at least 1 second")
    return seconds


def resolve(path: str) -> Callable[[], Any] | None:
    """The callable at ``path``, or None (logged) when its module or the name does not exist yet."""
    module_name, _, attr = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            log.info("periodic task %s skipped: module %s does not exist yet", path, module_name)
            return None
        raise  # the module exists but one of its own imports is missing: a real error
    func = getattr(module, attr, None)
    if func is None:
        log.warning("periodic task %s skipped: %s has no %s", path, module_name, attr)
        return None
    return func


def run_periodic(name: str, func_path: str) -> str:
    """The job the scheduler enqueues: run one task unless a run of it is still going on."""
    func = resolve(func_path)
    if func is None:
        return "missing"
    job = get_current_job()
    ttl = (job.timeout if job is not None and job.timeout else DEFAULT_TIMEOUT) + 60
    lock = Lock(get_redis(), _run_lock_key(name), timeout=ttl, blocking=False, thread_local=False)
    if not lock.acquire(blocking=False):
        log.info("periodic task %s skipped: a run of it is still going on", name)
        return "skipped"
    try:
        func()
    finally:
        try:
            lock.release()
        except LockError:
            log.warning("periodic task %s ran longer than its lock (%s s)", name, ttl)
    return "done"


class PeriodicScheduler(CronScheduler):
    """RQ's cron scheduler that enqueues only while it holds the leader lease."""

    def __init__(self, connection: Redis, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        self._lease = Lock(connection, LEADER_KEY, timeout=LEASE_SECONDS, blocking=False, thread_local=False)
        self.leading = False

    def is_leader(self) -> bool:
        if self.leading:
            try:
                self._lease.reacquire()
                return True
            except LockError:
                self.leading = False
                self.log.warning("periodic scheduler %s lost its lease", self.name)
        if self._lease.acquire(blocking=False):
            self.leading = True
            self._resume_last_runs()
            self.log.info("periodic scheduler %s leads", self.name)
        return self.leading

    def _resume_last_runs(self) -> None:
        for cron_job in self.get_jobs():
            raw = cast(bytes | None, self.connection.get(_last_run_key(cron_job.name)))
            if raw:
                cron_job.set_enqueue_time(datetime.fromtimestamp(float(raw), UTC))

    def enqueue_jobs(self) -> list[CronJob]:
        if not self.is_leader():
            return []
        enqueued = super().enqueue_jobs()
        for cron_job in enqueued:
            assert cron_job.latest_enqueue_time is not None
            self.connection.set(
                _last_run_key(cron_job.name), cron_job.latest_enqueue_time.timestamp(), ex=7 * 24 * 3600
            )
        return enqueued

    def release_lease(self) -> None:
        if self.leading:
            self.leading = False
            # An expired lease may be another scheduler's by now: nothing to release then.
            with contextlib.suppress(LockError):
                self._lease.release()

    def register_death(self, pipeline: Any = None) -> None:
        try:
            super().register_death(pipeline)
        finally:
            self.release_lease()


def available_tasks(
    config: Mapping[str, Any], tasks: Sequence[PeriodicTask] = PERIODIC_TASKS
) -> list[tuple[PeriodicTask, int]]:
    """The tasks whose callables exist, with their intervals."""
    return [(task, interval_of(task, config)) for task in tasks if resolve(task.func) is not None]


def build_scheduler(
    connection: Redis, config: Mapping[str, Any], tasks: Sequence[PeriodicTask] = PERIODIC_TASKS
) -> PeriodicScheduler:
    scheduler = PeriodicScheduler(connection, logging_level=str(config.get("LOG_LEVEL", "INFO")))
    for task, interval in available_tasks(config, tasks):
        scheduler.register(
            run_periodic,
            task.queue,
            args=(task.name, task.func),
            interval=interval,
            job_timeout=task.timeout,
            name=task.name,
        )
    return scheduler
