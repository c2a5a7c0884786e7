"""Every page, walked once from the URL map as the first firm's administrator (who is also the deployment's
operator, so the job dashboard and the shared figure tables are walked too), full and as an HTMX
fragment, after a ``<script>`` was stored in every free-text field of the firm and a known Svea and
SMTP password were set. The tests below each read one property off that walk:

- every text shown is escaped (the stored script never comes back as markup),
- every answer carries the security headers (CSP without inline code, nosniff, referrer, no framing),
- no page, log line or error page shows a password,
- no GET writes to the database.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import JSON, String, Text, delete, select, update
from werkzeug.http import parse_options_header

from svea_web.accounts.models import Client, User
from svea_web.extensions import db
from svea_web.logging_setup import JsonFormatter
from svea_web.setup.models import FigureRow

from . import urlmap
from .conftest import Template, Worlds, WriteLog, changed_tables, copy_app, firm_condition, log_in, snapshot, tables
from .test_isolation import HTMX

# A quote and a character outside Latin-1 too: a text that ends up in a header (a download's file
# name) must neither add header parameters nor make the header unsendable.
SCRIPT = '<script>alert("{n}\u2013")</script>'
RAW_SCRIPT = b"<script>alert("
SMTP_PASSWORD = "smtp-hemmelig-passord-91"

# Writes a GET may make, by table, and why they are harmless. None so far: even opening Inkassosaker
# asks for its status sync with a POST once the page is loaded.
ALLOWED_GET_WRITES: dict[str, str] = {}

# Columns that hold the app's own codes, keys and validated numbers, not text a person or a file
# wrote: a script there would break the row, not test the escaping.
CODE_COLUMNS = {
    "kind",
    "state",
    "status",
    "level",
    "source",
    "direction",
    "role",
    "locale",
    "currency",
    "purpose",
    "matched_by",
    "close_status",
    "handover_level",
    "action",
    "object_type",
    "content_type",
    "base_url",
    "sha256",
    "idempotency_key",
    "close_idempotency_key",
    "dedupe_key",
    "request_token",
    "message_id",
    "batch_key",
    "external_id",
    "request_id",
    "session_token",
    "password_hash",
    "password_encrypted",
    "email",  # the login name of a user; customers' addresses are checked by their other texts
    "svea_settings.customer_no",  # the settings form takes letters, digits and dashes only
}
# Keys of the JSON documents (a letter's frozen content, an import's preview) the app branches on.
CODE_KEYS = {"kind", "line", "step_no", "post_id"}


def free_text_columns(table: Any) -> list[Any]:
    return [
        column
        for column in table.columns
        if isinstance(column.type, String | Text)
        and column.name not in CODE_COLUMNS
        and f"{table.name}.{column.name}" not in CODE_COLUMNS
        and (getattr(column.type, "length", None) or 1000) >= len(SCRIPT.format(n=999))
    ]


class Scripts:
    def __init__(self) -> None:
        self.count = 0

    def next(self) -> str:
        self.count += 1
        return SCRIPT.format(n=self.count)

    def into_json(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: self.into_json(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.into_json(v, key) for v in value]
        if isinstance(value, str) and key not in CODE_KEYS and not _is_date_or_amount(value):
            return self.next()
        return value


def _is_date_or_amount(text: str) -> bool:
    """Dates and amounts (``"1200.00"``) the letter computes with; numbers like a customer number are text."""
    try:
        date.fromisoformat(text)
        return True
    except ValueError:
        pass
    try:
        return "." in text and Decimal(text).is_finite()
    except InvalidOperation:
        return False


def store_scripts(client_id: int, user_ids: list[int]) -> int:
    """A different ``<script>`` in every free-text column of every row of the firm; how many."""
    scripts = Scripts()
    firm_rows = firm_condition(client_id)
    for table in tables():
        if table.name == Client.__tablename__:
            condition = table.c.id == client_id
        elif table.name == User.__tablename__:
            condition = table.c.id.in_(user_ids)
        else:
            condition = firm_rows(table)
        texts = free_text_columns(table)
        documents = [c for c in table.columns if isinstance(c.type, JSON)]
        if not texts and not documents:
            continue
        key = list(table.primary_key.columns)
        for row in db.session.execute(select(table).where(condition)).mappings().all():
            values = {c.name: scripts.next() for c in texts}
            values |= {c.name: scripts.into_json(row[c.name]) for c in documents if row[c.name] is not None}
            db.session.execute(update(table).where(*(k == row[k.name] for k in key)).values(**values))
    db.session.commit()
    return scripts.count


@dataclass
class Answer:
    label: str
    status: int
    mimetype: str
    headers: dict[str, str]
    body: bytes
    writes: list[str] = field(default_factory=list)


@dataclass
class Walk:
    answers: list[Answer]
    logs: str
    scripts: int
    svea_password: str
    changed: list[str]
    db_file: Path


@pytest.fixture(scope="module")
def walk(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walk]:
    folder = tmp_path_factory.mktemp("walk") / "app"
    application = copy_app(
        template,
        folder,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=9,
        SMTP_USERNAME="svea-web",
        SMTP_PASSWORD=SMTP_PASSWORD,
    )
    world = template.worlds.a
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    with application.app_context():
        try:
            operator = template.worlds.operator_id
            scripts = store_scripts(world.client_id, [world.admin_id, world.user_id, operator])
            # The operator is the firm's administrator too: every page of the app is open to them.
            browser = log_in(application.test_client(), operator)
            writes = WriteLog()
            before = snapshot()
            answers = list(_get_everything(application, browser, world, writes))
            changed = [t for t in changed_tables(before, snapshot()) if t not in ALLOWED_GET_WRITES]
            # A refused login (the Svea password tried as the login's) logs a line: the capture works.
            refused = application.test_client().post(
                "/login", data={"email": world.admin_email, "password": world.svea_password}
            )
            answers.append(
                Answer(
                    "POST /login (refused)", refused.status_code, refused.mimetype, dict(refused.headers), refused.data
                )
            )
            writes.close()
        finally:
            root.removeHandler(handler)
            db.session.remove()
            db.engine.dispose()
    assert isinstance(handler.stream, io.StringIO)
    yield Walk(answers, handler.stream.getvalue(), scripts, world.svea_password, changed, folder / "db.sqlite3")


def _get_everything(app: Flask, browser: Any, world: Any, writes: WriteLog) -> Iterator[Answer]:
    calls = [c for c in urlmap.own_calls(app, world, per_rule=2) if c.method == "GET"]
    extra = [("GET /finnes-ikke (404 page)", "/finnes-ikke"), ("GET /logout (405 page)", "/logout")]
    for c in calls:
        for headers in ({}, HTMX):
            response = browser.get(c.url, headers=headers)
            label = f"{c}{' (htmx)' if headers else ''}"
            found = sorted({f"{verb} {table}" for table, verb in writes.take() if table not in ALLOWED_GET_WRITES})
            yield Answer(label, response.status_code, response.mimetype, dict(response.headers), response.data, found)
    for label, url in extra:
        response = browser.get(url)
        yield Answer(label, response.status_code, response.mimetype, dict(response.headers), response.data)
    anonymous = app.test_client()
    for label, url in (("GET /login (anonymous)", "/login"), ("GET /healthz (anonymous)", "/healthz")):
        response = anonymous.get(url)
        yield Answer(label, response.status_code, response.mimetype, dict(response.headers), response.data)


def html(walk: Walk) -> list[Answer]:
    return [a for a in walk.answers if a.mimetype == "text/html"]


def test_the_walk_reached_the_pages_with_the_stored_text(walk: Walk) -> None:
    assert walk.scripts > 100
    shown = [a for a in html(walk) if b"&lt;script&gt;alert(" in a.body]
    assert len(shown) > 20, "the stored texts should be on most pages"
    assert not [a.label for a in walk.answers if a.status == 500]


def test_every_page_escapes_every_stored_text(walk: Walk) -> None:
    raw = [a.label for a in html(walk) if RAW_SCRIPT in a.body]
    assert not raw, "a stored <script> comes back unescaped:\n" + "\n".join(raw)


CSP_DIRECTIVES = re.compile(r"\s*([a-z-]+)\s*([^;]*)")


def csp(header: str) -> dict[str, list[str]]:
    return {m.group(1): m.group(2).split() for m in CSP_DIRECTIVES.finditer(header) if m.group(1)}


# rq-dashboard's own pages (third-party, inline scripts allowed by hash) are judged apart.
DASHBOARD = "rq_dashboard."


def test_every_answer_sends_the_security_headers(walk: Walk) -> None:
    failures = []
    for a in walk.answers:
        policy = csp(a.headers.get("Content-Security-Policy", ""))
        missing = [
            name
            for name, ok in (
                ("Content-Security-Policy default-src 'self'", policy.get("default-src") == ["'self'"]),
                ("frame-ancestors 'none'", policy.get("frame-ancestors") == ["'none'"]),
                ("X-Content-Type-Options: nosniff", a.headers.get("X-Content-Type-Options") == "nosniff"),
                (
                    "Referrer-Policy",
                    a.headers.get("Referrer-Policy") in ("same-origin", "no-referrer", "strict-origin"),
                ),
                ("X-Frame-Options: DENY", a.headers.get("X-Frame-Options") == "DENY"),
            )
            if not ok
        ]
        if DASHBOARD not in a.label:
            for directive in ("script-src", "style-src"):
                allowed = policy.get(directive, policy.get("default-src", []))
                if "'unsafe-inline'" in allowed or "'unsafe-eval'" in allowed or not allowed:
                    missing.append(f"{directive} without inline code")
        if missing:
            failures.append(f"{a.label}: {', '.join(missing)}")
    assert not failures, "\n".join(failures)


def test_every_header_can_be_sent_and_a_download_name_adds_no_parameters(walk: Walk) -> None:
    failures = []
    for a in walk.answers:
        for name, value in a.headers.items():
            try:
                value.encode("latin-1")
            except UnicodeEncodeError:
                failures.append(f"{a.label}: {name} cannot be sent (not Latin-1): {value!r}")
        disposition = a.headers.get("Content-Disposition")
        if disposition:
            _kind, params = parse_options_header(disposition)
            if set(params) - {"filename", "filename*"}:
                failures.append(f"{a.label}: a stored text added parameters to {disposition!r}")
    assert not failures, "\n".join(failures)


INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_STYLE = re.compile(rb"<style\b|\sstyle\s*=|\son[a-z]+\s*=|\shx-on[:-]", re.I)


def test_no_page_has_inline_scripts_styles_or_event_handlers(walk: Walk) -> None:
    """The policy forbids them; a page that has them would silently lose its behaviour or look."""
    bad = [
        f"{a.label}: {(INLINE_SCRIPT.search(a.body) or INLINE_STYLE.search(a.body)).group(0)!r}"  # type: ignore[union-attr]
        for a in html(walk)
        if DASHBOARD not in a.label and (INLINE_SCRIPT.search(a.body) or INLINE_STYLE.search(a.body))
    ]
    assert not bad, "\n".join(bad)


def test_no_page_log_line_or_error_page_shows_a_password(walk: Walk) -> None:
    secrets = [walk.svea_password.encode(), SMTP_PASSWORD.encode()]
    shown = [
        a.label
        for a in walk.answers
        for s in secrets
        if s in a.body or any(s.decode() in v for v in a.headers.values())
    ]
    assert not shown, "a password is in:\n" + "\n".join(shown)
    assert walk.logs, "the walk's log lines were captured"
    for secret in secrets:
        assert secret.decode() not in walk.logs


def test_the_svea_password_is_stored_encrypted(walk: Walk) -> None:
    assert walk.svea_password.encode() not in walk.db_file.read_bytes()
    wal = walk.db_file.with_name(walk.db_file.name + "-wal")
    if wal.exists():
        assert walk.svea_password.encode() not in wal.read_bytes()


def test_no_get_request_writes_to_the_database(walk: Walk) -> None:
    wrote = [f"{a.label} wrote: {', '.join(a.writes)}" for a in walk.answers if a.writes]
    if walk.changed:
        wrote.append(f"tables changed by the GET requests: {walk.changed}")
    assert not wrote, "\n".join(wrote)


def test_the_write_log_sees_committed_writes_and_not_rolled_back_ones(
    app: Flask, worlds: Worlds, writes: WriteLog
) -> None:
    browser = log_in(app.test_client(), worlds.a.admin_id)
    browser.post("/dunning/pauses/post", data={"invoice_no": "5002", "reason": "Tvist"})
    assert ("customer_post", "UPDATE") in writes.take()
    # An ORM insert (INSERT ... RETURNING on SQLite, whose row count is 0 until fetched) counts too.
    db.session.add(FigureRow(kind="reminder_fees", valid_from=date(2031, 1, 1), value=Decimal("1.00")))
    db.session.commit()
    assert ("figure_row", "INSERT") in writes.take()
    db.session.execute(update(Client).where(Client.id == worlds.a.client_id).values(name="Rullet tilbake"))
    db.session.rollback()
    assert writes.take() == []


def test_no_get_request_writes_even_before_the_shared_tables_are_filled(
    app: Flask, worlds: Worlds, writes: WriteLog
) -> None:
    """A fresh deployment: the fee and interest tables are empty until something fills them."""
    db.session.execute(delete(FigureRow))
    db.session.commit()
    writes.take()
    browser = log_in(app.test_client(), worlds.operator_id)
    wrote = []
    for c in urlmap.own_calls(app, worlds.a):
        if c.method == "GET":
            browser.get(c.url)
            written = sorted({f"{verb} {table}" for table, verb in writes.take()})
            if written:
                wrote.append(f"{c} wrote: {', '.join(written)}")
    assert not wrote, "\n".join(wrote)
