"""RQ jobs of Inkassosaker: each takes ids, calls one service, and is safe to run twice.

A job that raises RetryLater (a passing Svea outage) is retried with SVEA_RETRY; when it fails for good,
its ``*_gave_up`` function marks the row failed with the reason, and the page offers a retry.
"""

from __future__ import annotations

from svea_web.collection import services


def submit_case(case_id: int) -> None:
    services.submit_case(case_id)


def submit_case_gave_up(case_id: int, *, reason: str) -> None:
    services.mark_case_failed(case_id, reason)


def sync_client(client_id: int) -> None:
    services.sync_client(client_id)


def sync_client_gave_up(client_id: int, *, reason: str) -> None:
    services.mark_sync_failed(client_id, reason)


def sync_all_clients() -> None:
    services.sync_all_clients()


def send_message(message_id: int) -> None:
    services.send_message(message_id)


def send_message_gave_up(message_id: int, *, reason: str) -> None:
    services.mark_message_failed(message_id, reason)


def close_case(case_id: int) -> None:
    services.close_case(case_id)


def close_case_gave_up(case_id: int, *, reason: str) -> None:
    services.mark_close_failed(case_id, reason)
