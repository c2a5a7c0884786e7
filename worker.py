"""The RQ worker for svea_web: `python worker.py` (Procfile `worker`), started by `svea-web run` too.

It runs WORKER_COUNT (default 1) worker processes on the queues high, default and low, the way
`rq worker-pool` does, each with RQ's scheduler for delayed retries, and one child process with the
periodic scheduler (svea_web.periodic). Several worker.py instances may run at once.

Each worker process runs its jobs itself (RQ's SimpleWorker), not in a work horse forked per job:
a fork of the app costs about 40 ms of CPU and every fresh horse compiles its SQL again, which made a
bulk hand-over of 1,000 cases cost three times the CPU (bench/bench_collection.py). What the fork gave
is kept otherwise: each job runs in an app context of its own and its session is removed afterwards, so
one job's broken transaction never reaches the next; a job that overruns its timeout is stopped by
RQ's death penalty; and a worker retires after MAX_JOBS_PER_WORKER jobs, the pool starting a fresh one
in its place, so a slow leak cannot grow for ever. A worker killed mid-job loses nothing: the job is
found abandoned in RQ's started registry, and our jobs are safe to run twice.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from multiprocessing import get_context
from multiprocessing.process import BaseProcess
from typing import Any

import rq.logutils
from flask import Flask, current_app
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.worker_pool import WorkerPool
from sqlalchemy.orm import configure_mappers

from svea_web import create_app
from svea_web.extensions import db
from svea_web.jobs_queue import QUEUE_NAMES, JobLogFilter, get_redis, running
from svea_web.periodic import available_tasks, build_scheduler

log = logging.getLogger("svea_web.worker")


MAX_JOBS_PER_WORKER = 2000
# How often a worker runs RQ's maintenance, which also takes over the scheduler of delayed retries when the
# worker that ran it died (its lock expires 61 s after its last heartbeat). RQ's default is 10 minutes: a
# crashed worker then left every retry waiting that long (bench/bench_fault_run.py showed 644 overdue).
MAINTENANCE_INTERVAL_SECONDS = 30


class SveaWorker(SimpleWorker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL_SECONDS)
        super().__init__(*args, **kwargs)

    def work(self, *args: Any, **kwargs: Any) -> bool:
        # The pool forked this process from one that may hold pooled connections: open our own.
        db.engine.dispose(close=False)
        kwargs.setdefault("max_jobs", MAX_JOBS_PER_WORKER)
        return super().work(*args, **kwargs)

    def perform_job(self, job: Job, queue: Queue) -> bool:
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        with app.app_context(), running(job):
            try:
                return super().perform_job(job, queue)
            finally:
                db.session.remove()


def run_periodic_scheduler(redis_url: str, config: dict[str, Any]) -> None:
    """Child process: RQ's cron scheduler for the registered periodic tasks (until SIGTERM/SIGINT)."""
    connection = Redis.from_url(redis_url)
    build_scheduler(connection, config).start()


class SveaWorkerPool(WorkerPool):
    """RQ's worker pool plus one periodic-scheduler process, kept alive like the workers."""

    def __init__(self, *args: Any, app: Flask, periodic: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._app = app
        self._periodic = periodic
        self._scheduler: BaseProcess | None = None

    def check_workers(self, respawn: bool = True) -> None:
        super().check_workers(respawn)
        if not (self._periodic and respawn and self.status == self.Status.STARTED):
            return
        if self._scheduler is not None and self._scheduler.is_alive():
            return
        if self._scheduler is not None:
            self.log.warning("periodic scheduler exited with %s; starting it again", self._scheduler.exitcode)
        config = dict(self._app.config)
        self._scheduler = get_context("fork").Process(
            target=run_periodic_scheduler,
            args=(self._app.config["REDIS_URL"], config),
            name="svea-periodic-scheduler",
        )
        self._scheduler.start()

    def stop_workers(self) -> None:
        super().stop_workers()
        if self._scheduler is not None and self._scheduler.is_alive() and self._scheduler.pid:
            os.kill(self._scheduler.pid, signal.SIGTERM)

    def all_workers_have_stopped(self) -> bool:
        workers_stopped = super().all_workers_have_stopped()
        if self._scheduler is not None:
            self._scheduler.join(0.1)
            if self._scheduler.is_alive():
                return False
        return workers_stopped


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="worker.py", description="Run svea_web's RQ workers.")
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WORKER_COUNT") or 1),
        help="worker processes (env WORKER_COUNT, default 1)",
    )
    parser.add_argument("--burst", action="store_true", help="run the queued jobs, then exit (tests)")
    parser.add_argument("--no-periodic", action="store_true", help="do not run the periodic scheduler")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")

    app = create_app()
    app.app_context().push()
    # Configured once here, before the pool forks its workers.
    configure_mappers()
    # JSON log lines: no terminal colour codes in the messages, and the job's ids on every line.
    rq.logutils.colorizer.notty = True
    for handler in logging.getLogger().handlers:
        handler.addFilter(JobLogFilter())

    periodic = not args.burst and not args.no_periodic
    if periodic and not available_tasks(app.config):
        log.info("no periodic task is available yet; the periodic scheduler is not started")
        periodic = False
    pool = SveaWorkerPool(
        QUEUE_NAMES,
        connection=get_redis(),
        num_workers=args.workers,
        worker_class=SveaWorker,
        app=app,
        periodic=periodic,
    )
    log.info("starting %s worker(s) on %s%s", args.workers, ", ".join(QUEUE_NAMES), " (burst)" if args.burst else "")
    pool.start(burst=args.burst, logging_level=str(app.config.get("LOG_LEVEL", "INFO")))
    sys.exit(0)


if __name__ == "__main__":
    main()
