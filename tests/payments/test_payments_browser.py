"""A bookkeeper registers a payment in a real Chromium: finds the post, the open amount is filled in,
the payment is booked; the tabs swap in place. No script or style is blocked by the CSP."""

from __future__ import annotations

from typing import Any

import pytest

from svea_web.extensions import db
from tests import factories
from tests.conftest import log_in_browser

pytestmark = pytest.mark.browser


def test_register_a_payment_on_a_post_found_by_kid(page: Any, live_server: str, firm: Any) -> None:
    kari = factories.customer(firm.client.id, "Kari Nordmann")
    factories.post(kari, "1250.00", invoice_no="20417", kid="10000123")
    db.session.commit()
    problems: list[str] = []
    # A script or style the CSP blocks shows as a console error; a missing file as a 4xx answer.
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" and "404" not in msg.text else None)
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 and "favicon" not in r.url else None,
    )

    log_in_browser(page, live_server + "/payments/", firm.admin.email)
    page.wait_for_url("**/payments/")
    page.get_by_role("tab", name="Til avstemming").click()
    page.wait_for_url("**/payments/unmatched")
    page.get_by_text("Ingen innbetalinger venter på avstemming.").wait_for()

    page.get_by_role("link", name="Registrer innbetaling").click()
    page.get_by_label("Finn posten: KID, fakturanr, motpostnr, kundenr eller kundenavn").fill("10000123")
    page.get_by_label("20417").check()
    assert page.get_by_label("Beløp").input_value() == "1250,00"  # the open amount, filled in by payments.js
    page.get_by_role("button", name="Registrer").click()

    page.get_by_text("Innbetalingen på 1\u00a0250,00 kr er registrert.").wait_for()
    assert page.locator("#allocations").get_by_text("20417").is_visible()
    assert problems == []
