"""A real SMTP server (aiosmtpd) on a free loopback port, the app pointed at it, and a CSRF-checking app."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from svea_web import create_app
from svea_web.accounts import services as accounts
from svea_web.extensions import db
from tests.conftest import PASSWORD
from tests.mail.smtp import SmtpServer, closed_port, running_smtp_server


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def smtp(app: Flask, smtp_server: SmtpServer) -> SmtpServer:
    """The app sends through the test's SMTP server (plain SMTP, no login)."""
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port, SMTP_STARTTLS=False, SMTP_USERNAME=None)
    return smtp_server


@pytest.fixture
def smtp_down(app: Flask) -> dict[str, Any]:
    """SMTP configured, but nothing listens on the port."""
    port = closed_port()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False, SMTP_USERNAME=None)
    return {"port": port}


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture
def csrf_browser(app_config: dict[str, Any]) -> Iterator[tuple[Flask, FlaskClient]]:
    """An app that checks CSRF tokens, and a browser logged in as a firm's admin (with a valid token).

    No app context stays pushed: each request gets its own, as in production, so that the CSRF token
    cached in ``g`` does not outlive the session it was made for. Check the database inside
    ``with app.app_context():``.
    """
    application = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    with application.app_context():
        db.create_all()
        firm = accounts.create_client("Nordlys Rørlegger AS", org_no="923609016")
        user = accounts.create_user("admin@nordlys.no", "Kari Admin", PASSWORD)
        accounts.add_member(user, firm, "admin")
        db.session.commit()
        email = user.email
    browser = application.test_client()
    token = csrf_token(browser.get("/login").get_data(as_text=True))
    response = browser.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and "/login" not in response.headers["Location"]
    try:
        yield application, browser
    finally:
        with application.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()
