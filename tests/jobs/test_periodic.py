"""Periodic jobs: RQ's cron scheduler, one leader among several workers, one run at a time per task."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from flask import Flask
from rq import Queue

from svea_web.jobs_queue import get_redis
from svea_web.periodic import PERIODIC_TASKS, PeriodicTask, build_scheduler, resolve, run_periodic
from tests.jobs import probe
from tests.jobs.worker_process import run_worker

TICK = PeriodicTask("probe-tick", "tests.jobs.probe.tick", "PROBE_INTERVAL_SECONDS", 3600)
OVERLAPPING = PeriodicTask(
    "probe-overlap", "tests.jobs.probe.tick_until_the_other_run_is_over", "PROBE_INTERVAL_SECONDS", 3600
)


def runs() -> int:
    return int(get_redis().get("probe:tick:runs") or 0)


def test_two_runs_of_one_task_at_once_call_it_once(app: Flask) -> None:
    results: list[str] = []

    def run() -> None:
        with app.app_context():
            results.append(run_periodic(TICK.name, TICK.func))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["done", "skipped"]
    assert runs() == 1
    # The lock is gone with the run: the next tick runs again.
    assert run_periodic(TICK.name, TICK.func) == "done"
    assert runs() == 2


def test_two_workers_picking_up_the_same_tick_run_it_once(app: Flask) -> None:
    """Two ticks of one task wait in the queue; `worker.py --workers 2` takes them at the same time."""
    from svea_web.periodic import run_periodic as job

    low = Queue("low", connection=get_redis())
    for _ in range(2):
        low.enqueue(job, OVERLAPPING.name, OVERLAPPING.func)

    result = run_worker(app, "--workers", "2")

    assert result.returncode == 0, result.stderr
    assert runs() == 1
    assert "skipped: a run of it is still going on" in result.stderr
    assert low.finished_job_registry.get_job_count() == 2


def test_only_the_leading_scheduler_enqueues(app: Flask) -> None:
    connection = get_redis()
    config = {"PROBE_INTERVAL_SECONDS": 3600}
    first = build_scheduler(connection, config, [TICK])
    second = build_scheduler(connection, config, [TICK])
    first.register_birth()  # as CronScheduler.start() does
    second.register_birth()
    low = Queue("low", connection=connection)

    assert [job.name for job in first.enqueue_jobs()] == ["probe-tick"]
    assert second.enqueue_jobs() == []
    assert first.enqueue_jobs() == []  # not due again for an hour
    assert low.count == 1

    # The leader stops; its successor takes over but knows the tick was just enqueued.
    first.register_death()
    assert second.enqueue_jobs() == []
    assert second.leading
    assert low.count == 1


def test_a_successor_enqueues_once_the_interval_has_passed(app: Flask) -> None:
    connection = get_redis()
    config = {"PROBE_INTERVAL_SECONDS": 1}
    first = build_scheduler(connection, config, [TICK])
    first.register_birth()
    assert len(first.enqueue_jobs()) == 1
    first.register_death()
    second = build_scheduler(connection, config, [TICK])
    time.sleep(1.1)
    assert len(second.enqueue_jobs()) == 1
    assert Queue("low", connection=connection).count == 2


def test_a_tick_enqueued_by_the_scheduler_is_run_by_a_worker(app: Flask) -> None:
    scheduler = build_scheduler(get_redis(), {}, [TICK])
    [cron_job] = scheduler.get_jobs()
    assert cron_job.interval == 3600
    scheduler.enqueue_jobs()

    result = run_worker(app)

    assert result.returncode == 0, result.stderr
    assert runs() == 1


def test_intervals_come_from_the_configuration(app: Flask) -> None:
    scheduler = build_scheduler(get_redis(), {"PROBE_INTERVAL_SECONDS": "45"}, [TICK])
    assert [job.interval for job in scheduler.get_jobs()] == [45]
    settings = {task.interval_setting for task in PERIODIC_TASKS}
    assert "SYNC_INTERVAL_SECONDS" in settings
    with pytest.raises(ValueError, match="PROBE_INTERVAL_SECONDS"):
        build_scheduler(get_redis(), {"PROBE_INTERVAL_SECONDS": "0"}, [TICK])


def test_a_task_whose_module_does_not_exist_yet_is_skipped_and_logged(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    missing = PeriodicTask("later", "svea_web.not_written_yet.jobs.run", "PROBE_INTERVAL_SECONDS", 60)
    no_function = PeriodicTask("typo", "tests.jobs.probe.no_such_function", "PROBE_INTERVAL_SECONDS", 60)
    with caplog.at_level(logging.INFO, logger="svea_web.periodic"):
        scheduler = build_scheduler(get_redis(), {}, [missing, no_function, TICK])
    assert [job.name for job in scheduler.get_jobs()] == ["probe-tick"]
    assert "svea_web.not_written_yet.jobs does not exist yet" in caplog.text
    assert "tests.jobs.probe has no no_such_function" in caplog.text


def test_a_module_that_exists_but_fails_to_import_is_an_error() -> None:
    assert resolve("tests.jobs.probe.tick") is probe.tick
    with pytest.raises(ModuleNotFoundError, match="svea_web_no_such_dependency"):
        resolve("tests.jobs.broken_module.task")
