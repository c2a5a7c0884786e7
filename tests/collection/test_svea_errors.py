"""Each way Svea can fail us leaves a visible state that says what to do, and nothing is sent twice."""

from __future__ import annotations

import json
from typing import Any

from svea_web.collection import services
from svea_web.collection.models import (
    CASE_FAILED,
    CASE_OPEN,
    CASE_REJECTED,
    CASE_SUBMITTED,
    CLOSE_FAILED,
    MESSAGE_FAILED,
    CaseMessage,
    SveaCase,
    SyncState,
)
from svea_web.extensions import db
from svea_web.ledger.models import CustomerPost
from tests.collection.conftest import configure_svea, create_cases, debtor, fresh, overdue_post, page_text, sync


def only_case() -> SveaCase:
    (case,) = fresh(SveaCase)
    return case


def test_wrong_credentials_fail_the_case_with_a_retry_that_works_once_fixed(
    logged_in: Any, svea_firm: Any, sandbox: Any
) -> None:
    configure_svea(svea_firm.client.id, sandbox.url, password="feil-passord")
    post = overdue_post(debtor(svea_firm.client.id))
    create_cases(logged_in, f"p{post.id}")

    case = only_case()
    assert case.state == CASE_FAILED
    detail = page_text(logged_in, f"/collection/cases/{case.id}", htmx=True)
    assert "Svea godtok ikke innloggingen. Kontroller kundenummer, brukernavn og passord" in detail
    assert "Prøv igjen" in detail
    assert "Kunne ikke hente status fra Svea" in sync(logged_in).get_data(as_text=True)
    assert sandbox.requests() == []

    configure_svea(svea_firm.client.id, sandbox.url)
    response = logged_in.post(f"/collection/cases/{case.id}/retry", headers={"HX-Request": "true"})

    detail = page_text(logged_in, json.loads(response.headers["HX-Location"])["path"], htmx=True)
    assert "Saken sendes til Svea på nytt." in detail
    assert only_case().state == CASE_SUBMITTED
    assert len(sandbox.requests()) == 1


def test_svea_unavailable_ends_in_a_visible_failure_and_the_retry_sends_it_once(
    logged_in: Any, svea_firm: Any, sandbox: Any
) -> None:
    sandbox.set_faults(rates={"error": 1.0})
    post = overdue_post(debtor(svea_firm.client.id))
    create_cases(logged_in, f"p{post.id}")  # inline, the job gives up after its first attempt

    case = only_case()
    assert case.state == CASE_FAILED and "Svea svarte ikke" in (case.last_error or "")
    assert "Feilet" in page_text(logged_in, "/collection/open", htmx=True)
    held = services.case_for_post(post.id)  # nothing vanished: the post stays in the failed case
    assert held is not None and held.id == case.id

    sandbox.clear_faults()
    logged_in.post(f"/collection/cases/{case.id}/retry")

    assert only_case().state == CASE_SUBMITTED
    assert len(sandbox.requests()) == 1


def test_an_answer_svea_garbled_is_sent_again_with_the_same_key(logged_in: Any, svea_firm: Any, sandbox: Any) -> None:
    sandbox.set_faults(once=["malformed"])  # Svea took the case; its answer was cut short
    post = overdue_post(debtor(svea_firm.client.id))
    create_cases(logged_in, f"p{post.id}")
    case = only_case()
    assert case.state == CASE_FAILED and "Svea svarte med noe appen ikke forstod" in (case.last_error or "")

    logged_in.post(f"/collection/cases/{case.id}/retry")

    (request,) = sandbox.requests()
    assert only_case().request_id == request["requestId"]


def test_a_case_svea_refuses_at_once_returns_its_posts_to_nye_saker(
    logged_in: Any, svea_firm: Any, sandbox: Any
) -> None:
    no_address = debtor(svea_firm.client.id, "Uten Adresse", address=None)
    post = overdue_post(no_address, match_no="NOADDR")
    assert "Mangler adresse" in page_text(logged_in, "/collection/new", htmx=True)

    create_cases(logged_in, f"p{post.id}")

    case = only_case()
    assert case.state == CASE_REJECTED and "street" in (case.last_error or "")
    new_tab = page_text(logged_in, "/collection/new", htmx=True)
    assert "NOADDR" in new_tab and "Avvist av Svea" in new_tab
    assert "Avvist" in page_text(logged_in, "/collection/archived", htmx=True)
    assert services.case_for_post(post.id) is None


def test_a_case_the_agency_rejects_after_review_shows_the_reason_and_frees_the_posts(
    logged_in: Any, svea_firm: Any, sandbox: Any
) -> None:
    no_id = debtor(svea_firm.client.id, "Ola Uten Nummer", national_id=None)
    post = overdue_post(no_id, match_no="NOID")
    assert "Mangler fødselsnummer" in page_text(logged_in, "/collection/new", htmx=True)
    create_cases(logged_in, f"p{post.id}")
    assert only_case().state == CASE_SUBMITTED

    sandbox.advance_clock(301)
    sync(logged_in)

    case = only_case()
    assert case.state == CASE_REJECTED
    detail = page_text(logged_in, f"/collection/cases/{case.id}", htmx=True)
    assert "Svea avviste saken: Skyldner er en person uten fødselsnummer." in detail
    assert "Postene er tilbake i Nye saker" in detail
    assert "NOID" in page_text(logged_in, "/collection/new", htmx=True)
    assert fresh(CustomerPost, id=post.id)[0].svea_case_id is None


def test_a_message_svea_cannot_place_fails_visibly_with_a_resend_button(
    logged_in: Any, svea_firm: Any, sandbox: Any
) -> None:
    post = overdue_post(debtor(svea_firm.client.id))
    create_cases(logged_in, f"p{post.id}")
    sandbox.advance_clock(301)
    sync(logged_in)
    case = only_case()
    assert case.state == CASE_OPEN
    case.case_number = "99999999"  # a number Svea does not know
    db.session.commit()

    logged_in.post(f"/collection/cases/{case.id}/messages", data={"text": "Hei"})

    (message,) = fresh(CaseMessage)
    assert message.state == MESSAGE_FAILED and "not found" in (message.last_error or "")
    detail = page_text(logged_in, f"/collection/cases/{case.id}", htmx=True)
    assert "Ikke sendt" in detail and "Send på nytt" in detail


def test_a_close_svea_never_answers_fails_visibly_and_can_be_retried(
    logged_in: Any, svea_firm: Any, sandbox: Any
) -> None:
    post = overdue_post(debtor(svea_firm.client.id))
    create_cases(logged_in, f"p{post.id}")
    sandbox.advance_clock(301)
    sync(logged_in)
    case = only_case()
    sandbox.set_faults(rates={"error": 1.0})

    logged_in.post(f"/collection/cases/{case.id}/close", data={"reason": "WITHDRAWN"})  # gives up inline

    case = only_case()
    assert case.state == CASE_OPEN and case.close_status == CLOSE_FAILED
    assert "Prøv å avslutte igjen" in page_text(logged_in, f"/collection/cases/{case.id}", htmx=True)

    sandbox.clear_faults()
    logged_in.post(f"/collection/cases/{case.id}/close/retry")

    assert only_case().state == "closed"
    assert sandbox.cases()[0]["status"] == "CLOSED_WITHDRAWN"


def test_a_failed_sync_says_so_and_the_next_one_catches_up(logged_in: Any, svea_firm: Any, sandbox: Any) -> None:
    post = overdue_post(debtor(svea_firm.client.id))
    create_cases(logged_in, f"p{post.id}")
    sandbox.advance_clock(301)
    sandbox.set_faults(rates={"error": 1.0})

    status = sync(logged_in).get_data(as_text=True)

    assert "Kunne ikke hente status fra Svea" in status and "Svea svarte ikke" in status
    db.session.expire_all()
    assert db.session.get(SyncState, svea_firm.client.id).status == "failed"
    sandbox.clear_faults()
    sync(logged_in)
    assert only_case().state == CASE_OPEN
