from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from svea_web.extensions import db
from svea_web.ledger.models import Customer, CustomerPost, ImportBatch

GOOD_CSV = (
    "Kundenr;Navn;Type;Orgnr;Adresse;Postnr;Poststed;E-post;Fakturanr;Motpostnr;KID;Fakturadato;Forfallsdato;Beløp;Restbeløp\n"
    "1001;Kari Nordmann;person;;Storgata 1;0150;OSLO;kari@example.no;5001;5001;0000012344;01.10.2026;15.10.2026;1 234,50;1 234,50\n"
    "1002;Fjord Bygg AS;bedrift;923609016;Kaia 2;5003;BERGEN;;5002;;;2026-09-01;2026-09-15;-200,00;-200,00\n"
    "1001;Kari Nordmann;person;;Storgata 1;0150;OSLO;kari@example.no;5003;5003;;05.10.2026;19.10.2026;99,90;0\n"
)


def upload(client: Any, content: bytes, name: str = "poster.csv") -> Any:
    return client.post(
        "/ledger/import",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def latest_batch() -> ImportBatch:
    batch = db.session.scalar(select(ImportBatch).order_by(ImportBatch.id.desc()))
    assert batch is not None
    return batch


@pytest.mark.all_backends
def test_preview_then_import_creates_customers_and_posts(logged_in: Any, firm: Any) -> None:
    response = upload(logged_in, GOOD_CSV.encode("utf-8-sig"))
    assert response.status_code == 302
    preview = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Klar til import" in preview
    assert "0000012344" in preview
    assert "1\u00a0234,50 kr" in preview
    assert "15.10.2026" in preview
    assert "Bedrift" in preview
    batch = latest_batch()
    done = logged_in.post(f"/ledger/import/{batch.id}/apply", follow_redirects=True).get_data(as_text=True)
    assert "2 nye og 0 oppdaterte kunder, 3 nye og 0 oppdaterte poster" in done
    post = db.session.scalar(select(CustomerPost).where(CustomerPost.invoice_no == "5001"))
    assert post is not None
    assert post.kid == "0000012344"
    assert post.open_amount == Decimal("1234.50")
    assert post.match_no == "5001"
    credit = db.session.scalar(select(CustomerPost).where(CustomerPost.invoice_no == "5002"))
    assert credit is not None and credit.kind == "credit_note" and credit.match_no == "5002"
    paid = db.session.scalar(select(CustomerPost).where(CustomerPost.invoice_no == "5003"))
    assert paid is not None and paid.status == "paid"


@pytest.mark.all_backends
def test_importing_the_same_file_twice_creates_no_duplicates(logged_in: Any, firm: Any) -> None:
    for _ in range(2):
        upload(logged_in, GOOD_CSV.encode())
        logged_in.post(f"/ledger/import/{latest_batch().id}/apply")
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 2
    assert db.session.scalar(select(func.count()).select_from(CustomerPost)) == 3
    assert latest_batch().posts_updated == 3


def test_windows_1252_and_comma_separated_with_quoted_decimal_comma(logged_in: Any, firm: Any) -> None:
    content = ('kundenr,navn,fakturanr,forfallsdato,beløp\n1,"Øyvind Ås",10,31.12.2026,"1 000,00"\n').encode("cp1252")
    upload(logged_in, content)
    logged_in.post(f"/ledger/import/{latest_batch().id}/apply")
    customer = db.session.scalar(select(Customer))
    assert customer is not None and customer.name == "Øyvind Ås"
    post = db.session.scalar(select(CustomerPost))
    assert post is not None and post.amount == Decimal("1000.00")


def test_bad_rows_are_listed_with_line_and_reason_and_nothing_is_written(logged_in: Any, firm: Any) -> None:
    content = GOOD_CSV + (
        "1003;Ola;person;;;;;;5004;;12345;01.10.2026;15.10.2026;100,00;\n"  # bad KID check digit
        "1004;Per;person;;;;;;5005;;;01.10.2026;32.10.2026;100,00;\n"  # bad date
        "1005;;person;;;;;;5006;;;01.10.2026;15.10.2026;100,00;\n"  # missing name
        "1006;Liv;person;123456789;;;;;5007;;;01.10.2026;15.10.2026;abc;\n"  # bad org no
        "1007;Siv;person;;;;;;5001;;;01.10.2026;15.10.2026;10,00;\n"  # duplicate invoice no
    )
    response = upload(logged_in, content.encode())
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "5 rader har feil" in page
    assert "<td>5</td><td>KID 12345" in page
    assert "<td>6</td><td>forfallsdato" in page
    assert "<td>7</td><td>navn mangler</td>" in page
    assert "<td>8</td><td>ugyldig organisasjonsnummer 123456789</td>" in page
    assert "<td>9</td><td>fakturanr 5001 står også på linje 2</td>" in page
    batch = latest_batch()
    assert logged_in.post(f"/ledger/import/{batch.id}/apply", follow_redirects=True).status_code == 200
    assert db.session.scalar(select(func.count()).select_from(CustomerPost)) == 0
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 0


def test_a_user_reading_english_gets_the_bad_rows_reasons_in_english(logged_in: Any, firm: Any) -> None:
    logged_in.post("/language/en")
    content = GOOD_CSV + (
        "1003;Ola;person;;;;;;5004;;12345;01.10.2026;15.10.2026;100,00;\n"  # bad KID check digit
        "1004;Per;person;;;;;;5005;;;01.10.2026;32.10.2026;100,00;\n"  # bad date
        "1005;;person;;;;;;5006;;;01.10.2026;15.10.2026;1.234;\n"  # missing name (then an ambiguous amount)
        "1007;Siv;person;;;;;;5001;;;01.10.2026;15.10.2026;10,00;\n"  # duplicate invoice no
    )
    response = upload(logged_in, content.encode())
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "<td>5</td><td>KID 12345: The KID has a wrong check digit (MOD10/MOD11)</td>" in page
    assert "<td>6</td><td>due date: Invalid date “32.10.2026”: the date does not exist</td>" in page
    assert "<td>7</td><td>the name is missing</td>" in page
    assert "<td>8</td><td>invoice no. 5001 is also on line 2</td>" in page
    missing = upload(logged_in, b"foo;bar\n1;2\n")
    assert "The file lacks the columns: kundenr, navn." in logged_in.get(missing.headers["Location"]).get_data(
        as_text=True
    )


def test_file_without_required_columns_is_refused_whole(logged_in: Any, firm: Any) -> None:
    response = upload(logged_in, b"foo;bar\n1;2\n")
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Filen mangler kolonnene: kundenr, navn." in page
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 0


def test_empty_upload_is_a_form_error(logged_in: Any, firm: Any) -> None:
    response = upload(logged_in, b"   \n")
    assert response.status_code == 400
    assert "Filen er tom." in response.get_data(as_text=True)


def test_a_normal_user_may_not_import(client: Any, auth: Any, firm: Any) -> None:
    auth.login(firm.user)
    assert upload(client, GOOD_CSV.encode()).status_code == 403


def test_confirming_twice_imports_once(logged_in: Any, firm: Any) -> None:
    upload(logged_in, GOOD_CSV.encode())
    batch = latest_batch()
    logged_in.post(f"/ledger/import/{batch.id}/apply")
    again = logged_in.post(f"/ledger/import/{batch.id}/apply", follow_redirects=True).get_data(as_text=True)
    assert "allerede importert" in again
    assert db.session.scalar(select(func.count()).select_from(CustomerPost)) == 3


def test_import_writes_the_analysed_rows_and_parses_again_if_they_are_unreadable(
    logged_in: Any, firm: Any, app: Any
) -> None:
    from svea_web.ledger.services import parsed_path

    for damage in (None, b"{not json", b'{"sha256": "another file"}'):
        upload(logged_in, GOOD_CSV.encode())
        batch = latest_batch()
        analysed = parsed_path(batch)
        assert analysed.exists()
        if damage is not None:
            analysed.write_bytes(damage)
        done = logged_in.post(f"/ledger/import/{batch.id}/apply", follow_redirects=True).get_data(as_text=True)
        assert "3 nye og 0 oppdaterte poster" in done or "0 nye og 3 oppdaterte poster" in done
        assert not analysed.exists()
    assert db.session.scalar(select(func.count()).select_from(CustomerPost)) == 3
    post = db.session.scalar(select(CustomerPost).where(CustomerPost.invoice_no == "5001"))
    assert post is not None and post.kid == "0000012344" and post.open_amount == Decimal("1234.50")


def test_a_worker_keeps_the_reasons_in_the_uploaders_language(app: Any, firm: Any) -> None:
    from svea_web import jobs
    from svea_web.ledger import services

    bad = (GOOD_CSV + "1005;;person;;;;;;5006;;;01.10.2026;15.10.2026;100,00;\n").encode()
    reasons = {}
    for language in ("en", "nb", None):
        # As in worker.py: an app context, no request.
        batch = services.create_batch(firm.client.id, None, "poster.csv", bad)
        jobs.analyze_import(batch.id, language)
        reasons[language] = db.session.get_one(ImportBatch, batch.id).row_errors
    assert reasons["en"] == [{"line": 5, "reason": "the name is missing"}]
    assert reasons["nb"] == reasons[None] == [{"line": 5, "reason": "navn mangler"}]
