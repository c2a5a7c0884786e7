"""svea_web: follow up overdue invoices and hand them to Svea Finans."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, g, has_request_context, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import refresh
from flask_login import current_user


def _instance_secret(app: Flask, filename: str, make: Any) -> str:
    """Embedded default only: a secret made once and kept in instance/ so restarts keep sessions."""
    path = Path(app.instance_path) / filename
    if path.exists():
        return path.read_text().strip()
    value = str(make())
    path.write_text(value)
    path.chmod(0o600)
    return value


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_path=os.environ.get("SVEA_WEB_INSTANCE") or None, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from svea_web.config import from_environment

    app.config.update(from_environment(app.instance_path))
    app.config.update(
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        BABEL_DEFAULT_LOCALE="nb",
        BABEL_DEFAULT_TIMEZONE="Europe/Oslo",
        WTF_CSRF_TIME_LIMIT=None,
        PAGE_SIZE=50,
        # Logging in keeps working (limited per process) if the limiter's Redis is away.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
    )
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app, "secret_key", lambda: secrets.token_hex(32))
    if not app.config.get("ENCRYPTION_KEYS"):
        from cryptography.fernet import Fernet

        app.config["ENCRYPTION_KEYS"] = _instance_secret(app, "encryption_key", lambda: Fernet.generate_key().decode())
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]

    from svea_web.logging_setup import configure_logging

    configure_logging(app)
    _init_extensions(app)
    _register_blueprints(app)
    _register_request_hooks(app)

    from svea_web import cli, templating

    templating.init_app(app)
    cli.init_app(app)
    return app


def _init_extensions(app: Flask) -> None:
    from svea_web import models  # noqa: F401  (registers every table with the metadata)
    from svea_web.extensions import babel, csrf, db, htmx, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=lambda: "Europe/Oslo")
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None

    @login_manager.user_loader
    def load_user(user_id: str) -> Any:
        from svea_web.accounts.models import User

        uid, _, token = user_id.partition(":")
        if not uid.isdigit():
            return None
        user = db.session.get(User, int(uid))
        if user is None or not token or not secrets.compare_digest(user.session_token, token):
            return None
        return user


def _select_locale() -> str:
    # Jobs write history and errors in the default language: there is no user to ask.
    if not has_request_context():
        return "nb"
    lang = session.get("lang")
    if lang in ("nb", "en"):
        return str(lang)
    if current_user and current_user.is_authenticated and current_user.locale in ("nb", "en"):
        return str(current_user.locale)
    return "nb"


PUBLIC_ENDPOINTS = {"accounts.login", "static", "main.healthz", "main.set_language"}


def _register_request_hooks(app: Flask) -> None:
    from svea_web.tenancy import load_current_client

    @app.before_request
    def require_login() -> ResponseReturnValue | None:
        # Tests share one app context across requests; forget the previous request's locale.
        refresh()
        if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
            return None
        if not current_user.is_authenticated:
            if request.headers.get("HX-Request"):
                # A full redirect of the page, not a login form swapped into a fragment.
                resp = app.response_class(status=401)
                resp.headers["HX-Redirect"] = url_for("accounts.login")
                return resp
            return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
        load_current_client()
        return None

    @app.after_request
    def security_headers(response: Any) -> Any:
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.endpoint != "static" and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.context_processor
    def inject_tenancy() -> dict[str, Any]:
        return {
            "current_client_obj": g.get("client"),
            "current_membership": g.get("membership"),
            "all_memberships": g.get("memberships", []),
        }


def _register_blueprints(app: Flask) -> None:
    from svea_web.blueprints import register_all

    register_all(app)


__all__ = ["create_app"]
