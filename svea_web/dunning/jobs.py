"""RQ jobs of the reminder run. The worker provides the app context; arguments are ids only."""

from __future__ import annotations

from svea_web.clock import today
from svea_web.dunning import services
from svea_web.dunning.models import PROBLEM_FAILED
from svea_web.jobs_queue import enqueue


def confirm_run(run_id: int) -> str:
    """Apply a run the user confirmed, then start its letters' e-mail. Run again, the job finds the run
    applied and does nothing (the run page starts the e-mail again if it stalled)."""
    outcome = services.apply_confirmed_run(run_id)
    if outcome == "confirmed":
        enqueue(send_run_letters, run_id, queue="default", job_timeout=3600)
    return outcome


def confirm_run_gave_up(run_id: int, *, reason: str) -> None:
    """The apply failed for good (its transaction is rolled back): the run is a preview again."""
    services.hand_back_run(run_id, PROBLEM_FAILED)


def send_run_letters(run_id: int) -> int:
    """Queue and start the e-mail of every letter of a confirmed run; letters already queued are left alone."""
    return len(services.queue_letter_mails(run_id))


def resume_expired_pauses() -> int:
    """Daily: clear every firm's pauses whose end date has passed."""
    return services.resume_expired_pauses(today())
