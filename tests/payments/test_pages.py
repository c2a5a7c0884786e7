"""The Innbetaling page: tabs as whole pages or HTMX fragments, and settlements fetched when it opens."""

from __future__ import annotations

from svea_web.extensions import db
from tests.payments.conftest import connect_to_svea


def test_each_tab_is_a_whole_page_and_an_htmx_fragment(logged_in):
    for url, marker in (
        ("/payments/", 'id="payments"'),
        ("/payments/unmatched", 'id="unmatched"'),
        ("/payments/files", 'name="file"'),
        ("/payments/settlements", 'id="settlements"'),
    ):
        page = logged_in.get(url).get_data(as_text=True)
        fragment = logged_in.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
        assert "<html" in page and marker in page, url
        assert "<html" not in fragment and marker in fragment and 'aria-selected="true"' in fragment, url


def test_innbetaling_is_in_the_main_menu(logged_in):
    assert 'href="/payments/"' in logged_in.get("/ledger/posts").get_data(as_text=True)


def test_opening_the_page_asks_svea_for_settlements_at_most_once_a_minute(logged_in, firm, sandbox):
    assert "on_open=1" not in logged_in.get("/payments/").get_data(as_text=True)  # no Svea agreement yet
    connect_to_svea(firm.client.id, sandbox)
    db.session.commit()

    page = logged_in.get("/payments/").get_data(as_text=True)
    first = logged_in.post("/payments/settlements/fetch?on_open=1").get_data(as_text=True)
    second = logged_in.post("/payments/settlements/fetch?on_open=1").get_data(as_text=True)

    assert 'hx-post="/payments/settlements/fetch?on_open=1"' in page and 'hx-trigger="load"' in page
    assert "Ingen nye oppgjør fra Svea." in first
    assert "Ingen nye oppgjør" not in second  # skipped: asked a moment ago


def test_a_firm_without_svea_cannot_fetch_settlements(logged_in):
    assert "Svea er ikke satt opp" in logged_in.post("/payments/settlements/fetch").get_data(as_text=True)


def test_csrf_is_required_for_every_payment_post(app_config):
    from svea_web import create_app

    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    with app.app_context():
        client = app.test_client()
        for url in ("/payments/new", "/payments/files", "/payments/settlements/fetch", "/payments/1/reverse"):
            assert client.post(url, data={}).status_code == 400, url
