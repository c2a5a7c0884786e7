"""Purring: the in-app reminder run (preview, confirm, letters), its history, and pauses."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from svea_web.clock import today
from svea_web.dunning import jobs, services
from svea_web.dunning.forms import (
    ActionForm,
    ConfirmForm,
    LetterSettingsForm,
    PauseCustomerForm,
    PausePostForm,
    RunForm,
)
from svea_web.dunning.letters import account_display, letter_text
from svea_web.dunning.models import (
    PROBLEM_CHANGED,
    PROBLEM_FAILED,
    PROBLEM_NO_ACCOUNT,
    PROBLEM_NOTHING,
    RUN_CONFIRMED,
    RUN_CONFIRMING,
    RUN_PREVIEW,
    ReminderLetter,
    ReminderRun,
    ReminderStep,
)
from svea_web.extensions import db
from svea_web.gc_pause import cycle_collection_paused
from svea_web.htmx_utils import wants_fragment
from svea_web.jobs_queue import backoff, enqueue
from svea_web.ledger.models import POST_INVOICE, Customer, CustomerPost
from svea_web.ledger.queries import Page
from svea_web.mail import services as mail_services
from svea_web.mail.models import MAIL_FAILED, OutgoingMail
from svea_web.redirects import local_path
from svea_web.tenancy import admin_required, client_required, current_client_id, get_scoped_or_404, is_admin

bp = Blueprint("dunning", __name__)

PER_PAGE = 100

SKIP_LABELS: dict[str, Any] = {
    "too_early": _l("For tidlig: fristen i forrige brev er ikke ute"),
    "fee_too_early": _l("For tidlig for gebyr (14 dager etter forfall)"),
    "waiting_deadline": _l("Venter på fristen i inkassovarselet"),
    "steps_done": _l("Alle trinn sendt – klar for Nye saker"),
    "notice_too_old": _l("Alle trinn sendt, men inkassovarselet er over 6 måneder gammelt"),
    "paused": _l("Purrestopp på posten"),
    "customer_paused": _l("Purrestopp på kunden"),
    "below_min_amount": _l("Under minstebeløpet"),
    "in_svea_case": _l("Sendt til Svea"),
    "no_in_app_steps": _l("Ingen purretrinn i appen"),
    "not_due": _l("Ikke forfalt"),
    "nothing_open": _l("Ingenting åpent"),
}
FEE_NOTES: dict[str, Any] = {
    "ok": "",
    "fee_disabled": _l("gebyr av"),
    "fee_cap_reached": _l("gebyrtak nådd"),
}
KIND_LABELS: dict[str, Any] = {"reminder": _l("Purring"), "notice": _l("Inkassovarsel")}
PROBLEM_LABELS: dict[str, Any] = {
    PROBLEM_CHANGED: _l("Reskontroen er endret siden forhåndsvisningen. Se over listen og bekreft på nytt."),
    PROBLEM_NOTHING: _l("Ingen poster får et nytt trinn i denne kjøringen."),
    PROBLEM_NO_ACCOUNT: _l("Legg inn kontonummeret som skal stå i brevene før kjøringen bekreftes."),
    PROBLEM_FAILED: _l("Bekreftelsen stoppet med en feil, og ingenting av kjøringen ble lagret. Bekreft på nytt."),
}


def _page_no() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def _slice(items: list[Any], page_no: int) -> Page:
    total = len(items)
    pages = max(1, -(-total // PER_PAGE))
    page_no = min(page_no, pages)
    return Page(items[(page_no - 1) * PER_PAGE : page_no * PER_PAGE], total, page_no, PER_PAGE)


def _link(endpoint: str, **values: Any) -> str | None:
    """A link to another feature's page, or None while that feature is not part of the app."""
    return url_for(endpoint, **values) if endpoint in current_app.view_functions else None


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "skip_labels": SKIP_LABELS,
        "fee_notes": FEE_NOTES,
        "kind_labels": KIND_LABELS,
        "problem_labels": PROBLEM_LABELS,
        "link_to": _link,
    }


@bp.route("/")
@client_required
def index() -> ResponseReturnValue:
    client_id = current_client_id()
    day = today()
    form = RunForm(run_date=day) if request.method == "GET" else RunForm()
    return _index(client_id, form)


def _index(client_id: int, form: RunForm, status: int = 200) -> ResponseReturnValue:
    settings = services.run_settings(client_id)
    sender = services.letter_settings(client_id)
    previews = db.session.scalars(
        select(ReminderRun)
        .where(ReminderRun.client_id == client_id, ReminderRun.state.in_((RUN_PREVIEW, RUN_CONFIRMING)))
        .order_by(ReminderRun.run_date)
    ).all()
    page_no = _page_no()
    confirmed = select(ReminderRun).where(ReminderRun.client_id == client_id, ReminderRun.state == RUN_CONFIRMED)
    total = db.session.scalar(select(func.count()).select_from(confirmed.subquery())) or 0
    history = db.session.scalars(
        confirmed.order_by(ReminderRun.confirmed_at.desc(), ReminderRun.id.desc())
        .limit(PER_PAGE)
        .offset((page_no - 1) * PER_PAGE)
    ).all()
    letters_form = LetterSettingsForm(
        account_no=account_display(sender.account_no) if sender.account_no else "", reply_to=sender.reply_to
    )
    pauses = services.active_pauses(client_id, today())
    template = "dunning/_history.html" if wants_fragment() else "dunning/index.html"
    return (
        render_template(
            template,
            settings=settings,
            form=form,
            previews=previews,
            page=Page(list(history), total, page_no, PER_PAGE),
            sender=sender,
            letters_form=letters_form,
            pause_count=len(pauses),
            can_admin=is_admin(),
        ),
        status,
    )


@bp.route("/runs", methods=["POST"])
@client_required
def start() -> ResponseReturnValue:
    client_id = current_client_id()
    settings = services.run_settings(client_id)
    if not settings.runs_in_app:
        flash(_("Purrekjøring i appen er ikke slått på for denne klienten."), "error")
        return redirect(url_for("dunning.index"))
    form = RunForm()
    if not form.validate_on_submit():
        return _index(client_id, form, 400)
    try:
        run = services.start_run(client_id, form.run_date.data, today(), current_user.id)
    except services.RunDateError as error:
        form.run_date.errors = [str(error)]
        return _index(client_id, form, 400)
    return redirect(url_for("dunning.run", run_id=run.id))


@bp.route("/runs/<int:run_id>")
@client_required
def run(run_id: int) -> ResponseReturnValue:
    reminder_run = get_scoped_or_404(ReminderRun, run_id)
    if reminder_run.state == RUN_PREVIEW:
        if _part() == "progress":
            # The confirm job handed the run back (see confirm_problem): the whole preview page again.
            return "", 200, {"HX-Redirect": url_for("dunning.run", run_id=run_id)}
        return _preview_page(reminder_run)
    if reminder_run.is_confirming:
        template = "dunning/_run_body.html" if _part() == "progress" else "dunning/run.html"
        return render_template(template, run=reminder_run, action_form=ActionForm())
    return _run_page(reminder_run)


def _part() -> str | None:
    """The part of the run page an HTMX request polls for ("progress", "status"), if any."""
    return request.args.get("part") if wants_fragment() else None


def _preview_page(reminder_run: ReminderRun, status: int = 200) -> ResponseReturnValue:
    # The whole preview lives and dies inside the collector pause: only the HTML leaves it.
    with cycle_collection_paused():
        return _render_preview(reminder_run), status


def _render_preview(reminder_run: ReminderRun) -> str:
    preview = services.build_preview(reminder_run.client_id, reminder_run.run_date)
    tab = request.args.get("tab", "steps")
    if tab not in ("steps", "skipped"):
        tab = "steps"
    reason = request.args.get("reason") or None
    skipped = preview.skipped
    if tab == "skipped" and reason in SKIP_LABELS:
        skipped = [line for line in skipped if line.reason == reason]
    page = _slice(preview.steps if tab == "steps" else skipped, _page_no())
    context = {"run": reminder_run, "summary": preview.summary, "tab": tab, "reason": reason, "page": page}
    if wants_fragment():
        # Another page or tab of the list: the summary and the confirm form stay as they are.
        return render_template("dunning/_preview_table.html", **context)
    return render_template(
        "dunning/preview.html",
        **context,
        confirm_form=ConfirmForm(digest=preview.digest),
        action_form=ActionForm(),
        sender=services.letter_settings(reminder_run.client_id),
        today=today(),
    )


MAIL_FILTERS = ("all", "failed", "print")


def _mail_counts(run_id: int) -> dict[str, int]:
    """Letters of the run by the state of their e-mail; "print": no address, "preparing": not queued yet."""
    counts: dict[str, int] = dict.fromkeys(("sent", "outbox", "failed", "queued", "sending", "print", "preparing"), 0)
    rows = db.session.execute(
        select(OutgoingMail.state, ReminderLetter.email.is_not(None), func.count())
        .select_from(ReminderLetter)
        .outerjoin(OutgoingMail, OutgoingMail.id == ReminderLetter.mail_id)
        .where(ReminderLetter.run_id == run_id)
        .group_by(OutgoingMail.state, ReminderLetter.email.is_not(None))
    ).all()
    for state, has_email, count in rows:
        key = state if state is not None else ("preparing" if has_email else "print")
        counts[key] = counts.get(key, 0) + count
    return counts


def _letters_page(run_id: int, mail_filter: str, page_no: int) -> Page:
    query = (
        select(ReminderLetter, OutgoingMail)
        .outerjoin(OutgoingMail, OutgoingMail.id == ReminderLetter.mail_id)
        .where(ReminderLetter.run_id == run_id)
    )
    if mail_filter == "failed":
        query = query.where(OutgoingMail.state == MAIL_FAILED)
    elif mail_filter == "print":
        query = query.where(ReminderLetter.email.is_(None))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.execute(query.order_by(ReminderLetter.id).limit(PER_PAGE).offset((page_no - 1) * PER_PAGE)).all()
    return Page([(letter, mail) for letter, mail in rows], total, page_no, PER_PAGE)


def _steps_page(run_id: int, page_no: int) -> Page:
    query = (
        select(ReminderStep, CustomerPost.invoice_no, Customer.name)
        .join(CustomerPost, CustomerPost.id == ReminderStep.post_id)
        .join(Customer, Customer.id == CustomerPost.customer_id)
        .where(ReminderStep.run_id == run_id)
    )
    total = db.session.scalar(select(func.count()).where(ReminderStep.run_id == run_id)) or 0
    rows = db.session.execute(
        query.order_by(Customer.name, CustomerPost.due_date, ReminderStep.id)
        .limit(PER_PAGE)
        .offset((page_no - 1) * PER_PAGE)
    ).all()
    return Page([tuple(row) for row in rows], total, page_no, PER_PAGE)


def _run_page(reminder_run: ReminderRun) -> ResponseReturnValue:
    counts = _mail_counts(reminder_run.id)
    context: dict[str, Any] = {
        "run": reminder_run,
        "counts": counts,
        "pending": counts["preparing"] + counts["queued"] + counts["sending"] > 0,
        "action_form": ActionForm(),
    }
    if _part() == "status":
        return render_template("dunning/_mail_status.html", **context)
    tab = request.args.get("tab", "letters")
    tab = tab if tab in ("letters", "steps") else "letters"
    mail_filter = request.args.get("mail", "all")
    mail_filter = mail_filter if mail_filter in MAIL_FILTERS else "all"
    page_no = _page_no()
    context.update(
        tab=tab,
        mail_filter=mail_filter,
        page=_letters_page(reminder_run.id, mail_filter, page_no)
        if tab == "letters"
        else _steps_page(reminder_run.id, page_no),
        mail_state=mail_services.state_label,
        can_resend=mail_services.can_resend,
    )
    if _part() == "progress":
        # The confirm job finished while the page watched it: the run with its letters.
        return render_template("dunning/_run_body.html", **context, confirmed_message=_confirmed_message(reminder_run))
    if wants_fragment():
        return render_template("dunning/_run_detail.html", **context)
    return render_template("dunning/run.html", **context)


@bp.route("/runs/<int:run_id>/confirm", methods=["POST"])
@client_required
def confirm(run_id: int) -> ResponseReturnValue:
    reminder_run = get_scoped_or_404(ReminderRun, run_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    if not services.run_settings(reminder_run.client_id).runs_in_app:
        flash(_("Purrekjøring i appen er ikke slått på for denne klienten."), "error")
        return redirect(url_for("dunning.index"))
    result = services.queue_confirm(reminder_run, form.digest.data, today(), current_user.id)
    if result.outcome == "queued":
        _enqueue_confirm(reminder_run.id)
        # The run page shows the job's progress; jobs run inline (tests) or a quick worker are done already.
        db.session.refresh(reminder_run)
        if reminder_run.is_confirmed:
            flash(_confirmed_message(reminder_run), "success")
    elif result.outcome == "already_confirmed":
        flash(_("Kjøringen er allerede bekreftet; ingenting ble gjort på nytt."), "warning")
    elif result.outcome == "wrong_date":
        flash(_("En kjøring kan bare bekreftes på sin egen dato. Start en ny kjøring for i dag."), "error")
    elif result.outcome == "no_account":
        flash(_("Legg inn kontonummeret som skal stå i brevene før kjøringen bekreftes."), "error")
    return redirect(url_for("dunning.run", run_id=reminder_run.id))


def _enqueue_confirm(run_id: int) -> None:
    enqueue(
        jobs.confirm_run,
        run_id,
        queue="high",
        job_timeout=3600,
        retry=backoff(2, 10),
        on_give_up=jobs.confirm_run_gave_up,
    )


def _confirmed_message(reminder_run: ReminderRun) -> str:
    return _(
        "Kjøringen er bekreftet. Nye trinn: %(steps)s. Brev: %(letters)s.",
        steps=reminder_run.step_count,
        letters=reminder_run.letter_count,
    )


@bp.route("/runs/<int:run_id>/confirm/restart", methods=["POST"])
@client_required
def restart_confirm(run_id: int) -> ResponseReturnValue:
    """Queue the confirm job again, e.g. after a worker died half-way; a run already applied is left alone."""
    reminder_run = get_scoped_or_404(ReminderRun, run_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if reminder_run.is_confirming:
        _enqueue_confirm(reminder_run.id)
    return redirect(url_for("dunning.run", run_id=run_id))


@bp.route("/runs/<int:run_id>/send", methods=["POST"])
@client_required
def send_letters(run_id: int) -> ResponseReturnValue:
    """Start the e-mail job again, e.g. after a worker died half-way; letters already queued are skipped."""
    reminder_run = get_scoped_or_404(ReminderRun, run_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if reminder_run.is_confirmed:
        enqueue(jobs.send_run_letters, reminder_run.id, queue="default", job_timeout=3600)
        flash(_("Utsendingen av e-post er startet."), "info")
    return redirect(url_for("dunning.run", run_id=run_id))


@bp.route("/runs/<int:run_id>/discard", methods=["POST"])
@client_required
def discard(run_id: int) -> ResponseReturnValue:
    reminder_run = get_scoped_or_404(ReminderRun, run_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if services.discard_run(reminder_run, current_user.id):
        flash(_("Forhåndsvisningen er forkastet."), "info")
        return redirect(url_for("dunning.index"))
    flash(_("En bekreftet kjøring kan ikke forkastes."), "error")
    return redirect(url_for("dunning.run", run_id=run_id))


def _pdf_response(data: bytes, filename: str) -> ResponseReturnValue:
    disposition = "attachment" if request.args.get("download") else "inline"
    return (
        data,
        200,
        {"Content-Type": "application/pdf", "Content-Disposition": f'{disposition}; filename="{filename}"'},
    )


@bp.route("/letters/<int:letter_id>")
@client_required
def letter(letter_id: int) -> ResponseReturnValue:
    found = get_scoped_or_404(ReminderLetter, letter_id)
    return render_template("dunning/letter.html", letter=found, text=letter_text(found.content))


@bp.route("/letters/<int:letter_id>.pdf")
@client_required
def letter_pdf(letter_id: int) -> ResponseReturnValue:
    found = get_scoped_or_404(ReminderLetter, letter_id)
    return _pdf_response(services.letter_pdf(found), letter_text(found.content).filename)


@bp.route("/runs/<int:run_id>/letters.pdf")
@client_required
def run_letters_pdf(run_id: int) -> ResponseReturnValue:
    reminder_run = get_scoped_or_404(ReminderRun, run_id)
    only_without_email = request.args.get("without_email") == "1"
    data = services.run_letters_pdf(reminder_run, only_without_email)
    if data is None:
        abort(404)
    suffix = "-uten-epost" if only_without_email else ""
    return _pdf_response(data, f"purrebrev-{reminder_run.run_date.isoformat()}{suffix}.pdf")


@bp.route("/letters/<int:letter_id>/resend", methods=["POST"])
@client_required
def resend(letter_id: int) -> ResponseReturnValue:
    found = get_scoped_or_404(ReminderLetter, letter_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if found.mail_id is None:
        if found.email:
            enqueue(jobs.send_run_letters, found.run_id, queue="default", job_timeout=3600)
            flash(_("E-posten er lagt i kø."), "info")
    else:
        try:
            mail_services.resend(found.mail_id, current_client_id())
            flash(_("E-posten sendes på nytt."), "info")
        except mail_services.MailNotResendable:
            flash(_("E-posten er sendt eller på vei, og sendes ikke en gang til."), "warning")
    return redirect(url_for("dunning.run", run_id=found.run_id))


@bp.route("/settings", methods=["POST"])
@admin_required
def letter_settings() -> ResponseReturnValue:
    client_id = current_client_id()
    form = LetterSettingsForm()
    if not form.validate_on_submit():
        for error in form.account_no.errors + form.reply_to.errors:
            flash(str(error), "error")
        return redirect(url_for("dunning.index"))
    services.save_letter_settings(client_id, form.account_no.data, form.reply_to.data)
    flash(_("Brevoppsettet er lagret."), "success")
    return redirect(local_path(request.form.get("next")) or url_for("dunning.index"))


@bp.route("/pauses")
@client_required
def pauses() -> ResponseReturnValue:
    return _pauses_page(
        PauseCustomerForm(customer_no=request.args.get("customer_no", "")),
        PausePostForm(invoice_no=request.args.get("invoice_no", "")),
    )


def _pauses_page(customer_form: PauseCustomerForm, post_form: PausePostForm, status: int = 200) -> ResponseReturnValue:
    rows = services.active_pauses(current_client_id(), today())
    return (
        render_template(
            "dunning/pauses.html",
            rows=rows,
            customer_form=customer_form,
            post_form=post_form,
            action_form=ActionForm(),
        ),
        status,
    )


@bp.route("/pauses/customer", methods=["POST"])
@client_required
def pause_customer() -> ResponseReturnValue:
    client_id = current_client_id()
    form = PauseCustomerForm()
    if form.validate_on_submit():
        customer = db.session.scalar(
            select(Customer).where(
                Customer.client_id == client_id, Customer.customer_no == form.customer_no.data.strip()
            )
        )
        if customer is None:
            form.customer_no.errors = [_("Fant ingen kunde med dette kundenummeret.")]
        elif form.end_date.data is not None and form.end_date.data < today():
            form.end_date.errors = [_("Sluttdatoen er passert.")]
        else:
            services.pause_customer(client_id, customer, form.reason.data.strip(), form.end_date.data, current_user.id)
            flash(_("Purrestopp er satt på %(name)s.", name=customer.name), "success")
            return redirect(url_for("dunning.pauses"))
    return _pauses_page(form, PausePostForm(formdata=None), 400)


@bp.route("/pauses/post", methods=["POST"])
@client_required
def pause_post() -> ResponseReturnValue:
    client_id = current_client_id()
    form = PausePostForm()
    if form.validate_on_submit():
        post = db.session.scalar(
            select(CustomerPost).where(
                CustomerPost.client_id == client_id,
                CustomerPost.invoice_no == form.invoice_no.data.strip(),
                CustomerPost.kind == POST_INVOICE,
            )
        )
        if post is None:
            form.invoice_no.errors = [_("Fant ingen faktura med dette fakturanummeret.")]
        elif form.end_date.data is not None and form.end_date.data < today():
            form.end_date.errors = [_("Sluttdatoen er passert.")]
        else:
            services.pause_post(client_id, post, form.reason.data.strip(), form.end_date.data)
            flash(_("Purrestopp er satt på faktura %(no)s.", no=post.invoice_no), "success")
            return redirect(url_for("dunning.pauses"))
    return _pauses_page(PauseCustomerForm(formdata=None), form, 400)


@bp.route("/pauses/customer/<int:customer_id>/lift", methods=["POST"])
@client_required
def lift_customer_pause(customer_id: int) -> ResponseReturnValue:
    customer = get_scoped_or_404(Customer, customer_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if services.lift_customer_pause(current_client_id(), customer.id):
        flash(_("Purrestoppen på %(name)s er opphevet.", name=customer.name), "success")
    return redirect(url_for("dunning.pauses"))


@bp.route("/pauses/post/<int:post_id>/lift", methods=["POST"])
@client_required
def lift_post_pause(post_id: int) -> ResponseReturnValue:
    post = get_scoped_or_404(CustomerPost, post_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    services.lift_post_pause(current_client_id(), post)
    flash(_("Purrestoppen på faktura %(no)s er opphevet.", no=post.invoice_no), "success")
    return redirect(url_for("dunning.pauses"))
