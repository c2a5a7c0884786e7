"""HTTP plumbing shared by the API and the admin endpoints: JSON in and out, errors, faults."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from svea_web.sandbox.errors import ApiError, invalid
from svea_web.sandbox.faults import error_for
from svea_web.sandbox.runtime import current_sandbox

log = logging.getLogger(__name__)


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def read_json() -> Any:
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "the body must be application/json")
    raw = request.get_data(cache=False)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise invalid("body", "is not valid JSON") from None


def query_int(name: str, default: int, minimum: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18 and minimum <= int(raw) <= maximum):
        raise invalid(name, f"must be a whole number from {minimum} to {maximum}")
    return int(raw)


def _error_response(error: ApiError) -> Response:
    response = json_response(error.body(), error.status)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="Svea"'
    return response


def install(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return _error_response(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        code = (error.name or "error").lower().replace(" ", "_")
        response = _error_response(ApiError(error.code or 500, code, error.description or code))
        for name, value in error.get_headers():  # e.g. Allow on a 405
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("sandbox error on %s %s", request.method, request.path)
        return _error_response(ApiError(500, "internal_error", "the sandbox failed; see its log"))

    @app.before_request
    def _inject_fault() -> None:
        if not request.path.startswith("/api/"):
            return
        kind, plan = current_sandbox().faults.draw()
        g.fault, g.fault_delay = kind, plan.delay_seconds
        if kind is None:
            return
        error = error_for(kind, plan)
        if error is not None:
            raise error
        if kind == "slow":
            time.sleep(plan.delay_seconds)

    @app.after_request
    def _spoil_answer(response: Response) -> Response:
        kind = g.get("fault")
        if kind == "malformed":
            if response.mimetype == "application/json":
                body = response.get_data()
                response.set_data(body[: max(len(body) // 2, 1)])
            else:
                response.set_data(b"<html><body>502 Bad Gateway</body></html>")
                response.mimetype = "text/html"
        elif kind == "wrong_shape":
            response.set_data(json.dumps({"unexpected": True}))
            response.mimetype = "application/json"
        elif kind == "lost_response":
            time.sleep(g.fault_delay)
        return response
