"""The picture of an earlier day, taken from the ledger's history, and the results per month."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from svea_web.extensions import db
from svea_web.ledger.models import Customer
from svea_web.overview import services
from svea_web.payments.models import SOURCE_SVEA
from svea_web.setup.models import DunningSettings, SveaSettings
from tests import factories
from tests.conftest import TODAY
from tests.overview import builders

AS_OF = date(2026, 10, 31)


@pytest.fixture
def history(firm: Any) -> None:
    cid = firm.client.id
    db.session.add(SveaSettings(client_id=cid, handover_level="inkasso"))
    db.session.add(DunningSettings(client_id=cid, in_app_steps=2, notice_enabled=False))
    kari = factories.customer(cid, "Kari Nordmann", customer_no="3001")
    bygg = factories.customer(cid, "Fjord Bygg AS", kind="company", customer_no="3002")

    # Reminded on 16 Oct, part-paid on 10 Nov.
    p1 = factories.post(kari, "1000.00", due=date(2026, 10, 1), invoice_no="P1")
    builders.reminder_step(p1, date(2026, 10, 16), date(2026, 10, 30))
    builders.pay(p1, "600.00", date(2026, 11, 10))
    # Paid on 25 Oct after a reminder, the payment reversed on 5 Nov: open again now, settled on 31 Oct.
    p3 = factories.post(kari, "700.00", due=date(2026, 10, 20), invoice_no="P3")
    builders.reminder_step(p3, date(2026, 10, 21), date(2026, 11, 4))
    builders.pay(p3, "700.00", date(2026, 10, 25), reversed_at=datetime(2026, 11, 5, 10, 0))
    # Invoiced after 31 Oct.
    factories.post(kari, "150.00", due=date(2026, 11, 19), invoice_no="P4", invoice_date=date(2026, 11, 5))
    # Imported open, never paid: 91 days overdue on 31 Oct.
    factories.post(kari, "800.00", due=date(2026, 8, 1), invoice_no="P5")
    # Reminded only after 31 Oct.
    p7 = factories.post(kari, "300.00", due=date(2026, 10, 10), invoice_no="P7")
    builders.reminder_step(p7, date(2026, 11, 10), date(2026, 11, 24))
    # Paid on 3 Nov without any reminder: in no result.
    p8 = factories.post(kari, "300.00", due=date(2026, 10, 20), invoice_no="P8")
    builders.pay(p8, "300.00", date(2026, 11, 3))
    # At Svea from 20 Oct (confirmed 22 Oct); paid directly 500 on 1 Nov, Svea collected 1,500 on
    # 14 Nov, the case closed on 15 Nov.
    p6 = factories.post(bygg, "2000.00", due=date(2026, 9, 15), invoice_no="P6")
    case = builders.svea_case(
        bygg,
        "closed",
        [p6],
        created=datetime(2026, 10, 20, 10, 0),
        acknowledged=datetime(2026, 10, 22, 9, 0),
        closed=datetime(2026, 11, 15, 12, 0),
        case_number="200001",
        link_posts=False,
    )
    direct = builders.pay(p6, "500.00", date(2026, 11, 1))
    builders.report_direct_payment(direct, case, date(2026, 11, 1))
    builders.pay(p6, "1500.00", date(2026, 11, 14), source=SOURCE_SVEA)
    builders.settlement(cid, date(2026, 11, 14), "1500.00")
    # Rejected by Svea: never opened.
    builders.svea_case(bygg, "rejected", [], created=datetime(2026, 11, 20, 8, 0))
    db.session.commit()


def buckets(overview: services.Overview) -> dict[str, tuple[int, Decimal]]:
    return {b.key: (b.count, b.amount) for b in overview.buckets if b.count}


def stages(overview: services.Overview) -> dict[str, tuple[int, Decimal]]:
    return {s.key: (s.count, s.amount) for s in overview.stages if s.count}


@pytest.mark.all_backends
def test_a_past_day_shows_the_open_amounts_and_days_overdue_of_that_day(backend: str, firm: Any, history: None) -> None:
    overview = services.build_overview(firm.client.id, AS_OF, TODAY)
    assert buckets(overview) == {
        "d1_14": (1, Decimal("300.00")),
        "d15_30": (2, Decimal("1300.00")),
        "d31_60": (1, Decimal("2000.00")),
        "over_90": (1, Decimal("800.00")),
    }
    assert stages(overview) == {
        "not_reminded": (3, Decimal("1400.00")),
        "reminded": (1, Decimal("1000.00")),
        "svea_open": (1, Decimal("2000.00")),
    }
    assert [(d.name, d.amount, d.stage.key, d.case_numbers) for d in overview.debtors] == [
        ("Kari Nordmann", Decimal("2400.00"), "reminded", ()),
        ("Fjord Bygg AS", Decimal("2000.00"), "svea_open", ("200001",)),
    ]


@pytest.mark.all_backends
def test_today_shows_the_ledger_as_it_stands(backend: str, firm: Any, history: None) -> None:
    overview = services.build_overview(firm.client.id, TODAY, TODAY)
    assert buckets(overview) == {
        "d1_14": (1, Decimal("150.00")),
        "d31_60": (3, Decimal("1400.00")),
        "over_90": (1, Decimal("800.00")),
    }
    assert stages(overview) == {"not_reminded": (2, Decimal("950.00")), "reminded": (3, Decimal("1400.00"))}


def results(months: list[services.Month]) -> dict[str, tuple[Decimal, Decimal, Decimal, int, int]]:
    return {
        m.first_day.strftime("%Y-%m"): (
            m.paid_after_reminder,
            m.paid_direct_in_case,
            m.collected_by_svea,
            m.cases_opened,
            m.cases_closed,
        )
        for m in months
        if any((m.paid_after_reminder, m.paid_direct_in_case, m.collected_by_svea, m.cases_opened, m.cases_closed))
    }


@pytest.mark.all_backends
def test_results_per_month_for_the_last_twelve_months(backend: str, firm: Any, history: None) -> None:
    months = services.monthly_results(firm.client.id, TODAY)
    assert [m.first_day for m in months][:: len(months) - 1] == [
        date(2025, 12, 1),
        date(2026, 11, 1),
    ]
    assert len(months) == 12
    assert results(months) == {
        "2026-10": (Decimal("0"), Decimal("0"), Decimal("0"), 1, 0),
        "2026-11": (Decimal("600.00"), Decimal("500.00"), Decimal("1500.00"), 0, 1),
    }


def test_results_of_a_past_day_count_payments_reversed_after_it(firm: Any, history: None) -> None:
    months = services.monthly_results(firm.client.id, AS_OF)
    assert months[-1].first_day == date(2026, 10, 1)
    assert results(months) == {"2026-10": (Decimal("700.00"), Decimal("0"), Decimal("0"), 1, 0)}


def test_the_date_picker_redraws_the_page_for_a_past_day_without_links(logged_in: Any, history: None) -> None:
    html = logged_in.get("/overview/?as_of=2026-10-31").get_data(as_text=True)
    assert 'name="as_of" value="2026-10-31"' in html
    assert "Bildet per 31.10.2026" in html
    assert 'class="mark-link"' not in html
    assert 'role="img" aria-label="31–60 dager: 1 post, 2\u00a0000,00 kr"' in html
    assert "Åpent per 31.10.2026: 4\u00a0400,00 kr" in html


def test_a_future_or_malformed_date_shows_today(logged_in: Any, history: None) -> None:
    for value in ("2027-01-01", "31.10.2026", ""):
        html = logged_in.get(f"/overview/?as_of={value}").get_data(as_text=True)
        assert 'name="as_of" value="2026-11-27"' in html, value
        assert 'class="mark-link"' in html


def test_htmx_gets_the_fragment_only(logged_in: Any, history: None) -> None:
    response = logged_in.get("/overview/?as_of=2026-10-31", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="overview"')
    assert "<html" not in html


def test_the_page_loads_the_monthly_results_once_shown(logged_in: Any, history: None) -> None:
    html = logged_in.get("/overview/?as_of=2026-10-31").get_data(as_text=True)
    assert 'hx-get="/overview/results?as_of=2026-10-31" hx-trigger="load"' in html
    fragment = logged_in.get("/overview/results?as_of=2026-10-31", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert text.lstrip().startswith('<section class="card" id="results"')
    row = text.split('<tr data-month="2026-10">', 1)[1].split("</tr>", 1)[0]
    assert '<th scope="row">oktober 2026</th>' in row
    assert "700,00 kr" in row
    assert 'aria-label="oktober 2026, betalt etter purring: 700,00 kr"' in text
    assert 'data-month="2026-11"' not in text


def test_monthly_results_table_for_today(logged_in: Any, history: None) -> None:
    text = logged_in.get("/overview/results", headers={"HX-Request": "true"}).get_data(as_text=True)
    row = text.split('<tr data-month="2026-11">', 1)[1].split("</tr>", 1)[0]
    cells = [cell.strip() for cell in row.split('<td class="num">')[1:]]
    assert [cell.split("</td>")[0] for cell in cells] == ["600,00 kr", "500,00 kr", "1\u00a0500,00 kr", "0", "1"]


def test_monthly_results_open_as_a_page_of_their_own_without_htmx(logged_in: Any, history: None) -> None:
    html = logged_in.get("/overview/results?as_of=2026-10-31").get_data(as_text=True)
    assert "<html" in html
    assert 'id="pat-paid-svea"' in html
    assert 'href="/overview/?as_of=2026-10-31"' in html


@pytest.mark.all_backends
def test_a_past_day_counts_credit_notes_and_posts_not_yet_due_in_the_buckets_only(
    backend: str, firm: Any, history: None
) -> None:
    kari = next(d.customer_id for d in services.build_overview(firm.client.id, AS_OF, TODAY).debtors)
    customer = db.session.get(Customer, kari)
    factories.post(customer, "-200.00", due=date(2026, 10, 20), invoice_no="K1", kind="credit_note")
    factories.post(customer, "400.00", due=date(2026, 11, 10), invoice_no="P9", invoice_date=date(2026, 10, 27))
    db.session.commit()
    overview = services.build_overview(firm.client.id, AS_OF, TODAY)
    assert buckets(overview) == {
        "not_due": (1, Decimal("400.00")),
        "d1_14": (2, Decimal("100.00")),
        "d15_30": (2, Decimal("1300.00")),
        "d31_60": (1, Decimal("2000.00")),
        "over_90": (1, Decimal("800.00")),
    }
    # Neither is overdue money: the stages and the top debtors are as before.
    assert stages(overview) == {
        "not_reminded": (3, Decimal("1400.00")),
        "reminded": (1, Decimal("1000.00")),
        "svea_open": (1, Decimal("2000.00")),
    }
    assert [(d.name, d.amount, d.posts) for d in overview.debtors] == [
        ("Kari Nordmann", Decimal("2400.00"), 4),
        ("Fjord Bygg AS", Decimal("2000.00"), 1),
    ]
    # Counts are whole numbers on both backends (PostgreSQL sums counts as numeric).
    counts = (
        [b.count for b in overview.buckets] + [s.count for s in overview.stages] + [d.posts for d in overview.debtors]
    )
    assert {type(n) for n in counts} == {int}
