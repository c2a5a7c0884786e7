"""Every POST of the settings and the outbox is refused without a CSRF token, HTMX or not."""

from __future__ import annotations

from typing import Any

from svea_web.extensions import db
from svea_web.setup.models import AccessOrder
from tests.setup.conftest import csrf_token
from tests.setup.test_access_order import HX

ARGUMENTS = {"order_id": 1, "row_id": 1, "mail_id": 1, "kind": "reminder_fees"}


def test_every_settings_and_outbox_post_needs_the_csrf_token(csrf_browser: Any) -> None:
    csrf_app, browser = csrf_browser
    rules = [
        rule
        for rule in csrf_app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in ("setup", "mail") and "POST" in (rule.methods or ())
    ]
    assert len(rules) >= 12
    for rule in rules:
        url = rule.build({name: ARGUMENTS[name] for name in rule.arguments})[1]
        for headers in ({}, HX):
            assert browser.post(url, data={"how": "dunning_off", "back": "svea"}, headers=headers).status_code == 400, (
                url
            )


def test_address_change_without_csrf_token_is_refused_and_with_it_sent(csrf_browser: Any) -> None:
    csrf_app, browser = csrf_browser
    data = {
        "request_token": "t" * 24,
        "contact_name": "Kari",
        "contact_email": "kari@nordlys.no",
        "contact_phone": "91234567",
    }
    assert browser.post("/settings/svea/address-change", data=data, headers=HX).status_code == 400
    token = csrf_token(browser.get("/settings/svea/address-change", headers=HX).get_data(as_text=True))
    assert (
        browser.post("/settings/svea/address-change", data={**data, "csrf_token": token}, headers=HX).status_code == 200
    )
    with csrf_app.app_context():
        assert db.session.query(AccessOrder).one().kind == "address_change"
