"""Error pages and upload limits: a clear Norwegian page (a fragment for HTMX), never a stack trace or
an exception's text, and a too-big upload refused with 413 on every form before anything is written."""

from __future__ import annotations

import io
from collections.abc import Callable

from flask import Flask

from . import urlmap
from .conftest import Worlds, WriteLog, log_in
from .test_isolation import HTMX

LIMIT = 64 * 1024
SECRET_DETAIL = "kunde Kari Hemmelig 01010112345"


def test_an_unknown_page_gets_a_norwegian_404_page_and_htmx_a_fragment(app: Flask, worlds: Worlds) -> None:
    browser = log_in(app.test_client(), worlds.a.user_id)
    page = browser.get("/finnes-ikke")
    assert page.status_code == 404
    text = page.get_data(as_text=True)
    assert "Finner ikke siden" in text
    assert 'class="mainnav"' in text, "the page keeps the app's menu"
    fragment = browser.get("/finnes-ikke", headers=HTMX)
    assert fragment.status_code == 404
    assert "<html" not in fragment.get_data(as_text=True)
    assert "Finner ikke siden" in fragment.get_data(as_text=True)


def test_a_wrong_method_gets_405_with_the_allowed_methods(app: Flask, worlds: Worlds) -> None:
    browser = log_in(app.test_client(), worlds.a.user_id)
    response = browser.get("/logout")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert "Ikke tillatt her" in response.get_data(as_text=True)


def test_a_crash_shows_a_plain_apology_never_the_exception(make_app: Callable[..., Flask], worlds: Worlds) -> None:
    app = make_app(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    def crash() -> str:
        raise RuntimeError(f"fant ikke {SECRET_DETAIL} i /srv/app/secret.py")

    app.add_url_rule("/test-crash", "test_crash", crash)
    browser = log_in(app.test_client(), worlds.a.user_id)
    for headers in ({}, HTMX):
        response = browser.get("/test-crash", headers=headers)
        assert response.status_code == 500
        text = response.get_data(as_text=True)
        assert "Noe gikk galt" in text
        for leak in (SECRET_DETAIL, "RuntimeError", "Traceback", "secret.py"):
            assert leak not in text
    assert browser.get("/ledger/posts").status_code == 200, "the app works on after the crash"


def test_a_too_big_upload_gets_a_clear_413_page(make_app: Callable[..., Flask], worlds: Worlds) -> None:
    app = make_app(MAX_CONTENT_LENGTH=LIMIT)
    browser = log_in(app.test_client(), worlds.a.admin_id)
    big = b"Kundenr;Navn\n" + b"1;Kari Nordmann\n" * (LIMIT // 10)
    for url in ("/ledger/import", "/payments/files"):
        response = browser.post(url, data={"file": (io.BytesIO(big), "stor.csv")}, content_type="multipart/form-data")
        assert response.status_code == 413, url
        text = response.get_data(as_text=True)
        assert "Filen er for stor" in text
        assert "grensen på 64 kB" in text
        assert "Traceback" not in text


def test_every_form_refuses_a_too_big_body_before_writing_anything(
    make_app: Callable[..., Flask], worlds: Worlds, writes: WriteLog
) -> None:
    app = make_app(MAX_CONTENT_LENGTH=LIMIT, WTF_CSRF_ENABLED=True)
    browser = log_in(app.test_client(), worlds.a.admin_id)
    body = {"file": (io.BytesIO(b"x" * (LIMIT + 1)), "stor.bin"), "text": "x"}
    failures = []
    for c in urlmap.own_calls(app, worlds.a):
        if c.method not in urlmap.STATE_CHANGING:
            continue
        body["file"] = (io.BytesIO(b"x" * (LIMIT + 1)), "stor.bin")
        response = browser.open(c.url, method=c.method, data=body, content_type="multipart/form-data")
        if response.status_code != 413:
            failures.append(f"{c}: {response.status_code}, not 413")
        if writes.take():
            failures.append(f"{c}: wrote to the database")
    assert not failures, "\n".join(failures)
