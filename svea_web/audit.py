"""The audit trail: one call per user action that changes something."""

from __future__ import annotations

from flask import has_request_context
from flask_login import current_user

from svea_web.accounts.models import AuditEvent
from svea_web.extensions import db


def record(
    client_id: int | None,
    action: str,
    object_type: str | None = None,
    object_id: object = None,
    detail: str | None = None,
    user_id: int | None = None,
) -> AuditEvent:
    """Add an audit event to the session; it commits with the change it describes."""
    if user_id is None and has_request_context() and current_user.is_authenticated:
        user_id = current_user.id
    event = AuditEvent(
        client_id=client_id,
        user_id=user_id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        detail=detail,
    )
    db.session.add(event)
    return event
