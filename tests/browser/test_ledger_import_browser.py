"""A person logs in, imports a CSV of posts and sees them in the ledger, in a real Chromium."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import log_in_browser

pytestmark = pytest.mark.browser

CSV = (
    "Kundenr;Navn;Fakturanr;KID;Fakturadato;Forfallsdato;Beløp\n"
    "2001;Åse Berg;9001;0000012344;01.10.2026;15.10.2026;1 234,50\n"
    "2002;Fjell Bygg AS;9002;;01.11.2026;31.12.2026;500,00\n"
)


def test_login_import_csv_and_see_the_posts(page: Any, live_server: str, firm: Any, tmp_path: Any) -> None:
    log_in_browser(page, live_server + "/", firm.admin.email)
    page.get_by_role("link", name="Reskontro").click()
    page.wait_for_url("**/ledger/posts**")

    page.get_by_role("link", name="Importer CSV").click()
    csv_file = tmp_path / "poster.csv"
    csv_file.write_bytes(CSV.encode("utf-8"))
    page.get_by_label("CSV-fil").set_input_files(str(csv_file))
    page.get_by_role("button", name="Last opp og vis forhåndsvisning").click()
    page.get_by_text("Klar til import").wait_for()
    page.get_by_role("button", name="Importer 2 rader").click()
    page.get_by_text("2 nye og 0 oppdaterte poster").wait_for()

    page.get_by_role("link", name="Se postene").click()
    page.get_by_role("link", name="Alle").click()
    table = page.locator("#posts")
    table.get_by_text("Åse Berg").wait_for()
    assert table.get_by_text("0000012344").is_visible()
    assert table.get_by_text("1\u00a0234,50 kr").first.is_visible()

    # Search swaps the table in place and keeps the URL shareable.
    page.get_by_label("Søk (kunde, kundenr, fakturanr, motpostnr, KID)").fill("Fjell")
    page.wait_for_url("**q=Fjell**")
    assert table.get_by_text("Åse Berg").count() == 0
    assert table.get_by_text("Fjell Bygg AS").is_visible()
