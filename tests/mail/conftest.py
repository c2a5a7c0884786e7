"""A real SMTP server (aiosmtpd) on a free loopback port, and the app pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

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
