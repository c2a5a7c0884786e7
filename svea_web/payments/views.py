"""Innbetaling: payments, the matching queue, payment files, Svea settlements."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from svea_web.clock import today
from svea_web.htmx_utils import wants_fragment
from svea_web.jobs_queue import SVEA_RETRY, enqueue, get_redis
from svea_web.payments import jobs, services
from svea_web.payments.bankfile import PaymentFileError
from svea_web.payments.forms import ConfirmForm, MatchForm, PaymentFileForm, PaymentForm, ReasonForm
from svea_web.payments.models import (
    IMPORT_QUEUED,
    IMPORT_RUNNING,
    PAYMENT_BOOKED,
    PAYMENT_DISMISSED,
    PAYMENT_UNMATCHED,
    SOURCES,
    Payment,
    PaymentImport,
)
from svea_web.payments.services import PaymentError
from svea_web.templating import money
from svea_web.tenancy import admin_required, client_required, current_client_id, get_scoped_or_404, is_admin

bp = Blueprint("payments", __name__)

STATE_FILTERS = (
    ("all", _l("Alle")),
    (PAYMENT_BOOKED, _l("Bokført")),
    (PAYMENT_UNMATCHED, _l("Til avstemming")),
    (PAYMENT_DISMISSED, _l("Avvist")),
)
SOURCE_LABELS = {
    "manual": _l("Manuell"),
    "ocr": _l("OCR giro"),
    "camt054": _l("camt.054"),
    "svea_settlement": _l("Svea-oppgjør"),
}
# Opening the page asks Svea for settlements at most this often per firm.
FETCH_ON_OPEN_SECONDS = 60


def _page_no() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def _tab(template: str, tab: str, **context: object) -> str:
    context.update(
        tab=tab,
        tab_template=template,
        unmatched=services.unmatched_count(current_client_id()),
        source_labels=SOURCE_LABELS,
    )
    if wants_fragment():
        return render_template("payments/_tabs.html", **context)
    return render_template("payments/page.html", **context)


@bp.route("/")
@client_required
def index() -> ResponseReturnValue:
    state = request.args.get("state", "all")
    if state not in dict(STATE_FILTERS):
        state = "all"
    source = request.args.get("source") or None
    if source not in SOURCES:
        source = None
    q = (request.args.get("q") or "").strip()[:100]
    page = services.list_payments(current_client_id(), state=state, source=source, q=q, page=_page_no())
    return _tab(
        "payments/_payments.html",
        "payments",
        page=page,
        state=state,
        source=source,
        q=q,
        filters=STATE_FILTERS,
        fetch_on_open=services.svea_ready(current_client_id()),
    )


@bp.route("/unmatched")
@client_required
def unmatched() -> ResponseReturnValue:
    page = services.list_payments(current_client_id(), state=PAYMENT_UNMATCHED, page=_page_no())
    return _tab("payments/_unmatched.html", "unmatched", page=page)


@bp.route("/files", methods=["GET", "POST"])
@client_required
def files() -> ResponseReturnValue:
    form = PaymentFileForm()
    refused: str | None = None
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read()
        try:
            record = services.create_import(current_client_id(), current_user.id, upload.filename or "", data)
        except PaymentFileError as error:
            refused = str(error)
        else:
            enqueue(
                jobs.import_payment_file,
                record.id,
                queue="high",
                job_timeout=1800,
                on_give_up=jobs.import_payment_file_gave_up,
            )
            return redirect(url_for("payments.import_status", import_id=record.id))
    status = 400 if form.errors or refused else 200
    return _tab(
        "payments/_files.html", "files", form=form, refused=refused, recent=services.recent_imports(current_client_id())
    ), status


@bp.route("/files/<int:import_id>")
@client_required
def import_status(import_id: int) -> ResponseReturnValue:
    record = get_scoped_or_404(PaymentImport, import_id)
    earlier = services.earlier_import_of_same_file(record)
    running = record.status in (IMPORT_QUEUED, IMPORT_RUNNING)
    if wants_fragment():
        return render_template("payments/_import_status.html", record=record, earlier=earlier, running=running)
    return render_template("payments/import.html", record=record, earlier=earlier, running=running)


@bp.route("/settlements")
@client_required
def settlements() -> ResponseReturnValue:
    page = services.list_settlements(current_client_id(), page=_page_no())
    return _tab(
        "payments/_settlements.html",
        "settlements",
        page=page,
        form=ConfirmForm(),
        svea_ready=services.svea_ready(current_client_id()),
    )


def _fetch_job_id(client_id: int) -> str:
    return f"payments-settlements-{client_id}"


@bp.route("/settlements/fetch", methods=["POST"])
@client_required
def fetch_settlements() -> ResponseReturnValue:
    client_id = current_client_id()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not services.svea_ready(client_id):
        return render_template("payments/_fetch_status.html", job=None, ready=False)
    on_open = request.args.get("on_open") == "1"
    if on_open:
        try:
            fresh = get_redis().set(f"svea:payments:fetch-on-open:{client_id}", 1, nx=True, ex=FETCH_ON_OPEN_SECONDS)
        except RedisError:
            fresh = False
        if not fresh:
            return render_template("payments/_fetch_status.html", job=None, ready=True, skipped=True)
    job = enqueue(
        jobs.fetch_settlements,
        client_id,
        queue="high",
        job_id=_fetch_job_id(client_id),
        retry=SVEA_RETRY,
        client_id=client_id,
    )
    return render_template("payments/_fetch_status.html", job=_job_view(job), ready=True)


@bp.route("/settlements/fetch")
@client_required
def fetch_status() -> ResponseReturnValue:
    try:
        job = Job.fetch(_fetch_job_id(current_client_id()), connection=get_redis())
    except (NoSuchJobError, RedisError):
        return render_template("payments/_fetch_status.html", job=None, ready=True)
    return render_template("payments/_fetch_status.html", job=_job_view(job), ready=True)


def _job_view(job: Job) -> dict[str, object]:
    status = job.get_status(refresh=True)
    done = status == JobStatus.FINISHED
    return {
        "running": status in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED),
        "done": done,
        "failed": status == JobStatus.FAILED,
        "new": job.return_value() if done else None,
    }


@bp.route("/settlements/<int:settlement_id>")
@client_required
def settlement(settlement_id: int) -> ResponseReturnValue:
    found = services.settlement_detail(current_client_id(), settlement_id)
    if found is None:
        abort(404)
    return render_template("payments/settlement.html", settlement=found)


@bp.route("/new", methods=["GET", "POST"])
@client_required
def new() -> ResponseReturnValue:
    form = PaymentForm()
    if request.method == "GET":
        form.token.data = uuid.uuid4().hex
        form.paid_on.data = today().strftime("%d.%m.%Y")
        form.post_id.data = request.args.get("post_id", type=int)
    elif form.validate_on_submit():
        assert form.amount.amount is not None and form.paid_on.day is not None
        try:
            payment = services.register_payment(
                current_client_id(),
                current_user.id,
                paid_on=form.paid_on.day,
                amount=form.amount.amount,
                token=form.token.data,
                post_id=form.post_id.data,
                customer_id=None if form.post_id.data else form.customer_id.data,
                text=form.text.data,
            )
        except PaymentError as error:
            flash(str(error), "error")
        else:
            flash(_("Innbetalingen på %(a)s er registrert.", a=money(payment.amount)), "success")
            return redirect(url_for("payments.detail", payment_id=payment.id))
    selected = None
    if form.post_id.data:
        selected = services.post_for_form(current_client_id(), form.post_id.data)
    status = 400 if request.method == "POST" else 200
    return render_template("payments/new.html", form=form, selected=selected), status


@bp.route("/targets")
@client_required
def targets() -> ResponseReturnValue:
    q = request.args.get("q", "")
    posts, customers = services.search_targets(current_client_id(), q)
    return render_template(
        "payments/_targets.html", posts=posts, customers=customers, q=q, mode=request.args.get("mode", "new")
    )


@bp.route("/<int:payment_id>")
@client_required
def detail(payment_id: int) -> ResponseReturnValue:
    payment = services.payment_detail(current_client_id(), payment_id)
    if payment is None:
        abort(404)
    suggestions = services.suggestions(payment) if payment.state == PAYMENT_UNMATCHED else []
    return render_template(
        "payments/detail.html",
        payment=payment,
        suggestions=suggestions,
        match_form=MatchForm(),
        reason_form=ReasonForm(),
        admin=is_admin(),
        source_labels=SOURCE_LABELS,
    )


@bp.route("/<int:payment_id>/match", methods=["POST"])
@client_required
def match(payment_id: int) -> ResponseReturnValue:
    get_scoped_or_404(Payment, payment_id)
    form = MatchForm()
    if not form.validate_on_submit():
        flash(_("Velg posten eller kunden innbetalingen gjelder."), "error")
        return redirect(url_for("payments.detail", payment_id=payment_id))
    try:
        services.match_payment(
            current_client_id(),
            payment_id,
            current_user.id,
            post_id=form.post_id.data,
            customer_id=None if form.post_id.data else form.customer_id.data,
        )
    except PaymentError as error:
        flash(str(error), "error")
    else:
        flash(_("Innbetalingen er avstemt."), "success")
    return redirect(url_for("payments.detail", payment_id=payment_id))


@bp.route("/<int:payment_id>/reverse", methods=["POST"])
@admin_required
def reverse(payment_id: int) -> ResponseReturnValue:
    get_scoped_or_404(Payment, payment_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Skriv hvorfor innbetalingen reverseres."), "error")
        return redirect(url_for("payments.detail", payment_id=payment_id))
    try:
        services.reverse_payment(current_client_id(), payment_id, current_user.id, form.reason.data)
    except PaymentError as error:
        flash(str(error), "error")
    else:
        flash(_("Innbetalingen er reversert og ligger igjen til avstemming."), "success")
    return redirect(url_for("payments.detail", payment_id=payment_id))


@bp.route("/<int:payment_id>/dismiss", methods=["POST"])
@admin_required
def dismiss(payment_id: int) -> ResponseReturnValue:
    get_scoped_or_404(Payment, payment_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Skriv hvorfor innbetalingen fjernes fra køen."), "error")
        return redirect(url_for("payments.detail", payment_id=payment_id))
    try:
        services.dismiss_payment(current_client_id(), payment_id, current_user.id, form.reason.data)
    except PaymentError as error:
        flash(str(error), "error")
    else:
        flash(_("Innbetalingen er fjernet fra køen."), "success")
    return redirect(url_for("payments.detail", payment_id=payment_id))
