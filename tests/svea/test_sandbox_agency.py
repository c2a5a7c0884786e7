"""The sandbox behaves as a Norwegian collection agency would: verdicts, the letter rhythm, money, the clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from svea_web.sandbox import create_app
from svea_web.sandbox.testing import RunningSandbox, running_sandbox
from svea_web.svea import (
    Address,
    CaseLevel,
    CaseStatus,
    CaseSubmission,
    CloseReason,
    Debtor,
    DebtorType,
    DispatchKind,
    RequestState,
    SveaClient,
    SveaNotFound,
)

from .conftest import open_case, overdue_invoice, submission

DAY = 86400


def verdict(
    client: SveaClient, sandbox: RunningSandbox, case: CaseSubmission, key: str = "k"
) -> tuple[str | None, str]:
    request_id = client.submit_case(case, key).request_id
    sandbox.advance_clock(300)
    status = client.get_request(request_id)
    assert status.state in (RequestState.CONFIRMED, RequestState.REJECTED)
    return status.reason_code, status.reason or ""


@pytest.mark.parametrize(
    ("case", "code"),
    [
        (
            submission(
                debtor=Debtor(DebtorType.COMPANY, "Uten Orgnr AS", Address("Gata 1", "0150", "Oslo"), org_no=None)
            ),
            "MISSING_DEBTOR_ID",
        ),
        (
            submission(debtor=Debtor(DebtorType.PERSON, "Kari Nordmann", Address("Gata 1", "0150", "Oslo"))),
            "MISSING_DEBTOR_ID",
        ),
        (submission(overdue_invoice(amount="0.00")), "ZERO_AMOUNT"),
        (submission(overdue_invoice(days_overdue=-10)), "NOT_DUE"),
        (submission(overdue_invoice("7"), overdue_invoice("7")), "DUPLICATE_INVOICE"),
        (submission(overdue_invoice(remaining_amount=Decimal("2000.00"))), "INVALID_AMOUNT"),
    ],
)
def test_invalid_case_is_rejected_with_a_reason(
    client: SveaClient, sandbox: RunningSandbox, case: CaseSubmission, code: str
) -> None:
    reason_code, reason = verdict(client, sandbox, case)

    assert reason_code == code
    assert reason
    assert sandbox.cases() == []


def test_invoice_already_in_an_open_case_is_rejected_as_duplicate(client: SveaClient, sandbox: RunningSandbox) -> None:
    open_case(client, sandbox, submission(overdue_invoice("5005")), key="first")

    reason_code, reason = verdict(client, sandbox, submission(overdue_invoice("5005")), key="second")

    assert reason_code == "DUPLICATE_INVOICE"
    assert "5005" in reason


def test_invoice_of_a_closed_case_may_be_handed_over_again(client: SveaClient, sandbox: RunningSandbox) -> None:
    number = open_case(client, sandbox, submission(overdue_invoice("5005")), key="first")
    client.close_case(number, CloseReason.WITHDRAWN, "close")

    assert verdict(client, sandbox, submission(overdue_invoice("5005")), key="second")[0] is None


def test_purring_case_walks_reminder_notice_and_demand_fourteen_days_apart(
    client: SveaClient, sandbox: RunningSandbox
) -> None:
    number = open_case(client, sandbox, submission(level=CaseLevel.PURRING))
    statuses = []
    for seconds in (3600, 14 * DAY, 14 * DAY, 14 * DAY):
        sandbox.advance_clock(seconds)
        statuses.append(client.get_case(number).status)

    assert statuses == [
        CaseStatus.PURRING,
        CaseStatus.INKASSOVARSEL,
        CaseStatus.BETALINGSOPPFORDRING,
        CaseStatus.RETTSLIG,
    ]
    dispatches = client.get_dispatches(number)
    assert [d.kind for d in dispatches] == [
        DispatchKind.REMINDER,
        DispatchKind.COLLECTION_NOTICE,
        DispatchKind.PAYMENT_DEMAND,
    ]
    gaps = [(later.sent_at - earlier.sent_at).days for earlier, later in zip(dispatches, dispatches[1:], strict=False)]
    assert gaps == [14, 14]
    assert all(client.get_dispatch_pdf(number, d.id).startswith(b"%PDF-") for d in dispatches)


def test_inkasso_case_starts_at_the_collection_notice(client: SveaClient, sandbox: RunningSandbox) -> None:
    number = open_case(client, sandbox, submission(level=CaseLevel.INKASSO))

    sandbox.advance_clock(3600 + 28 * DAY)

    assert [d.kind for d in client.get_dispatches(number)] == [
        DispatchKind.COLLECTION_NOTICE,
        DispatchKind.PAYMENT_DEMAND,
    ]
    case = client.get_case(number)
    assert case.status is CaseStatus.RETTSLIG
    assert [e.kind for e in case.events] == [
        "REGISTERED",
        "COLLECTION_NOTICE_SENT",
        "PAYMENT_DEMAND_SENT",
        "LEGAL_PROCEEDINGS",
    ]


def test_letters_add_fees_and_late_interest_to_what_the_debtor_owes(
    client: SveaClient, sandbox: RunningSandbox
) -> None:
    number = open_case(client, sandbox, submission(overdue_invoice(days_overdue=60)))

    sandbox.advance_clock(3600 + 14 * DAY)

    case = client.get_case(number)
    notice, demand = client.get_dispatches(number)
    assert case.amounts.fees.original == notice.fee_charged + demand.fee_charged
    assert notice.fee_charged > 0 and demand.fee_charged > notice.fee_charged
    assert case.amounts.interest.original > 0
    assert demand.total_due == case.amounts.total_remaining


def test_no_reminder_fee_when_the_letter_goes_out_within_fourteen_days_of_the_due_date(
    client: SveaClient, sandbox: RunningSandbox
) -> None:
    number = open_case(client, sandbox, submission(overdue_invoice(days_overdue=3), level=CaseLevel.PURRING))

    sandbox.advance_clock(3600)

    [reminder] = client.get_dispatches(number)
    assert reminder.fee_charged == Decimal("0.00")


def test_debtor_payment_goes_to_principal_first_and_full_payment_closes_the_case(
    client: SveaClient, sandbox: RunningSandbox
) -> None:
    number = open_case(client, sandbox)
    sandbox.advance_clock(3600)

    sandbox.debtor_pays(number, "1260.00")
    case = client.get_case(number)
    assert case.amounts.principal.remaining == Decimal("0.00")
    assert case.amounts.fees.paid == Decimal("10.00")
    assert case.amounts.interest.paid == Decimal("0.00")
    assert not case.is_closed

    sandbox.debtor_pays(number, str(case.amounts.total_remaining))
    case = client.get_case(number)
    assert case.status is CaseStatus.CLOSED_PAID
    assert case.close_reason == "PAID_TO_SVEA"


def test_settlement_is_made_when_the_sandbox_clock_passes_midnight(client: SveaClient, sandbox: RunningSandbox) -> None:
    number = open_case(client, sandbox)
    sandbox.debtor_pays(number, "600.00")
    now = sandbox.now()

    sandbox.advance_clock(DAY)

    [settlement] = client.get_settlements(0)
    assert settlement.date == now.date() + timedelta(days=1)
    assert settlement.lines[0].payout_to_creditor == Decimal("600.00")
    sandbox.advance_clock(DAY)
    assert len(client.get_settlements(0)) == 1


def test_payment_across_two_invoices_settles_one_line_per_invoice_oldest_due_first(
    client: SveaClient, sandbox: RunningSandbox
) -> None:
    older = overdue_invoice("A-1", "300.00", days_overdue=40)
    newer = overdue_invoice("A-2", "500.00", days_overdue=20)
    number = open_case(client, sandbox, submission(newer, older))

    sandbox.debtor_pays(number, "450.00")
    sandbox.settle_now()

    [settlement] = client.get_settlements(0)
    assert [(line.invoice_no, line.principal) for line in settlement.lines] == [
        ("A-1", Decimal("300.00")),
        ("A-2", Decimal("150.00")),
    ]


def test_direct_payment_is_applied_to_the_invoice_its_reference_names(
    client: SveaClient, sandbox: RunningSandbox
) -> None:
    number = open_case(client, sandbox, submission(overdue_invoice("B-1", "300.00"), overdue_invoice("B-2", "500.00")))

    client.report_direct_payment(number, Decimal("500.00"), date.today(), "B-2", "pay")

    remaining = {invoice.invoice_no: invoice.remaining_amount for invoice in client.get_case(number).invoices}
    assert remaining == {"B-1": Decimal("300.00"), "B-2": Decimal("0.00")}


def test_random_payments_with_the_same_seed_tell_the_same_story() -> None:
    def story(seed: int) -> list[tuple[str, str, str]]:
        with running_sandbox(RANDOM_PAYMENTS_SEED=seed, RANDOM_PAYMENT_PROBABILITY=0.5) as sandbox:
            sandbox.bulk_seed("10042", 12, level="PURRING")
            sandbox.advance_clock(30 * DAY)
            return [
                (case["caseNumber"], case["status"], case["amounts"]["principal"]["paid"]) for case in sandbox.cases()
            ]

    first = story(7)

    assert first == story(7)
    assert first != story(8)
    paid = [status for _number, status, principal_paid in first if principal_paid != "0.00"]
    assert 0 < len(paid) < 12
    assert "CLOSED_PAID" in paid


def test_clock_and_other_admin_levers_exist_only_in_test_or_demo_mode() -> None:
    production = create_app({"SANDBOX_DB": ":memory:", "TEST_MODE": False, "SANDBOX_DEMO": False}).test_client()
    demo = create_app({"SANDBOX_DB": ":memory:", "SANDBOX_DEMO": True}).test_client()

    assert production.post("/sandbox/admin/clock/advance", json={"seconds": 60}).status_code == 404
    assert demo.post("/sandbox/admin/clock/advance", json={"seconds": 60}).status_code == 200


def test_demo_mode_seeds_the_creditor_the_app_demo_uses() -> None:
    demo = create_app({"SANDBOX_DB": ":memory:", "SANDBOX_DEMO": True}).test_client()

    ok = demo.get("/api/v1/ping", auth=("demo-regnskap", "sandbox-2026"), headers={"X-Svea-Customer-No": "10042"})
    wrong = demo.get("/api/v1/ping", auth=("demo-regnskap", "sandbox-2025"), headers={"X-Svea-Customer-No": "10042"})

    assert ok.status_code == 200
    assert ok.json["creditorName"] == "Demo Regnskap AS"
    assert wrong.status_code == 401


def test_creditors_see_only_their_own_cases(
    client: SveaClient, sandbox: RunningSandbox, make_client: Callable[..., SveaClient]
) -> None:
    number = open_case(client, sandbox)
    sandbox.add_creditor("20077", "annen", "passord-2", name="Annen Kreditor AS")
    other = make_client(customer_no="20077", username="annen", password="passord-2")

    assert list(other.iter_cases_updated_since(None)) == []
    with pytest.raises(SveaNotFound):
        other.get_case(number)


def test_state_survives_a_restart_when_the_sandbox_keeps_a_file(tmp_path: Path) -> None:
    database = str(tmp_path / "sandbox.sqlite")
    with running_sandbox(SANDBOX_DB=database) as sandbox, SveaClient(**sandbox.client_credentials()) as client:
        number = open_case(client, sandbox)
        clock = sandbox.now()

    with running_sandbox(SANDBOX_DB=database) as sandbox, SveaClient(**sandbox.client_credentials()) as client:
        assert client.get_case(number).case_number == number
        assert sandbox.now() >= clock
        assert requests.get(f"{sandbox.url}/api/v1/ping", timeout=5).status_code == 401
