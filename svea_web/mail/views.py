"""Utboks: the firm's outgoing mails, one mail with its attachments, and resending a failed one."""

from __future__ import annotations

from io import BytesIO

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import func, select

from svea_web.extensions import db
from svea_web.htmx_utils import wants_fragment
from svea_web.ledger.queries import Page
from svea_web.mail import services
from svea_web.mail.forms import ResendForm
from svea_web.mail.models import MAIL_STATES, MailAttachment, OutgoingMail
from svea_web.tenancy import client_required, current_client_id, get_scoped_or_404, scoped

bp = Blueprint("mail", __name__)

PER_PAGE = 50


@bp.route("/outbox")
@client_required
def outbox() -> ResponseReturnValue:
    state = request.args.get("state", "")
    if state not in MAIL_STATES:
        state = ""
    try:
        page_no = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page_no = 1
    query = scoped(OutgoingMail)
    if state:
        query = query.where(OutgoingMail.state == state)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    mails: list[OutgoingMail] = list(
        db.session.scalars(
            query.order_by(OutgoingMail.created_at.desc(), OutgoingMail.id.desc())
            .limit(PER_PAGE)
            .offset((page_no - 1) * PER_PAGE)
        )
    )
    page = Page(mails, total, page_no, PER_PAGE)
    # Counted in one query: loading the attachments themselves would read every file's bytes.
    counted = db.session.execute(
        select(MailAttachment.mail_id, func.count())
        .where(MailAttachment.mail_id.in_([m.id for m in mails]))
        .group_by(MailAttachment.mail_id)
    )
    attachment_counts: dict[int, int] = {row[0]: row[1] for row in counted}
    template = "mail/_outbox_table.html" if wants_fragment() else "mail/outbox.html"
    return render_template(template, page=page, state=state, services=services, attachment_counts=attachment_counts)


@bp.route("/outbox/<int:mail_id>")
@client_required
def show(mail_id: int) -> ResponseReturnValue:
    mail = get_scoped_or_404(OutgoingMail, mail_id)
    return render_template("mail/show.html", mail=mail, services=services, form=ResendForm())


@bp.route("/outbox/<int:mail_id>/attachments/<int:attachment_id>")
@client_required
def attachment(mail_id: int, attachment_id: int) -> ResponseReturnValue:
    mail = get_scoped_or_404(OutgoingMail, mail_id)
    item = db.session.scalar(
        select(MailAttachment).where(MailAttachment.id == attachment_id, MailAttachment.mail_id == mail.id)
    )
    if item is None:
        abort(404)
    return send_file(BytesIO(item.data), mimetype=item.content_type, as_attachment=True, download_name=item.filename)


@bp.route("/outbox/<int:mail_id>/resend", methods=["POST"])
@client_required
def resend(mail_id: int) -> ResponseReturnValue:
    form = ResendForm()
    if not form.validate_on_submit():
        abort(400)
    mail = get_scoped_or_404(OutgoingMail, mail_id)
    try:
        services.resend(mail.id, current_client_id())
    except services.MailNotResendable:
        flash(_("E-posten er allerede sendt eller på vei, og sendes ikke på nytt."), "warning")
    else:
        flash(_("E-posten er lagt i kø for sending på nytt."), "info")
    return redirect(url_for("mail.show", mail_id=mail.id))
