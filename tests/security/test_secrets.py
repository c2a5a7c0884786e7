"""Secrets: the Svea password typed into Oppsett Svea is stored encrypted and never shown again (not in
a page, a log line, the audit trail or an error); the SMTP password comes from the environment only;
jobs stored in Redis carry ids, never a password or a person's data."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from rq.job import Job
from sqlalchemy import select, text

from svea_web.accounts.models import AuditEvent
from svea_web.crypto import decrypt_secret
from svea_web.extensions import db
from svea_web.logging_setup import JsonFormatter
from svea_web.setup.models import SveaSettings

from . import urlmap
from .conftest import Worlds, log_in
from .test_isolation import HTMX, rich_form

NEW_PASSWORD = "nytt-svea-passord-7731"
SMTP_PASSWORD = "smtp-passord-fra-miljoet-55"
# What a job argument may be: an id, a short key or a dotted name, never free text.
ID_LIKE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Every log line, as the app's JSON handler writes it (what ends up in the platform's log)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def smtp_app(make_app: Callable[..., Flask]) -> Flask:
    # An SMTP server that refuses connections: the send jobs run, fail and store their errors.
    return make_app(SMTP_HOST="127.0.0.1", SMTP_PORT=9, SMTP_USERNAME="svea-web", SMTP_PASSWORD=SMTP_PASSWORD)


def test_the_svea_password_from_the_settings_form_is_stored_encrypted_and_never_shown(
    smtp_app: Flask, worlds: Worlds, logs: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    browser = log_in(smtp_app.test_client(), worlds.a.admin_id)
    answers = [
        browser.post(
            "/settings/svea",
            data={
                "customer_no": "10042",
                "username": "demo-regnskap",
                "password": NEW_PASSWORD,
                "handover_level": "inkasso",
                "kid_length": "25",
            },
        )
    ]
    assert answers[0].status_code == 302, answers[0].get_data(as_text=True)
    answers.append(browser.get("/settings/svea"))
    answers.append(browser.post("/settings/svea/test"))
    answers.append(browser.post("/settings/svea/test", headers=HTMX))
    answers.append(browser.get("/collection/"))
    for answer in answers:
        assert NEW_PASSWORD not in answer.get_data(as_text=True)
    page = answers[1].get_data(as_text=True)
    assert 'type="password"' in page
    assert re.search(r'<input[^>]*name="password"[^>]*value="[^"]', page) is None, "the field comes back empty"

    stored = db.session.scalar(
        select(SveaSettings.password_encrypted).where(SveaSettings.client_id == worlds.a.client_id)
    )
    assert stored is not None and NEW_PASSWORD not in stored
    assert decrypt_secret(stored) == NEW_PASSWORD
    raw = db.session.execute(text("SELECT * FROM svea_settings")).all()
    assert NEW_PASSWORD not in repr(raw)
    trail = db.session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "setup.svea_saved")).all()
    assert trail and all(NEW_PASSWORD not in (detail or "") for detail in trail)
    assert caplog.records, "the requests logged something"
    assert NEW_PASSWORD not in caplog.text
    assert NEW_PASSWORD not in logs.getvalue()


def redis_of(app: Flask) -> Redis:
    return Redis.from_url(app.config["REDIS_URL"])


def every_value(redis: Redis) -> Iterator[tuple[str, bytes]]:
    """Every value stored in the tests' Redis database, job payloads unpacked."""
    for key in redis.scan_iter():
        kind = redis.type(key)
        name = key.decode()
        if kind == b"string":
            yield name, redis.get(key) or b""
        elif kind == b"hash":
            for field, value in redis.hgetall(key).items():
                if field == b"data":
                    with contextlib.suppress(zlib.error):
                        value = zlib.decompress(value)
                yield f"{name}[{field.decode()}]", value
        elif kind == b"list":
            yield name, b" ".join(redis.lrange(key, 0, -1))
        elif kind == b"set":
            yield name, b" ".join(redis.smembers(key))
        elif kind == b"zset":
            yield name, b" ".join(redis.zrange(key, 0, -1))


def run_every_action(app: Flask, worlds: Worlds) -> None:
    """Every POST of the URL map with a filled-in form: the app's flows, and the jobs they start."""
    browser = log_in(app.test_client(), worlds.a.admin_id)
    form = rich_form(worlds.a)
    for c in urlmap.own_calls(app, worlds.a):
        if c.method in urlmap.STATE_CHANGING and c.rule.endpoint != "accounts.logout":
            browser.open(c.url, method=c.method, data=form)
    browser.get("/collection/")


def job_ids(redis: Redis) -> list[str]:
    keys = (key.decode() for key in redis.scan_iter("rq:job:*"))
    return sorted({m.group(1) for key in keys if (m := re.fullmatch(r"rq:job:([\w-]+)", key))})


def test_jobs_carry_ids_only_and_no_password_is_in_redis_or_the_rq_dashboard(smtp_app: Flask, worlds: Worlds) -> None:
    run_every_action(smtp_app, worlds)
    redis = redis_of(smtp_app)
    ids = job_ids(redis)
    assert len(ids) > 10, "the flows should have started jobs"
    personal = [w.tag for w in (worlds.a, worlds.b)]
    failures = []
    for job_id in ids:
        job = Job.fetch(job_id, connection=redis)
        arguments = [*job.args, *job.kwargs.values()]
        for value in arguments:
            if (
                isinstance(value, bool)
                or not isinstance(value, int | str)
                or (isinstance(value, str) and not ID_LIKE.fullmatch(value))
            ):
                failures.append(f"job {job.func_name} has the argument {value!r}: not an id")
        if any(tag in repr(arguments) or tag in (job.description or "") for tag in personal):
            failures.append(f"job {job.func_name} carries a person's data")
    secrets = [worlds.a.svea_password, worlds.b.svea_password, SMTP_PASSWORD]
    for name, value in every_value(redis):
        failures += [f"Redis {name} holds a password" for secret in secrets if secret.encode() in value]

    browser = log_in(smtp_app.test_client(), worlds.operator_id)
    pages: list[Any] = [browser.get("/admin/rq/0/view/jobs")]
    pages += [browser.get(f"/admin/rq/0/data/jobs/default/{r}/100/asc/1.json") for r in ("finished", "failed")]
    pages += [browser.get(f"/admin/rq/0/data/job/{job_id}.json") for job_id in ids]
    assert any(page.status_code == 200 for page in pages)
    for page in pages:
        failures += [f"{page.request.path} shows a password" for s in secrets if s.encode() in page.data]
    assert not failures, "\n".join(failures)


def test_the_smtp_password_is_read_from_the_environment_and_not_stored(smtp_app: Flask) -> None:
    assert smtp_app.config["SMTP_PASSWORD"] == SMTP_PASSWORD
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(select(table)).all()
        assert SMTP_PASSWORD not in repr(rows), table.name
