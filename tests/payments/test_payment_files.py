"""Reading payment files: what the importer understands from real and generated files, and how a
broken file is refused whole, naming the line (OCR) or the element (camt.054)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from svea_web.payments import camt054, ocr
from svea_web.payments.bankfile import KIND_CAMT054, KIND_OCR, PaymentFileError, parse_payment_file

DATA = Path(__file__).parent / "data"
NETSGIRO_SAMPLE = DATA / "netsgiro_ocr_giro_transactions.txt"


def lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines()


def refused(data: bytes) -> PaymentFileError:
    with pytest.raises(PaymentFileError) as caught:
        parse_payment_file(data)
    return caught.value


# --- OCR giro ------------------------------------------------------------------------------------------


def test_netsgiro_sample_file_gives_its_twenty_payments_with_kid_amount_and_date():
    parsed = parse_payment_file(NETSGIRO_SAMPLE.read_bytes())

    assert parsed.kind == KIND_OCR
    assert len(parsed.transactions) == 20
    first = parsed.transactions[0]
    assert first.kid == "0000531"  # leading zeros kept: a KID is a string
    assert first.amount == Decimal("1020.00")
    assert first.paid_on == date(1992, 1, 20)
    assert first.reference_text == "Foo bar baz"  # the free text of a purchase-with-text transaction
    assert first.where == "Linje 3"
    assert sum(t.amount for t in parsed.transactions) == Decimal("51449.00")  # the file's own total
    assert len({t.external_id for t in parsed.transactions}) == 20


def test_each_ocr_transaction_has_an_identity_of_agreement_assignment_date_and_number():
    parsed = ocr.parse(NETSGIRO_SAMPLE.read_bytes())

    assert parsed.transactions[0].external_id == "001008566:0000002:19920120:1"
    assert parsed.transactions[19].external_id == "001008566:0000002:19920120:20"


def test_a_generated_ocr_file_reads_back_the_same_payments():
    payments = [("10000123", Decimal("1250.00")), ("0000000000531", Decimal("0.50"))]
    text = ocr.write(payments, nets_date=date(2026, 11, 26))

    parsed = ocr.parse(text.encode())

    assert [(t.kid, t.amount, t.paid_on) for t in parsed.transactions] == [
        ("10000123", Decimal("1250.00"), date(2026, 11, 26)),
        ("0000000000531", Decimal("0.50"), date(2026, 11, 26)),
    ]


def test_ocr_file_with_windows_line_endings_and_a_trailing_blank_line_is_read():
    data = NETSGIRO_SAMPLE.read_text().replace("\n", "\r\n") + "\r\n"

    assert len(ocr.parse(data.encode()).transactions) == 20


def test_a_reversal_in_an_ocr_file_becomes_a_negative_payment():
    lines = ocr.write([("10000123", Decimal("100.00"))], nets_date=date(2026, 11, 26)).splitlines()
    lines[2] = lines[2][:4] + "18" + lines[2][6:31] + "-" + lines[2][32:]  # reversing with KID, sign minus
    lines[3] = lines[3][:4] + "18" + lines[3][6:]

    [reversal] = ocr.parse("\n".join(lines).encode()).transactions

    assert reversal.amount == Decimal("-100.00")


@pytest.mark.parametrize(
    ("change", "where", "reason"),
    [
        (lambda ls: ls.__setitem__(5, ls[5][:79]), "Linje 6", "nøyaktig 80 tegn, denne har 79"),
        (lambda ls: ls.__setitem__(5, "XY" + ls[5][2:]), "Linje 6", "må starte med «NY»"),
        (lambda ls: ls.__setitem__(5, ls[5][:6] + "77" + ls[5][8:]), "Linje 6", "ukjent posttype «77»"),
        (lambda ls: ls.__setitem__(5, ls[5][:15] + "ABCDEF" + ls[5][21:]), "Linje 6", "formatet for posttype 30"),
        (lambda ls: ls.pop(6), "Linje 6", "transaksjon 2 mangler posttype 31"),
        (lambda ls: ls.pop(), "Linje 44", "uten forsendelse slutt"),
        (lambda ls: ls.pop(0), "Linje 1", "må starte med forsendelse start"),
        (lambda ls: ls.__setitem__(43, ls[43][:8] + "00000021" + ls[43][16:]), "Linje 44", "oppgir 21 transaksjoner"),
        (
            lambda ls: ls.__setitem__(43, ls[43][:24] + "00000000005144800" + ls[43][41:]),
            "Linje 44",
            "oppgir sum 51448",
        ),
        (lambda ls: ls.insert(7, ls[5]), "Linje 8", "transaksjonsnummer 2 finnes to ganger"),
    ],
)
def test_a_broken_ocr_file_is_refused_naming_the_line(change, where, reason):
    lines = lines_of(NETSGIRO_SAMPLE)
    change(lines)

    error = refused("\n".join(lines).encode())

    assert error.where == where
    assert reason in error.reason


def test_an_avtalegiro_file_is_not_taken_for_payments():
    lines = lines_of(NETSGIRO_SAMPLE)
    lines[1] = "NY21" + lines[1][4:]

    error = refused("\n".join(lines).encode())

    assert error.where == "Linje 2"
    assert "AvtaleGiro" in error.reason


def test_a_file_that_is_neither_ocr_nor_xml_is_refused():
    assert "Ukjent filformat" in str(refused(b"kundenr;navn\n1;Kari\n"))


# --- camt.054 ------------------------------------------------------------------------------------------


def test_norwegian_credit_notification_gives_booked_credits_with_kid_payer_and_text():
    parsed = parse_payment_file((DATA / "camt054_no_credit.001.02.xml").read_bytes())

    assert parsed.kind == KIND_CAMT054
    assert [(t.kid, t.amount, t.payer_name) for t in parsed.transactions] == [
        ("10000123", Decimal("1250.00"), "Kari Nordmann"),
        ("10000206", Decimal("2450.00"), "Fjellheim Bygg AS"),
        (None, Decimal("980.00"), "Per Hansen"),
        (None, Decimal("1500.00"), "Ola Nordmansen"),
    ]
    assert parsed.transactions[2].reference_text == "Betaling faktura 20417, takk"
    assert parsed.transactions[0].paid_on == date(2026, 11, 25)
    # The outgoing payment (DBIT) and the pending entry are not payments to the firm.
    assert parsed.ignored == 2


def test_camt_transactions_are_identified_by_the_banks_own_reference():
    parsed = camt054.parse((DATA / "camt054_no_credit.001.02.xml").read_bytes())

    assert [t.external_id for t in parsed.transactions] == [
        "15031234567:tx:20261125KID000001-1",
        "15031234567:tx:20261125KID000001-2",
        "15031234567:ntry:20261125GIRO00002:1",
        "15031234567:ntry:20261126GIRO00003:1",
    ]


def test_real_camt054_v02_sample_is_read_and_its_debit_entries_ignored():
    parsed = camt054.parse((DATA / "genkgo_camt054.v2.xml").read_bytes())

    assert parsed.transactions == []
    assert parsed.ignored == 4  # one debit entry with four transactions: money out, not in


def test_real_camt054_v08_sample_is_refused_for_its_credits_in_chf_naming_the_element():
    error = refused((DATA / "genkgo_camt054.v8.xml").read_bytes())

    assert error.where == "Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]/NtryDtls[1]/TxDtls[1]/Amt"
    assert "CHF" in error.reason


def camt(entries: str, version: str = "02") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.{version}">
 <BkToCstmrDbtCdtNtfctn>
  <GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-11-26T06:00:00</CreDtTm></GrpHdr>
  <Ntfctn><Id>N1</Id><CreDtTm>2026-11-26T06:00:00</CreDtTm>
   <Acct><Id><IBAN>NO9386011117947</IBAN></Id></Acct>
   {entries}
  </Ntfctn>
 </BkToCstmrDbtCdtNtfctn>
</Document>""".encode()


def entry(
    amount: str = '<Amt Ccy="NOK">100.00</Amt>', status: str = "<Sts><Cd>BOOK</Cd></Sts>", details: str = ""
) -> str:
    return (
        f"<Ntry>{amount}<CdtDbtInd>CRDT</CdtDbtInd>{status}<BookgDt><Dt>2026-11-25</Dt></BookgDt>"
        f"<AcctSvcrRef>R1</AcctSvcrRef>{details}</Ntry>"
    )


def test_camt054_v08_credit_with_kid_in_the_structured_reference():
    details = (
        '<NtryDtls><TxDtls><Refs><AcctSvcrRef>TX-1</AcctSvcrRef></Refs><Amt Ccy="NOK">100.00</Amt>'
        "<RltdPties><Dbtr><Pty><Nm>Kari Nordmann</Nm></Pty></Dbtr></RltdPties>"
        "<RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>0010000123</Ref></CdtrRefInf>"
        "</Strd></RmtInf></TxDtls></NtryDtls>"
    )

    [payment] = camt054.parse(camt(entry(details=details), version="08")).transactions

    assert (payment.kid, payment.amount, payment.payer_name) == ("0010000123", Decimal("100.00"), "Kari Nordmann")
    assert payment.external_id == "NO9386011117947:tx:TX-1"


@pytest.mark.parametrize(
    ("data", "where", "reason"),
    [
        (camt(entry(amount='<Amt Ccy="NOK">12,50</Amt>')), "Ntfctn[1]/Ntry[1]/Amt", "ikke et beløp"),
        (camt(entry(amount='<Amt Ccy="NOK">12.505</Amt>')), "Ntfctn[1]/Ntry[1]/Amt", "mer enn to desimaler"),
        (camt(entry(amount='<Amt Ccy="EUR">12.50</Amt>')), "Ntfctn[1]/Ntry[1]/Amt", "bare NOK"),
        (camt(entry(amount="")), "Ntfctn[1]/Ntry[1]/Amt", "mangler"),
        (camt(entry(status="")), "Ntfctn[1]/Ntry[1]/Sts", "status mangler"),
        (
            camt(entry(details="<NtryDtls><TxDtls/><TxDtls/></NtryDtls>")),
            "Ntfctn[1]/Ntry[1]/NtryDtls[1]/TxDtls[1]/Amt",
            "beløpet mangler",
        ),
        (camt(entry() + entry()), "Ntfctn[1]/Ntry[2]", "samme bankreferanse"),
        (camt(entry()).replace(b"<Id>N1</Id>", b""), "Ntfctn[1]/Id", "mangler"),
    ],
)
def test_a_broken_camt054_is_refused_naming_the_element(data, where, reason):
    error = refused(data)

    assert error.where.endswith(where)
    assert reason in error.reason


def test_camt054_with_a_dtd_is_refused_so_no_entity_is_ever_expanded():
    xxe = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>&secret;</MsgId></GrpHdr></BkToCstmrDbtCdtNtfctn></Document>"""
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02">&lol2;</Document>"""

    for data in (xxe, bomb):
        error = refused(data)
        assert "DTD" in error.reason
        assert "root:" not in str(error)


def test_camt054_that_is_not_well_formed_xml_is_refused_with_line_and_column():
    error = refused(b'<?xml version="1.0"?>\n<Document>\n  <Ntry>\n</Document>')

    assert error.where.startswith("Linje 4")
    assert "ikke gyldig XML" in error.reason


def test_an_account_statement_camt053_is_not_taken_for_a_credit_notification():
    error = refused(b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt/></Document>')

    assert "ikke en camt.054" in error.reason


def test_camt054_with_an_unknown_xml_encoding_is_refused_at_line_1() -> None:
    # Found by the importer fuzzing: an unknown encoding name crashed the reader with LookupError.
    import pytest as _pytest

    from svea_web.payments import camt054 as _camt054
    from svea_web.payments.bankfile import PaymentFileError as _PaymentFileError

    with _pytest.raises(_PaymentFileError) as refused:
        _camt054.parse(b'<?xml version="1.0" encoding="U99999999TF-8"?><Document/>')
    assert "ukjent tegnkoding" in str(refused.value)
