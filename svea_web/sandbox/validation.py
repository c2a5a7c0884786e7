"""Reading request bodies and query strings strictly: anything off the protocol is a 400, never a 500."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from svea_web.sandbox.errors import invalid

_MONEY = re.compile(r"[0-9]{1,11}(\.[0-9]{1,2})?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAKS = re.compile(r"[\n\r\t]")


def money_to_ore(text: str) -> int:
    whole, _, fraction = text.partition(".")
    return int(whole) * 100 + int(fraction.ljust(2, "0") or 0)


def parse_datetime(text: str, field: str) -> datetime:
    """An ISO 8601 timestamp as a naive UTC datetime (a timestamp without offset is read as UTC)."""
    try:
        value = datetime.fromisoformat(text)
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise invalid(field, "must be an ISO 8601 date-time") from None
    return value


class Fields:
    """Typed access to one JSON object of a request body, naming the field in every error."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, dict):
            raise invalid(path, "must be a JSON object")
        self._data = data
        self._path = path

    def _name(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path != "body" else key

    def _get(self, key: str, required: bool) -> Any:
        value = self._data.get(key)
        if value is None and required:
            raise invalid(self._name(key), "is required")
        return value

    def text(self, key: str, *, max_length: int, required: bool = True, multiline: bool = False) -> str | None:
        value = self._get(key, required)
        if value is None:
            return None
        name = self._name(key)
        if not isinstance(value, str):
            raise invalid(name, "must be a string")
        if _CONTROL.search(value) or (not multiline and _LINE_BREAKS.search(value)):
            raise invalid(name, "must not contain control characters")
        if not value.strip():
            raise invalid(name, "must not be blank")
        if len(value) > max_length:
            raise invalid(name, f"must be at most {max_length} characters")
        return value

    def required_text(self, key: str, *, max_length: int, multiline: bool = False) -> str:
        value = self.text(key, max_length=max_length, multiline=multiline)
        assert value is not None
        return value

    def digits(self, key: str, *, max_length: int, allow_dash: bool = False) -> str | None:
        value = self.text(key, max_length=max_length, required=False)
        if value is None:
            return None
        # A KID is 2 to 25 characters, digits with a check digit that may be "-" (MOD11).
        allowed = r"[0-9]{1,24}[0-9-]" if allow_dash else r"[0-9]+"
        if not re.fullmatch(allowed, value):
            raise invalid(self._name(key), "must be digits" + (" (2 to 25, the last may be -)" if allow_dash else ""))
        return value

    def country(self, key: str) -> str:
        value = self._get(key, False)
        if value is None:
            return "NO"
        if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{2}", value):
            raise invalid(self._name(key), "must be a two-letter country code, like NO")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> str:
        value = self._get(key, default is None)
        if value is None:
            assert default is not None
            return default
        if value not in choices:
            raise invalid(self._name(key), f"must be one of {', '.join(choices)}")
        return str(value)

    def money(self, key: str) -> int:
        value = self._get(key, True)
        if not isinstance(value, str) or not _MONEY.fullmatch(value):
            raise invalid(self._name(key), 'must be a decimal string with at most two decimals, like "1250.00"')
        return money_to_ore(value)

    def day(self, key: str) -> date:
        value = self._get(key, True)
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            raise invalid(self._name(key), "must be a date, YYYY-MM-DD")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise invalid(self._name(key), "is not a valid date") from None

    def obj(self, key: str, required: bool = True) -> Fields | None:
        value = self._get(key, required)
        return None if value is None else Fields(value, self._name(key))

    def objects(self, key: str, *, min_items: int, max_items: int) -> list[Fields]:
        value = self._get(key, True)
        name = self._name(key)
        if not isinstance(value, list):
            raise invalid(name, "must be an array")
        if not min_items <= len(value) <= max_items:
            raise invalid(name, f"must have {min_items} to {max_items} items")
        return [Fields(item, f"{name}[{index}]") for index, item in enumerate(value)]


def read_case_submission(body: Any) -> dict[str, Any]:
    """The POST /cases body, checked for shape and types; business rules are the agency's later verdict."""
    fields = Fields(body, "body")
    debtor = fields.obj("debtor")
    assert debtor is not None
    address = debtor.obj("address")
    assert address is not None
    invoices = []
    for invoice in fields.objects("invoices", min_items=1, max_items=200):
        invoice_no = invoice.required_text("invoiceNo", max_length=40)
        invoices.append(
            {
                "invoiceNo": invoice_no,
                "matchNo": invoice.text("matchNo", max_length=40, required=False) or invoice_no,
                "invoiceDate": invoice.day("invoiceDate").isoformat(),
                "dueDate": invoice.day("dueDate").isoformat(),
                "amount": invoice.money("amount"),
                "remainingAmount": invoice.money("remainingAmount"),
                "kid": invoice.digits("kid", max_length=25, allow_dash=True),
                "currency": invoice.choice("currency", ("NOK",), default="NOK"),
            }
        )
    return {
        "level": fields.choice("level", ("PURRING", "INKASSO")),
        "creditorRef": fields.required_text("creditorRef", max_length=100),
        "debtor": {
            "type": debtor.choice("type", ("PERSON", "COMPANY")),
            "name": debtor.required_text("name", max_length=200),
            "orgNo": debtor.digits("orgNo", max_length=9),
            "nationalId": debtor.digits("nationalId", max_length=11),
            "customerNo": debtor.text("customerNo", max_length=40, required=False),
            "email": debtor.text("email", max_length=200, required=False),
            "address": {
                "street": address.required_text("street", max_length=200),
                "postalCode": address.required_text("postalCode", max_length=10),
                "city": address.required_text("city", max_length=100),
                "country": address.country("country"),
            },
        },
        "invoices": invoices,
    }
