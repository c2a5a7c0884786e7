"""CSRF: every state-changing request, form or HTMX, is refused without a valid token and writes nothing.

The walk takes every rule and method of the URL map, so a form added later is checked too.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from . import urlmap
from .conftest import Worlds, WriteLog, log_in
from .test_isolation import HTMX, rich_form

REFUSED = (400, 403)
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def csrf_app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(WTF_CSRF_ENABLED=True)


def test_every_state_changing_request_without_a_valid_token_is_refused_and_writes_nothing(
    csrf_app: Flask, worlds: Worlds, writes: WriteLog
) -> None:
    browser = log_in(csrf_app.test_client(), worlds.a.admin_id)
    form = rich_form(worlds.a)
    attempts = (
        ("no token", {}, {}),
        ("no token, htmx", HTMX, {}),
        (
            "a made-up token",
            {**HTMX, "X-CSRFToken": "IjEyMzQi.ZmFrZQ.Zm9yZ2Vk"},
            {"csrf_token": "IjEyMzQi.ZmFrZQ.Zm9yZ2Vk"},
        ),
    )
    failures = []
    walked = 0
    for c in urlmap.own_calls(csrf_app, worlds.a):
        if c.method not in urlmap.STATE_CHANGING:
            continue
        walked += 1
        for label, headers, extra in attempts:
            response = browser.open(c.url, method=c.method, data={**form, **extra}, headers=headers)
            written = writes.take()
            if response.status_code not in REFUSED:
                failures.append(f"{c} ({label}): {response.status_code}, not refused")
            if written:
                failures.append(f"{c} ({label}) wrote {sorted(set(written))}")
    assert walked > 30, "the walk should reach the app's forms"
    assert not failures, "\n".join(failures)


def token_from(browser: FlaskClient, url: str) -> str:
    match = TOKEN.search(browser.get(url).get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def test_the_same_request_with_the_pages_token_goes_through(csrf_app: Flask, worlds: Worlds, writes: WriteLog) -> None:
    """The other half of the walk above: the refusals are the token's doing, not a broken form."""
    browser = log_in(csrf_app.test_client(), worlds.a.admin_id)
    token = token_from(browser, "/dunning/pauses")
    form = {"invoice_no": "5002", "reason": "Tvist om leveransen"}

    assert browser.post("/dunning/pauses/post", data=form).status_code == 400
    assert writes.take() == []
    response = browser.post("/dunning/pauses/post", data={**form, "csrf_token": token})
    assert response.status_code == 302
    assert ("customer_post", "UPDATE") in writes.take()


def test_an_htmx_request_goes_through_with_the_token_from_the_page_header(
    csrf_app: Flask, worlds: Worlds, writes: WriteLog
) -> None:
    browser = log_in(csrf_app.test_client(), worlds.a.admin_id)
    page = browser.get("/collection/open").get_data(as_text=True)
    match = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page)
    assert match, "base.html hands the token to HTMX in hx-headers"
    response = browser.post("/collection/sync", headers={**HTMX, "X-CSRFToken": match.group(1)})
    assert response.status_code == 200


def test_a_refused_form_gets_a_norwegian_page_saying_what_to_do(csrf_app: Flask, worlds: Worlds) -> None:
    browser = log_in(csrf_app.test_client(), worlds.a.admin_id)
    page = browser.post("/dunning/pauses/post", data={"invoice_no": "5002", "reason": "Tvist"})
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert "Last siden på nytt" in text
    assert "The CSRF token" not in text
    fragment = browser.post("/dunning/pauses/post", data={"invoice_no": "5002"}, headers=HTMX)
    assert fragment.status_code == 400
    assert "<html" not in fragment.get_data(as_text=True)
    assert 'class="flash flash-error"' in fragment.get_data(as_text=True)
