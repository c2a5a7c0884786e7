"""What a user met walking through the app in Chromium, each proved once it behaves.

The address bar stays on the Inkassosaker tab, a search in Reskontro or Kunder keeps the chosen filter
and sort, each Purrestopp card's labels name its own fields, and a payment sent without a chosen post
is stopped in the browser while the search hits are still on screen, the reason for a reversal
is typed into the field its label names, and Purring's «Oppsett Svea» link opens Oppsett Svea.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from svea_web.extensions import db
from svea_web.payments.models import Payment
from tests import factories
from tests.conftest import log_in_browser

pytestmark = pytest.mark.browser


def _log_in(page: Any, live_server: str, firm: Any, path: str) -> None:
    log_in_browser(page, live_server + path, firm.admin.email)
    page.wait_for_url("**" + path)


def test_the_address_bar_keeps_the_collection_tab_after_the_new_count_loads(
    page: Any, live_server: str, firm: Any
) -> None:
    _log_in(page, live_server, firm, "/collection/")
    # The count of Nye saker loads after the page; it used to push its own URL (/collection/new/count,
    # a bare fragment) into the address bar, so a reload or a shared link showed a lone badge.
    page.locator('[data-count="new"]:not([aria-busy])').wait_for()
    page.wait_for_load_state("networkidle")
    assert page.url == live_server + "/collection/"

    page.get_by_role("tab", name="Svea Finans – Åpne saker").click()
    page.wait_for_url("**/collection/open")
    page.locator('[data-count="new"]:not([aria-busy])').wait_for()
    page.wait_for_load_state("networkidle")
    assert page.url == live_server + "/collection/open"


def test_a_ledger_search_keeps_the_chosen_filter_and_sort(page: Any, live_server: str, firm: Any) -> None:
    berg = factories.customer(firm.client.id, "Åse Berg")
    factories.post(berg, "300.00", due=date(2026, 10, 1), invoice_no="7001")
    factories.post(berg, "100.00", due=date(2026, 10, 2), invoice_no="7002")
    factories.post(berg, "200.00", due=date(2027, 1, 31), invoice_no="7003")  # not due yet
    factories.post(factories.customer(firm.client.id, "Fjell Bygg AS"), "50.00", invoice_no="7004")
    db.session.commit()
    _log_in(page, live_server, firm, "/ledger/posts")

    page.get_by_role("link", name="Forfalte").click()
    page.wait_for_url("**filter=overdue**")
    page.get_by_role("link", name="Beløp").click()
    page.wait_for_url("**sort=amount**")
    page.get_by_label("Søk (kunde, kundenr, fakturanr, motpostnr, KID)").fill("Berg")
    page.wait_for_url("**q=Berg**")

    assert "filter=overdue" in page.url and "sort=amount" in page.url
    table = page.locator("#posts")
    assert table.locator("tbody tr td:first-child").all_inner_texts() == ["7002", "7001"]
    assert page.get_by_role("link", name="Forfalte").get_attribute("aria-current") == "true"


def test_a_customer_search_keeps_the_chosen_sort(page: Any, live_server: str, firm: Any) -> None:
    for number, name in (("301", "Berg Bygg AS"), ("302", "Berg Maling AS"), ("303", "Fjell Data AS")):
        factories.customer(firm.client.id, name, customer_no=number)
    db.session.commit()
    _log_in(page, live_server, firm, "/ledger/customers")

    page.get_by_role("link", name="Kundenr").click()
    page.wait_for_url("**sort=customer_no**")
    page.get_by_role("link", name="Kundenr ▲").click()
    page.wait_for_url("**dir=desc**")
    page.get_by_label("Søk (navn, kundenr, org.nr.)").fill("Berg")
    page.wait_for_url("**q=Berg**")

    assert "sort=customer_no" in page.url and "dir=desc" in page.url
    numbers = page.locator("#customers-table tbody tr td:first-child").all_inner_texts()
    assert numbers == ["302", "301"]


def test_each_pause_card_has_labels_for_its_own_fields(page: Any, live_server: str, firm: Any) -> None:
    kari = factories.customer(firm.client.id, "Kari Nordmann", customer_no="500")
    factories.post(kari, "1000.00", invoice_no="8001")
    db.session.commit()
    _log_in(page, live_server, firm, "/dunning/pauses")

    invoice_card = page.locator("#pause-post")
    invoice_card.get_by_label("Fakturanr").fill("8001")
    # Both cards have an «Årsak»; with one shared id this label filled the customer card's field.
    invoice_card.get_by_label("Årsak").fill("Tvist om leveransen")
    invoice_card.get_by_role("button", name="Sett purrestopp").click()

    page.get_by_text("Purrestopp er satt på faktura 8001.").wait_for()
    row = page.locator("#pauses tbody tr").first
    assert "Tvist om leveransen" in row.inner_text()
    assert "Faktura 8001" in row.inner_text()


def test_a_payment_without_a_chosen_post_is_stopped_before_the_search_hits_are_lost(
    page: Any, live_server: str, firm: Any
) -> None:
    kari = factories.customer(firm.client.id, "Kari Nordmann")
    factories.post(kari, "1250.00", invoice_no="20417", kid="10000123")
    db.session.commit()
    _log_in(page, live_server, firm, "/payments/new")

    page.get_by_label("Finn posten: KID, fakturanr, motpostnr, kundenr eller kundenavn").fill("20417")
    hit = page.get_by_label("20417")
    hit.wait_for()
    page.get_by_label("Beløp").fill("1 250,00")
    # Sent without a choice, the server answered «Velg en post eller en kunde.» on a form that no longer
    # showed the hits, so the user had to search again. The browser now asks for the choice first.
    page.get_by_role("button", name="Registrer").click()
    assert hit.evaluate("radio => radio.validity.valueMissing")
    assert hit.is_visible()

    hit.check()
    page.get_by_role("button", name="Registrer").click()
    page.get_by_text("Innbetalingen på 1\u00a0250,00 kr er registrert.").wait_for()
    assert db.session.query(Payment).filter_by(client_id=firm.client.id).count() == 1


def test_a_payment_is_reversed_with_the_reason_typed_under_its_label(page: Any, live_server: str, firm: Any) -> None:
    kari = factories.customer(firm.client.id, "Kari Nordmann")
    factories.post(kari, "1000.00", invoice_no="20418")
    db.session.commit()
    _log_in(page, live_server, firm, "/payments/new")
    page.get_by_label("Finn posten: KID, fakturanr, motpostnr, kundenr eller kundenavn").fill("20418")
    page.get_by_label("20418").check()
    page.get_by_role("button", name="Registrer").click()
    page.get_by_text("Innbetalingen på 1\u00a0000,00 kr er registrert.").wait_for()

    page.get_by_text("Reverser innbetalingen").click()
    # The label said for="reason" while the field was id="reverse-reason": the label named nothing.
    page.locator("#reverse-form").get_by_label("Begrunnelse").fill("Feil kunde")
    page.get_by_role("button", name="Reverser", exact=True).click()

    page.get_by_text("Innbetalingen er reversert og ligger igjen til avstemming.").wait_for()
    assert page.locator("#allocations").get_by_text("Feil kunde").first.is_visible()


def test_the_level_link_on_purring_opens_oppsett_svea_where_the_level_is(
    page: Any, live_server: str, firm: Any
) -> None:
    _log_in(page, live_server, firm, "/dunning/")
    page.get_by_role("heading", name="Svea kjører purringene").wait_for()
    # Svea sends the reminders at this level, so the app's letters need no account number yet.
    assert page.get_by_text("Kontonummer mangler").count() == 0

    page.get_by_role("link", name="Endre nivå i Oppsett Svea").click()
    page.wait_for_url("**/settings/svea")
    assert page.get_by_text("Nivå som sendes Svea").first.is_visible()
