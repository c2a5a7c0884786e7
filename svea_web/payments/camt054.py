"""ISO 20022 camt.054 (BankToCustomerDebitCreditNotification), versions 001.02 to 001.13.

The XML is read with defusedxml and DTDs are refused outright: a bank file has no use for one, and
refusing it shuts out entity expansion and external entities (XXE) whatever the parser would do.

Only booked credit entries are payments to the firm. Debit entries (money out) and entries that are
pending or informational are counted as ignored. A debit that reverses an earlier credit (RvslInd)
is kept as a negative payment so that a person looks at it. The KID is the structured creditor
reference (RmtInf/Strd/CdtrRefInf/Ref); other references and the free text are kept as the
reference text, where the match number is looked for.

A transaction's identity is the bank's own reference: TxDtls/Refs/AcctSvcrRef, else the entry's
AcctSvcrRef (or NtryRef) with the transaction's place in the entry, each under the account number.
A refusal names the element, e.g. ``Ntfctn[1]/Ntry[2]/NtryDtls[1]/TxDtls[1]/Amt``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException
from flask_babel import gettext as _

from svea_web.payments.bankfile import KIND_CAMT054, BankTransaction, ParsedFile, PaymentFileError
from svea_web.rules.parsing import MAX_AMOUNT

NAMESPACE = re.compile(r"\{urn:iso:std:iso:20022:tech:xsd:camt\.054\.001\.(0[2-9]|1[0-3])\}Document")
_KID = re.compile(r"[0-9]{1,24}[0-9-]")
_CENT = Decimal("0.01")
_AMOUNT = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,5})?")
CURRENCY = "NOK"
MAX_TEXT = 1000


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class _Node:
    """An element with its path, for messages that point at the element that is wrong."""

    def __init__(self, element: Element, path: str) -> None:
        self.element = element
        self.path = path

    def children(self, name: str) -> list[_Node]:
        found = [child for child in self.element if _local(child.tag) == name]
        return [_Node(child, f"{self.path}/{name}[{i}]") for i, child in enumerate(found, start=1)]

    def child(self, name: str) -> _Node | None:
        for child in self.element:
            if _local(child.tag) == name:
                return _Node(child, f"{self.path}/{name}")
        return None

    def find(self, *names: str) -> _Node | None:
        node: _Node | None = self
        for name in names:
            node = node.child(name) if node else None
        return node

    def text(self, *names: str) -> str | None:
        node = self.find(*names)
        if node is None or node.element.text is None:
            return None
        return node.element.text.strip() or None

    def require(self, *names: str) -> _Node:
        node = self.find(*names)
        if node is None:
            raise PaymentFileError(f"{self.path}/{'/'.join(names)}", _("elementet mangler"))
        return node

    def require_text(self, *names: str) -> str:
        value = self.text(*names)
        if value is None:
            raise PaymentFileError(f"{self.path}/{'/'.join(names)}", _("elementet mangler eller er tomt"))
        return value


def _load(data: bytes) -> _Node:
    try:
        root = safe_xml.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as error:
        raise PaymentFileError(
            "", _("Filen er avvist: XML med DTD eller entiteter godtas ikke (%(kind)s)", kind=type(error).__name__)
        ) from None
    except ParseError as error:
        line, column = error.position
        raise PaymentFileError(f"Linje {line}, kolonne {column + 1}", _("filen er ikke gyldig XML")) from None
    except (LookupError, ValueError):
        # The XML declaration names an encoding Python does not know, or one that cannot be applied.
        raise PaymentFileError("Linje 1", _("ukjent tegnkoding i XML-deklarasjonen")) from None
    if not NAMESPACE.fullmatch(root.tag):
        raise PaymentFileError(_local(root.tag), _("ikke en camt.054-fil (rotelementet er %(tag)s)", tag=root.tag))
    return _Node(root, "Document")


def _amount(node: _Node, currency_required: bool) -> tuple[Decimal, str]:
    raw = (node.element.text or "").strip()
    # ISO 20022 amounts: digits with at most one decimal point, no sign, no exponent.
    if not _AMOUNT.fullmatch(raw):
        raise PaymentFileError(node.path, _("«%(raw)s» er ikke et beløp", raw=raw[:40]))
    amount = Decimal(raw)
    currency = node.element.get("Ccy", "")
    if currency_required and currency != CURRENCY:
        raise PaymentFileError(
            node.path,
            _(
                "beløpet er i %(currency)s; bare %(ours)s kan bokføres",
                currency=currency or _("ukjent valuta"),
                ours=CURRENCY,
            ),
        )
    if amount > MAX_AMOUNT:
        raise PaymentFileError(node.path, _("«%(raw)s» er for stort", raw=raw))
    if amount != amount.quantize(_CENT):
        raise PaymentFileError(node.path, _("«%(raw)s» har mer enn to desimaler", raw=raw))
    return amount.quantize(_CENT), currency


def _date(entry: _Node) -> date:
    for holder in ("BookgDt", "ValDt"):
        for kind in ("Dt", "DtTm"):
            value = entry.text(holder, kind)
            if value:
                try:
                    return date.fromisoformat(value[:10])
                except ValueError:
                    raise PaymentFileError(
                        f"{entry.path}/{holder}/{kind}", _("«%(value)s» er ikke en dato", value=value)
                    ) from None
    raise PaymentFileError(f"{entry.path}/BookgDt", _("bokføringsdato mangler"))


def _status(entry: _Node) -> str:
    status = entry.child("Sts")
    if status is None:
        raise PaymentFileError(f"{entry.path}/Sts", _("status mangler"))
    # 001.02-001.07 carry the code as text, later versions in Sts/Cd (or Sts/Prtry).
    return (status.text("Cd") or status.text("Prtry") or (status.element.text or "").strip()).upper()


def _direction(node: _Node, inherited: str | None) -> str:
    value = node.text("CdtDbtInd") or inherited
    if value not in ("CRDT", "DBIT"):
        raise PaymentFileError(f"{node.path}/CdtDbtInd", _("«%(value)s» er verken CRDT eller DBIT", value=value or ""))
    return value


def _account(notification: _Node) -> str:
    account = notification.require("Acct", "Id")
    value = account.text("IBAN") or account.text("Othr", "Id")
    if not value:
        raise PaymentFileError(f"{account.path}/IBAN", _("kontonummeret mangler"))
    return value


def _party(tx: _Node, role: str) -> tuple[str | None, str | None]:
    parties = tx.child("RltdPties")
    if parties is None:
        return None, None
    # 001.08 and later wrap the party in Pty.
    name = parties.text(role, "Nm") or parties.text(role, "Pty", "Nm")
    if role == "Dbtr" and not name:
        name = parties.text("UltmtDbtr", "Nm") or parties.text("UltmtDbtr", "Pty", "Nm")
    account = parties.text(f"{role}Acct", "Id", "IBAN") or parties.text(f"{role}Acct", "Id", "Othr", "Id")
    return name, account


def _remittance(tx: _Node) -> tuple[tuple[str, ...], str | None]:
    kids: list[str] = []
    texts: list[str] = []
    for info in tx.children("RmtInf"):
        texts.extend(
            n.element.text.strip() for n in info.children("Ustrd") if n.element.text and n.element.text.strip()
        )
        for structured in info.children("Strd"):
            for ref_info in structured.children("CdtrRefInf"):
                ref = ref_info.text("Ref")
                if not ref:
                    continue
                compact = ref.replace(" ", "")
                if _KID.fullmatch(compact) and len(compact) <= 25:
                    kids.append(compact)
                else:
                    texts.append(ref)
            texts.extend(
                n.element.text.strip()
                for n in structured.children("AddtlRmtInf")
                if n.element.text and n.element.text.strip()
            )
    extra = tx.text("AddtlTxInf")
    if extra:
        texts.append(extra)
    text = " ".join(texts)[:MAX_TEXT] or None
    return tuple(dict.fromkeys(kids)), text


def _transactions(entry: _Node) -> Iterator[tuple[int, _Node | None]]:
    details = [tx for group in entry.children("NtryDtls") for tx in group.children("TxDtls")]
    if not details:
        yield 1, None
        return
    yield from enumerate(details, start=1)


def parse(data: bytes) -> ParsedFile:
    """Every booked incoming payment in the file, or PaymentFileError naming the element that is wrong."""
    document = _load(data)
    message = document.require("BkToCstmrDbtCdtNtfctn")
    parsed = ParsedFile(kind=KIND_CAMT054)
    seen: dict[str, str] = {}
    notifications = message.children("Ntfctn")
    if not notifications:
        raise PaymentFileError(f"{message.path}/Ntfctn", _("filen har ingen varsler (Ntfctn)"))
    for notification in notifications:
        account = _account(notification)
        notification_id = notification.require_text("Id")
        for entry_no, entry in enumerate(notification.children("Ntry"), start=1):
            entry_amount_node = entry.require("Amt")
            entry_direction = _direction(entry, None)
            reversal = (entry.text("RvslInd") or "").lower() == "true"
            status = _status(entry)
            entry_ref = entry.text("AcctSvcrRef")
            entry_own_ref = entry.text("NtryRef")
            paid_on = _date(entry)
            txs = list(_transactions(entry))
            for tx_no, tx in txs:
                node = tx or entry
                direction = _direction(tx, entry_direction) if tx else entry_direction
                money_in = direction == "CRDT" or (direction == "DBIT" and reversal)
                if status != "BOOK" or not money_in:
                    parsed.ignored += 1
                    continue
                amount_node = None
                if tx is not None:
                    amount_node = tx.child("Amt") or tx.find("AmtDtls", "TxAmt", "Amt")
                    if amount_node is None and len(txs) > 1:
                        raise PaymentFileError(f"{tx.path}/Amt", _("beløpet mangler for transaksjonen"))
                amount, _currency = _amount(amount_node or entry_amount_node, currency_required=True)
                if direction == "DBIT":
                    amount = -amount
                tx_ref = tx.text("Refs", "AcctSvcrRef") if tx else None
                if tx_ref:
                    external_id = f"{account}:tx:{tx_ref}"
                elif entry_ref:
                    external_id = f"{account}:ntry:{entry_ref}:{tx_no}"
                elif entry_own_ref:
                    external_id = f"{account}:ref:{entry_own_ref}:{tx_no}"
                else:
                    external_id = f"{account}:msg:{notification_id}:{entry_no}:{tx_no}"
                if external_id in seen:
                    raise PaymentFileError(
                        node.path, _("transaksjonen har samme bankreferanse som %(other)s", other=seen[external_id])
                    )
                seen[external_id] = node.path
                kids, text = _remittance(tx) if tx else ((), entry.text("AddtlNtryInf"))
                payer_name, payer_account = _party(tx, "Dbtr") if tx else (None, None)
                parsed.transactions.append(
                    BankTransaction(
                        external_id=external_id[:120],
                        paid_on=paid_on,
                        amount=amount,
                        kids=kids,
                        reference_text=text,
                        payer_name=payer_name[:200] if payer_name else None,
                        payer_account=payer_account[:40] if payer_account else None,
                        where=node.path,
                    )
                )
    return parsed
