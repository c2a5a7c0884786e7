"""RQ jobs of Innbetaling: thin doorways that take ids and call one service; each is safe to run twice."""

from __future__ import annotations

import logging

from sqlalchemy import select

from svea_web.extensions import db
from svea_web.payments import services
from svea_web.setup.models import SveaSettings

log = logging.getLogger(__name__)


def import_payment_file(import_id: int) -> None:
    services.run_import(import_id)


def import_payment_file_gave_up(import_id: int, *, reason: str) -> None:
    services.mark_import_failed(import_id, reason)


def send_direct_payments(client_id: int) -> None:
    services.flush_pending_direct_payments(client_id)


def send_direct_payments_gave_up(client_id: int, *, reason: str) -> None:
    services.record_report_failure(client_id, reason)


def fetch_settlements(client_id: int) -> int:
    """Returns the number of new settlements, which the Innbetaling page shows when the job is done."""
    return services.fetch_settlements(client_id)


def svea_payments_for_client(client_id: int) -> None:
    """The periodic work for one firm: reports still waiting for Svea, then Svea's new settlements."""
    services.flush_pending_direct_payments(client_id)
    services.fetch_settlements(client_id)


def fetch_all_settlements() -> None:
    """Periodic (svea_web.periodic): one job per firm with a Svea agreement, so one firm's failure stops no other."""
    from svea_web.jobs_queue import SVEA_RETRY, enqueue

    client_ids = db.session.scalars(
        select(SveaSettings.client_id).where(
            SveaSettings.customer_no.is_not(None),
            SveaSettings.username.is_not(None),
            SveaSettings.password_encrypted.is_not(None),
        )
    ).all()
    for client_id in client_ids:
        enqueue(svea_payments_for_client, client_id, queue="low", retry=SVEA_RETRY, client_id=client_id)
