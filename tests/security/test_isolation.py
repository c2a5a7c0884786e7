"""Client isolation: a user of one firm never reaches another firm's data, whatever URL or id they try.

The walkers derive every call from the app's URL map, so a page added later is checked too.
"""

from __future__ import annotations

import itertools
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from svea_web.extensions import db
from svea_web.ledger.models import CustomerPost
from svea_web.payments.models import PaymentAllocation

from . import urlmap
from .conftest import Worlds, WriteLog, changed_tables, firm_condition, log_in, snapshot, tables
from .world import FirmWorld

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://localhost/"}
REFUSED = (403, 404)


def rich_form(world: FirmWorld) -> dict[str, Any]:
    """A form that passes most forms' checks, every id in it taken from ``world``."""
    posts = world.ids[urlmap.FIRM_ID_PARTS["post_id"]]
    return {
        "post_id": posts[0],
        "customer_id": urlmap.value_for("customer_id", world),
        "case_id": urlmap.value_for("case_id", world),
        "payment_id": urlmap.value_for("payment_id", world),
        "client_id": world.client_id,
        # Nye saker's check boxes: a post (p<id>) or, with Gruppere poster, a customer (c<id>).
        "row": [f"p{i}" for i in posts] + [f"c{i}" for i in world.ids[urlmap.FIRM_ID_PARTS["customer_id"]]],
        "text": "En melding til saksbehandler",
        "reason": "OTHER",
        "amount": "10,00",
        "paid_on": "27.11.2026",
        "token": "0123456789abcdef0123456789abcdef",
        "request_token": "0123456789abcdef0123456789abcdef",
    }


def call(browser: FlaskClient, c: urlmap.Call, form: dict[str, Any], headers: dict[str, str]) -> Any:
    if c.method == "GET":
        return browser.get(c.url, headers=headers)
    return browser.open(c.url, method=c.method, data=form, headers=headers)


def test_every_url_part_of_the_url_map_is_known_to_the_walkers(app: Flask) -> None:
    assert urlmap.unknown_parts(app) == [], (
        "add these URL parts to tests/security/urlmap.py (and a builder to world.py for a new model), "
        "so that the new pages are walked by the security tests"
    )


def test_every_table_has_rows_made_by_a_realistic_builder(worlds: Worlds) -> None:
    assert worlds.generic == [], f"tables filled only by the generic builder; add them to world.py: {worlds.generic}"


def test_another_firms_ids_answer_404_or_403_on_every_route_and_change_nothing(
    app: Flask, worlds: Worlds, browser_a: FlaskClient, writes: WriteLog
) -> None:
    failures = []
    b_rows = firm_condition(worlds.b.client_id)
    before = snapshot(b_rows)
    for c in urlmap.foreign_calls(app, worlds.a, worlds.b):
        for headers in ({}, HTMX):
            response = call(browser_a, c, rich_form(worlds.b), headers)
            kind = " (htmx)" if headers else ""
            if response.status_code not in REFUSED:
                failures.append(f"{c}{kind}: {response.status_code}, not 404/403")
            if worlds.b.tag.encode() in response.data:
                failures.append(f"{c}{kind}: the other firm's data is in the answer")
        if writes.take():
            after = snapshot(b_rows)
            if after != before:
                failures.append(f"{c}: changed the other firm's rows in {changed_tables(before, after)}")
                before = after
    assert not failures, "\n".join(failures)


def test_another_firms_ids_in_forms_and_query_strings_reach_nothing_of_it(
    app: Flask, worlds: Worlds, browser_a: FlaskClient, writes: WriteLog
) -> None:
    """The firm's own URLs, with the other firm's ids where a form or a query string carries ids."""
    failures = []
    b_rows = firm_condition(worlds.b.client_id)
    before = snapshot(b_rows)
    foreign = rich_form(worlds.b)
    query = {k: v for k, v in foreign.items() if k.endswith("_id")}
    # Redirects are not followed: the flash messages they would show pile up in the session and
    # come out on the next page this walk opens, or on the last one below.
    for c in urlmap.own_calls(app, worlds.a):
        if c.method == "GET":
            response = browser_a.get(c.url, query_string=query)
        else:
            response = browser_a.open(c.url, method=c.method, data=foreign)
        if response.status_code == 500:
            failures.append(f"{c}: 500")
        if worlds.b.tag.encode() in response.data:
            failures.append(f"{c}: the other firm's data is in the answer")
        if not writes.take():
            continue
        after = snapshot(b_rows)
        if after != before:
            failures.append(f"{c}: changed the other firm's rows in {changed_tables(before, after)}")
            before = after
    if worlds.b.tag.encode() in browser_a.get("/ledger/posts").data:
        failures.append("a flash message shows the other firm's data")
    failures += cross_firm_links()
    assert not failures, "\n".join(failures)


def cross_firm_links() -> list[str]:
    """Rows that tie two firms together: a payment of one firm booked on another firm's post, a case
    holding another firm's post. Every firm a row names (its client_id, and the client_id of each row
    it points at) must be the same firm."""
    found = []
    for table in tables():
        owners = []
        joined: Any = table
        for fk in sorted(table.foreign_keys, key=lambda fk: fk.parent.name):
            target = fk.column.table
            if target.name == "client":
                owners.append((fk.parent.name, fk.parent))
            elif "client_id" in target.c:
                alias = target.alias()
                joined = joined.outerjoin(alias, fk.parent == alias.c[fk.column.name])
                owners.append((f"{fk.parent.name} -> {target.name}", alias.c.client_id))
        for (name_a, a), (name_b, b) in itertools.combinations(owners, 2):
            count = db.session.scalar(
                select(func.count()).select_from(joined).where(a.is_not(None), b.is_not(None), a != b)
            )
            if count:
                found.append(f"{count} {table.name} rows name two firms: {name_a} and {name_b}")
    return found


def test_a_user_cannot_switch_to_a_firm_they_do_not_belong_to(app: Flask, worlds: Worlds) -> None:
    browser = log_in(app.test_client(), worlds.a.user_id)
    response = browser.post("/client/switch", data={"client_id": str(worlds.b.client_id)})
    assert response.status_code in REFUSED
    page = browser.get("/ledger/customers").get_data(as_text=True)
    assert worlds.a.tag in page
    assert worlds.b.tag not in page


def test_a_tampered_session_firm_falls_back_to_the_users_own_firm(app: Flask, worlds: Worlds) -> None:
    browser = log_in(app.test_client(), worlds.a.user_id)
    with browser.session_transaction() as session:
        session["client_id"] = worlds.b.client_id
    page = browser.get("/ledger/customers").get_data(as_text=True)
    assert worlds.a.tag in page
    assert worlds.b.tag not in page


def test_the_cross_firm_check_finds_a_payment_booked_on_another_firms_post(app: Flask, worlds: Worlds) -> None:
    assert cross_firm_links() == []
    allocation = db.session.get(PaymentAllocation, worlds.a.ids[PaymentAllocation][0])
    assert allocation is not None
    allocation.post_id = worlds.b.ids[CustomerPost][0]
    db.session.commit()
    assert "payment_allocation rows name two firms: client_id and post_id -> customer_post" in " ".join(
        cross_firm_links()
    )


# Rows every firm shares (the law's fee and interest tables): only the deployment's operator changes them.
SHARED_TABLES = {"figure_row"}


def test_a_firms_admin_cannot_change_the_tables_every_firm_shares(
    app: Flask, worlds: Worlds, browser_a: FlaskClient, writes: WriteLog
) -> None:
    form = {**rich_form(worlds.a), "value": "1,00", "valid_from": "01.01.2027"}
    form |= {f"{kind}-{name}": form[name] for kind in ("reminder_fees",) for name in ("value", "valid_from")}
    failures = []
    for c in urlmap.own_calls(app, worlds.a):
        if c.method not in urlmap.STATE_CHANGING:
            continue
        browser_a.open(c.url, method=c.method, data=form)
        shared = sorted({table for table, _verb in writes.take() if table in SHARED_TABLES})
        if shared:
            failures.append(f"{c}: a firm's admin changed {shared}")
    assert not failures, "\n".join(failures)


def test_the_job_dashboard_lists_every_firms_jobs_so_only_the_operator_opens_it(
    app: Flask, worlds: Worlds, browser_a: FlaskClient
) -> None:
    dashboard = [c for c in urlmap.own_calls(app, worlds.a) if c.rule.endpoint.startswith("rq_dashboard.")]
    assert dashboard, "the dashboard is mounted (REDIS_URL is set)"
    opened = []
    for c in dashboard:
        response = browser_a.open(c.url, method=c.method, follow_redirects=True)
        if response.status_code != 403:
            opened.append(f"{c}: {response.status_code}")
    assert not opened, "a firm's administrator opens the job dashboard:\n" + "\n".join(opened)
    operator = log_in(app.test_client(), worlds.operator_id)
    assert operator.get("/admin/rq/", headers={"Referer": "http://localhost/"}).status_code == 200
