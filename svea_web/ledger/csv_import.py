"""Reading a CSV of customers and posts from another system.

One row is one post with its customer's fields; a row without an invoice number only carries the
customer. Headers may be Norwegian or English. The parser never writes: it returns what it understood
and every bad row with its line number and reason, so the import can commit all rows or none.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.no import fodselsnummer, orgnr

from svea_web.ledger.models import KIND_COMPANY, KIND_PERSON, POST_CREDIT_NOTE, POST_INVOICE
from svea_web.rules.kid import InvalidKid, validate_kid
from svea_web.rules.parsing import parse_amount, parse_date

# Header aliases, compared after lower-casing and stripping spaces, dots, dashes and underscores.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "customer_no": ("kundenr", "kundenummer", "customerno", "customernumber", "kunde"),
    "name": ("navn", "kundenavn", "name", "customername"),
    "kind": ("type", "kundetype", "kind", "customertype"),
    "org_no": ("orgnr", "organisasjonsnummer", "orgno", "organisationnumber", "organizationnumber"),
    "national_id": ("fødselsnummer", "fodselsnummer", "fnr", "nationalid"),
    "address": ("adresse", "address", "gateadresse"),
    "postcode": ("postnr", "postnummer", "postcode", "zip"),
    "city": ("poststed", "sted", "city"),
    "email": ("epost", "email", "mail"),
    "phone": ("telefon", "tlf", "mobil", "phone"),
    "invoice_no": ("fakturanr", "fakturanummer", "invoiceno", "invoicenumber", "bilagsnr"),
    "match_no": ("motpostnr", "motpost", "matchno", "matchnumber"),
    "kid": ("kid", "kidnr", "kidnummer"),
    "invoice_date": ("fakturadato", "dato", "invoicedate", "bilagsdato"),
    "due_date": ("forfallsdato", "forfall", "duedate"),
    "amount": ("beløp", "belop", "fakturabeløp", "amount", "originalbeløp"),
    "open_amount": ("restbeløp", "restbelop", "åpentbeløp", "apentbelop", "saldo", "openamount", "remaining"),
    "text": ("tekst", "beskrivelse", "text", "description"),
}
REQUIRED_COLUMNS = ("customer_no", "name")
PREVIEW_ROWS = 10
MAX_REPORTED_ERRORS = 1000


class ImportFileError(ValueError):
    """The file as a whole cannot be read (encoding, no header, missing columns)."""


@dataclass
class RowError:
    line: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason}


@dataclass
class ParsedImport:
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    posts: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    total_rows: int = 0
    preview: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _norm_header(text: str) -> str:
    return "".join(ch for ch in text.strip().lower() if ch not in " ._-\t")


def decode(data: bytes) -> str:
    """UTF-8 with or without BOM, else Windows-1252 (what Norwegian Excel writes)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise ImportFileError(_("Filen er verken UTF-8 eller Windows-1252.")) from exc


def _sniff_delimiter(first_line: str) -> str:
    return ";" if first_line.count(";") >= first_line.count(",") and ";" in first_line else ","


def _map_headers(headers: list[str]) -> dict[str, int]:
    lookup = {_norm_header(alias): key for key, aliases in HEADER_ALIASES.items() for alias in aliases}
    lookup.update({_norm_header(key): key for key in HEADER_ALIASES})
    mapping: dict[str, int] = {}
    for index, header in enumerate(headers):
        key = lookup.get(_norm_header(header))
        if key and key not in mapping:
            mapping[key] = index
    missing = [c for c in REQUIRED_COLUMNS if c not in mapping]
    if missing:
        raise ImportFileError(
            _("Filen mangler kolonnene: %(columns)s.", columns=", ".join(HEADER_ALIASES[c][0] for c in missing))
        )
    has_posts = "invoice_no" in mapping
    if has_posts:
        for col in ("due_date", "amount"):
            if col not in mapping:
                raise ImportFileError(
                    _("Filen har fakturanummer, men mangler kolonnen %(column)s.", column=HEADER_ALIASES[col][0])
                )
    return mapping


def _kind(raw: str, org_no: str | None) -> str:
    value = raw.strip().lower()
    if value in ("", "-"):
        return KIND_COMPANY if org_no else KIND_PERSON
    if value in ("person", "privat", "privatperson", "p", "forbruker"):
        return KIND_PERSON
    if value in ("bedrift", "firma", "company", "foretak", "b", "f", "c", "organisasjon"):
        return KIND_COMPANY
    raise ValueError(_("ukjent kundetype «%(kind)s» (bruk person eller bedrift)", kind=raw.strip()))


def _row_iter(text: str) -> tuple[list[str], Any]:
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(first_line))
    try:
        headers = next(reader)
    except StopIteration as exc:
        raise ImportFileError(_("Filen er tom.")) from exc
    except csv.Error as exc:
        raise ImportFileError(_("Filen kan ikke leses som CSV: %(error)s", error=exc)) from exc
    return headers, reader


def parse_csv(data: bytes, progress: Callable[[int], None] | None = None) -> ParsedImport:
    """Parse the whole file; ``progress`` is called now and then with the number of rows read."""
    text = decode(data)
    headers, reader = _row_iter(text)
    mapping = _map_headers(headers)
    result = ParsedImport()
    seen_invoices: dict[str, int] = {}
    # A customer's fields repeat on each of its posts; validate each distinct set once.
    customer_cache: dict[tuple[str, ...], dict[str, Any] | ValueError] = {}
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            line += 1
            result.errors.append(RowError(line, _("ulesbar linje: %(error)s", error=exc)))
            break
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        result.total_rows += 1
        if progress and result.total_rows % 5000 == 0:
            progress(result.total_rows)
        try:
            customer, post = _parse_row(cells, mapping, customer_cache)
        except ValueError as exc:
            result.errors.append(RowError(line, str(exc)))
            continue
        if post is not None:
            invoice_no = post["invoice_no"]
            if invoice_no in seen_invoices:
                result.errors.append(
                    RowError(
                        line,
                        _(
                            "fakturanr %(invoice)s står også på linje %(line)s",
                            invoice=invoice_no,
                            line=seen_invoices[invoice_no],
                        ),
                    )
                )
                continue
            seen_invoices[invoice_no] = line
            result.posts.append(post)
        existing = result.customers.get(customer["customer_no"])
        if existing is None:
            result.customers[customer["customer_no"]] = customer
        else:
            existing.update({k: v for k, v in customer.items() if v not in (None, "")})
        if len(result.preview) < PREVIEW_ROWS:
            row = {"line": line, **_jsonable(post or {}), **_jsonable(customer)}  # "kind" is the customer's
            row["post_kind"] = post["kind"] if post else None
            result.preview.append(row)
    return result


POST_COLUMNS = (
    "customer_no",
    "invoice_no",
    "match_no",
    "kid",
    "invoice_date",
    "due_date",
    "amount",
    "open_amount",
    "kind",
    "text",
)


def dump_parsed(parsed: ParsedImport, sha256: str) -> bytes:
    """The rows of a file that parsed without errors, for the import job to write without parsing again."""
    posts = [
        [
            p["customer_no"],
            p["invoice_no"],
            p["match_no"],
            p["kid"],
            p["invoice_date"].isoformat(),
            p["due_date"].isoformat(),
            str(p["amount"]),
            str(p["open_amount"]),
            p["kind"],
            p["text"],
        ]
        for p in parsed.posts
    ]
    customers = [[c[column] for column in CUSTOMER_COLUMNS] for c in parsed.customers.values()]
    return json.dumps(
        {"sha256": sha256, "total_rows": parsed.total_rows, "customers": customers, "posts": posts},
        separators=(",", ":"),
    ).encode()


def load_parsed(data: bytes, sha256: str) -> ParsedImport | None:
    """What `dump_parsed` wrote for the file with this hash; None if it is for another file or unreadable."""
    try:
        stored = json.loads(data)
        if stored.get("sha256") != sha256:
            return None
        fromiso = date.fromisoformat
        posts = [
            dict(zip(POST_COLUMNS, row, strict=True))
            | {
                "invoice_date": fromiso(row[4]),
                "due_date": fromiso(row[5]),
                "amount": Decimal(row[6]),
                "open_amount": Decimal(row[7]),
            }
            for row in stored["posts"]
        ]
        customers = {row[0]: dict(zip(CUSTOMER_COLUMNS, row, strict=True)) for row in stored["customers"]}
        return ParsedImport(customers=customers, posts=posts, total_rows=int(stored["total_rows"]))
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Decimal | date) else v) for k, v in row.items()}


CUSTOMER_COLUMNS = (
    "customer_no",
    "name",
    "kind",
    "org_no",
    "national_id",
    "address",
    "postcode",
    "city",
    "email",
    "phone",
)


def _parse_row(
    cells: list[str], mapping: dict[str, int], customer_cache: dict[tuple[str, ...], dict[str, Any] | ValueError]
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    width = len(cells)
    values = {key: cells[index].strip() if index < width else "" for key, index in mapping.items()}

    def get(key: str) -> str:
        return values.get(key, "")

    key = tuple(values.get(column, "") for column in CUSTOMER_COLUMNS)
    cached = customer_cache.get(key)
    if cached is None:
        try:
            cached = _parse_customer(get)
        except ValueError as exc:
            cached = exc
        customer_cache[key] = cached
    if isinstance(cached, ValueError):
        raise cached
    return dict(cached), _parse_post(get, cached["customer_no"])


def _parse_customer(get: Callable[[str], str]) -> dict[str, Any]:
    customer_no = get("customer_no")
    if not customer_no:
        raise ValueError(_("kundenummer mangler"))
    if len(customer_no) > 40:
        raise ValueError(_("kundenummer er lengre enn 40 tegn"))
    name = get("name")
    if not name:
        raise ValueError(_("navn mangler"))
    org_no = get("org_no").replace(" ", "") or None
    if org_no:
        try:
            org_no = orgnr.validate(org_no)
        except StdnumValidationError as exc:
            raise ValueError(_("ugyldig organisasjonsnummer %(org_no)s", org_no=org_no)) from exc
    national_id = get("national_id").replace(" ", "") or None
    if national_id:
        try:
            national_id = fodselsnummer.validate(national_id)
        except StdnumValidationError as exc:
            raise ValueError(_("ugyldig fødselsnummer")) from exc
    email = get("email") or None
    if email:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(_("ugyldig e-postadresse %(email)s", email=email)) from exc
    customer = {
        "customer_no": customer_no,
        "name": name[:200],
        "kind": _kind(get("kind"), org_no),
        "org_no": org_no,
        "national_id": national_id,
        "address": get("address")[:200] or None,
        "postcode": get("postcode")[:10] or None,
        "city": get("city")[:100] or None,
        "email": email,
        "phone": get("phone")[:40] or None,
    }
    return customer


def _parse_post(get: Callable[[str], str], customer_no: str) -> dict[str, Any] | None:
    invoice_no = get("invoice_no")
    if not invoice_no:
        return None
    if len(invoice_no) > 40:
        raise ValueError(_("fakturanummer er lengre enn 40 tegn"))
    amount = _field(parse_amount, get("amount"), "amount")
    if amount == 0:
        raise ValueError(_("beløp kan ikke være 0"))
    raw_open = get("open_amount")
    open_amount = _field(parse_amount, raw_open, "open_amount") if raw_open else amount
    if (open_amount < 0 < amount) or (amount < 0 < open_amount) or abs(open_amount) > abs(amount):
        raise ValueError(_("restbeløp må ha samme fortegn som beløp og kan ikke være større"))
    due_date = _field(parse_date, get("due_date"), "due_date")
    raw_invoice_date = get("invoice_date")
    invoice_date = _field(parse_date, raw_invoice_date, "invoice_date") if raw_invoice_date else due_date
    if due_date < invoice_date:
        raise ValueError(_("forfallsdato er før fakturadato"))
    raw_kid = get("kid")
    kid = None
    if raw_kid:
        try:
            kid = validate_kid(raw_kid)
        except InvalidKid as exc:
            raise ValueError(f"KID {raw_kid}: {exc}") from exc
    match_no = get("match_no") or invoice_no
    return {
        "customer_no": customer_no,
        "invoice_no": invoice_no,
        "match_no": match_no[:40],
        "kid": kid,
        "invoice_date": invoice_date,
        "due_date": due_date,
        "amount": amount,
        "open_amount": open_amount,
        "kind": POST_CREDIT_NOTE if amount < 0 else POST_INVOICE,
        "text": get("text") or None,
    }


def _field_label(column: str) -> str:
    # Looked up only when a row is refused: a gettext call per cell would cost seconds on a large file.
    labels = {
        "amount": _("beløp"),
        "open_amount": _("restbeløp"),
        "due_date": _("forfallsdato"),
        "invoice_date": _("fakturadato"),
    }
    return labels[column]


def _field(parser: Callable[[str], Any], raw: str, column: str) -> Any:
    if not raw:
        raise ValueError(_("%(field)s mangler", field=_field_label(column)))
    try:
        return parser(raw)
    except ValueError as exc:
        raise ValueError(f"{_field_label(column)}: {exc}") from exc
