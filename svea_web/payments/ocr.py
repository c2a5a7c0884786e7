"""Nets OCR giro files: netsgiro reads each record; this module checks the file's structure line by line.

netsgiro's own ``parse`` reads a whole file but cannot say on which line a file is broken, so every
80-character record is handed to netsgiro's record parser on its own and the structure around it
(transmission and assignment start/end, amount items 1–3 of each transaction, the counts and totals
in the end records) is checked here, naming the line. Transactions are then built by netsgiro's
``Transaction.from_records``.

A transaction's identity is Nets' agreement id, assignment number, settlement date and transaction
number: Nets numbers transactions uniquely within an assignment, and assignment numbers within an
agreement; the date guards against assignment numbers starting over.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import netsgiro
from flask_babel import gettext as _
from netsgiro import records as nets_records

from svea_web.payments.bankfile import KIND_OCR, BankTransaction, ParsedFile, PaymentFileError
from svea_web.rules.parsing import MAX_AMOUNT

RECORD_LENGTH = 80
_CENT = Decimal("0.01")
_TYPE_NAMES = {
    10: "forsendelse start",
    20: "oppdrag start",
    30: "beløpspost 1",
    31: "beløpspost 2",
    32: "beløpspost 3",
    49: "spesifikasjonspost",
    70: "avtalepost",
    88: "oppdrag slutt",
    89: "forsendelse slutt",
}
# Transaction types whose third amount item carries the payer's free text (netsgiro: *_WITH_TEXT).
_TYPES_WITH_TEXT = (netsgiro.TransactionType.REVERSING_WITH_TEXT, netsgiro.TransactionType.PURCHASE_WITH_TEXT)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Nets files are ISO 8859-1 when the free text has Norwegian letters.
        return data.decode("latin-1")


# netsgiro's record classes by record type; netsgiro.records.parse builds this map anew for every call.
_RECORD_CLASSES: dict[int, type[nets_records.Record]] = {
    cls.RECORD_TYPE: cls
    for cls in (
        nets_records.TransmissionStart,
        nets_records.TransmissionEnd,
        nets_records.AssignmentStart,
        nets_records.AssignmentEnd,
        nets_records.TransactionAmountItem1,
        nets_records.TransactionAmountItem2,
        nets_records.TransactionAmountItem3,
        nets_records.TransactionSpecification,
        nets_records.AvtaleGiroAgreement,
    )
}


def _read_record(number: int, line: str) -> nets_records.Record:
    where = f"Linje {number}"
    if len(line) != RECORD_LENGTH:
        raise PaymentFileError(
            where,
            _("en post må være nøyaktig %(length)s tegn, denne har %(found)s", length=RECORD_LENGTH, found=len(line)),
        )
    if not line.startswith("NY"):
        raise PaymentFileError(where, _("en post må starte med «NY»"))
    code = line[6:8]
    record_class = _RECORD_CLASSES.get(int(code)) if code.isdigit() else None
    if record_class is None:
        raise PaymentFileError(where, _("ukjent posttype «%(code)s»", code=code))
    try:
        return record_class.from_string(line)
    except (ValueError, TypeError, KeyError) as error:
        raise PaymentFileError(
            where,
            _("posten har ikke formatet for posttype %(code)s (%(name)s)", code=code, name=_TYPE_NAMES[int(code)]),
        ) from error


class _Assignment:
    def __init__(self, line: int, start: nets_records.AssignmentStart) -> None:
        self.line = line
        self.start = start
        self.records = 2  # its start and end records count
        self.amounts: list[Decimal] = []
        self.pending: list[nets_records.TransactionRecord] = []
        self.pending_line = 0
        self.seen_numbers: set[int] = set()


def parse(data: bytes) -> ParsedFile:
    """Every OCR giro transaction of the file, or PaymentFileError naming the first bad line."""
    lines = _decode(data).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise PaymentFileError("", _("Filen er tom"))
    parsed = ParsedFile(kind=KIND_OCR)
    started = ended = False
    assignment: _Assignment | None = None
    file_records = 0
    file_transactions = 0
    file_amounts: list[Decimal] = []

    def finish_transaction() -> None:
        assert assignment is not None
        records = assignment.pending
        if not records:
            return
        first = records[0]
        expects = 3 if first.transaction_type in _TYPES_WITH_TEXT else 2
        if len(records) != expects:
            raise PaymentFileError(
                f"Linje {assignment.pending_line}",
                _(
                    "transaksjon %(number)s mangler posttype %(code)s",
                    number=first.transaction_number,
                    code=30 + len(records),
                ),
            )
        # The fields straight from netsgiro's records: building netsgiro.Transaction objects too would
        # validate every field a second time, which is most of the cost of a 10,000-payment file.
        item1, item2 = records[0], records[1]
        assert isinstance(item1, nets_records.TransactionAmountItem1)
        assert isinstance(item2, nets_records.TransactionAmountItem2)
        text = (
            records[2].text
            if len(records) == 3 and isinstance(records[2], nets_records.TransactionAmountItem3)
            else None
        )
        amount = (Decimal(item1.amount) / 100 * (-1 if item1.sign == "-" else 1)).quantize(_CENT)
        if abs(amount) > MAX_AMOUNT:
            raise PaymentFileError(
                f"Linje {assignment.pending_line}", _("beløpet %(amount)s er for stort", amount=amount)
            )
        account = item2.debit_account
        assignment.amounts.append(amount)
        start = assignment.start
        parsed.transactions.append(
            BankTransaction(
                external_id=(
                    f"{start.agreement_id}:{start.assignment_number}:{item1.nets_date:%Y%m%d}:{item1.transaction_number}"
                ),
                paid_on=item1.nets_date,
                amount=amount,
                kids=(item1.kid,) if item1.kid else (),
                reference_text=(text or "").strip() or None,
                payer_account=account if account and account.strip("0") else None,
                where=f"Linje {assignment.pending_line}",
            )
        )
        assignment.pending = []

    for number, line in enumerate(lines, start=1):
        where = f"Linje {number}"
        if ended:
            raise PaymentFileError(where, _("poster etter forsendelse slutt (posttype 89)"))
        record = _read_record(number, line)
        if not started:
            if not isinstance(record, nets_records.TransmissionStart):
                raise PaymentFileError(where, _("filen må starte med forsendelse start (posttype 10)"))
            started = True
            file_records += 1
            continue
        file_records += 1
        if isinstance(record, nets_records.TransmissionStart):
            raise PaymentFileError(where, _("forsendelse start (posttype 10) to ganger"))
        if isinstance(record, nets_records.AssignmentStart):
            if assignment is not None:
                raise PaymentFileError(
                    where, _("nytt oppdrag før oppdraget fra linje %(line)s er avsluttet", line=assignment.line)
                )
            if record.service_code != netsgiro.ServiceCode.OCR_GIRO:
                raise PaymentFileError(
                    where, _("oppdraget er ikke OCR giro (tjenestekode 09); AvtaleGiro-filer er ikke innbetalinger")
                )
            assignment = _Assignment(number, record)
            continue
        if isinstance(record, nets_records.TransactionRecord):
            if assignment is None:
                raise PaymentFileError(where, _("transaksjonspost utenfor et oppdrag"))
            assignment.records += 1
            if isinstance(record, nets_records.TransactionAmountItem1):
                finish_transaction()
                if record.transaction_number in assignment.seen_numbers:
                    raise PaymentFileError(
                        where, _("transaksjonsnummer %(number)s finnes to ganger", number=record.transaction_number)
                    )
                assignment.seen_numbers.add(record.transaction_number)
                assignment.pending = [record]
                assignment.pending_line = number
                continue
            if not assignment.pending or assignment.pending[0].transaction_number != record.transaction_number:
                raise PaymentFileError(
                    where,
                    _("posten hører ikke til noen transaksjon (nr. %(number)s)", number=record.transaction_number),
                )
            expected = (
                nets_records.TransactionAmountItem2
                if len(assignment.pending) == 1
                else (nets_records.TransactionAmountItem3)
            )
            if not isinstance(record, expected) or len(assignment.pending) > 2:
                raise PaymentFileError(where, _("beløpspostene kommer i feil rekkefølge"))
            if record.transaction_type != assignment.pending[0].transaction_type:
                raise PaymentFileError(where, _("transaksjonstypen er ikke den samme som i beløpspost 1"))
            assignment.pending.append(record)
            continue
        if isinstance(record, nets_records.AssignmentEnd):
            if assignment is None:
                raise PaymentFileError(where, _("oppdrag slutt uten oppdrag start"))
            finish_transaction()
            _check_totals(where, "assignment", record, len(assignment.amounts), assignment.records, assignment.amounts)
            file_transactions += len(assignment.amounts)
            file_amounts.extend(assignment.amounts)
            assignment = None
            continue
        if isinstance(record, nets_records.TransmissionEnd):
            if assignment is not None:
                raise PaymentFileError(
                    where, _("oppdraget fra linje %(line)s er ikke avsluttet (posttype 88)", line=assignment.line)
                )
            _check_totals(where, "transmission", record, file_transactions, file_records, file_amounts)
            ended = True
            continue
        raise PaymentFileError(where, _("posttype %(code)s hører ikke hjemme i en OCR giro-fil", code=line[6:8]))
    if not ended:
        raise PaymentFileError(f"Linje {len(lines)}", _("filen slutter uten forsendelse slutt (posttype 89)"))
    return parsed


def _whole(what: str) -> str:
    return _("oppdraget") if what == "assignment" else _("forsendelsen")


def _check_totals(
    where: str,
    what: str,
    record: nets_records.AssignmentEnd | nets_records.TransmissionEnd,
    transactions: int,
    records: int,
    amounts: list[Decimal],
) -> None:
    if record.num_transactions != transactions:
        raise PaymentFileError(
            where,
            _(
                "%(what)s oppgir %(stated)s transaksjoner, men har %(found)s",
                what=_whole(what),
                stated=record.num_transactions,
                found=transactions,
            ),
        )
    if record.num_records != records:
        raise PaymentFileError(
            where,
            _(
                "%(what)s oppgir %(stated)s poster, men har %(found)s",
                what=_whole(what),
                stated=record.num_records,
                found=records,
            ),
        )
    total = record.total_amount
    if total is None:
        return
    stated = Decimal(total) / 100
    # Nets' description does not say whether reversals count negative in the total; both readings pass.
    if stated not in (sum(amounts, Decimal(0)), sum((abs(a) for a in amounts), Decimal(0))):
        raise PaymentFileError(
            where,
            _(
                "%(what)s oppgir sum %(stated)s, men transaksjonene er %(found)s",
                what=_whole(what),
                stated=stated,
                found=sum(amounts, Decimal(0)),
            ),
        )


def write(
    payments: Sequence[tuple[str, Decimal]],
    *,
    nets_date: date,
    agreement_id: str = "000000001",
    assignment_number: str = "0000001",
    account: str = "99990000000",
    transmission_number: str = "1000001",
) -> str:
    """An OCR giro file with one assignment of (KID, amount) payments, written by netsgiro's records.

    For demo data, tests and benchmarks: the same format Nets delivers, so it goes through ``parse``.
    """
    service = netsgiro.ServiceCode.OCR_GIRO
    kind = netsgiro.TransactionType.FROM_GIRO_DEBITED_ACCOUNT
    lines = [
        nets_records.TransmissionStart(
            service_code=netsgiro.ServiceCode.NONE,
            transmission_number=transmission_number,
            data_transmitter="00008080",
            data_recipient="00000001",
        ).to_ocr(),
        nets_records.AssignmentStart(
            service_code=service,
            assignment_type=netsgiro.AssignmentType.TRANSACTIONS,
            assignment_number=assignment_number,
            assignment_account=account,
            agreement_id=agreement_id,
        ).to_ocr(),
    ]
    total = 0
    for number, (kid, amount) in enumerate(payments, start=1):
        if not kid.isdigit() or len(kid) > 25:
            raise ValueError(f"an OCR giro KID is 1-25 digits, not {kid!r}")
        cents = int((amount * 100).to_integral_value())
        total += cents
        lines.append(
            nets_records.TransactionAmountItem1(
                service_code=service,
                transaction_type=kind,
                transaction_number=number,
                nets_date=nets_date,
                amount=cents,
                kid=kid,
                centre_id="13",
                day_code=nets_date.day,
                partial_settlement_number=1,
                partial_settlement_serial_number="00001",
                sign="0",
            ).to_ocr()
        )
        lines.append(
            nets_records.TransactionAmountItem2(
                service_code=service,
                transaction_type=kind,
                transaction_number=number,
                reference=f"{number:09d}",
                form_number="9999000000",
                bank_date=nets_date,
                debit_account="12345678903",
                filler="0000000",
            ).to_ocr()
        )
    records = 2 * len(payments)
    lines.append(
        nets_records.AssignmentEnd(
            service_code=service,
            assignment_type=netsgiro.AssignmentType.TRANSACTIONS,
            num_transactions=len(payments),
            num_records=records + 2,
            total_amount=total,
            nets_date_1=nets_date,
            nets_date_2=nets_date,
            nets_date_3=nets_date,
        ).to_ocr()
    )
    lines.append(
        nets_records.TransmissionEnd(
            service_code=netsgiro.ServiceCode.NONE,
            num_transactions=len(payments),
            num_records=records + 4,
            total_amount=total,
            nets_date=nets_date,
        ).to_ocr()
    )
    return "\n".join(lines) + "\n"
