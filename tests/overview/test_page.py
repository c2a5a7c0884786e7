"""The overview page: the first page after login, within the Content-Security-Policy, one firm's data only."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest

from svea_web.extensions import db
from tests import factories
from tests.conftest import TODAY


class _Attributes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


def test_login_lands_on_the_overview(client: Any, auth: Any, firm: Any) -> None:
    auth.login(firm.admin)
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/overview/"
    page = client.get("/overview/").get_data(as_text=True)
    assert "<h1>Oversikt</h1>" in page
    assert 'href="/static/css/overview.css"' in page


@pytest.mark.parametrize("url", ["/overview/", "/overview/results"])
def test_page_keeps_to_the_content_security_policy(logged_in: Any, firm: Any, url: str) -> None:
    cust = factories.customer(firm.client.id, "Kari Nordmann")
    factories.post(cust, "1200.00", due=TODAY - timedelta(days=20))
    factories.post(cust, "300.00", due=TODAY + timedelta(days=5))
    db.session.commit()
    response = logged_in.get(url)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "style-src 'self'" in response.headers["Content-Security-Policy"]
    parser = _Attributes()
    parser.feed(response.get_data(as_text=True))
    assert parser.inline_scripts == 0
    assert not [tag for tag, attrs in parser.tags if tag == "style"]
    assert not [(tag, attrs) for tag, attrs in parser.tags if "style" in attrs]
    assert not [(tag, name) for tag, attrs in parser.tags for name in attrs if name.startswith(("on", "hx-on"))]
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    assert scripts and all(attrs.get("src", "").startswith("/static/") for attrs in scripts)
    # The charts are drawn, with pattern fills for reading without colour.
    marks = [attrs for tag, attrs in parser.tags if tag == "rect" and "mark" in (attrs.get("class") or "")]
    fills = {attrs.get("fill") for attrs in marks}
    patterns = {attrs.get("id") for tag, attrs in parser.tags if tag == "pattern"}
    assert fills and all(fill.startswith("url(#pat-") and fill[5:-1] in patterns for fill in fills if fill)


def test_another_firms_posts_never_show(logged_in: Any, firm: Any, make_firm: Any) -> None:
    other = make_firm("Annen Klient AS")
    factories.post(factories.customer(other.client.id, "Hemmelig Kunde"), "98765.00", due=TODAY - timedelta(days=50))
    db.session.commit()
    html = logged_in.get("/overview/").get_data(as_text=True)
    assert "Hemmelig Kunde" not in html
    assert "98\u00a0765" not in html
    assert "Ingen kunder har forfalte poster." in html


def test_the_overview_speaks_the_users_language_for_numbers(logged_in: Any, firm: Any) -> None:
    factories.post(factories.customer(firm.client.id, "Kari Nordmann"), "1234.50", due=TODAY - timedelta(days=3))
    db.session.commit()
    logged_in.post("/language/en")
    html = logged_in.get("/overview/").get_data(as_text=True)
    assert "NOK 1,234.50" in html
    assert "1\u00a0234,50 kr" not in html
