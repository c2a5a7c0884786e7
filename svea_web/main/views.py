"""Start page, language choice and health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, session, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from svea_web.extensions import db
from svea_web.redirects import referrer_path

bp = Blueprint("main", __name__)

LANGUAGES = ("nb", "en")


@bp.route("/")
def index() -> ResponseReturnValue:
    return redirect(url_for("overview.index"))


@bp.route("/language/<lang>", methods=["POST"])
def set_language(lang: str) -> ResponseReturnValue:
    if lang in LANGUAGES:
        session["lang"] = lang
    return redirect(referrer_path() or url_for("main.index"))


@bp.route("/healthz")
def healthz() -> ResponseReturnValue:
    """Reachability of the database and Redis, and nothing else (no versions, no URLs)."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure means unreachable
        checks["database"] = "unreachable"
    from svea_web.jobs_queue import redis_reachable

    checks["redis"] = "ok" if redis_reachable() else "unreachable"
    healthy = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if healthy else "degraded", **checks), (200 if healthy else 503)
