"""Authentication: every page but the login, static files and /healthz needs a login; the login is
rate-limited and locks out guessing; the session cookie is HttpOnly, SameSite=Lax and Secure on HTTPS;
logging out ends the session; passwords are stored as scrypt hashes."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from werkzeug.test import TestResponse

from svea_web.accounts.models import User
from svea_web.extensions import db
from svea_web.models_base import utcnow

from . import urlmap
from .conftest import Worlds
from .test_isolation import HTMX
from .world import PASSWORD

# Endpoints anyone may open. Everything else in the URL map must send a stranger to the login.
PUBLIC = {"accounts.login", "static", "main.healthz", "main.set_language", "rq_dashboard.static"}


def login(browser: FlaskClient, email: str, password: str) -> TestResponse:
    return browser.post("/login", data={"email": email, "password": password})


def test_every_page_but_login_static_and_health_sends_a_stranger_to_the_login(app: Flask, worlds: Worlds) -> None:
    stranger = app.test_client()
    failures = []
    for c in urlmap.own_calls(app, worlds.a):
        if c.rule.endpoint in PUBLIC:
            continue
        page = stranger.open(c.url, method=c.method)
        if page.status_code in (301, 308):
            # The URL map's own redirect to the rule's canonical URL (rq-dashboard's defaults).
            page = stranger.open(page.headers["Location"], method=c.method)
        if page.status_code != 302 or not page.headers.get("Location", "").startswith("/login"):
            failures.append(f"{c}: {page.status_code} {page.headers.get('Location', '')}")
        fragment = stranger.open(c.url, method=c.method, headers=HTMX, follow_redirects=False)
        if fragment.status_code in (301, 308):
            fragment = stranger.open(fragment.headers["Location"], method=c.method, headers=HTMX)
        if fragment.status_code != 401 or fragment.headers.get("HX-Redirect") != "/login":
            failures.append(f"{c} (htmx): {fragment.status_code}, not 401 with HX-Redirect to the login")
        if worlds.a.tag.encode() in page.data + fragment.data:
            failures.append(f"{c}: firm data shown to a stranger")
    assert not failures, "\n".join(failures)


def test_the_public_pages_answer_without_a_login(app: Flask) -> None:
    stranger = app.test_client()
    assert stranger.get("/login").status_code == 200
    assert stranger.get("/healthz").status_code in (200, 503)
    assert stranger.get("/static/css/app.css").status_code == 200


def test_a_login_redirect_never_leaves_the_site(app: Flask, worlds: Worlds) -> None:
    browser = app.test_client()
    response = browser.post(
        "/login", data={"email": worlds.a.user_email, "password": PASSWORD, "next": "//evil.example/"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_the_session_cookie_is_httponly_and_samesite_lax(app: Flask, worlds: Worlds) -> None:
    response = login(app.test_client(), worlds.a.user_email, PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http here; see the next test


def test_the_session_cookie_is_secure_when_served_over_https(make_app: Callable[..., Flask], worlds: Worlds) -> None:
    """SESSION_COOKIE_SECURE=1 (docs/security.md) is what a deployment behind HTTPS sets."""
    app = make_app(SESSION_COOKIE_SECURE=True)
    response = app.test_client().post(
        "/login", data={"email": worlds.a.user_email, "password": PASSWORD}, base_url="https://localhost"
    )
    assert "Secure" in response.headers["Set-Cookie"]
    assert app.config["REMEMBER_COOKIE_SECURE"] is True


def test_logging_out_makes_the_old_session_cookie_worthless(app: Flask, worlds: Worlds) -> None:
    browser = app.test_client()
    assert login(browser, worlds.a.user_email, PASSWORD).status_code == 302
    stolen = browser.get_cookie("session")
    assert stolen is not None
    assert browser.get("/ledger/posts").status_code == 200
    assert browser.post("/logout").status_code == 302

    thief = app.test_client()
    thief.set_cookie("session", stolen.value, domain=stolen.domain)
    response = thief.get("/ledger/posts")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_passwords_are_stored_as_scrypt_hashes(app: Flask, worlds: Worlds) -> None:
    user = db.session.get(User, worlds.a.user_id)
    assert user is not None
    assert user.password_hash.startswith("scrypt:")
    assert PASSWORD not in user.password_hash


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(app: Flask, worlds: Worlds) -> None:
    browser = app.test_client()
    for _ in range(5):
        assert login(browser, worlds.a.user_email, "feil-passord").status_code == 401
    locked = login(browser, worlds.a.user_email, PASSWORD)
    assert locked.status_code == 401
    assert "låst" in locked.get_data(as_text=True)

    db.session.execute(update(User).where(User.id == worlds.a.user_id).values(locked_until=utcnow() - timedelta(1)))
    db.session.commit()
    assert login(browser, worlds.a.user_email, PASSWORD).status_code == 302


def test_the_login_is_rate_limited_per_address(make_app: Callable[..., Flask], worlds: Worlds) -> None:
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    browser = app.test_client()
    answers = [login(browser, f"ukjent{n}@example.no", "gjett").status_code for n in range(4)]
    assert answers == [401, 401, 401, 429]
    refused = login(browser, worlds.a.user_email, PASSWORD)
    assert refused.status_code == 429
    assert "For mange forsøk" in refused.get_data(as_text=True)


def test_an_unknown_email_takes_as_long_as_a_wrong_password(app: Flask, worlds: Worlds) -> None:
    """Otherwise the answer's speed tells which e-mail addresses have an account."""

    def seconds(email: str) -> float:
        browser = app.test_client()
        start = time.perf_counter()
        login(browser, email, "feil-passord")
        return time.perf_counter() - start

    known = min(seconds(worlds.a.admin_email) for _ in range(2))
    unknown = min(seconds("finnes.ikke@example.no") for _ in range(2))
    assert unknown > known / 3, f"unknown e-mail {unknown:.3f} s, known e-mail {known:.3f} s"
