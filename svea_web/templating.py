"""Jinja filters for Norwegian money and dates, following the user's language."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from babel.numbers import parse_pattern
from flask import Flask, current_app, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

# The main menu; an entry shows once its feature's blueprint is registered.
MAIN_NAV = (
    ("overview.index", _l("Oversikt")),
    ("ledger.posts", _l("Reskontro")),
    ("ledger.customers", _l("Kunder")),
    ("dunning.index", _l("Purring")),
    ("collection.index", _l("Inkassosaker")),
    ("payments.index", _l("Innbetaling")),
    ("setup.index", _l("Innstillinger")),
)


# Parsed once: babel's format_decimal parses its pattern again on every call, and a list page formats
# a hundred amounts.
_MONEY_PATTERN = parse_pattern("#,##0.00")


def money(value: Decimal | int | None, with_currency: bool = True) -> str:
    if value is None:
        return ""
    text = _MONEY_PATTERN.apply(Decimal(value), get_locale())
    if not with_currency:
        return text
    return f"{text} kr" if str(get_locale()) == "nb" else f"NOK {text}"


def norwegian_date(value: date | datetime | str | None) -> str:
    if not value:  # None, "", or a field a row does not have
        return ""
    if isinstance(value, str):  # ISO, as kept in JSON (an import's preview rows)
        value = date.fromisoformat(value)
    if str(get_locale()) == "en":
        return value.strftime("%Y-%m-%d")
    return value.strftime("%d.%m.%Y")


def norwegian_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    from flask_babel import to_user_timezone

    local = to_user_timezone(value)
    return local.strftime("%d.%m.%Y %H:%M") if str(get_locale()) == "nb" else local.strftime("%Y-%m-%d %H:%M")


def url_with(**changes: Any) -> str:
    """The current URL with some query parameters changed (None removes one)."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = str(value)
    query = urlencode(args)
    return request.path + ("?" + query if query else "")


def main_nav() -> list[tuple[str, Any]]:
    return [(endpoint, label) for endpoint, label in MAIN_NAV if endpoint in current_app.view_functions]


def init_app(app: Flask) -> None:
    app.jinja_env.globals["main_nav"] = main_nav
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["date_no"] = norwegian_date
    app.jinja_env.filters["datetime_no"] = norwegian_datetime
    app.jinja_env.globals["url_with"] = url_with
