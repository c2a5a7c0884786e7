"""Configuration from environment variables only (12-factor), with safe defaults for the demo."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def normalize_database_url(url: str) -> str:
    """PaaS hosts hand out ``postgres://`` URLs; SQLAlchemy 2 wants a driver-qualified scheme."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _limiter_storage(redis_url: str | None) -> str:
    """The rate limiter's storage URI for a Redis URL (the limits package spells sockets redis+unix://)."""
    if not redis_url:
        return "memory://"
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://") :]
    return redis_url


def from_environment(instance_path: str) -> dict[str, Any]:
    """Read every setting the app knows from the environment."""
    default_db = "sqlite:///" + str(Path(instance_path) / "svea_web.sqlite3")
    env = os.environ
    return {
        "SECRET_KEY": env.get("SECRET_KEY") or None,
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(env.get("DATABASE_URL") or default_db),
        "REDIS_URL": env.get("REDIS_URL") or None,
        # Comma-separated Fernet keys; the first encrypts, all decrypt (rotation).
        "ENCRYPTION_KEYS": env.get("SVEA_WEB_ENCRYPTION_KEYS") or env.get("ENCRYPTION_KEY") or None,
        "SVEA_BASE_URL": env.get("SVEA_BASE_URL", "http://127.0.0.1:5001"),
        "SVEA_AGENCY_EMAIL": env.get("SVEA_AGENCY_EMAIL", "hamar@sveafinans.no"),
        "SVEA_AGREEMENT_URL": env.get("SVEA_AGREEMENT_URL") or None,
        "SMTP_HOST": env.get("SMTP_HOST") or None,
        "SMTP_PORT": int(env.get("SMTP_PORT", "587")),
        "SMTP_USERNAME": env.get("SMTP_USERNAME") or None,
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD") or None,
        "SMTP_STARTTLS": _bool("SMTP_STARTTLS", True),
        "MAIL_FROM": env.get("MAIL_FROM", "svea-web@localhost"),
        "SYNC_INTERVAL_SECONDS": int(env.get("SYNC_INTERVAL_SECONDS", "300")),
        "SETTLEMENT_INTERVAL_SECONDS": int(env.get("SETTLEMENT_INTERVAL_SECONDS", "3600")),
        "REMINDER_INTERVAL_SECONDS": int(env.get("REMINDER_INTERVAL_SECONDS", "3600")),
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", False),
        "MAX_CONTENT_LENGTH": int(env.get("MAX_UPLOAD_BYTES", str(32 * 1024 * 1024))),
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per minute"),
        # Several web processes must share one login counter: use Redis when there is one.
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI") or _limiter_storage(env.get("REDIS_URL")),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
    }
