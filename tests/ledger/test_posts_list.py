from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from svea_web.extensions import db
from tests import factories


@pytest.fixture
def ledger(firm: Any) -> dict[str, Any]:
    cid = firm.client.id
    kari = factories.customer(cid, "Kari Nordmann", customer_no="1001")
    bygg = factories.customer(cid, "Fjord Bygg AS", kind="company", customer_no="1002", org_no="923609016")
    posts = {
        "overdue": factories.post(kari, "1234.50", due=date(2026, 10, 1), invoice_no="7001", kid="0000012344"),
        "not_due": factories.post(kari, "500.00", due=date(2026, 12, 20), invoice_no="7002"),
        "paid": factories.post(bygg, "900.00", due=date(2026, 9, 1), open_amount="0", invoice_no="7003"),
        "old": factories.post(bygg, "250.00", due=date(2026, 6, 1), invoice_no="7004"),
    }
    db.session.commit()
    return {"kari": kari, "bygg": bygg, **posts}


def invoice_numbers(html: str) -> list[str]:
    import re

    return re.findall(r"<tr>\s*<td>(\d{4})</td>", html)


def test_overdue_filter_lists_only_open_posts_past_due(logged_in: Any, ledger: Any) -> None:
    html = logged_in.get("/ledger/posts?filter=overdue").get_data(as_text=True)
    assert invoice_numbers(html) == ["7004", "7001"]
    assert "1\u00a0484,50 kr" in html  # open amount of the selection, Norwegian format


def test_paid_filter_and_money_in_norwegian_format(logged_in: Any, ledger: Any) -> None:
    html = logged_in.get("/ledger/posts?filter=paid").get_data(as_text=True)
    assert invoice_numbers(html) == ["7003"]
    assert "900,00 kr" in html
    assert "01.09.2026" in html


def test_search_by_kid_keeps_leading_zeros(logged_in: Any, ledger: Any) -> None:
    html = logged_in.get("/ledger/posts?q=0000012344").get_data(as_text=True)
    assert invoice_numbers(html) == ["7001"]
    assert "<code>0000012344</code>" in html


def test_search_by_customer_name_is_case_insensitive(logged_in: Any, ledger: Any) -> None:
    html = logged_in.get("/ledger/posts?q=fjord%20bygg").get_data(as_text=True)
    assert sorted(invoice_numbers(html)) == ["7003", "7004"]


def test_sort_by_amount_descending(logged_in: Any, ledger: Any) -> None:
    html = logged_in.get("/ledger/posts?sort=amount&dir=desc").get_data(as_text=True)
    assert invoice_numbers(html) == ["7001", "7003", "7002", "7004"]


def test_htmx_request_gets_only_the_table_fragment(logged_in: Any, ledger: Any) -> None:
    response = logged_in.get("/ledger/posts?filter=overdue", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="posts-table"')
    assert "<html" not in html
    assert 'hx-push-url="true"' in html


def test_history_restore_gets_the_whole_page(logged_in: Any, ledger: Any) -> None:
    response = logged_in.get(
        "/ledger/posts?filter=overdue", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in response.get_data(as_text=True)


def test_pagination_shows_fifty_rows_a_page(logged_in: Any, firm: Any) -> None:
    cust = factories.customer(firm.client.id, "Mange Poster AS", kind="company")
    for n in range(120):
        factories.post(cust, "100.00", invoice_no=str(9000 + n))
    db.session.commit()
    page3 = logged_in.get("/ledger/posts?page=3&sort=invoice_no").get_data(as_text=True)
    assert invoice_numbers(page3) == [str(9100 + n) for n in range(20)]
    assert "Side 3 av 3" in page3
    assert "120 treff" in page3


def test_aged_bucket_filter_selects_days_overdue(logged_in: Any, ledger: Any) -> None:
    # today is 27.11.2026: 7001 is 57 days overdue, 7004 is 179 days.
    html = logged_in.get("/ledger/posts?days_from=31&days_to=60").get_data(as_text=True)
    assert invoice_numbers(html) == ["7001"]
    html = logged_in.get("/ledger/posts?days_from=91").get_data(as_text=True)
    assert invoice_numbers(html) == ["7004"]


def test_customer_page_shows_posts_and_balance(logged_in: Any, ledger: Any) -> None:
    html = logged_in.get(f"/ledger/customers/{ledger['kari'].id}").get_data(as_text=True)
    assert "Kari Nordmann" in html
    assert '<strong id="customer-balance">1\u00a0734,50 kr</strong>' in html
    assert sorted(invoice_numbers(html)) == ["7001", "7002"]


def test_customers_list_with_balance_and_search(logged_in: Any, ledger: Any) -> None:
    html = logged_in.get("/ledger/customers?q=kari").get_data(as_text=True)
    assert "Kari Nordmann" in html and "Fjord Bygg" not in html
    assert "1\u00a0734,50 kr" in html


def test_another_firms_customer_is_404(logged_in: Any, make_firm: Any) -> None:
    other = make_firm("Annen AS")
    theirs = factories.customer(other.client.id, "Hemmelig Kunde")
    db.session.commit()
    response = logged_in.get(f"/ledger/customers/{theirs.id}")
    assert response.status_code == 404
    assert "Hemmelig" not in response.get_data(as_text=True)


def test_another_firms_posts_never_show_in_lists(logged_in: Any, ledger: Any, make_firm: Any) -> None:
    other = make_firm("Annen AS")
    theirs = factories.customer(other.client.id, "Hemmelig Kunde")
    factories.post(theirs, "999.00", invoice_no="8888")
    db.session.commit()
    html = logged_in.get("/ledger/posts?q=8888").get_data(as_text=True)
    assert "Hemmelig" not in html and invoice_numbers(html) == []


def test_english_ui_formats_money_and_dates(logged_in: Any, ledger: Any) -> None:
    logged_in.post("/language/en")
    html = logged_in.get("/ledger/posts?filter=paid").get_data(as_text=True)
    assert "2026-09-01" in html
