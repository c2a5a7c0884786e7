"""Delta polling scales: one request per 500 changed cases, never one per case, and nothing is missed."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

from svea_web.sandbox.testing import RunningSandbox
from svea_web.svea import SveaClient

from .conftest import RequestLog, submission


def test_full_sync_takes_one_request_per_500_cases(
    logged_client: tuple[SveaClient, RequestLog], sandbox: RunningSandbox
) -> None:
    client, log = logged_client
    sandbox.bulk_seed("10042", 1201)

    cases = list(client.iter_cases_updated_since(None))

    assert len(cases) == 1201
    assert len({case.case_number for case in cases}) == 1201
    assert log.count("GET", "/api/v1/cases") == math.ceil(1201 / 500)


def test_delta_sync_takes_one_request_per_500_changed_cases(
    logged_client: tuple[SveaClient, RequestLog], sandbox: RunningSandbox
) -> None:
    client, log = logged_client
    numbers = sandbox.bulk_seed("10042", 1200)
    watermark = client.ping().server_time  # as if a full sync had just ended
    sandbox.debtor_pays_many([(number, "1.00") for number in numbers[:500]])

    first_delta = list(client.iter_case_pages(watermark))
    sandbox.debtor_pays(numbers[500], "1.00")
    second_delta = list(client.iter_case_pages(first_delta[0].server_time))

    assert len(first_delta) == 1
    assert {case.case_number for case in first_delta[0].cases} == set(numbers[:500])
    assert [case.case_number for page in second_delta for case in page.cases] == [numbers[500]]
    assert log.count("GET", "/api/v1/cases") == 2


def test_changes_made_while_pages_are_read_are_caught_by_the_next_poll(
    make_client: Callable[..., SveaClient], sandbox: RunningSandbox
) -> None:
    client = make_client(page_size=100)
    numbers = sandbox.bulk_seed("10042", 300)
    pages = client.iter_case_pages(None)
    first = next(pages)
    sandbox.debtor_pays(numbers[0], "1.00")  # already read on the first page
    sandbox.debtor_pays(numbers[-1], "1.00")  # not read yet
    rest = list(pages)

    seen_first_poll = [case.case_number for page in [first, *rest] for case in page.cases]
    next_poll = [case.case_number for case in client.iter_cases_updated_since(first.server_time)]

    assert set(seen_first_poll) == set(numbers)
    assert set(next_poll) == {numbers[0], numbers[-1]}


def test_concurrent_submissions_with_one_key_make_one_request(client: SveaClient, sandbox: RunningSandbox) -> None:
    answers: list[str] = []

    def submit() -> None:
        answers.append(client.submit_case(submission(), "same-key").request_id)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(answers) == 8
    assert len(set(answers)) == 1
    assert len(sandbox.requests()) == 1
