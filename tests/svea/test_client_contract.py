"""The client against the sandbox over real HTTP: every endpoint of the protocol, as the app will use it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from svea_web.sandbox.testing import RunningSandbox, running_sandbox
from svea_web.svea import (
    Address,
    CaseLevel,
    CaseStatus,
    CloseReason,
    Debtor,
    DebtorType,
    DispatchKind,
    MessageDirection,
    RequestState,
    SveaClient,
    SveaConflict,
)

from .conftest import RequestLog, open_case, overdue_invoice, submission


def test_ping_names_the_creditor_the_credentials_belong_to(client: SveaClient) -> None:
    result = client.ping()

    assert result.customer_no == "10042"
    assert result.creditor_name == "Demo Regnskap AS"
    assert result.server_time.tzinfo is not None


def test_submitted_case_is_pending_until_svea_confirms_it_five_minutes_later(
    client: SveaClient, sandbox: RunningSandbox
) -> None:
    submitted = client.submit_case(submission(creditor_ref="post-17"), "case-17")

    pending = client.get_request(submitted.request_id)
    assert pending.state is RequestState.PENDING
    assert pending.case_number is None
    assert pending.creditor_ref == "post-17"

    sandbox.advance_clock(299)
    assert client.get_request(submitted.request_id).state is RequestState.PENDING

    sandbox.advance_clock(1)
    confirmed = client.get_request(submitted.request_id)
    assert confirmed.state is RequestState.CONFIRMED
    assert confirmed.case_number is not None
    assert confirmed.decided_at is not None and confirmed.decided_at > confirmed.received_at


def test_confirm_delay_is_configurable() -> None:
    with running_sandbox(CONFIRM_DELAY_SECONDS=0) as quick, SveaClient(**quick.client_credentials()) as client:
        submitted = client.submit_case(submission(), "case-1")
        assert client.get_request(submitted.request_id).state is RequestState.CONFIRMED


def test_same_idempotency_key_gives_the_same_request_and_no_second_case(
    client: SveaClient, sandbox: RunningSandbox
) -> None:
    first = client.submit_case(submission(), "case-5")
    again = client.submit_case(submission(), "case-5")

    assert again.request_id == first.request_id
    assert (first.replayed, again.replayed) == (False, True)
    sandbox.advance_clock(300)
    assert len(sandbox.requests()) == 1
    assert len(sandbox.cases()) == 1


def test_case_carries_amounts_as_decimals_and_its_invoices_with_kid_as_text(
    client: SveaClient, sandbox: RunningSandbox
) -> None:
    invoice = overdue_invoice("2002", "980.50", kid="0000020025")
    number = open_case(client, sandbox, submission(invoice, creditor_ref="post-2002"))

    case = client.get_case(number)

    assert case.case_number == number
    assert case.creditor_ref == "post-2002"
    assert case.level is CaseLevel.INKASSO
    assert case.status is CaseStatus.REGISTERED
    assert case.debtor_name == "Fjordkraft Bygg AS"
    assert case.amounts.principal.original == Decimal("980.50")
    assert case.amounts.principal.remaining == Decimal("980.50")
    assert case.amounts.fees.original == Decimal("0.00")
    assert [(i.invoice_no, i.kid, i.remaining_amount) for i in case.invoices] == [
        ("2002", "0000020025", Decimal("980.50"))
    ]
    assert [event.kind for event in case.events] == ["REGISTERED"]


def test_delta_poll_returns_only_cases_changed_since_the_last_server_time(
    client: SveaClient, sandbox: RunningSandbox
) -> None:
    first = open_case(client, sandbox, submission(overdue_invoice("1"), creditor_ref="a"), key="a")
    second = open_case(client, sandbox, submission(overdue_invoice("2"), creditor_ref="b"), key="b")
    pages = list(client.iter_case_pages(None))
    assert sorted(case.case_number for page in pages for case in page.cases) == sorted([first, second])
    watermark = pages[0].server_time

    assert list(client.iter_cases_updated_since(watermark)) == []
    sandbox.debtor_pays(second, "100.00")

    changed = list(client.iter_cases_updated_since(watermark))
    assert [case.case_number for case in changed] == [second]
    assert changed[0].amounts.principal.paid == Decimal("100.00")


def test_letters_are_listed_as_dispatches_with_a_pdf_each(client: SveaClient, sandbox: RunningSandbox) -> None:
    number = open_case(client, sandbox)
    sandbox.advance_clock(3600)

    dispatches = client.get_dispatches(number)

    assert [d.kind for d in dispatches] == [DispatchKind.COLLECTION_NOTICE]
    notice = dispatches[0]
    assert (notice.deadline - notice.sent_at.date()).days == 14
    assert notice.total_due >= Decimal("1250.00")
    pdf = client.get_dispatch_pdf(number, notice.id)
    assert pdf.startswith(b"%PDF-")
    assert len(pdf) > 1000


def test_message_to_the_case_handler_gets_a_reply_after_the_reply_delay(
    client: SveaClient, sandbox: RunningSandbox
) -> None:
    number = open_case(client, sandbox)

    sent = client.send_message(number, "Skyldner har bedt om betalingsutsettelse.\nHva gjør vi?", "msg-1")
    assert sent.direction is MessageDirection.TO_HANDLER
    assert sent.text.endswith("Hva gjør vi?")
    assert [m.id for m in client.get_messages(number)] == [sent.id]

    sandbox.advance_clock(120)
    messages = client.get_messages(number)
    assert [m.direction for m in messages] == [MessageDirection.TO_HANDLER, MessageDirection.FROM_HANDLER]
    assert number in messages[1].text
    assert client.get_case(number).events[-1].kind == "MESSAGE_FROM_HANDLER"


def test_message_sent_twice_with_one_key_is_stored_once(
    logged_client: tuple[SveaClient, RequestLog], sandbox: RunningSandbox
) -> None:
    client, _log = logged_client
    number = open_case(client, sandbox)

    first = client.send_message(number, "Hei", "msg-9")
    second = client.send_message(number, "Hei", "msg-9")

    assert second == first
    assert len(client.get_messages(number)) == 1


def test_partial_direct_payment_reduces_principal_and_keeps_the_case_open(
    client: SveaClient, sandbox: RunningSandbox
) -> None:
    number = open_case(client, sandbox)

    result = client.report_direct_payment(number, Decimal("250.00"), date.today(), "1001", "pay-1")

    assert result.case_number == number
    assert result.closed is False
    assert result.status is CaseStatus.REGISTERED
    assert result.amounts.principal.paid == Decimal("250.00")
    assert result.amounts.principal.remaining == Decimal("1000.00")


def test_direct_payment_of_the_whole_principal_closes_the_case_at_svea(
    client: SveaClient, sandbox: RunningSandbox
) -> None:
    number = open_case(client, sandbox)

    result = client.report_direct_payment(number, Decimal("1250.00"), date.today(), None, "pay-1")

    assert result.closed is True
    assert result.status is CaseStatus.CLOSED_PAID
    case = client.get_case(number)
    assert case.is_closed
    assert case.close_reason == "PAID_TO_CREDITOR"
    assert case.closed_at is not None


def test_direct_payment_reported_twice_with_one_key_counts_once(client: SveaClient, sandbox: RunningSandbox) -> None:
    number = open_case(client, sandbox)

    client.report_direct_payment(number, Decimal("100.00"), date.today(), None, "pay-7")
    client.report_direct_payment(number, Decimal("100.00"), date.today(), None, "pay-7")

    assert client.get_case(number).amounts.principal.paid == Decimal("100.00")


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        (CloseReason.WITHDRAWN, CaseStatus.CLOSED_WITHDRAWN),
        (CloseReason.CREDITED, CaseStatus.CLOSED_CREDITED),
        (CloseReason.PAID_TO_CREDITOR, CaseStatus.CLOSED_PAID),
        (CloseReason.OTHER, CaseStatus.CLOSED_WITHDRAWN),
    ],
)
def test_close_gives_the_status_for_the_reason(
    client: SveaClient, sandbox: RunningSandbox, reason: CloseReason, status: CaseStatus
) -> None:
    number = open_case(client, sandbox)

    closed = client.close_case(number, reason, "close-1")

    assert closed.status is status
    assert closed.close_reason == reason.value
    assert closed.events[-1].kind == "CLOSED"


def test_closing_a_closed_case_is_a_conflict_but_a_retried_close_is_not(
    client: SveaClient, sandbox: RunningSandbox
) -> None:
    number = open_case(client, sandbox)
    client.close_case(number, CloseReason.WITHDRAWN, "close-1")

    assert client.close_case(number, CloseReason.WITHDRAWN, "close-1").status is CaseStatus.CLOSED_WITHDRAWN
    with pytest.raises(SveaConflict):
        client.close_case(number, CloseReason.WITHDRAWN, "close-2")


def test_money_the_debtor_pays_svea_comes_back_in_a_settlement(client: SveaClient, sandbox: RunningSandbox) -> None:
    number = open_case(client, sandbox)
    sandbox.debtor_pays(number, "400.00")
    assert client.get_settlements(0) == []

    sandbox.settle_now()

    [settlement] = client.get_settlements(0)
    [line] = settlement.lines
    assert (line.case_number, line.creditor_ref, line.invoice_no, line.match_no) == (number, "post-1", "1001", "1001")
    assert line.principal == line.payout_to_creditor == Decimal("400.00")
    assert settlement.payout_to_creditor == Decimal("400.00")
    assert client.get_settlements(settlement.id) == []


def test_settlements_come_in_id_order_across_pages(
    make_client: Callable[..., SveaClient], sandbox: RunningSandbox
) -> None:
    client = make_client(page_size=2)
    numbers = [
        open_case(client, sandbox, submission(overdue_invoice(str(n)), creditor_ref=f"p{n}"), key=f"k{n}")
        for n in range(5)
    ]
    for number in numbers:
        sandbox.debtor_pays(number, "10.00")
        sandbox.settle_now()

    settlements = client.get_settlements(0)

    assert [s.lines[0].case_number for s in settlements] == numbers
    assert [s.id for s in settlements] == sorted(s.id for s in settlements)
    assert [s.id for s in client.get_settlements(settlements[2].id)] == [s.id for s in settlements[3:]]


def test_iterating_all_cases_with_small_pages_follows_the_cursor(
    make_client: Callable[..., SveaClient], sandbox: RunningSandbox
) -> None:
    client = make_client(page_size=2)
    sandbox.bulk_seed("10042", 5)

    pages = list(client.iter_case_pages(datetime(2000, 1, 1, tzinfo=UTC)))

    assert [len(page.cases) for page in pages] == [2, 2, 1]
    assert len({case.case_number for page in pages for case in page.cases}) == 5
    assert pages[-1].next_cursor is None
    assert len({page.server_time for page in pages}) == 1


def test_letter_to_a_debtor_with_letters_outside_latin_1_still_renders(
    client: SveaClient, sandbox: RunningSandbox
) -> None:
    debtor = Debtor(
        DebtorType.PERSON, "Øystein Åsen 李 ☃", Address("Ærøgata 1", "9008", "Tromsø"), national_id="01017012345"
    )
    number = open_case(client, sandbox, submission(debtor=debtor))
    sandbox.advance_clock(3600)

    [notice] = client.get_dispatches(number)

    assert client.get_dispatch_pdf(number, notice.id).startswith(b"%PDF-")
