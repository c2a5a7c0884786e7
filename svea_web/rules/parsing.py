"""Norwegian amounts and dates, as typed in forms and found in CSV imports.

Parsing never guesses and never rounds: input it cannot read exactly is refused with a
Norwegian message (``str(error)``) that quotes the input, so a user can find the bad CSV cell.

Decisions:
- Comma is the decimal sign. A dot is read as the decimal sign only when it cannot be a thousands
  separator (one dot, 1–2 digits after it). ``1.234`` is refused as ambiguous.
- Thousands separators: space (also non-breaking/thin/narrow) or dot, groups of exactly three.
- English style ``1,234.50`` is refused: in a Norwegian file the comma is the decimal sign.
- ``kr``/``kr.``/``NOK`` before or after, ``,-`` for whole kroner, ``-`` or ``−`` as sign.
- Dates: ``d.m.yyyy``/``dd.mm.yyyy`` and ISO ``yyyy-mm-dd``. Two-digit years are refused rather
  than assigned a century; years before 1900 are refused (some systems export 01.01.0001 for "none").
"""

import re
from datetime import date
from decimal import Decimal

# Messages in the user's language where there is one (a request, or a job under force_locale); plain
# bokmål anywhere else, so the rules stay usable without Flask.
from flask_babel import gettext as _

MAX_AMOUNT = Decimal("999999999999.99")  # Numeric(14, 2)
_CENT = Decimal("0.01")
_NBSP = "\u00a0"

_SPACE_CHARS = re.compile(r"[ \u00a0\u2009\u202f]")
_CURRENCY_PREFIX = re.compile(r"^(?:kr\.?|nok)(?![a-zæøå])\s*", re.IGNORECASE)
_CURRENCY_SUFFIX = re.compile(r"(?<![a-zæøå])\s*(?:kr\.?|nok)$", re.IGNORECASE)
_NUMBER_CHARS = re.compile(r"[0-9 .,]+")
_GROUPED = re.compile(r"[0-9]{1,3}(?:[ .][0-9]{3})*")
_NORWEGIAN_DATE = re.compile(r"([0-9]{1,2})\.([0-9]{1,2})\.([0-9]+)")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
# The shapes other systems export nearly always (``-1 234,50``, ``1234,50``, ``1234``): read without
# the general path's steps. Every string this matches is read by the general path to the same amount
# (tests/rules/test_parsing.py holds the two equal by a property test).
_PLAIN_AMOUNT = re.compile(r"(-?)((?:[0-9]{1,3}(?:[ \u00a0][0-9]{3})+)|[0-9]+)(?:,([0-9]{1,2}))?")


def _amount_error(text: str, reason: str) -> ValueError:
    return ValueError(_("Ugyldig beløp «%(text)s»: %(reason)s", text=text.strip(), reason=reason))


def _integer_part(text: str, digits: str) -> str:
    if not digits:
        raise _amount_error(text, _("mangler siffer foran kommaet"))
    if digits.isascii() and digits.isdigit():
        return digits
    separators = set(digits) - set("0123456789")
    if len(separators) > 1 or not _GROUPED.fullmatch(digits):
        raise _amount_error(text, _("tusenskille må stå mellom grupper på tre siffer, f.eks. 1 234 567"))
    return re.sub(r"[ .]", "", digits)


def _split_decimal(text: str, number: str) -> tuple[str, str | None]:
    """Integer part and decimals (None when the input has no decimal sign)."""
    commas, dots = number.count(","), number.count(".")
    if commas > 1:
        raise _amount_error(text, _("mer enn ett komma"))
    if commas == 1:
        whole, fraction = number.split(",")
        if "." in fraction:
            raise _amount_error(text, _("bruk komma som desimaltegn, f.eks. 1 234,50"))
        return whole, fraction
    if dots == 1:
        whole, fraction = number.split(".")
        if len(fraction) == 3:
            raise _amount_error(text, _("tvetydig – skriv 1 234 for tusen, eller bruk komma som desimaltegn (1,23)"))
        return whole, fraction
    return number, None


def parse_amount(text: str) -> Decimal:
    """Read a Norwegian amount exactly, with two decimals (``Decimal('1234.50')``).

    Raises ValueError with a Norwegian message when the input is empty, malformed, ambiguous,
    has more than two decimals or does not fit Numeric(14, 2).
    """
    plain = _PLAIN_AMOUNT.fullmatch(text)
    if plain is not None:
        sign, digits, fraction = plain.groups()
        amount = Decimal(f"{digits.replace(' ', '').replace(_NBSP, '')}.{fraction or '0'}").quantize(_CENT)
        if amount > MAX_AMOUNT:
            raise _amount_error(text, _("beløpet er for stort"))
        return -amount if sign and amount else amount
    return _parse_amount_general(text)


def _parse_amount_general(text: str) -> Decimal:
    rest = text.strip().replace("\u2212", "-")
    negative = rest.startswith("-")
    if negative:
        rest = rest[1:].lstrip()
    rest, prefixes = _CURRENCY_PREFIX.subn("", rest)
    if rest.startswith("-"):
        if negative:
            raise _amount_error(text, _("ugyldig fortegn"))
        negative = True
        rest = rest[1:].lstrip()
    rest, suffixes = _CURRENCY_SUFFIX.subn("", rest)
    if prefixes + suffixes > 1:
        raise _amount_error(text, _("ugyldig – skriv «kr» bare én gang"))
    if not rest:
        raise ValueError(_("Beløp mangler"))
    whole_kroner = rest.endswith(",-")
    if whole_kroner:
        rest = rest[:-2]
    number = _SPACE_CHARS.sub(" ", rest)
    if not _NUMBER_CHARS.fullmatch(number):
        raise _amount_error(text, _("ugyldig – bare siffer, mellomrom, komma og punktum er tillatt"))
    if whole_kroner:
        if "," in number:
            raise _amount_error(text, _("«,-» betyr hele kroner og kan ikke ha desimaler foran"))
        whole, fraction = number, None
    else:
        whole, fraction = _split_decimal(text, number)
    integer = _integer_part(text, whole)
    if fraction is not None:
        if not fraction:
            raise _amount_error(text, _("mangler desimaler etter desimaltegnet"))
        if not fraction.isdigit():
            raise _amount_error(text, _("ugyldig – desimalene må være siffer"))
        if len(fraction) > 2:
            raise _amount_error(text, _("et beløp kan ha høyst to desimaler (øre)"))
    amount = Decimal(f"{integer}.{fraction or '0'}").quantize(_CENT)
    if amount > MAX_AMOUNT:
        raise _amount_error(text, _("beløpet er for stort"))
    if negative and amount:
        return -amount
    return amount


def format_amount(amount: Decimal) -> str:
    """``1 234,50`` with a non-breaking space between thousands; rounded half up to øre for display."""
    if not amount.is_finite():
        raise ValueError(f"Cannot format {amount!r} as an amount")
    rounded = amount.quantize(_CENT, rounding="ROUND_HALF_UP")
    whole, fraction = f"{abs(rounded):.2f}".split(".")
    grouped = f"{int(whole):,}".replace(",", _NBSP)
    sign = "-" if rounded < 0 else ""
    return f"{sign}{grouped},{fraction}"


def _date_error(text: str, reason: str) -> ValueError:
    return ValueError(_("Ugyldig dato «%(text)s»: %(reason)s", text=text.strip(), reason=reason))


def parse_date(text: str) -> date:
    """Read ``31.12.2026``, ``1.2.2026`` or ``2026-12-31``; anything else raises ValueError (Norwegian)."""
    stripped = text.strip()
    if not stripped:
        raise ValueError(_("Dato mangler"))
    if match := _NORWEGIAN_DATE.fullmatch(stripped):
        day, month, year = match.groups()
        if len(year) == 2:
            raise _date_error(text, _("skriv året med fire siffer, f.eks. 31.12.2026"))
        if len(year) != 4:
            raise _date_error(text, _("bruk dd.mm.åååå (f.eks. 31.12.2026) eller åååå-mm-dd"))
    elif match := _ISO_DATE.fullmatch(stripped):
        year, month, day = match.groups()
    else:
        raise _date_error(text, _("bruk dd.mm.åååå (f.eks. 31.12.2026) eller åååå-mm-dd"))
    if int(year) < 1900:
        raise _date_error(text, _("årstallet %(year)s er ikke gyldig", year=int(year)))
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise _date_error(text, _("datoen finnes ikke")) from None


def format_date(day: date) -> str:
    """``31.12.2026``."""
    return f"{day.day:02d}.{day.month:02d}.{day.year:04d}"
