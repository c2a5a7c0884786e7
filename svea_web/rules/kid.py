"""KID (kundeidentifikasjon) check digits, validation and padding.

A KID is always a ``str``: leading zeros are part of it and are never stripped.
python-stdnum has no Norwegian KID module (checked up to 2.2); MOD10 is its generic Luhn,
MOD11 with weights 2..7 from the right and ``-`` for 10 is written out here.
"""

import re
from typing import Literal

from flask_babel import gettext as _
from stdnum import luhn

Algorithm = Literal["MOD10", "MOD11"]

KID_MIN_LENGTH = 2
KID_MAX_LENGTH = 25
KID_LENGTH_MESSAGE = "KID må være 2–25 siffer"
KID_CHECK_DIGIT_MESSAGE = "KID har feil kontrollsiffer (MOD10/MOD11)"

_MOD11_WEIGHTS = (2, 3, 4, 5, 6, 7)
# str.isdigit() accepts non-ASCII digits (e.g. full-width); a KID is ASCII only.
_DIGITS = re.compile(r"[0-9]+")
_KID_SHAPE = re.compile(r"[0-9]+[0-9-]")
_SPACES = re.compile(r"\s+")


class InvalidKid(ValueError):
    """A KID that cannot be used; ``str(error)`` is the Norwegian message for the user."""

    def __init__(self, reason: Literal["length", "check_digit"]) -> None:
        self.reason = reason
        super().__init__(
            _("KID må være 2–25 siffer") if reason == "length" else _("KID har feil kontrollsiffer (MOD10/MOD11)")
        )


def _require_digits(payload: str) -> None:
    if not _DIGITS.fullmatch(payload):
        raise ValueError(f"KID payload must be digits only, got {payload!r}")


def mod10_check_digit(payload: str) -> str:
    """The Luhn check digit: weights 2,1,2,1… from the rightmost payload digit."""
    _require_digits(payload)
    return luhn.calc_check_digit(payload)


def mod11_check_digit(payload: str) -> str:
    """Weights 2..7 repeating from the right; 11 - (sum mod 11), where 11 gives '0' and 10 gives '-'."""
    _require_digits(payload)
    total = sum(
        int(digit) * _MOD11_WEIGHTS[position % len(_MOD11_WEIGHTS)] for position, digit in enumerate(reversed(payload))
    )
    check = 11 - total % 11
    if check == 11:
        return "0"
    if check == 10:
        return "-"
    return str(check)


def _has_kid_shape(kid: str) -> bool:
    return KID_MIN_LENGTH <= len(kid) <= KID_MAX_LENGTH and bool(_KID_SHAPE.fullmatch(kid))


def kid_algorithm(kid: str) -> Algorithm | None:
    """The algorithm whose check digit the KID carries, or None if it is not a valid KID.

    A KID can satisfy both (e.g. "00"); MOD10 is reported then, being the common bank default.
    """
    if not _has_kid_shape(kid):
        return None
    payload, check = kid[:-1], kid[-1]
    # A Luhn checksum of 0 over the whole KID is the same test as recomputing the check digit.
    if check != "-" and luhn.checksum(kid) == 0:
        return "MOD10"
    if mod11_check_digit(payload) == check:
        return "MOD11"
    return None


def is_valid_kid(kid: str) -> bool:
    """2–25 characters, digits with the last possibly '-', valid by MOD10 or MOD11. No stripping."""
    return kid_algorithm(kid) is not None


def make_kid(payload: str, algorithm: Algorithm = "MOD10") -> str:
    """Append the check digit; the payload must be 1–24 digits so the KID fits 2–25."""
    if not 1 <= len(payload) <= KID_MAX_LENGTH - 1:
        raise ValueError(f"KID payload must be 1–{KID_MAX_LENGTH - 1} digits, got {len(payload)}")
    if algorithm == "MOD10":
        return payload + mod10_check_digit(payload)
    if algorithm == "MOD11":
        return payload + mod11_check_digit(payload)
    raise ValueError(f"Unknown KID algorithm {algorithm!r}")


def pad_kid(kid: str, length: int) -> str:
    """Left-pad with zeros to the KID length configured for Svea.

    Zeros in front add nothing to either checksum, so a valid KID stays valid.
    """
    if not KID_MIN_LENGTH <= length <= KID_MAX_LENGTH:
        raise ValueError(f"KID length must be {KID_MIN_LENGTH}–{KID_MAX_LENGTH}, got {length}")
    if len(kid) > length:
        raise ValueError(f"KID {kid!r} has {len(kid)} characters, more than the KID length {length}")
    return kid.rjust(length, "0")


def validate_kid(raw: str) -> str:
    """Normalise a KID typed or imported by a user: spaces removed, leading zeros kept.

    Raises InvalidKid whose message says why (length/characters, or check digit).
    """
    kid = _SPACES.sub("", raw)
    if not _has_kid_shape(kid):
        raise InvalidKid("length")
    if kid_algorithm(kid) is None:
        raise InvalidKid("check_digit")
    return kid
