"""Opprett Svea purring → Svea confirms with a case number → messages, letters, closing, the archive.

The Svea sandbox runs over real HTTP; jobs run inline, as soon as they are enqueued.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from werkzeug.http import parse_options_header

from svea_web.collection import services
from svea_web.collection.models import CASE_CLOSED, CASE_OPEN, CASE_SUBMITTED, CaseMessage, SveaCase
from svea_web.extensions import db
from svea_web.ledger.models import CustomerPost
from svea_web.models_base import utcnow
from svea_web.sandbox.testing import running_sandbox
from tests.collection.conftest import (
    company,
    configure_svea,
    create_cases,
    debtor,
    fresh,
    overdue_post,
    page_text,
    sync,
)


def submit_one(client: Any, firm: Any, **post_fields: Any) -> tuple[SveaCase, CustomerPost]:
    post = overdue_post(debtor(firm.client.id), **post_fields)
    create_cases(client, f"p{post.id}")
    (case,) = fresh(SveaCase)
    return case, post


def debtor_pays_everything(sandbox: Any) -> None:
    """The debtor pays the agency all it owes on the (only) case: principal, fees and interest to date."""
    for _ in range(3):  # a payment first adds the interest accrued since the last one
        (case,) = sandbox.cases()
        if case["status"].startswith("CLOSED"):
            return
        amounts = case["amounts"]
        owed = sum(Decimal(amounts[part]["remaining"]) for part in ("principal", "fees", "interest"))
        sandbox.debtor_pays(case["caseNumber"], str(owed))
    raise AssertionError("the case did not close")


def confirm(client: Any, sandbox: Any) -> None:
    sandbox.advance_clock(301)
    sync(client)


def test_marked_post_becomes_a_case_with_a_number_and_the_post_gets_the_svea_reference(
    logged_in: Any, svea_firm: Any, sandbox: Any
) -> None:
    post = overdue_post(debtor(svea_firm.client.id, "Åse Berg"), match_no="7001", kid="0000012344")

    response = create_cases(logged_in, f"p{post.id}", htmx=True)

    location = json.loads(response.headers["HX-Location"])
    assert location["target"] == "#collection-panel"
    progress = page_text(logged_in, location["path"], htmx=True)
    assert "1 sak er opprettet og sendes til Svea." in progress
    assert "Sendt til Svea: 1 av 1 sak</label>" in progress
    assert "1 venter på saksnummer" in progress
    (request,) = sandbox.requests()
    assert request["status"] == "PENDING"

    confirm(logged_in, sandbox)

    (case,) = fresh(SveaCase)
    assert case.state == CASE_OPEN and case.case_number
    assert fresh(CustomerPost, id=post.id)[0].svea_reference == case.case_number
    open_tab = page_text(logged_in, "/collection/open", htmx=True)
    assert case.case_number in open_tab and "Åse Berg" in open_tab and "Registrert" in open_tab
    assert (case.acknowledged_at + timedelta(days=40)).strftime("%d.%m.%Y") in open_tab
    (svea_case,) = sandbox.cases()
    assert svea_case["invoices"][0]["kid"] == "0000000000000000000012344"  # padded to the KID length, zeros kept
    assert "7001" not in page_text(logged_in, "/collection/new", htmx=True)


def test_a_double_click_sends_the_post_once(logged_in: Any, svea_firm: Any, sandbox: Any) -> None:
    post = overdue_post(debtor(svea_firm.client.id))

    create_cases(logged_in, f"p{post.id}")
    second = create_cases(logged_in, f"p{post.id}", htmx=True)

    flashes = page_text(logged_in, json.loads(second.headers["HX-Location"])["path"], htmx=True)
    assert "1 markerte rader er ikke lenger aktuelle" in flashes
    assert len(fresh(SveaCase)) == 1
    assert len(sandbox.requests()) == 1


@pytest.mark.all_backends
def test_two_users_marking_the_same_post_at_once_make_one_case(
    logged_in: Any, svea_firm: Any, sandbox: Any, monkeypatch: Any
) -> None:
    post = overdue_post(debtor(svea_firm.client.id))
    from svea_web.collection import eligibility

    # Both users read Nye saker before either has written: the second write meets the first one's case.
    real = eligibility.posts_for_rows
    seen_by_both = real(
        svea_firm.client.id, eligibility.policy_for(svea_firm.client.id), utcnow().date(), [f"p{post.id}"]
    )
    monkeypatch.setattr(eligibility, "posts_for_rows", lambda *args: [[p] for group in seen_by_both for p in group])
    first = services.create_cases(svea_firm.client.id, [f"p{post.id}"], svea_firm.admin.id)
    second = services.create_cases(svea_firm.client.id, [f"p{post.id}"], svea_firm.user.id)

    assert len(first.case_ids) == 1
    assert second.case_ids == [] and second.already_in_case == 1
    assert len(fresh(SveaCase)) == 1


@pytest.mark.all_backends
def test_the_submit_job_run_twice_posts_once_and_then_only_asks(logged_in: Any, svea_firm: Any, sandbox: Any) -> None:
    case, _post = submit_one(logged_in, svea_firm)
    request_id = case.request_id

    services.submit_case(case.id)  # an RQ retry of a job that had in fact finished
    case.state = "pending"  # as if the worker died after storing the request id
    db.session.commit()
    services.submit_case(case.id)

    assert len(sandbox.requests()) == 1
    (case,) = fresh(SveaCase)
    assert case.request_id == request_id and case.state == CASE_SUBMITTED


def test_a_retry_after_a_timeout_gets_the_first_answer_not_a_second_case(
    app: Any, logged_in: Any, svea_firm: Any, sandbox: Any
) -> None:
    app.config["SVEA_READ_TIMEOUT"] = 0.5
    post = overdue_post(debtor(svea_firm.client.id))
    (case_id,) = services.create_cases(svea_firm.client.id, [f"p{post.id}"], svea_firm.admin.id).case_ids
    sandbox.set_faults(once=["lost_response"], delay_seconds=1.5)

    with pytest.raises(services.RetryLater):
        services.submit_case(case_id)  # Svea took the case, but the answer never came

    (case,) = fresh(SveaCase)
    assert case.state == "pending" and case.request_id is None
    assert "Svea svarte ikke" in (case.last_error or "")
    assert "Prøver igjen" in page_text(logged_in, "/collection/open", htmx=True)

    services.submit_case(case_id)  # RQ's retry, with the same idempotency key

    (request,) = sandbox.requests()
    (case,) = fresh(SveaCase)
    assert case.state == CASE_SUBMITTED and case.request_id == request["requestId"]


def test_a_case_whose_answer_was_lost_is_recognised_by_the_sync(logged_in: Any, svea_firm: Any, sandbox: Any) -> None:
    post = overdue_post(debtor(svea_firm.client.id))
    result = services.create_cases(svea_firm.client.id, [f"p{post.id}"], svea_firm.admin.id)
    case = db.session.get(SveaCase, result.case_ids[0])
    # The worker sent the case and died before it could store Svea's answer.
    from svea_web.setup.services import svea_client_for

    with svea_client_for(svea_firm.client.id) as svea:
        svea.submit_case(services.build_submission(case, None), case.idempotency_key)

    confirm(logged_in, sandbox)

    (case,) = fresh(SveaCase)
    assert case.state == CASE_OPEN and case.case_number == sandbox.cases()[0]["caseNumber"]
    services.submit_case(case.id)
    assert len(sandbox.requests()) == 1


def test_stalled_pending_cases_are_sent_again_by_the_periodic_job(logged_in: Any, svea_firm: Any, sandbox: Any) -> None:
    post = overdue_post(debtor(svea_firm.client.id))
    result = services.create_cases(svea_firm.client.id, [f"p{post.id}"], svea_firm.admin.id)
    # No job ran (a lost enqueue); eleven minutes later the periodic job finds the case still pending.
    case = db.session.get(SveaCase, result.case_ids[0])
    case.updated_at = utcnow() - timedelta(minutes=11)
    db.session.commit()

    services.sync_all_clients()

    (case,) = fresh(SveaCase)
    assert case.state == CASE_SUBMITTED
    assert len(sandbox.requests()) == 1


def test_message_to_the_case_handler_and_the_reply_appear_in_the_case(
    logged_in: Any, svea_firm: Any, sandbox: Any
) -> None:
    case, _post = submit_one(logged_in, svea_firm)
    confirm(logged_in, sandbox)

    response = logged_in.post(
        f"/collection/cases/{case.id}/messages",
        data={"text": "Kunden lover å betale fredag."},
        headers={"HX-Request": "true"},
    )
    detail = page_text(logged_in, json.loads(response.headers["HX-Location"])["path"], htmx=True)
    assert "Meldingen sendes til saksbehandler hos Svea." in detail
    assert "Kunden lover å betale fredag." in detail and "Sendt" in detail
    (message,) = fresh(CaseMessage)
    assert message.external_id is not None

    sandbox.advance_clock(121)
    sync(logged_in)

    detail = page_text(logged_in, f"/collection/cases/{case.id}", htmx=True)
    assert "Takk for meldingen." in detail
    assert "Svar fra saksbehandler." in detail  # Svea's event in the history
    assert "Melding sendt til saksbehandler: «Kunden lover å betale fredag.»" in detail


def test_letters_svea_sent_are_listed_and_open_as_pdf_through_the_app(
    logged_in: Any, svea_firm: Any, sandbox: Any
) -> None:
    case, _post = submit_one(logged_in, svea_firm)
    confirm(logged_in, sandbox)
    sandbox.advance_clock(3601)
    sync(logged_in)

    detail = page_text(logged_in, f"/collection/cases/{case.id}", htmx=True)
    assert "Betalingspåminnelse" in detail
    pdf_link = re.search(r'href="(/collection/cases/\d+/dispatches/\d+\.pdf)"', detail)
    assert pdf_link is not None
    pdf = logged_in.get(pdf_link.group(1))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF-")
    assert "<td>\n        Purring" in page_text(
        logged_in, "/collection/open", htmx=True
    )  # Svea status after the letter


def test_a_letter_pdf_gets_a_plain_file_name_whatever_case_number_svea_sends(
    logged_in: Any, firm: Any, tmp_path: Path
) -> None:
    # A sandbox on a file, so that the case number Svea hands out can be made hostile on both sides.
    agency_db = tmp_path / "agency.sqlite3"
    with running_sandbox(SANDBOX_DB=str(agency_db)) as agency:
        configure_svea(firm.client.id, agency.url)
        case, _post = submit_one(logged_in, firm)
        confirm(logged_in, agency)
        agency.advance_clock(3601)
        sync(logged_in)
        (case,) = fresh(SveaCase)
        hostile = "..\\..\\evil\"; filename*=UTF-8''evil.bat; x=\""
        with sqlite3.connect(agency_db) as agency_tables:
            agency_tables.execute(
                "UPDATE svea_case SET case_number = ? WHERE case_number = ?", (hostile, case.case_number)
            )
        case.case_number = hostile
        db.session.commit()

        detail = page_text(logged_in, f"/collection/cases/{case.id}", htmx=True)
        pdf_link = re.search(r'href="(/collection/cases/\d+/dispatches/\d+\.pdf)"', detail)
        assert pdf_link is not None
        pdf = logged_in.get(pdf_link.group(1))

    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    disposition, params = parse_options_header(pdf.headers["Content-Disposition"])
    assert disposition == "inline"
    assert list(params) == ["filename"]
    assert re.fullmatch(r"[A-Za-z0-9_.-]+\.pdf", params["filename"]), params["filename"]
    assert ".." not in params["filename"] and not params["filename"].startswith(".")


def test_closing_a_case_moves_it_to_arkiverte_saker_with_its_history(
    logged_in: Any, svea_firm: Any, sandbox: Any
) -> None:
    case, post = submit_one(logged_in, svea_firm, invoice_no="INV-9001")
    confirm(logged_in, sandbox)

    response = logged_in.post(
        f"/collection/cases/{case.id}/close", data={"reason": "WITHDRAWN"}, headers={"HX-Request": "true"}
    )

    detail = page_text(logged_in, json.loads(response.headers["HX-Location"])["path"], htmx=True)
    assert "Avslutningen sendes til Svea." in detail
    assert "Saken er avsluttet: trukket tilbake av kreditor." in detail  # Svea's answer in the history
    (case,) = fresh(SveaCase)
    assert case.state == CASE_CLOSED and sandbox.cases()[0]["status"] == "CLOSED_WITHDRAWN"
    assert services.case_for_post(post.id) is None
    for query in ("Kari", case.case_number, "INV-9001"):
        archived = page_text(logged_in, f"/collection/archived?q={query}", htmx=True)
        assert case.case_number in archived, query
    assert case.case_number not in page_text(logged_in, "/collection/archived?q=Nobody", htmx=True)
    assert case.case_number not in page_text(logged_in, "/collection/open", htmx=True)
    full = page_text(logged_in, f"/collection/cases/{case.id}")
    assert "Saken er registrert med saksnummer" in full and "Sendt til Svea." in full


def test_closing_a_case_svea_closed_already_marks_it_closed(logged_in: Any, svea_firm: Any, sandbox: Any) -> None:
    case, _post = submit_one(logged_in, svea_firm)
    confirm(logged_in, sandbox)
    debtor_pays_everything(sandbox)  # unknown to the app until the next sync

    logged_in.post(f"/collection/cases/{case.id}/close", data={"reason": "WITHDRAWN"})

    (case,) = fresh(SveaCase)
    assert case.state == CASE_CLOSED and case.svea_status == "CLOSED_PAID"
    assert case.close_status is None


def test_closing_after_the_free_withdrawal_date_warns(logged_in: Any, svea_firm: Any, sandbox: Any) -> None:
    case, _post = submit_one(logged_in, svea_firm)
    confirm(logged_in, sandbox)
    case = db.session.get(SveaCase, case.id)
    case.acknowledged_at = utcnow() - timedelta(days=60)
    db.session.commit()

    detail = page_text(logged_in, f"/collection/cases/{case.id}", htmx=True)
    assert "Fristen for gratis tilbaketrekking gikk ut" in detail

    logged_in.post(f"/collection/cases/{case.id}/close", data={"reason": "WITHDRAWN"})
    history = page_text(logged_in, f"/collection/cases/{case.id}", htmx=True)
    assert "Svea kan kreve gebyrer" in history


def test_debtor_payments_at_svea_update_the_amounts_and_a_paid_case_is_archived(
    logged_in: Any, svea_firm: Any, sandbox: Any
) -> None:
    case, _post = submit_one(logged_in, svea_firm, amount="2000.00")
    confirm(logged_in, sandbox)

    sandbox.debtor_pays(case.case_number, "500.00")
    sync(logged_in)
    (case,) = fresh(SveaCase)
    assert str(case.principal_paid) == "500.00" and str(case.principal_remaining) == "1500.00"
    assert "500,00 kr til Svea" in page_text(logged_in, f"/collection/cases/{case.id}", htmx=True)

    debtor_pays_everything(sandbox)
    sync(logged_in)
    (case,) = fresh(SveaCase)
    assert case.state == CASE_CLOSED
    assert case.case_number in page_text(logged_in, "/collection/archived", htmx=True)


def test_another_firms_case_is_not_found(logged_in: Any, svea_firm: Any, sandbox: Any, make_firm: Any) -> None:
    other = make_firm("Annen Firma AS")
    post = overdue_post(company(other.client.id))
    foreign = SveaCase(
        client_id=other.client.id,
        customer_id=post.customer_id,
        level="purring",
        state=CASE_OPEN,
        idempotency_key="foreign",
        case_number="1",
    )
    db.session.add(foreign)
    db.session.commit()

    assert logged_in.get(f"/collection/cases/{foreign.id}").status_code == 404
    assert logged_in.post(f"/collection/cases/{foreign.id}/close", data={"reason": "WITHDRAWN"}).status_code == 404
    create_cases(logged_in, f"p{post.id}")
    assert len(fresh(SveaCase)) == 1


def test_opening_inkassosaker_asks_for_one_sync_and_shows_it_running(logged_in: Any, svea_firm: Any) -> None:
    page = page_text(logged_in, "/collection/")
    assert 'hx-post="/collection/sync" hx-trigger="load"' in page  # asked for as soon as the page has loaded

    assert services.claim_sync(svea_firm.client.id) is True
    assert services.claim_sync(svea_firm.client.id) is False  # one is queued already

    page = page_text(logged_in, "/collection/")
    assert "Henter status fra Svea" in page and 'hx-trigger="every 1s"' in page
    assert 'hx-post="/collection/sync" hx-trigger="load"' not in page  # the queued sync is watched, not asked again


def test_many_marked_posts_become_cases_confirmed_by_one_sync(logged_in: Any, svea_firm: Any, sandbox: Any) -> None:
    posts = [overdue_post(debtor(svea_firm.client.id, f"Kunde {n}")) for n in range(3)]

    create_cases(logged_in, *(f"p{post.id}" for post in posts))
    confirm(logged_in, sandbox)

    cases = fresh(SveaCase)
    assert [case.state for case in cases] == [CASE_OPEN] * 3
    numbers = {case["caseNumber"] for case in sandbox.cases()}
    assert {case.case_number for case in cases} == numbers
    references = {post.svea_reference for post in fresh(CustomerPost)}
    assert references == numbers
    history = page_text(logged_in, f"/collection/cases/{cases[1].id}", htmx=True)
    assert f"Svea bekreftet saken med saksnummer {cases[1].case_number}." in history
