"""RQ jobs of the reminder run. The worker provides the app context; arguments are ids only."""

from __future__ import annotations

from svea_web.clock import today
from svea_web.dunning import services


def send_run_letters(run_id: int) -> int:
    """Queue and start the e-mail of every letter of a confirmed run; letters already queued are left alone."""
    return len(services.queue_letter_mails(run_id))


def resume_expired_pauses() -> int:
    """Daily: clear every firm's pauses whose end date has passed."""
    return services.resume_expired_pauses(today())
