"""Aged receivables: each boundary of each bucket, the totals, and the ledger list each bar links to."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from svea_web.extensions import db
from svea_web.overview import services
from tests import factories
from tests.conftest import TODAY

# days overdue → (invoice no, amount, open amount); a credit note and a paid post around them.
POSTS = [
    (0, "A00", "100.00", None),  # due today: not overdue
    (-23, "A01", "250.50", None),
    (1, "B01", "1000.00", None),
    (14, "B14", "40.00", None),
    (15, "C15", "300.00", None),
    (30, "C30", "1000.00", "700.00"),  # partly paid: the open part counts
    (20, "C20", "-200.00", None),  # credit note
    (31, "D31", "5000.00", None),
    (60, "D60", "10.00", None),
    (61, "E61", "20000.00", None),
    (90, "E90", "3.33", None),
    (91, "F91", "12345.67", None),
    (400, "F400", "1.00", None),
    (45, "PAID", "999.00", "0"),  # paid: in no bucket
]

EXPECTED = {
    "not_due": (2, Decimal("350.50"), {"A00", "A01"}),
    "d1_14": (2, Decimal("1040.00"), {"B01", "B14"}),
    "d15_30": (3, Decimal("800.00"), {"C15", "C30", "C20"}),
    "d31_60": (2, Decimal("5010.00"), {"D31", "D60"}),
    "d61_90": (2, Decimal("20003.33"), {"E61", "E90"}),
    "over_90": (2, Decimal("12346.67"), {"F91", "F400"}),
}


@pytest.fixture
def ledger(firm: Any, make_firm: Any) -> None:
    kari = factories.customer(firm.client.id, "Kari Nordmann")
    for days, invoice_no, amount, open_amount in POSTS:
        kind = "credit_note" if amount.startswith("-") else "invoice"
        factories.post(
            kari, amount, due=TODAY - timedelta(days=days), open_amount=open_amount, invoice_no=invoice_no, kind=kind
        )
    # Another firm's overdue post must not show.
    other = make_firm("Annen Klient AS")
    factories.post(factories.customer(other.client.id, "Fremmed"), "77777.00", due=TODAY - timedelta(days=40))
    db.session.commit()


@pytest.mark.all_backends
def test_buckets_hold_each_boundary_day_in_the_right_bucket(backend: str, firm: Any, ledger: None) -> None:
    overview = services.build_overview(firm.client.id, TODAY, TODAY)
    got = {b.key: (b.count, b.amount) for b in overview.buckets}
    assert got == {key: (count, amount) for key, (count, amount, _) in EXPECTED.items()}
    assert overview.open_total == Decimal("39550.50")
    assert overview.overdue_total == Decimal("39200.00")


def invoice_numbers(html: str) -> set[str]:
    return set(re.findall(r"<tr>\s*<td>([A-Z0-9]+)</td>", html))


def test_each_bar_links_to_the_ledger_list_of_exactly_its_posts(logged_in: Any, ledger: None) -> None:
    html = logged_in.get("/overview/").get_data(as_text=True)
    links = dict(re.findall(r'<tr data-bucket="(\w+)">\s*<th scope="row">.*?<a href="([^"]+)"', html, re.S))
    assert set(links) == set(EXPECTED)
    for key, (count, amount, invoices) in EXPECTED.items():
        bar = re.search(r'<a class="mark-link" href="' + re.escape(links[key]) + '"', html)
        assert bar, f"the bar of {key} links to {links[key]}"
        listed = logged_in.get(links[key].replace("&amp;", "&")).get_data(as_text=True)
        assert invoice_numbers(listed) == invoices, key
        shown_total = f"{amount:,.2f}".replace(",", "\u00a0").replace(".", ",") + " kr"
        assert f"<strong>{shown_total}</strong>" in listed, key


def test_not_due_links_to_open_posts_due_today_or_later(logged_in: Any, ledger: None) -> None:
    html = logged_in.get("/overview/").get_data(as_text=True)
    assert 'href="/ledger/posts?days_to=0"' in html
    assert 'href="/ledger/posts?days_from=1&amp;days_to=14"' in html
    assert 'href="/ledger/posts?days_from=91"' in html


def test_bars_carry_their_figures_as_text_for_screen_readers(logged_in: Any, ledger: None) -> None:
    html = logged_in.get("/overview/").get_data(as_text=True)
    assert 'aria-label="1–14 dager: 2 poster, 1\u00a0040,00 kr"' in html
    assert 'aria-label="Over 90 dager: 2 poster, 12\u00a0346,67 kr"' in html
    assert "<title>Ikke forfalt: 2 poster, 350,50 kr</title>" in html
    # The figures are in the table too, in Norwegian format.
    assert "20\u00a0003,33 kr" in html
