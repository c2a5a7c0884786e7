"""Logg (the audit trail): who sent, closed, messaged, paid, imported or changed settings, and when.

For the firm's administrators only; the rows are the current firm's AuditEvents (svea_web.audit),
newest first, filtered by action and by user, a page at a time. The trail is kept: nothing here
edits or deletes a row.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from svea_web.accounts.models import AuditEvent, Membership, User
from svea_web.extensions import db
from svea_web.htmx_utils import wants_fragment
from svea_web.ledger.queries import Page
from svea_web.tenancy import admin_required, current_client_id, scoped

bp = Blueprint("audit", __name__)

PER_PAGE = 50
SYSTEM_USER = "system"

# What each action means, in the words of the app; an action without a label shows its code.
ACTION_LABELS: dict[str, Any] = {
    "collection.cases_created": _l("Saker opprettet og sendt til Svea"),
    "collection.case_created": _l("Sak opprettet"),
    "collection.case_retry": _l("Sak sendt til Svea på nytt"),
    "collection.close": _l("Sak avsluttet"),
    "collection.close_retry": _l("Avslutning sendt på nytt"),
    "collection.message": _l("Melding sendt til saksbehandler"),
    "collection.message_retry": _l("Melding sendt på nytt"),
    "dunning.run_start": _l("Purrekjøring startet"),
    "dunning.run_confirm": _l("Purrekjøring bekreftet"),
    "dunning.letter_settings": _l("Brevoppsett endret"),
    "dunning.pause_post": _l("Purrestopp på faktura"),
    "dunning.resume_post": _l("Purrestopp på faktura opphevet"),
    "dunning.pause_customer": _l("Purrestopp på kunde"),
    "dunning.resume_customer": _l("Purrestopp på kunde opphevet"),
    "dunning.pauses_expired": _l("Purrestopp utløpt"),
    "ledger.import": _l("Reskontro importert"),
    "ledger.customer_saved": _l("Kundeopplysninger endret"),
    "mail.resend": _l("E-post sendt på nytt"),
    "payments.import_uploaded": _l("Betalingsfil lastet opp"),
    "payments.imported": _l("Betalingsfil bokført"),
    "payments.registered": _l("Innbetaling registrert"),
    "payments.matched": _l("Innbetaling avstemt"),
    "payments.reversed": _l("Innbetaling reversert"),
    "payments.dismissed": _l("Innbetaling avvist"),
    "payments.svea_settlement": _l("Oppgjør fra Svea bokført"),
    "setup.svea_saved": _l("Oppsett Svea endret"),
    "setup.dunning_saved": _l("Oppsett purre/rente endret"),
    "setup.consistency_fixed": _l("Oppsettet rettet"),
    "setup.firm_saved": _l("Firmaopplysninger endret"),
    "setup.order_agreement": _l("Svea-tilgang bestilt"),
    "setup.order_address_change": _l("Ny adresse sendt til Svea"),
    "setup.address_notice_dismissed": _l("Varsel om ny adresse lukket"),
    "setup.figure_added": _l("Sats lagt til"),
    "setup.figure_changed": _l("Sats endret"),
    "setup.figure_confirmed": _l("Sats bekreftet"),
    "setup.figure_deleted": _l("Sats slettet"),
}


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def _page_no() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def _users(client_id: int) -> list[tuple[str, str]]:
    """Everyone who is a member or appears in the firm's trail, as (value, name) for the filter."""
    in_trail = select(AuditEvent.user_id).where(AuditEvent.client_id == client_id, AuditEvent.user_id.is_not(None))
    members = select(Membership.user_id).where(Membership.client_id == client_id)
    users = db.session.scalars(
        select(User).where(or_(User.id.in_(in_trail), User.id.in_(members))).order_by(User.name, User.id)
    ).all()
    return [(str(user.id), user.name) for user in users]


@bp.route("/settings/audit")
@admin_required
def index() -> ResponseReturnValue:
    client_id = current_client_id()
    actions = list(
        db.session.scalars(
            select(AuditEvent.action).distinct().where(AuditEvent.client_id == client_id).order_by(AuditEvent.action)
        )
    )
    action = request.args.get("action", "")
    if action not in actions:
        action = ""
    users = _users(client_id)
    user = request.args.get("user", "")
    if user not in {value for value, _name in users} | {SYSTEM_USER}:
        user = ""

    query = scoped(AuditEvent)
    if action:
        query = query.where(AuditEvent.action == action)
    if user == SYSTEM_USER:
        query = query.where(AuditEvent.user_id.is_(None))
    elif user:
        query = query.where(AuditEvent.user_id == int(user))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page_no = _page_no()
    events = db.session.scalars(
        query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(PER_PAGE).offset((page_no - 1) * PER_PAGE)
    ).all()
    page = Page(list(events), total, page_no, PER_PAGE)
    template = "audit/_table.html" if wants_fragment() else "audit/index.html"
    return render_template(
        template,
        page=page,
        actions=[(code, action_label(code)) for code in actions],
        action=action,
        users=users,
        user=user,
        system_user=SYSTEM_USER,
        action_label=action_label,
    )
