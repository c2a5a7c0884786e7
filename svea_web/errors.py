"""Error pages: Norwegian, in the app's layout, a fragment for HTMX, and never the exception's text.

An exception's message may hold anything (a customer's name, a path, a query); the user gets a plain
explanation of what to do, and the log (Flask logs every unhandled exception) gets the details.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError

from svea_web.extensions import db

log = logging.getLogger(__name__)

TITLES = {
    400: _l("Forespørselen kunne ikke behandles"),
    401: _l("Du må logge inn"),
    403: _l("Ingen tilgang"),
    404: _l("Finner ikke siden"),
    405: _l("Ikke tillatt her"),
    409: _l("Endret av noen andre"),
    413: _l("Filen er for stor"),
    429: _l("For mange forsøk"),
    500: _l("Noe gikk galt"),
    502: _l("Tjenesten svarer ikke"),
    503: _l("Tjenesten er utilgjengelig"),
}
MESSAGES = {
    400: _l("Noe i forespørselen var ikke slik det skulle. Gå tilbake, last siden på nytt og prøv igjen."),
    401: _l("Logg inn for å fortsette."),
    403: _l("Du har ikke tilgang til dette. Spør en administrator i firmaet hvis du trenger det."),
    404: _l("Siden eller oppføringen finnes ikke, eller den hører til et annet firma."),
    405: _l("Denne handlingen kan ikke gjøres på denne måten. Bruk knappene i appen."),
    409: _l("Noen andre endret dette samtidig. Last siden på nytt og se over før du prøver igjen."),
    429: _l("Vent litt før du prøver igjen."),
    500: _l("En feil oppsto hos oss. Prøv igjen om litt; skjer det igjen, si fra til support."),
    502: _l("En tjeneste appen bruker, svarte ikke som den skulle. Prøv igjen om litt."),
    503: _l("En tjeneste appen bruker, er midlertidig utilgjengelig. Prøv igjen om litt."),
}
CSRF_MESSAGE = _l(
    "Skjemaet er utløpt eller ble sendt uten sikkerhetsnøkkel, så ingenting ble gjort. "
    "Last siden på nytt og prøv igjen."
)
# Headers of the exception's own response that the page keeps (Allow on 405, Retry-After on 429).
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def _message(code: int, error: HTTPException) -> str:
    if isinstance(error, CSRFError):
        return str(CSRF_MESSAGE)
    if code == 413:
        return _(
            "Filen er større enn grensen på %(size)s og ble ikke lastet opp. Del den opp, eller be "
            "banken eller regnskapssystemet om en mindre fil.",
            size=_size(int(current_app.config.get("MAX_CONTENT_LENGTH") or 0)),
        )
    return str(MESSAGES.get(code) or MESSAGES[500 if code >= 500 else 400])


def _size(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit // (1024 * 1024)} MB"
    return f"{max(1, limit // 1024)} kB"


def _page(code: int, message: str) -> str:
    title = str(TITLES.get(code) or TITLES[500 if code >= 500 else 400])
    fragment = bool(request.headers.get("HX-Request"))
    template = "errors/_error.html" if fragment else "errors/error.html"
    try:
        return render_template(template, code=code, title=title, message=message)
    except Exception:
        # The layout needs the database (the user's firms); when that is what failed, plain text.
        log.exception("the error page could not be rendered")
        db.session.rollback()
        return f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1><p>{escape(message)}</p>"


def handle_http_error(error: HTTPException) -> ResponseReturnValue:
    code = error.code or 500
    if code < 400:
        return error
    headers = {name: value for name, value in error.get_headers() if name in KEPT_HEADERS}
    return _page(code, _message(code, error)), code, headers


def handle_server_error(error: InternalServerError) -> ResponseReturnValue:
    # The request's transaction may be broken half-way; nothing of it may be committed later.
    db.session.rollback()
    return _page(500, _message(500, error)), 500


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InternalServerError, handle_server_error)
