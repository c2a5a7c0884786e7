"""A person logs in, sees the overview, clicks a bar and lands on exactly its posts, in a real Chromium."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from svea_web.extensions import db
from tests import factories
from tests.conftest import TODAY, log_in_browser

pytestmark = pytest.mark.browser


def test_click_a_bar_and_land_on_its_posts(page: Any, live_server: str, firm: Any) -> None:
    kari = factories.customer(firm.client.id, "Kari Nordmann")
    bygg = factories.customer(firm.client.id, "Fjord Bygg AS", kind="company")
    for days, invoice_no in [(30, "8030"), (31, "8031"), (45, "8045"), (60, "8060"), (61, "8061"), (0, "8000")]:
        factories.post(kari if days % 2 else bygg, "1000.00", due=TODAY - timedelta(days=days), invoice_no=invoice_no)
    db.session.commit()

    log_in_browser(page, live_server + "/", firm.admin.email)
    page.wait_for_url("**/overview/")
    # The monthly results load by themselves once the page is shown.
    page.locator("#results-table").wait_for()

    page.get_by_role("link", name="31–60 dager: 3 poster, 3\u00a0000,00 kr").click()
    page.wait_for_url("**/ledger/posts?days_from=31&days_to=60")
    rows = page.locator("#posts tbody tr td:first-child")
    assert sorted(rows.all_inner_texts()) == ["8031", "8045", "8060"]
    assert page.get_by_text("3\u00a0000,00 kr").first.is_visible()
