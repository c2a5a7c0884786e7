"""The app's own entry points for the end-to-end runs, on a faster clock.

    gunicorn ... 'tests.e2e.launch:app_under_test()'      # the web app
    python -m tests.e2e.launch [worker.py arguments]       # worker.py

Production retries a Svea job after 10 s, 40 s, 2m40s, ..., resumes a job whose worker died after 10
minutes, gives Svea 30 s to answer, and lets the periodic scheduler's leader lease run 90 s. A fault run
in CI has about a minute. Those waits are constants in the code (jobs_queue.SVEA_RETRY,
collection.services.STALLED_AFTER, periodic.LEASE_SECONDS) or app settings the environment cannot set
(SVEA_READ_TIMEOUT), so the launched processes take shorter ones from the JSON in E2E_TIMING:

    {"SVEA_READ_TIMEOUT": 1.0, "retry_intervals": [1, 1, 2, 2, 4], "stalled_after": 15, "lease_seconds": 10}

The number of retries stays production's. Nothing else differs from production: the same create_app,
the same worker.py main(), the same RQ.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from typing import Any

from flask import Flask
from rq import Retry

# Keys of E2E_TIMING that are app settings (the rest replace module constants).
APP_SETTINGS = ("SVEA_READ_TIMEOUT", "SVEA_CONNECT_TIMEOUT", "SVEA_BACKOFF_SECONDS")


def _timing() -> dict[str, Any]:
    timing: dict[str, Any] = json.loads(os.environ.get("E2E_TIMING") or "{}")
    return timing


def _replace(name: str, value: Any) -> None:
    """`name` in every svea_web module that holds it (a `from ... import NAME` copies the binding)."""
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith("svea_web") and hasattr(module, name):
            setattr(module, name, value)


def shorten_waits() -> None:
    """Put E2E_TIMING's constants into the app's modules; call it after create_app has imported them."""
    timing = _timing()
    from svea_web import jobs_queue

    if "retry_intervals" in timing:
        production: Retry = jobs_queue.SVEA_RETRY
        intervals = [int(seconds) for seconds in timing["retry_intervals"]]
        intervals += intervals[-1:] * (production.max - len(intervals))
        _replace("SVEA_RETRY", Retry(max=production.max, interval=intervals[: production.max]))
    if "stalled_after" in timing:
        _replace("STALLED_AFTER", timedelta(seconds=float(timing["stalled_after"])))
    if "lease_seconds" in timing:
        _replace("LEASE_SECONDS", int(timing["lease_seconds"]))


def _make_app(create_app: Any) -> Flask:
    timing = _timing()
    app: Flask = create_app({key: timing[key] for key in APP_SETTINGS if key in timing} or None)
    shorten_waits()
    return app


def app_under_test() -> Flask:
    from svea_web import create_app

    return _make_app(create_app)


def run_worker(argv: list[str]) -> None:
    import worker

    make_app = worker.create_app
    worker.create_app = lambda: _make_app(make_app)  # type: ignore[assignment,misc]
    worker.main(argv)


if __name__ == "__main__":
    run_worker(sys.argv[1:])
