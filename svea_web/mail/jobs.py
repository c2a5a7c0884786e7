"""RQ jobs for outgoing mail. The worker provides the app context; arguments are ids only."""

from __future__ import annotations

from svea_web.mail import services


def send_mail(mail_id: int) -> str:
    """Send one queued mail; a mail already sent, failed or claimed by another worker is left alone."""
    return services.deliver(mail_id)
