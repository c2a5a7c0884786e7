"""Every way a Svea call can go wrong ends in one of the client's errors, never a crash or a silent None."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from svea_web.sandbox.testing import RunningSandbox
from svea_web.svea import (
    CloseReason,
    SveaAuthError,
    SveaClient,
    SveaConflict,
    SveaError,
    SveaMalformedResponse,
    SveaNotFound,
    SveaRejected,
    SveaUnavailable,
)

from .conftest import RequestLog, open_case, overdue_invoice, submission


def test_wrong_password_is_an_auth_error(make_client: Callable[..., SveaClient]) -> None:
    with pytest.raises(SveaAuthError) as error:
        make_client(password="feil-passord").ping()

    assert error.value.status == 401


@pytest.mark.parametrize("field", ["customer_no", "username"])
def test_wrong_customer_number_or_username_is_an_auth_error(make_client: Callable[..., SveaClient], field: str) -> None:
    with pytest.raises(SveaAuthError):
        make_client(**{field: "99999"}).ping()


def test_unknown_case_request_and_dispatch_are_not_found(client: SveaClient, sandbox: RunningSandbox) -> None:
    number = open_case(client, sandbox)

    for call in (
        lambda: client.get_case("00000000"),
        lambda: client.get_request("no-such-request"),
        lambda: client.get_dispatches("../cases"),
        lambda: client.get_dispatch_pdf(number, 999),
        lambda: client.get_messages("12 34"),
        lambda: client.send_message("00000000", "Hei", "m"),
        lambda: client.close_case("00000000", CloseReason.OTHER, "c"),
        lambda: client.report_direct_payment("00000000", Decimal("1.00"), date.today(), None, "p"),
    ):
        with pytest.raises(SveaNotFound):
            call()


def test_submission_svea_cannot_read_is_rejected_with_its_reason(client: SveaClient) -> None:
    case = submission()
    bad = type(case)(case.level, "x" * 101, case.debtor, case.invoices)

    with pytest.raises(SveaRejected) as error:
        client.submit_case(bad, "case-1")

    assert error.value.status == 400
    assert error.value.field == "creditorRef"
    assert "creditorRef" in error.value.reason


def test_direct_payment_above_the_remaining_principal_is_rejected(client: SveaClient, sandbox: RunningSandbox) -> None:
    number = open_case(client, sandbox)

    with pytest.raises(SveaRejected) as error:
        client.report_direct_payment(number, Decimal("1250.01"), date.today(), None, "pay-1")

    assert error.value.status == 422
    assert error.value.code == "amount_exceeds_principal"
    assert client.get_case(number).amounts.principal.paid == Decimal("0.00")


def test_direct_payment_on_a_closed_case_is_a_conflict(client: SveaClient, sandbox: RunningSandbox) -> None:
    number = open_case(client, sandbox)
    client.close_case(number, CloseReason.CREDITED, "close-1")

    with pytest.raises(SveaConflict):
        client.report_direct_payment(number, Decimal("10.00"), date.today(), None, "pay-1")


def test_idempotency_key_reused_for_another_action_is_rejected(client: SveaClient, sandbox: RunningSandbox) -> None:
    number = open_case(client, sandbox)
    client.send_message(number, "Hei", "key-1")

    with pytest.raises(SveaRejected) as error:
        client.close_case(number, CloseReason.OTHER, "key-1")

    assert error.value.code == "idempotency_key_reused"
    assert not client.get_case(number).is_closed


def test_every_write_demands_an_idempotency_key(client: SveaClient) -> None:
    with pytest.raises(ValueError, match="idempotency key"):
        client.submit_case(submission(), "")
    with pytest.raises(ValueError, match="idempotency key"):
        client.close_case("1", CloseReason.OTHER, "")


def test_money_with_fractions_of_an_ore_is_refused_before_anything_is_sent(client: SveaClient) -> None:
    with pytest.raises(ValueError):
        client.report_direct_payment("1", Decimal("10.005"), date.today(), None, "pay")


# --- faults on demand ----------------------------------------------------------------------------------


def test_read_is_retried_through_passing_5xx_answers(
    logged_client: tuple[SveaClient, RequestLog], sandbox: RunningSandbox
) -> None:
    client, log = logged_client
    sandbox.set_faults(once=["error", "error"])

    assert client.ping().customer_no == "10042"
    assert [response.status_code for response in log.responses] == [503, 503, 200]


def test_read_gives_up_after_its_attempts_when_svea_stays_down(
    logged_client: tuple[SveaClient, RequestLog], sandbox: RunningSandbox
) -> None:
    client, log = logged_client
    sandbox.set_faults(rates={"error": 1.0}, error_status=502)

    with pytest.raises(SveaUnavailable) as error:
        client.get_settlements(0)

    assert error.value.status == 502
    assert log.count("GET") == client.get_attempts


def test_write_is_never_retried_by_the_client(
    logged_client: tuple[SveaClient, RequestLog], sandbox: RunningSandbox
) -> None:
    client, log = logged_client
    sandbox.set_faults(once=["error"])

    with pytest.raises(SveaUnavailable):
        client.submit_case(submission(), "case-1")

    assert log.count("POST") == 1
    assert sandbox.requests() == []


def test_slow_answer_past_the_read_timeout_is_retried_for_a_read(
    make_client: Callable[..., SveaClient], sandbox: RunningSandbox
) -> None:
    client = make_client(read_timeout=0.3)
    sandbox.set_faults(once=["slow"], delay_seconds=1.0)

    started = time.monotonic()
    assert client.ping().customer_no == "10042"

    assert 0.3 <= time.monotonic() - started < 1.0
    assert sandbox.admin("GET", "/faults")["once"] == []


def test_slow_answer_within_the_read_timeout_is_just_slow(
    make_client: Callable[..., SveaClient], sandbox: RunningSandbox
) -> None:
    client = make_client(read_timeout=2.0)
    sandbox.set_faults(once=["slow"], delay_seconds=0.3)

    started = time.monotonic()
    client.ping()

    assert time.monotonic() - started >= 0.3


def test_submission_whose_answer_was_lost_is_retried_safely_with_the_same_key(
    make_client: Callable[..., SveaClient], sandbox: RunningSandbox
) -> None:
    client = make_client(read_timeout=0.3)
    sandbox.set_faults(once=["lost_response"], delay_seconds=1.0)

    with pytest.raises(SveaUnavailable):
        client.submit_case(submission(), "case-42")
    retried = client.submit_case(submission(), "case-42")

    assert retried.replayed is True
    [request] = sandbox.requests()
    assert request["requestId"] == retried.request_id
    sandbox.advance_clock(300)
    assert len(sandbox.cases()) == 1


@pytest.mark.parametrize("fault", ["malformed", "wrong_shape"])
def test_answer_that_is_not_the_protocol_is_a_malformed_response(
    client: SveaClient, sandbox: RunningSandbox, fault: str
) -> None:
    number = open_case(client, sandbox)
    request_id = client.submit_case(submission(overdue_invoice("2")), "case-2").request_id
    sandbox.advance_clock(3600)
    calls: list[Callable[[], object]] = [
        client.ping,
        lambda: client.get_case(number),
        lambda: client.get_request(request_id),
        lambda: list(client.iter_cases_updated_since(None)),
        lambda: client.get_dispatches(number),
        lambda: client.get_dispatch_pdf(number, 1),
        lambda: client.get_messages(number),
        lambda: client.get_settlements(0),
        lambda: client.submit_case(submission(overdue_invoice("3")), "case-3"),
        lambda: client.send_message(number, "Hei", "m-1"),
        lambda: client.report_direct_payment(number, Decimal("1.00"), date.today(), None, "p-1"),
        lambda: client.close_case(number, CloseReason.OTHER, "c-1"),
    ]
    for call in calls:
        sandbox.set_faults(once=[fault])
        with pytest.raises(SveaMalformedResponse):
            call()


def test_malformed_answer_to_a_write_leaves_the_effect_in_place_for_a_keyed_retry(
    client: SveaClient, sandbox: RunningSandbox
) -> None:
    number = open_case(client, sandbox)
    sandbox.set_faults(once=["malformed"])

    with pytest.raises(SveaMalformedResponse):
        client.close_case(number, CloseReason.WITHDRAWN, "close-1")

    assert client.close_case(number, CloseReason.WITHDRAWN, "close-1").is_closed


def test_sudden_401_is_an_auth_error_and_not_retried(
    logged_client: tuple[SveaClient, RequestLog], sandbox: RunningSandbox
) -> None:
    client, log = logged_client
    sandbox.set_faults(once=["unauthorized"])

    with pytest.raises(SveaAuthError):
        client.ping()

    assert log.count() == 1


def test_random_faults_at_a_rate_are_repeatable_for_a_seed(
    make_client: Callable[..., SveaClient], sandbox: RunningSandbox
) -> None:
    client = make_client(get_attempts=1)

    def outcomes() -> list[str]:
        sandbox.set_faults(rates={"error": 0.3, "malformed": 0.2}, seed=11)
        results = []
        for _ in range(30):
            try:
                client.ping()
                results.append("ok")
            except SveaError as error:
                results.append(type(error).__name__)
        return results

    first = outcomes()

    assert first == outcomes()
    assert {"ok", "SveaUnavailable", "SveaMalformedResponse"} == set(first)


def test_nobody_listening_is_svea_unavailable(make_client: Callable[..., SveaClient]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = make_client(base_url=f"http://127.0.0.1:{closed_port}", get_attempts=2)

    with pytest.raises(SveaUnavailable) as error:
        client.ping()

    assert error.value.status is None
    assert "no connection" in str(error.value)
