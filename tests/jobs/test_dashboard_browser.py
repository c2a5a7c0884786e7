"""In a real Chromium, under the app's CSRF protection and the dashboard's own CSP, an admin requeues a job."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from rq.job import JobStatus

from svea_web.jobs_queue import enqueue
from tests.conftest import log_in_browser
from tests.jobs import probe

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "WTF_CSRF_ENABLED": True}


def test_an_admin_requeues_a_failed_job_from_the_dashboard(app: Flask, page: Any, live_server: str, firm: Any) -> None:
    from svea_web.extensions import db

    firm.admin.is_operator = True  # the dashboard is the deployment operator's
    db.session.commit()
    app.config["RQ_IS_ASYNC"] = False
    job = enqueue(probe.rejected, firm.client.id, "browser")
    app.config["RQ_IS_ASYNC"] = True
    assert job.get_status(refresh=True) == JobStatus.FAILED
    problems: list[str] = []

    def console(message: Any) -> None:
        # A CSP violation or a script error shows here; failed loads are checked by their responses
        # below (Chromium also asks for /favicon.ico, which is no concern of the dashboard).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    log_in_browser(page, live_server + "/login", firm.admin.email)
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(live_server + "/admin/rq/0/view/jobs/default/failed/8/asc/1")
    row = page.locator(f'tr[data-job-id="{job.id}"]')
    row.get_by_text("Requeue").click()
    row.wait_for(state="detached")

    assert job.get_status(refresh=True) == JobStatus.QUEUED
    assert problems == [], "\n".join(problems)
