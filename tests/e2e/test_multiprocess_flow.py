"""The whole Inkassosaker routine on the production shape: PostgreSQL, a real Redis, gunicorn with two
processes, two worker.py processes and the Svea sandbox in a process of its own, all over HTTP.

Mark posts → Opprett Svea purring → the workers hand the cases to Svea → Svea confirms (its clock moves
on five minutes) → «Oppdater nå» brings the case numbers → a payment in full on one post → the direct
payment job reports it to Svea, Svea closes the case → the case is in Arkiverte saker.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.stack import Stack, wait_until

pytestmark = pytest.mark.redis

POSTS = 6
CREDITOR = {"customer_no": "10051", "username": "nordlys-regnskap", "password": "flyt-2026"}


def test_cases_are_confirmed_and_a_full_payment_closes_one_at_svea_and_in_the_app(stack: Stack) -> None:
    firm = stack.seed_firm("Nordlys Rørlegger AS", posts=POSTS, creditor=CREDITOR)
    admin = stack.user(firm.admin_email)

    rows = admin.new_case_rows()
    assert sorted(rows) == sorted(f"p{post_id}" for post_id in firm.post_ids)
    page = admin.create_cases(rows)
    assert f"{POSTS} saker er opprettet og sendes til Svea." in page.text
    assert admin.new_case_rows() == []

    # The worker processes hand every case to Svea once, each with its own idempotency key.
    def states() -> dict[str, int]:
        return stack.case_states(firm.client_id)

    wait_until(lambda: states() == {"submitted": POSTS}, 60, "every case submitted", state=states)
    received = stack.sandbox_requests(firm.customer_no)
    assert len(received) == POSTS
    assert len({request["creditorRef"] for request in received}) == POSTS

    # Svea confirms about five minutes later; «Oppdater nå» fetches the case numbers.
    stack.advance_sandbox_clock(301)
    admin.sync_now()
    wait_until(lambda: states() == {"open": POSTS}, 60, "every case confirmed", state=states)
    at_svea = stack.sandbox_cases(firm.customer_no)
    assert len(at_svea) == POSTS
    number_of_invoice = {case["invoices"][0]["invoiceNo"]: case["caseNumber"] for case in at_svea}
    references = stack.posts_with_reference(firm.client_id)
    invoice_of_post = dict(zip(firm.post_ids, firm.invoice_numbers, strict=True))
    assert references == {post_id: number_of_invoice[invoice_of_post[post_id]] for post_id in firm.post_ids}
    open_tab = admin.get("/collection/open").text
    assert all(number in open_tab for number in number_of_invoice.values())

    # The debtor pays the first post in full, straight to the firm.
    paid_post = firm.post_ids[0]
    paid_number = references[paid_post]
    assert paid_number is not None
    admin.register_payment(paid_post, "1001,00")

    def closed_at_svea() -> bool:
        case = next(case for case in stack.sandbox_cases(firm.customer_no) if case["caseNumber"] == paid_number)
        return bool(case["status"] == "CLOSED_PAID")

    wait_until(closed_at_svea, 60, f"Svea to close case {paid_number}")
    wait_until(lambda: states() == {"open": POSTS - 1, "closed": 1}, 60, "the app to close the case", state=states)
    archived = admin.get("/collection/archived", q=paid_number).text
    assert re.search(rf">{paid_number}</a>", archived), archived[:3000]
    still_open = [case for case in stack.sandbox_cases(firm.customer_no) if not case["status"].startswith("CLOSED")]
    assert len(still_open) == POSTS - 1
    assert all(worker is not None and worker.alive() for worker in stack.workers)
