"""Where the overdue money is: one stage per overdue post, agreeing with the lists the parts link to."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from svea_web.collection import eligibility
from svea_web.extensions import db
from svea_web.overview import services
from svea_web.setup.models import DunningSettings, SveaSettings
from tests import factories
from tests.conftest import TODAY
from tests.overview import builders

DUE = TODAY - timedelta(days=40)


@pytest.fixture
def follow_up(firm: Any) -> dict[str, Any]:
    """Level Inkasso with one in-app reminder: a post goes to Nye saker once its deadline has passed."""
    cid = firm.client.id
    db.session.add(SveaSettings(client_id=cid, handover_level="inkasso"))
    db.session.add(DunningSettings(client_id=cid, in_app_steps=1, notice_enabled=False))
    kari = factories.customer(cid, "Kari Nordmann", customer_no="2001")
    bygg = factories.customer(cid, "Fjord Bygg AS", kind="company", customer_no="2002")
    tvist = factories.customer(cid, "Tvist Tvistesen", customer_no="2003")
    ola = factories.customer(cid, "Ola Olsen", customer_no="2004")
    p = {
        "not_reminded": factories.post(kari, "100.00", due=DUE),
        "expired_pause": factories.post(kari, "50.00", due=DUE, paused_until=TODAY - timedelta(days=26)),
        "reminded": factories.post(
            kari, "200.00", due=DUE, reminder_step=1, reminder_deadline=TODAY + timedelta(days=8)
        ),
        "ready": factories.post(kari, "300.00", due=DUE, reminder_step=1, reminder_deadline=TODAY - timedelta(days=7)),
        "paused": factories.post(kari, "400.00", due=DUE, paused=True),
        "paused_dated": factories.post(kari, "500.00", due=DUE, paused_until=TODAY + timedelta(days=13)),
        "pending": factories.post(ola, "600.00", due=DUE),
        "open_case": factories.post(bygg, "700.00", due=DUE),
        "customer_paused": factories.post(tvist, "800.00", due=DUE),
        "after_case": factories.post(bygg, "900.00", due=TODAY - timedelta(days=2)),
        "not_due": factories.post(kari, "5000.00", due=TODAY),
        "credit": factories.post(kari, "-75.00", due=DUE, kind="credit_note"),
    }
    for key in ("reminded", "ready"):
        builders.reminder_step(p[key], DUE + timedelta(days=5), p[key].reminder_deadline)
    builders.svea_case(ola, "pending", [p["pending"]], created=datetime(2026, 11, 26, 9, 0))
    builders.svea_case(
        bygg,
        "open",
        [p["open_case"]],
        created=datetime(2026, 11, 1, 9, 0),
        acknowledged=datetime(2026, 11, 1, 9, 5),
        case_number="100234",
    )
    builders.customer_pause(tvist, created=datetime(2026, 11, 20, 12, 0))
    db.session.commit()
    return p


EXPECTED = {
    "not_reminded": (2, Decimal("150.00")),
    "reminded": (1, Decimal("200.00")),
    "paused": (3, Decimal("1700.00")),
    "new": (2, Decimal("1200.00")),
    "svea_pending": (1, Decimal("600.00")),
    "svea_open": (1, Decimal("700.00")),
}


@pytest.mark.all_backends
def test_each_overdue_post_is_in_exactly_one_stage(backend: str, firm: Any, follow_up: Any) -> None:
    overview = services.build_overview(firm.client.id, TODAY, TODAY)
    assert {s.key: (s.count, s.amount) for s in overview.stages} == EXPECTED
    # Credit notes are not owed money: the stages hold the overdue invoices, the buckets net them.
    assert overview.stage_total == Decimal("4550.00")
    assert overview.overdue_total == Decimal("4475.00")


def test_nye_saker_part_counts_what_the_nye_saker_tab_lists(firm: Any, follow_up: Any) -> None:
    overview = services.build_overview(firm.client.id, TODAY, TODAY)
    new = next(s for s in overview.stages if s.key == "new")
    policy = eligibility.policy_for(firm.client.id)
    assert new.count == eligibility.count_rows(firm.client.id, policy, TODAY)


def test_each_part_links_to_its_list(logged_in: Any, follow_up: Any) -> None:
    html = logged_in.get("/overview/").get_data(as_text=True)
    assert '<tr data-stage="new">' in html
    links = {
        "not_reminded": "/dunning/",
        "reminded": "/dunning/",
        "paused": "/dunning/pauses",
        "new": "/collection/new",
        "svea_pending": "/collection/open",
        "svea_open": "/collection/open",
    }
    for key, href in links.items():
        row = html.split(f'<tr data-stage="{key}">', 1)[1].split("</tr>", 1)[0]
        assert f'<a href="{href}">' in row, key
    assert 'aria-label="Nye saker: 2 poster, 1\u00a0200,00 kr (26 %)"' in html
    assert 'href="/collection/new" aria-label="Nye saker' in html


def test_top_debtors_rank_customers_by_overdue_money_with_their_case_state(firm: Any, follow_up: Any) -> None:
    overview = services.build_overview(firm.client.id, TODAY, TODAY)
    got = [(d.name, d.amount, d.posts, d.stage.key, d.case_numbers) for d in overview.debtors]
    assert got == [
        ("Fjord Bygg AS", Decimal("1600.00"), 2, "svea_open", ("100234",)),
        ("Kari Nordmann", Decimal("1550.00"), 6, "new", ()),
        ("Tvist Tvistesen", Decimal("800.00"), 1, "paused", ()),
        ("Ola Olsen", Decimal("600.00"), 1, "svea_pending", ()),
    ]
    assert overview.debtors[1].oldest_due == DUE


def test_top_debtors_are_ten_at_most(firm: Any) -> None:
    for n in range(12):
        factories.post(factories.customer(firm.client.id, f"Kunde {n:02d}"), f"{100 + n}.00", due=DUE)
    db.session.commit()
    debtors = services.build_overview(firm.client.id, TODAY, TODAY).debtors
    assert [d.name for d in debtors] == [f"Kunde {n:02d}" for n in range(11, 1, -1)]


def test_top_debtors_table_names_the_case(logged_in: Any, follow_up: Any) -> None:
    html = logged_in.get("/overview/").get_data(as_text=True)
    row = html.split('<tr data-customer="2002">', 1)[1].split("</tr>", 1)[0]
    assert "Fjord Bygg AS" in row
    assert "1\u00a0600,00 kr" in row
    assert "Åpen sak hos Svea" in row and "100234" in row
    assert date(2026, 10, 18).strftime("%d.%m.%Y") in row
