"""Two firms with data in every table, browsers logged in to them, and a picture of the database.

The two firms are built once per session into a template SQLite file; every test gets its own copy
of the file (and of the instance folder with the uploaded files), so the walkers stay quick and no
test sees another test's changes.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask import Flask, g
from flask.testing import FlaskClient
from jinja2 import FileSystemBytecodeCache
from redis import Redis
from sqlalchemy import Table, event, false, or_, select
from sqlalchemy.engine import Engine

from svea_web import create_app
from svea_web.extensions import db

from .world import TODAY, FirmWorld, build_firm, build_operator, fill_missing_tables, marker


@dataclass
class Worlds:
    a: FirmWorld
    b: FirmWorld
    # Tables only the generic builder filled: they want a builder of their own in world.py.
    generic: list[str]
    # The deployment's operator (job dashboard, the shared figure tables), an administrator of firm a.
    operator_id: int


@dataclass
class Template:
    folder: Path
    worlds: Worlds
    encryption_keys: str
    redis_url: str


# A Redis database of their own: the secrets test reads every key the security tests' jobs left.
REDIS_DB = 9


def security_config(database: Path, redis_url: str, encryption_keys: str) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "security-test-secret-key",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        "REDIS_URL": redis_url,
        "RQ_IS_ASYNC": False,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "ENCRYPTION_KEYS": encryption_keys,
        "LEDGER_TODAY": TODAY,
        "SMTP_HOST": None,
        # The firms' Svea is a closed port (world.CLOSED_SVEA_URL): fail at once, no retries.
        "SVEA_GET_ATTEMPTS": 1,
        "SVEA_BACKOFF_SECONDS": 0,
        "SVEA_CONNECT_TIMEOUT": 1,
    }


# Compiled templates shared by the tests' apps: each new app would otherwise compile every page again.
TEMPLATE_CACHE = FileSystemBytecodeCache(tempfile.mkdtemp(prefix="svea-security-jinja-"))


def _forget_the_previous_requests_user() -> None:
    # The tests keep one app context pushed, and a request reuses it (and its ``g``): without this,
    # Flask-Login would hand the previous request's user, maybe another browser's, to this one.
    g.pop("_login_user", None)


def _app(folder: Path, redis_url: str, keys: str, **overrides: Any) -> Flask:
    application = create_app({**security_config(folder / "db.sqlite3", redis_url, keys), **overrides})
    application.jinja_env.bytecode_cache = TEMPLATE_CACHE
    application.before_request_funcs.setdefault(None, []).insert(0, _forget_the_previous_requests_user)
    application.instance_path = str(folder / "instance")
    Path(application.instance_path).mkdir(parents=True, exist_ok=True)
    return application


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Template:
    folder = tmp_path_factory.mktemp("security-template")
    keys = Fernet.generate_key().decode()
    redis_url = f"{redis_url}{'&' if '?' in redis_url else '?'}db={REDIS_DB}"
    Redis.from_url(redis_url).flushdb()
    application = _app(folder, redis_url, keys)
    with application.app_context():
        db.create_all()
        a = build_firm("Alfa Regnskap AS", marker("Alfa"))
        b = build_firm("Bravo Bygg AS", marker("Bravo"))
        generic = fill_missing_tables([a, b])
        operator = build_operator(a)
        db.session.remove()
        with db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.engine.dispose()
    return Template(folder, Worlds(a, b, generic, operator), keys, redis_url)


def copy_app(template: Template, folder: Path, **overrides: Any) -> Flask:
    """An app on a fresh copy of the two firms, in ``folder`` (config overrides as keyword arguments)."""
    folder.mkdir(parents=True)
    shutil.copy(template.folder / "db.sqlite3", folder / "db.sqlite3")
    shutil.copytree(template.folder / "instance", folder / "instance")
    return _app(folder, template.redis_url, template.encryption_keys, **overrides)


@pytest.fixture
def make_app(template: Template, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Apps on fresh copies of the two firms, each with its app context pushed until the test ends."""
    made: list[Any] = []

    def _make(**overrides: Any) -> Flask:
        application = copy_app(template, tmp_path / f"app{len(made)}", **overrides)
        context = application.app_context()
        context.push()
        made.append(context)
        return application

    yield _make
    for context in reversed(made):
        db.session.remove()
        db.engine.dispose()
        context.pop()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def worlds(template: Template) -> Worlds:
    return template.worlds


def log_in(browser: FlaskClient, user_id: int) -> FlaskClient:
    """A session as Flask-Login keeps it after a good login (the login form itself is tested apart,
    and its password hashing costs half a second a time)."""
    from svea_web.accounts.models import User

    user = db.session.get(User, user_id)
    assert user is not None
    with browser.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    return browser


@pytest.fixture
def browser_a(app: Flask, worlds: Worlds) -> FlaskClient:
    """A browser logged in as the first firm's administrator."""
    return log_in(app.test_client(), worlds.a.admin_id)


_WRITE = re.compile(r"^\s*(INSERT|REPLACE|UPDATE|DELETE)(?:\s+OR\s+\w+)?(?:\s+INTO|\s+FROM)?\s+\"?(\w+)", re.I)


class WriteLog:
    """The database writes committed while it listens: (table, statement verb) pairs.

    Cheaper and sharper than comparing the tables: it names the table a request wrote, and a
    conditional UPDATE that matched no row is no write. Jobs run inline in the tests, so what a
    request's job writes counts as the request's write.
    """

    def __init__(self) -> None:
        self._pending: dict[int, list[tuple[str, str]]] = defaultdict(list)
        self._committed: list[tuple[str, str]] = []
        # Every engine: a test may run several apps (one with CSRF on, say), each with its own.
        event.listen(Engine, "after_cursor_execute", self._executed)
        event.listen(Engine, "commit", self._commit)
        event.listen(Engine, "rollback", self._rollback)

    def close(self) -> None:
        event.remove(Engine, "after_cursor_execute", self._executed)
        event.remove(Engine, "commit", self._commit)
        event.remove(Engine, "rollback", self._rollback)

    def _executed(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        match = _WRITE.match(statement)
        if match is None:
            return
        verb = match.group(1).upper()
        # An UPDATE or DELETE that matched no row wrote nothing. An INSERT always counts, and so does
        # a statement with RETURNING: SQLite counts its rows only as they are fetched, after this event.
        if verb in ("INSERT", "REPLACE") or "RETURNING" in statement.upper() or cursor.rowcount != 0:
            self._pending[id(conn)].append((match.group(2), verb))

    def _commit(self, conn: Any) -> None:
        self._committed += self._pending.pop(id(conn), [])

    def _rollback(self, conn: Any) -> None:
        self._pending.pop(id(conn), None)

    def take(self) -> list[tuple[str, str]]:
        """The writes committed since the last call."""
        taken, self._committed = self._committed, []
        return taken


@pytest.fixture
def writes() -> Iterator[WriteLog]:
    log = WriteLog()
    yield log
    log.close()


def tables() -> list[Table]:
    return list(db.metadata.sorted_tables)


def snapshot(where: Callable[[Table], Any] | None = None) -> dict[str, str]:
    """Every table's rows, as a digest per table (row count and content); ``where`` narrows a table."""
    db.session.expire_all()
    result = {}
    for table in tables():
        order = list(table.primary_key.columns) or list(table.columns)
        query = select(table).order_by(*order)
        condition = where(table) if where is not None else None
        if condition is not None:
            query = query.where(condition)
        rows = db.session.execute(query).all()
        digest = hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest()[:16]
        result[table.name] = f"{len(rows)} rows {digest}"
    db.session.rollback()
    return result


def firm_condition(client_id: int) -> Callable[[Table], Any]:
    """The rows of one firm: its own (client_id), or children of its rows (a case's events)."""

    def condition(table: Table) -> Any:
        if "client_id" in table.c:
            return table.c.client_id == client_id
        owned = [
            fk.parent.in_(select(fk.column.table.c.id).where(fk.column.table.c.client_id == client_id))
            for fk in table.foreign_keys
            if "client_id" in fk.column.table.c
        ]
        return or_(*owned) if owned else false()

    return condition


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(name for name in before if before[name] != after.get(name))
