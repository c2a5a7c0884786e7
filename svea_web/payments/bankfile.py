"""What a payment file says, whatever its format: one BankTransaction per incoming payment."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _

from svea_web.gc_pause import cycle_collection_paused

KIND_OCR = "ocr"
KIND_CAMT054 = "camt054"


_LINE = re.compile(r"Linje (\d+)(?:, kolonne (\d+))?")


def _where_for_user(where: str) -> str:
    # The readers name a line «Linje 12» for every record they read; translated only here, when a file
    # is refused, so reading a large file costs no gettext call a line.
    line = _LINE.fullmatch(where)
    if line is None:
        return where  # an element path of the XML, the same in every language
    if line.group(2) is None:
        return _("Linje %(line)s", line=line.group(1))
    return _("Linje %(line)s, kolonne %(column)s", line=line.group(1), column=line.group(2))


class PaymentFileError(ValueError):
    """The file is refused whole. ``where`` is the line (OCR) or the element path (camt.054)."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{_where_for_user(where)}: {reason}" if where else reason)
        self.where = where
        self.reason = reason


@dataclass(frozen=True)
class BankTransaction:
    # The transaction's own identity in the bank's numbering; unique per firm and source.
    external_id: str
    paid_on: date
    # Negative for a reversal (the bank took money back); those are never matched automatically.
    amount: Decimal
    kids: tuple[str, ...] = ()
    reference_text: str | None = None
    payer_name: str | None = None
    payer_account: str | None = None
    where: str = ""

    @property
    def kid(self) -> str | None:
        return self.kids[0] if self.kids else None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.external_id,
            "on": self.paid_on.isoformat(),
            "amount": str(self.amount),
            "kids": list(self.kids),
            "text": self.reference_text,
            "payer": self.payer_name,
            "account": self.payer_account,
            "where": self.where,
        }

    @classmethod
    def many_from_json(cls, rows: list[dict[str, Any]]) -> list[BankTransaction]:
        """The transactions ``to_json`` stored, read back; a file has a handful of dates, each read once."""
        dates: dict[str, date] = {}
        transactions = []
        for data in rows:
            on = data["on"]
            paid_on = dates.get(on)
            if paid_on is None:
                paid_on = dates[on] = date.fromisoformat(on)
            transactions.append(
                cls(
                    external_id=data["id"],
                    paid_on=paid_on,
                    amount=Decimal(data["amount"]),
                    kids=tuple(data["kids"]),
                    reference_text=data["text"],
                    payer_name=data["payer"],
                    payer_account=data["account"],
                    where=data["where"],
                )
            )
        return transactions


@dataclass
class ParsedFile:
    kind: str
    transactions: list[BankTransaction] = field(default_factory=list)
    # Entries that are not money in: debits, pending or informational entries of a camt.054.
    ignored: int = 0


def detect_kind(data: bytes) -> str:
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:5]
    if head.startswith(b"NY"):
        return KIND_OCR
    if head.startswith(b"<"):
        return KIND_CAMT054
    raise PaymentFileError(
        "", _("Ukjent filformat: verken OCR giro (poster som starter med «NY») eller camt.054 (XML)")
    )


def parse_payment_file(data: bytes) -> ParsedFile:
    from svea_web.payments import camt054, ocr
    from svea_web.rules.parsing import MAX_AMOUNT

    kind = detect_kind(data)
    with cycle_collection_paused():
        parsed = ocr.parse(data) if kind == KIND_OCR else camt054.parse(data)
    if sum((abs(t.amount) for t in parsed.transactions), Decimal(0)) > MAX_AMOUNT:
        raise PaymentFileError("", _("Summen av beløpene i filen er for stor"))
    return parsed
