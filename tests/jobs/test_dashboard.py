"""The RQ dashboard at /admin/rq: administrators of the current firm only, its actions CSRF-protected."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import pytest
from flask import Flask, g
from rq import Queue
from rq.job import Job, JobStatus

from svea_web.jobs_queue import enqueue, get_redis
from tests.conftest import PASSWORD
from tests.jobs import probe

SAME_ORIGIN = {"Origin": "http://localhost"}


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "WTF_CSRF_ENABLED": True}


@pytest.fixture(autouse=True)
def operator(firm: Any) -> Any:
    """The firm's admin is also the deployment's operator here; the dashboard lists every firm's jobs."""
    from svea_web.extensions import db

    firm.admin.is_operator = True
    db.session.commit()
    return firm.admin


def test_a_firm_admin_who_is_not_the_operator_is_refused(client: Any, firm: Any) -> None:
    from svea_web.extensions import db

    firm.admin.is_operator = False
    db.session.commit()
    log_in(client, firm.admin)
    assert client.get("/admin/rq/").status_code == 403
    assert client.get("/admin/rq/0/data/queues.json").status_code == 403


def log_in(client: Any, user: Any) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert token, page
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token.group(1)})
    assert response.status_code == 302, response.get_data(as_text=True)
    # The test's requests share one app context; a real next request would not see the token Flask-WTF
    # cached in g before the login cleared the session.
    g.pop("csrf_token", None)


def failed_job(app: Flask, firm: Any) -> Job:
    app.config["RQ_IS_ASYNC"] = False
    job = enqueue(probe.rejected, firm.client.id, "dash")
    app.config["RQ_IS_ASYNC"] = True
    assert job.get_status(refresh=True) == JobStatus.FAILED
    return job


def dashboard_token(client: Any) -> str:
    response = client.get("/admin/rq/")
    assert response.status_code == 200
    cookie = client.get_cookie("_csrf_token", path="/admin/rq")
    assert cookie is not None
    return str(cookie.value)


def test_an_administrator_sees_the_dashboard(client: Any, firm: Any) -> None:
    log_in(client, firm.admin)
    response = client.get("/admin/rq/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "RQ dashboard" in html
    # Its inline script runs by hash, nothing else inline does.
    inline = re.search(r'<script type="text/javascript">(.*?)</script>', html, re.S)
    assert inline is not None
    digest = base64.b64encode(hashlib.sha256(inline.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" in response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"].split("style-src")[0]
    assert client.get("/admin/rq/0/data/queues.json").status_code == 200


def test_a_normal_user_is_refused(client: Any, firm: Any) -> None:
    log_in(client, firm.user)
    assert client.get("/admin/rq/").status_code == 403
    assert client.get("/admin/rq/0/data/queues.json").status_code == 403


def test_an_anonymous_visitor_is_sent_to_the_login(client: Any, firm: Any) -> None:
    response = client.get("/admin/rq/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_same_origin_post_with_the_token_requeues_a_failed_job(app: Flask, client: Any, firm: Any) -> None:
    job = failed_job(app, firm)
    log_in(client, firm.admin)
    token = dashboard_token(client)
    response = client.post(f"/admin/rq/job/{job.id}/requeue", headers={**SAME_ORIGIN, "X-CSRFToken": token})
    assert response.status_code == 200
    assert response.get_json() == {"status": "OK"}
    assert job.get_status(refresh=True) == JobStatus.QUEUED
    assert Queue("default", connection=get_redis()).job_ids == [job.id]


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://evil.example"}, {"Referer": "https://evil.example/admin/rq/"}, {}, {"Origin": "null"}],
    ids=["foreign-origin", "foreign-referer", "no-origin", "null-origin"],
)
def test_a_post_from_another_origin_is_refused(app: Flask, client: Any, firm: Any, headers: dict[str, str]) -> None:
    job = failed_job(app, firm)
    log_in(client, firm.admin)
    token = dashboard_token(client)
    response = client.post(f"/admin/rq/job/{job.id}/delete", headers={**headers, "X-CSRFToken": token})
    assert response.status_code == 403
    assert job.get_status(refresh=True) == JobStatus.FAILED


def test_a_post_without_the_token_is_refused(app: Flask, client: Any, firm: Any) -> None:
    job = failed_job(app, firm)
    log_in(client, firm.admin)
    dashboard_token(client)
    response = client.post(f"/admin/rq/job/{job.id}/delete", headers=SAME_ORIGIN)
    assert response.status_code == 400
    assert job.get_status(refresh=True) == JobStatus.FAILED


def test_a_normal_user_cannot_post_even_with_a_token(app: Flask, client: Any, firm: Any) -> None:
    job = failed_job(app, firm)
    log_in(client, firm.user)
    page = client.get("/ledger/posts").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page)
    assert token is not None
    response = client.post(f"/admin/rq/job/{job.id}/requeue", headers={**SAME_ORIGIN, "X-CSRFToken": token.group(1)})
    assert response.status_code == 403
    assert job.get_status(refresh=True) == JobStatus.FAILED


def test_requeue_all_cannot_be_triggered_by_a_link(app: Flask, client: Any, firm: Any) -> None:
    job = failed_job(app, firm)
    log_in(client, firm.admin)
    assert client.get("/admin/rq/requeue/default").status_code == 405
    assert job.get_status(refresh=True) == JobStatus.FAILED


def test_the_dashboard_shows_ids_not_secrets(app: Flask, client: Any, firm: Any) -> None:
    job = failed_job(app, firm)
    log_in(client, firm.admin)
    data = client.get(f"/admin/rq/0/data/job/{job.id}.json").get_json()
    assert data["description"] == f"tests.jobs.probe.rejected({firm.client.id}, 'dash')"
    assert "Debitor mangler adresse" in data["exc_info"]
