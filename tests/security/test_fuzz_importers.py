"""Fuzzing the file importers (customer CSV, OCR giro, camt.054) with hypothesis.

A file from outside is refused with a message or read whole: no other exception, no 500, no value
that would not fit its column, and nothing written when it is refused (no partial import). XML with
a DTD (external entities, entity expansion) is refused before anything is expanded or fetched.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from svea_web.extensions import db
from svea_web.ledger.csv_import import ImportFileError, parse_csv
from svea_web.ledger.models import Customer, CustomerPost, ImportBatch
from svea_web.payments import camt054, ocr
from svea_web.payments.bankfile import ParsedFile, PaymentFileError, parse_payment_file
from svea_web.payments.models import Payment, PaymentImport

from .conftest import Worlds, WriteLog, log_in

FAST = settings(max_examples=100, deadline=None, database=None)
THROUGH_THE_APP = settings(
    max_examples=15, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
MAX_MONEY = Decimal("999999999999.99")  # Numeric(14, 2)

CSV = (
    "Kundenr;Navn;Type;Orgnr;Fødselsnummer;Adresse;Postnr;Poststed;E-post;Telefon;Fakturanr;Motpostnr;KID;"
    "Fakturadato;Forfallsdato;Beløp;Restbeløp;Tekst\n"
    "1001;Kari Nordmann;person;;;Storgata 1;0150;OSLO;kari@example.no;91234567;5001;5001;0000012344;"
    "01.10.2026;15.10.2026;1 234,50;1 234,50;Varer\n"
    "1002;Fjord Bygg AS;bedrift;923609016;;Kaia 2;5003;BERGEN;;;5002;;;2026-09-01;2026-09-15;-200,00;-200,00;\n"
).encode()
OCR = ocr.write(
    [("0000012344", Decimal("1234.50")), ("0000050021", Decimal("99.90"))], nets_date=date(2026, 11, 26)
).encode()
CAMT = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-11-26T06:15:00</CreDtTm></GrpHdr>
<Ntfctn><Id>N1</Id><Acct><Id><Othr><Id>15031234567</Id></Othr></Id></Acct>
<Ntry><Amt Ccy="NOK">1334.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
<BookgDt><Dt>2026-11-25</Dt></BookgDt><AcctSvcrRef>R1</AcctSvcrRef>
<NtryDtls>
<TxDtls><Refs><AcctSvcrRef>R1-1</AcctSvcrRef></Refs><Amt Ccy="NOK">1234.50</Amt>
<RltdPties><Dbtr><Nm>Kari Nordmann</Nm></Dbtr><DbtrAcct><Id><Othr><Id>12345678903</Id></Othr></Id></DbtrAcct></RltdPties>
<RmtInf><Strd><CdtrRefInf><Ref>0000012344</Ref></CdtrRefInf></Strd></RmtInf></TxDtls>
<TxDtls><Refs><AcctSvcrRef>R1-2</AcctSvcrRef></Refs><Amt Ccy="NOK">100.00</Amt>
<RmtInf><Ustrd>Faktura 5002</Ustrd></RmtInf></TxDtls>
</NtryDtls></Ntry></Ntfctn></BkToCstmrDbtCdtNtfctn></Document>
"""
# Amounts no Numeric(14, 2) column holds: the reader must refuse them (on PostgreSQL the booking
# would fail half-way with a database error instead of a message naming the line or element).
CAMT_TOO_BIG = CAMT.replace(b'<Amt Ccy="NOK">1234.50</Amt>', b'<Amt Ccy="NOK">10000000000000.00</Amt>')
OCR_TOO_BIG = ocr.write([("0000012344", Decimal("10000000000000.00"))], nets_date=date(2026, 11, 26)).encode()


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """The seed with a few bytes replaced, inserted or deleted: mostly valid, broken somewhere."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        chunk = draw(
            st.one_of(
                st.binary(min_size=1, max_size=6),
                st.sampled_from([b";", b"\n", b'"', b"<", b">", b"&", b"9" * 20, b"-", b",", b"\x00", b"\xff\xfe"]),
            )
        )
        action = draw(st.sampled_from(["replace", "insert", "delete"]))
        if action == "insert":
            data[at:at] = chunk
        elif action == "replace":
            data[at : at + len(chunk)] = chunk
        else:
            del data[at : at + draw(st.integers(1, 20))]
    return bytes(data)


def csv_rows() -> st.SearchStrategy[bytes]:
    cell = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
    row = st.lists(cell, min_size=1, max_size=20).map(";".join)
    header = CSV.split(b"\n", 1)[0].decode()
    return st.lists(row, max_size=8).map(lambda rows: "\n".join([header, *rows]).encode())


def fits(value: Any, length: int | None = None) -> bool:
    if value is None:
        return True
    if isinstance(value, Decimal):
        return abs(value) <= MAX_MONEY and value == value.quantize(Decimal("0.01"))
    return length is None or len(value) <= length


def check_csv_result(data: bytes) -> None:
    try:
        parsed = parse_csv(data)
    except ImportFileError:
        return
    columns = Customer.__table__.c
    for customer in parsed.customers.values():
        for key, value in customer.items():
            if key in columns and hasattr(columns[key].type, "length"):
                assert fits(value, columns[key].type.length), (key, value)
    post_columns = CustomerPost.__table__.c
    for post in parsed.posts:
        for key, value in post.items():
            length = getattr(post_columns[key].type, "length", None) if key in post_columns else None
            assert fits(value, length), (key, value)


@FAST
@given(st.one_of(st.binary(max_size=400), mutated(CSV), csv_rows()))
def test_the_csv_reader_reads_or_refuses_any_file(data: bytes) -> None:
    check_csv_result(data)


def check_payment_file(data: bytes, parse: Callable[[bytes], ParsedFile]) -> None:
    try:
        parsed = parse(data)
    except PaymentFileError:
        return
    columns = Payment.__table__.c
    for tx in parsed.transactions:
        assert fits(tx.amount), tx.amount
        assert fits(tx.external_id, columns.external_id.type.length)
        assert fits(tx.payer_name, columns.payer_name.type.length)
        assert fits(tx.payer_account, columns.payer_account.type.length)
        assert all(fits(kid, columns.kid.type.length) for kid in tx.kids)


@FAST
@given(st.one_of(st.binary(max_size=400), mutated(OCR)))
@example(OCR_TOO_BIG)
def test_the_ocr_reader_reads_or_refuses_any_file(data: bytes) -> None:
    check_payment_file(data, ocr.parse)


@FAST
@given(st.one_of(st.binary(max_size=400), mutated(CAMT)))
@example(CAMT_TOO_BIG)
def test_the_camt054_reader_reads_or_refuses_any_file(data: bytes) -> None:
    check_payment_file(data, camt054.parse)


@FAST
@given(st.one_of(mutated(OCR), mutated(CAMT), st.binary(max_size=200)))
def test_any_payment_file_is_read_or_refused_whole(data: bytes) -> None:
    check_payment_file(data, parse_payment_file)


def test_the_seed_files_are_read(tmp_path: Path) -> None:
    """The mutations start from files the readers accept, so they explore past the first line."""
    assert len(parse_csv(CSV).posts) == 2
    assert len(ocr.parse(OCR).transactions) == 2
    assert len(camt054.parse(CAMT).transactions) == 2


def xml_attack(secret_file: Path) -> dict[str, bytes]:
    head = '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02">'
    return {
        "external entity (XXE)": (
            f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret_file}">]>{head}&x;</Document>'
        ).encode(),
        "entity expansion (billion laughs)": (
            '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
            + "".join(f'<!ENTITY {chr(98 + n)} "{("&" + chr(97 + n) + ";") * 10}">' for n in range(9))
            + f"]>{head}&j;</Document>"
        ).encode(),
        "external DTD": (
            f'<?xml version="1.0"?><!DOCTYPE d SYSTEM "http://127.0.0.1:9/camt.dtd">{head}</Document>'
        ).encode(),
        "parameter entity": (
            f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY % p SYSTEM "file://{secret_file}"> %p;]>{head}</Document>'
        ).encode(),
    }


def test_xml_with_a_dtd_is_refused_before_anything_is_expanded_or_fetched(tmp_path: Path) -> None:
    secret = tmp_path / "hemmelig.txt"
    secret.write_text("HEMMELIG-INNHOLD")
    for name, document in xml_attack(secret).items():
        start = time.perf_counter()
        with pytest.raises(PaymentFileError) as refused:
            parse_payment_file(document)
        assert time.perf_counter() - start < 2, name
        assert "HEMMELIG" not in str(refused.value), name


def test_an_xml_attack_uploaded_as_a_payment_file_is_refused_and_nothing_is_stored(
    app: Flask, worlds: Worlds, writes: WriteLog, tmp_path: Path
) -> None:
    secret = tmp_path / "hemmelig.txt"
    secret.write_text("HEMMELIG-INNHOLD")
    browser = log_in(app.test_client(), worlds.a.admin_id)
    for name, document in xml_attack(secret).items():
        page = upload(browser, "/payments/files", document, "camt.xml")
        assert page.status_code == 400, name
        assert "HEMMELIG" not in page.get_data(as_text=True)
        assert writes.take() == [], name


def upload(browser: Any, url: str, data: bytes, name: str) -> Any:
    return browser.post(url, data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def admin_browser(app: Flask, worlds: Worlds) -> Any:
    return log_in(app.test_client(), worlds.a.admin_id)


@THROUGH_THE_APP
@given(data=st.one_of(mutated(OCR), mutated(CAMT), st.binary(min_size=1, max_size=300)))
def test_a_payment_file_upload_never_fails_and_a_refused_file_writes_nothing(
    admin_browser: Any, writes: WriteLog, data: bytes
) -> None:
    imports, payments = count(PaymentImport), count(Payment)
    writes.take()
    page = upload(admin_browser, "/payments/files", data, "innbetalinger.txt")
    assert page.status_code in (302, 400), page.status_code
    if page.status_code == 400:
        assert writes.take() == []
        assert (count(PaymentImport), count(Payment)) == (imports, payments)
        return
    record = db.session.scalar(select(PaymentImport).order_by(PaymentImport.id.desc()).limit(1))
    assert record is not None and record.status in ("done", "failed")
    booked = db.session.scalar(select(func.count()).where(Payment.import_id == record.id))
    if record.status == "failed":
        assert booked == 0, "a failed import booked some of its payments"
    assert admin_browser.get(page.headers["Location"]).status_code == 200


@THROUGH_THE_APP
@given(data=st.one_of(mutated(CSV), csv_rows(), st.binary(min_size=1, max_size=300)))
def test_a_ledger_upload_never_fails_and_a_refused_file_imports_nothing(
    admin_browser: Any, writes: WriteLog, data: bytes
) -> None:
    customers, posts = count(Customer), count(CustomerPost)
    page = upload(admin_browser, "/ledger/import", data, "poster.csv")
    assert page.status_code in (302, 400), page.status_code
    if page.status_code == 302:
        assert admin_browser.get(page.headers["Location"]).status_code == 200
        batch = db.session.scalar(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(1))
        assert batch is not None
        writes.take()
        applied = admin_browser.post(f"/ledger/import/{batch.id}/apply")
        assert applied.status_code == 302
        db.session.refresh(batch)
        if batch.status != "done":
            assert (count(Customer), count(CustomerPost)) == (customers, posts)
            assert {table for table, _verb in writes.take()} <= {"import_batch"}
