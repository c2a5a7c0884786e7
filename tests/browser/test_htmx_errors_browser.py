"""An HTMX request that the server answers with an error shows the server's explanation, not nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import log_in_browser

pytestmark = pytest.mark.browser


def _log_in(page: Any, live_server: str, firm: Any) -> None:
    log_in_browser(page, live_server + "/", firm.admin.email)
    page.get_by_role("link", name="Reskontro").click()
    page.wait_for_url("**/ledger/posts**")


def test_a_missing_record_in_an_htmx_request_shows_the_servers_message(page: Any, live_server: str, firm: Any) -> None:
    _log_in(page, live_server, firm)
    # What a link to a customer that is gone (or belongs to another firm) does when HTMX follows it.
    page.evaluate("htmx.ajax('GET', '/ledger/customers/987654', {target: 'main'})")
    alert = page.locator("#flashes .flash-error")
    alert.wait_for()
    assert "Finner ikke siden." in alert.inner_text()
    assert "finnes ikke, eller den hører til et annet firma" in alert.inner_text()
    assert alert.get_attribute("role") == "alert"


def test_a_server_that_cannot_be_reached_says_so(page: Any, live_server: str, firm: Any) -> None:
    _log_in(page, live_server, firm)
    page.route("**/ledger/posts?filter=paid**", lambda route: route.abort("connectionrefused"))
    page.evaluate("htmx.ajax('GET', '/ledger/posts?filter=paid', {target: 'main'}).catch(() => null)")
    alert = page.locator("#flashes .flash-error")
    alert.wait_for()
    assert "Forespørselen feilet. Sjekk tilkoblingen og prøv igjen." in alert.inner_text()
