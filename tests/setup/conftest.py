"""Settings tests: the real SMTP server fixtures, and an app with CSRF protection switched on."""

from __future__ import annotations

from typing import Any

from svea_web.setup import services
from tests.mail.conftest import (  # noqa: F401  (fixtures shared with tests/mail)
    csrf_browser,
    csrf_token,
    smtp,
    smtp_down,
    smtp_server,
)

DEMO_CUSTOMER_NO = "10042"
DEMO_USERNAME = "demo-regnskap"
DEMO_PASSWORD = "sandbox-2026"


def configure_svea(client_id: int, level: str = "purring", **fields: Any) -> None:
    """Oppsett Svea as an admin saves it (the demo creditor's credentials)."""
    values = {
        "customer_no": DEMO_CUSTOMER_NO,
        "username": DEMO_USERNAME,
        "new_password": DEMO_PASSWORD,
        "handover_level": level,
        "kid_length": 25,
        "group_by_customer": False,
    }
    values.update(fields)
    services.save_svea_settings(client_id, None, services.SveaSettingsInput(**values))
