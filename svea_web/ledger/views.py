"""Reskontro: customers, posts and the CSV import."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from svea_web import jobs
from svea_web.clock import today
from svea_web.htmx_utils import wants_fragment
from svea_web.jobs_queue import enqueue
from svea_web.ledger import queries, services
from svea_web.ledger.forms import ConfirmImportForm, CustomerForm, ImportForm
from svea_web.ledger.models import Customer, ImportBatch
from svea_web.tenancy import admin_required, client_required, current_client_id, get_scoped_or_404, is_admin

bp = Blueprint("ledger", __name__)


@bp.route("/posts")
@client_required
def posts() -> ResponseReturnValue:
    pq = queries.PostQuery.from_args(request.args)
    day = today()
    page, total_open = queries.list_posts(current_client_id(), pq, day)
    template = "ledger/_posts_table.html" if wants_fragment() else "ledger/posts.html"
    return render_template(template, page=page, pq=pq, today=day, total_open=total_open, filters=FILTER_LABELS)


FILTER_LABELS = (
    ("all", _l("Alle")),
    ("open", _l("Åpne")),
    ("overdue", _l("Forfalte")),
    ("in_case", _l("I Svea-sak")),
    ("paid", _l("Betalte")),
)


@bp.route("/customers")
@client_required
def customers() -> ResponseReturnValue:
    q = (request.args.get("q") or "").strip()[:100]
    sort = request.args.get("sort", "name")
    direction = request.args.get("dir", "asc")
    try:
        page_no = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page_no = 1
    page = queries.list_customers(current_client_id(), q, sort, direction, page_no)
    template = "ledger/_customers_table.html" if wants_fragment() else "ledger/customers.html"
    return render_template(template, page=page, q=q, sort=sort, direction=direction)


@bp.route("/customers/<int:customer_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_customer(customer_id: int) -> ResponseReturnValue:
    cust = get_scoped_or_404(Customer, customer_id)
    form = CustomerForm(obj=cust)
    if request.method == "GET":
        form.national_id.data = ""  # never sent back in full; blank keeps it
    if form.validate_on_submit():
        changed = services.save_customer(cust, form.data, current_user.id)
        flash(_("Kundeopplysningene er lagret.") if changed else _("Ingenting ble endret."), "success")
        return redirect(url_for("ledger.customer", customer_id=cust.id))
    status = 400 if request.method == "POST" else 200
    return render_template("ledger/customer_edit.html", customer=cust, form=form), status


@bp.route("/customers/<int:customer_id>")
@client_required
def customer(customer_id: int) -> ResponseReturnValue:
    cust = get_scoped_or_404(Customer, customer_id)
    pq = queries.PostQuery.from_args(request.args)
    pq = queries.PostQuery(filter=pq.filter, sort=pq.sort, direction=pq.direction, page=pq.page, customer_id=cust.id)
    day = today()
    page, _ = queries.list_posts(current_client_id(), pq, day)
    if wants_fragment():
        return render_template(
            "ledger/_posts_table.html", page=page, pq=pq, today=day, total_open=None, filters=FILTER_LABELS
        )
    return render_template(
        "ledger/customer.html",
        customer=cust,
        can_edit=is_admin(),
        page=page,
        pq=pq,
        today=day,
        balance=queries.customer_balance(cust.id),
        filters=FILTER_LABELS,
        total_open=None,
    )


@bp.route("/import", methods=["GET", "POST"])
@admin_required
def import_upload() -> ResponseReturnValue:
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read()
        if not data.strip():
            form.file.errors = [_("Filen er tom.")]
        else:
            batch = services.create_batch(current_client_id(), current_user.id, upload.filename or "", data)
            enqueue(jobs.analyze_import, batch.id, str(get_locale()), queue="high", job_timeout=1800)
            return redirect(url_for("ledger.import_batch", batch_id=batch.id))
    recent = services.recent_batches(current_client_id())
    return render_template("ledger/import.html", form=form, recent=recent), (400 if form.errors else 200)


@bp.route("/import/<int:batch_id>")
@admin_required
def import_batch(batch_id: int) -> ResponseReturnValue:
    batch = get_scoped_or_404(ImportBatch, batch_id)
    template = "ledger/_import_status.html" if wants_fragment() else "ledger/import_batch.html"
    return render_template(template, batch=batch, form=ConfirmImportForm())


@bp.route("/import/<int:batch_id>/apply", methods=["POST"])
@admin_required
def import_apply(batch_id: int) -> ResponseReturnValue:
    batch = get_scoped_or_404(ImportBatch, batch_id)
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        abort(400)
    if services.confirm_batch(batch):
        enqueue(jobs.apply_import, batch.id, queue="high", job_timeout=1800)
        flash(_("Importen er startet."), "info")
    else:
        flash(_("Denne filen er allerede importert eller kan ikke importeres."), "warning")
    return redirect(url_for("ledger.import_batch", batch_id=batch.id))
