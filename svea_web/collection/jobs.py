"""RQ jobs of Inkassosaker: each takes ids, calls one service, and is safe to run twice.

A job that raises RetryLater is retried by RQ (enqueued with a Retry); the service has already written
the error on the row, and on the last attempt it marks the row failed instead of raising.
"""

from __future__ import annotations

from svea_web.collection import services


def submit_case(case_id: int) -> None:
    services.submit_case(case_id)


def sync_client(client_id: int) -> None:
    services.sync_client(client_id)


def sync_all_clients() -> None:
    services.sync_all_clients()


def send_message(message_id: int) -> None:
    services.send_message(message_id)


def close_case(case_id: int) -> None:
    services.close_case(case_id)
