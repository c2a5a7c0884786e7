"""Every state change of the Purring pages needs the CSRF token."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from flask import g
from flask.testing import FlaskClient

from svea_web.dunning.models import ReminderRun
from svea_web.extensions import db
from tests.conftest import PASSWORD, Firm
from tests.dunning.conftest import html


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "WTF_CSRF_ENABLED": True}


def test_confirm_and_pause_without_the_token_are_refused(client: FlaskClient, inkasso_firm: Firm) -> None:
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html(client.get("/login")))
    assert token
    login = client.post(
        "/login", data={"email": inkasso_firm.admin.email, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert login.status_code == 302
    g.pop("csrf_token", None)
    run = ReminderRun(client_id=inkasso_firm.client.id, run_date=date(2026, 11, 27))
    db.session.add(run)
    db.session.commit()

    for url, data in [
        (f"/dunning/runs/{run.id}/confirm", {"digest": "0" * 64}),
        ("/dunning/runs", {"run_date": "2026-11-27"}),
        (f"/dunning/runs/{run.id}/discard", {}),
        (f"/dunning/runs/{run.id}/confirm/restart", {}),
        ("/dunning/pauses/customer", {"customer_no": "1", "reason": "x"}),
    ]:
        response = client.post(url, data=data)
        assert (response.status_code, "sikkerhetsnøkkel" in html(response)) == (400, True), url
    db.session.refresh(run)
    assert run.state == "preview"
    assert db.session.query(ReminderRun).count() == 1
