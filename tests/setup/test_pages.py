"""The settings tabs: an HTMX tab switch gets the tab alone, the same URL opened directly the whole page."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import Firm

TABS = ("/settings/", "/settings/svea", "/settings/dunning", "/settings/figures")


def test_each_tab_is_a_whole_page_opened_directly_and_a_fragment_for_htmx(
    app: Flask, firm: Firm, logged_in: FlaskClient
) -> None:
    for url in TABS:
        page = logged_in.get(url)
        assert page.status_code == 200, url
        html = page.get_data(as_text=True)
        assert html.startswith("<!doctype html>") and 'id="settings-tab"' in html
        assert f'href="{url}" hx-get="{url}"' in html and 'aria-selected="true"' in html

        fragment = logged_in.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
        assert fragment.lstrip().startswith('<div id="settings-tab">') and "<html" not in fragment


def test_the_settings_menu_entry_is_shown(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    html = logged_in.get("/settings/").get_data(as_text=True)
    assert 'href="/settings/"' in html and "Innstillinger" in html and 'href="/mail/outbox"' in html


def test_the_order_status_fragment_opened_directly_leads_to_the_svea_page(
    app: Flask, firm: Firm, logged_in: FlaskClient
) -> None:
    response = logged_in.get("/settings/svea/orders")
    assert response.status_code == 302 and response.headers["Location"].endswith("/settings/svea")
