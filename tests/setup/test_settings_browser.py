"""An admin orders Svea access through the dialog, in a real Chromium (the CSP forbids inline script)."""

from __future__ import annotations

from typing import Any

import pytest

from svea_web.extensions import db
from svea_web.setup.models import AccessOrder
from tests.conftest import log_in_browser

pytestmark = pytest.mark.browser


def test_order_svea_access_through_the_dialog(page: Any, live_server: str, firm: Any) -> None:
    csp_errors: list[str] = []
    page.on("console", lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    log_in_browser(page, live_server + "/login", firm.admin.email)
    page.get_by_role("button", name="Logg ut").wait_for()

    page.get_by_role("link", name="Innstillinger").click()
    page.get_by_role("tab", name="Svea").click()
    page.wait_for_url("**/settings/svea")
    page.get_by_role("link", name="Bestill Svea tilgang").click()

    dialog = page.get_by_role("dialog", name="Bestill Svea tilgang")
    dialog.wait_for()
    assert dialog.evaluate("d => d.matches(':modal')")
    dialog.get_by_label("Organisasjonsnummer").fill("923609016")
    dialog.get_by_label("Adresse").fill("Storgata 12")
    dialog.get_by_label("Postnummer").fill("2317")
    dialog.get_by_label("Poststed").fill("Hamar")
    dialog.get_by_label("Telefon").fill("91234567")
    dialog.get_by_role("button", name="Bestill").click()
    page.get_by_text("Bekreft at du har lest avtalen.").wait_for()

    dialog = page.get_by_role("dialog", name="Bestill Svea tilgang")
    dialog.get_by_label("Jeg har lest avtalen om purre- og inkassotjenester").check()
    dialog.get_by_role("button", name="Bestill").click()

    page.locator("#orders").get_by_text("I lokal utboks").wait_for()
    assert page.get_by_role("dialog").count() == 0
    assert db.session.query(AccessOrder).count() == 1
    assert csp_errors == []
