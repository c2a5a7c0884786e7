"""Job-group progress for the current firm, and the RQ dashboard mounted at /admin/rq for administrators.

The dashboard (rq-dashboard) is a third-party blueprint whose JavaScript posts its actions (requeue,
delete, empty) with jQuery. It sends an ``X-CSRFToken`` header taken from a ``_csrf_token`` cookie
when one exists, so the dashboard stays under Flask-WTF's CSRF protection: its pages get that
cookie (our token, path /admin/rq, SameSite=Strict). On top of that, every request needs the admin
role of the current firm, every POST must come from our own origin (Origin or Referer), and its one
state-changing GET (requeue all) is refused. Its pages use inline scripts and underscore templates
(``new Function``), so they get a Content-Security-Policy of their own: the inline scripts by hash,
and eval, for the dashboard's pages only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from typing import cast
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, make_response, render_template, request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask.wrappers import Response
from flask_wtf.csrf import generate_csrf

from svea_web.htmx_utils import wants_fragment
from svea_web.jobs_queue import get_group
from svea_web.tenancy import client_required, current_client, current_client_id, is_operator

log = logging.getLogger(__name__)

bp = Blueprint("jobs", __name__)

DASHBOARD_PREFIX = "/admin/rq"
DASHBOARD_CSRF_COOKIE = "_csrf_token"  # the name rq-dashboard's JavaScript reads
# GET endpoints of the dashboard that change state; only their POST form is allowed.
DASHBOARD_STATE_CHANGING_GET = {"rq_dashboard.requeue_all"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
GROUP_ID = re.compile(r"^[0-9a-f]{32}$")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?:\s+type=\"text/javascript\")?\s*>(.*?)</script>", re.S | re.I)


@bp.route("/jobs/groups/<group_id>")
@client_required
def group_progress(group_id: str) -> ResponseReturnValue:
    """The progress of a bulk action; the partial polls itself every second until the group is done."""
    group = get_group(group_id) if GROUP_ID.match(group_id) else None
    if group is None or group.client_id != current_client_id():
        abort(404)
    fragment = wants_fragment()
    response = make_response(render_template("jobs/_progress.html" if fragment else "jobs/group.html", group=group))
    if fragment and group.finished:
        # Lets the page that started the bulk action reload its list: hx-trigger="job-group-done from:body".
        response.headers["HX-Trigger"] = json.dumps({"job-group-done": {"group": group.id}})
    return response


def same_origin() -> bool:
    """The request was sent by a page of this site (Origin, else Referer, names our host)."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source or source == "null":
        return False
    # Host only, not the scheme: behind a TLS-terminating proxy the app itself sees plain http.
    return urlsplit(source).netloc.lower() == request.host.lower()


def guard_dashboard() -> ResponseReturnValue | None:
    current_client()
    # The dashboard lists the jobs of every firm: only the deployment's operator may see it.
    if not is_operator():
        abort(403)
    if request.method not in SAFE_METHODS and not same_origin():
        log.warning("dashboard %s refused: not same origin", request.endpoint)
        abort(403)
    if request.method == "GET" and request.endpoint in DASHBOARD_STATE_CHANGING_GET:
        abort(405)
    return None


def _script_hashes(html: str) -> list[str]:
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in INLINE_SCRIPT.findall(html)
    ]


def dashboard_response(response: Response) -> Response:
    if response.mimetype != "text/html" or response.direct_passthrough:
        return response
    hashes = " ".join(_script_hashes(response.get_data(as_text=True)))
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' 'unsafe-eval' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
    from flask import current_app

    response.set_cookie(
        DASHBOARD_CSRF_COOKIE,
        generate_csrf(),
        path=DASHBOARD_PREFIX,
        samesite="Strict",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        httponly=False,  # the dashboard's JavaScript reads it
    )
    return response


def mount_dashboard(app: Flask) -> None:
    import rq_dashboard
    from rq_dashboard.web import setup_rq_connection

    redis_url = app.config.get("REDIS_URL")
    if not redis_url:
        log.debug("REDIS_URL is not set: the RQ dashboard is not mounted")
        return
    app.config["RQ_DASHBOARD_REDIS_URL"] = redis_url
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=DASHBOARD_PREFIX)
    setup_rq_connection(app)
    # Before the dashboard's own hook (which picks its Redis connection), after the app's login check.
    app.before_request_funcs.setdefault("rq_dashboard", []).insert(0, guard_dashboard)
    app.after_request_funcs.setdefault("rq_dashboard", []).append(dashboard_response)


@bp.record_once
def _mount(state: BlueprintSetupState) -> None:
    mount_dashboard(cast(Flask, state.app))
