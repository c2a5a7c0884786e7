"""Purre og inkasso → Inkassosaker: the tabs, the case pane and the case actions (HTTP in, HTML out).

Every tab and the case pane have their own URL: HTMX gets the fragment, a normal request the whole page.
Actions answer a normal form post with a redirect, and an HTMX post with HX-Location to the fragment to
show next, so that the flash and the new state come from one GET («Oppdater nå» answers with the sync
status partial itself, which then polls).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from werkzeug.utils import secure_filename

from svea_web.clock import today
from svea_web.collection import eligibility, queries, services
from svea_web.collection.forms import ActionForm, CloseForm, MessageForm
from svea_web.collection.models import (
    CASE_CLOSED,
    CASE_FAILED,
    CASE_OPEN,
    CASE_PENDING,
    CASE_REJECTED,
    CASE_SUBMITTED,
    CLOSE_FAILED,
    CLOSE_PENDING,
    MESSAGE_FAILED,
    MESSAGE_PENDING,
    SYNC_QUEUED,
    SYNC_RUNNING,
    CaseMessage,
    Dispatch,
    SveaCase,
)
from svea_web.collection.services import CLOSE_REASONS, CollectionError
from svea_web.extensions import db
from svea_web.htmx_utils import wants_fragment
from svea_web.setup.services import setup_problems, svea_client_for
from svea_web.svea import SveaError
from svea_web.tenancy import client_required, current_client_id, get_scoped_or_404

bp = Blueprint("collection", __name__)

TABS = {"new": "collection.tab_new", "open": "collection.tab_open", "archived": "collection.tab_archived"}


@bp.context_processor
def _labels() -> dict[str, Any]:
    # Translated once per page (a template asks for them on every row), in the user's language.
    states = _state_badges()
    statuses = _svea_status_labels()
    reasons = {value: str(label) for value, label in CLOSE_REASONS} | {"PAID_TO_SVEA": _("Betalt til Svea")}
    return {
        "state_badge": lambda state: states.get(state, ("", state)),
        "svea_status_label": lambda status: statuses.get(status or "", status or ""),
        "close_reason_label": lambda reason: reasons.get(reason or "") or statuses.get(reason or "", reason or ""),
    }


def _state_badges() -> dict[str, tuple[str, str]]:
    return {
        CASE_PENDING: ("info", _("Sendes til Svea")),
        CASE_SUBMITTED: ("info", _("Venter på saksnummer")),
        CASE_OPEN: ("ok", _("Åpen")),
        CASE_REJECTED: ("danger", _("Avvist")),
        CASE_FAILED: ("danger", _("Feilet")),
        CASE_CLOSED: ("", _("Avsluttet")),
    }


def _svea_status_labels() -> dict[str, str]:
    return {
        "REGISTERED": _("Registrert"),
        "PURRING": _("Purring"),
        "INKASSOVARSEL": _("Inkassovarsel"),
        "BETALINGSOPPFORDRING": _("Betalingsoppfordring"),
        "RETTSLIG": _("Rettslig inndriving"),
        "PAUSED": _("Pause"),
        "SURVEILLANCE": _("Overvåking"),
        "CLOSED_PAID": _("Avsluttet – betalt"),
        "CLOSED_WITHDRAWN": _("Avsluttet – trukket tilbake"),
        "CLOSED_CREDITED": _("Avsluttet – kreditert"),
        "REJECTED": _("Avvist"),
    }


# --- tabs ----------------------------------------------------------------------------------------------


def _int_arg(name: str, default: int = 1) -> int:
    try:
        return max(1, int(request.args.get(name, default)))
    except ValueError:
        return default


def _tab_args(tab: str) -> dict[str, Any]:
    """The query arguments a tab understands, read from the request (unknown ones dropped)."""
    names = {
        "new": ("page", "batch"),
        "open": ("sort", "dir", "page"),
        "archived": ("q", "sort", "dir", "page"),
    }[tab]
    return {name: request.args[name] for name in names if request.args.get(name)}


def _panel_context(tab: str) -> dict[str, Any]:
    client_id = current_client_id()
    day = today()
    policy = eligibility.policy_for(client_id)
    args = _tab_args(tab)
    sort = args.get("sort", "")
    direction = "desc" if args.get("dir") == "desc" else "asc"
    page_no = _int_arg("page")

    def tab_url(**changes: Any) -> str:
        merged = {**args, **changes}
        return url_for(TABS[tab], **{key: value for key, value in merged.items() if value not in (None, "")})

    counts = queries.tab_counts(client_id)
    context: dict[str, Any] = {
        "tab": tab,
        "tab_url": tab_url,
        "sort": sort,
        "direction": direction,
        "policy": policy,
        "today": day,
        "counts": counts,
        "problems": setup_problems(client_id),
        "action_form": ActionForm(),
    }
    if tab == "new":
        context["page"] = eligibility.list_rows(client_id, policy, day, page_no)
        batch = args.get("batch")
        context["progress"] = services.batch_progress(client_id, batch) if batch else None
        context["batch"] = batch
    elif tab == "open":
        context["page"] = queries.list_open(
            client_id, sort, "desc" if not sort else direction, page_no, total=counts.open
        )
    else:
        q = (args.get("q") or "").strip()[:100]
        context["q"] = q
        context["page"] = queries.list_archived(client_id, q, sort, "desc" if not sort else direction, page_no)
    return context


def _render_tab(tab: str, detail: queries.CaseDetail | None = None) -> ResponseReturnValue:
    if wants_fragment() and detail is None:
        return render_template("collection/_panel.html", **_panel_context(tab))
    # Opening Inkassosaker asks Svea for news: the page POSTs «Oppdater nå» as soon as it has loaded
    # (a GET changes nothing), and shows when the delta poll is done.
    return render_template(
        "collection/index.html",
        **_panel_context(tab),
        sync=services.sync_state(current_client_id()),
        sync_on_load=True,
        detail=detail,
        full_page=True,
        close_reasons=CLOSE_REASONS,
    )


@bp.route("/new/count")
@client_required
def new_count() -> ResponseReturnValue:
    """The Nye saker count for the tab label, fetched by the label itself once the tab is shown."""
    client_id = current_client_id()
    count = eligibility.count_rows(client_id, eligibility.policy_for(client_id), today())
    return render_template("collection/_new_count.html", count=count)


@bp.route("/")
@client_required
def index() -> ResponseReturnValue:
    return _render_tab("new")


@bp.route("/new")
@client_required
def tab_new() -> ResponseReturnValue:
    return _render_tab("new")


@bp.route("/open")
@client_required
def tab_open() -> ResponseReturnValue:
    return _render_tab("open")


@bp.route("/archived")
@client_required
def tab_archived() -> ResponseReturnValue:
    return _render_tab("archived")


def _go(url: str, target: str, swap: str = "outerHTML") -> ResponseReturnValue:
    """After an action: HTMX fetches `url` into `target`; a plain form post is redirected there."""
    if request.headers.get("HX-Request"):
        response = make_response("", 200)
        response.headers["HX-Location"] = json.dumps({"path": url, "target": target, "swap": swap})
        return response
    return redirect(url, 303)


def _queue_down() -> None:
    flash(
        _("Jobbkøen svarer ikke. Det som er lagret, sendes til Svea når køen er tilbake."),
        "warning",
    )


@bp.route("/cases", methods=["POST"])
@client_required
def create_cases() -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        result = services.create_cases(current_client_id(), request.form.getlist("row"), current_user.id)
    except CollectionError as error:
        flash(str(error), "error")
        return _go(url_for("collection.tab_new"), "#collection-panel")
    if not services.start_submissions(result.case_ids):
        _queue_down()
    if result.case_ids:
        flash(
            ngettext(
                "%(num)s sak er opprettet og sendes til Svea.",
                "%(num)s saker er opprettet og sendes til Svea.",
                len(result.case_ids),
            ),
            "success",
        )
    if result.already_in_case:
        flash(
            _(
                "%(n)s poster var allerede lagt i en sak (av deg eller en annen bruker) og ble ikke sendt på nytt.",
                n=result.already_in_case,
            ),
            "warning",
        )
    if result.no_longer_eligible:
        flash(
            _(
                "%(n)s markerte rader er ikke lenger aktuelle (betalt eller allerede sendt).",
                n=result.no_longer_eligible,
            ),
            "warning",
        )
    batch = result.batch_key if result.case_ids else None
    return _go(url_for("collection.tab_new", batch=batch), "#collection-panel")


@bp.route("/batches/<batch_key>")
@client_required
def batch_progress(batch_key: str) -> ResponseReturnValue:
    progress = services.batch_progress(current_client_id(), batch_key)
    if progress is None:
        abort(404)
    response = make_response(render_template("collection/_progress.html", progress=progress, batch=batch_key))
    if request.args.get("watch") and not progress.sending:
        # Sending is over: the tabs' counts and lists change, so they refresh themselves.
        response.headers["HX-Trigger"] = "collection-changed"
    return response


# --- sync ----------------------------------------------------------------------------------------------


def _sync_response(watching: bool) -> Response:
    state = services.sync_state(current_client_id())
    busy = state.status in (SYNC_QUEUED, SYNC_RUNNING)
    response = make_response(render_template("collection/_sync_status.html", sync=state, action_form=ActionForm()))
    if watching and not busy:
        response.headers["HX-Trigger"] = "collection-synced"
    return response


@bp.route("/sync")
@client_required
def sync_status() -> ResponseReturnValue:
    return _sync_response(bool(request.args.get("watch")))


@bp.route("/sync", methods=["POST"])
@client_required
def sync_now() -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    problems = setup_problems(current_client_id())
    if problems:
        flash(" ".join(problems), "error")
    else:
        services.request_sync(current_client_id())
    if not request.headers.get("HX-Request"):
        return redirect(url_for("collection.index"), 303)
    return _sync_response(True)


# --- one case ------------------------------------------------------------------------------------------


def _detail_forms() -> dict[str, Any]:
    return {"close_reasons": CLOSE_REASONS, "today": today()}


def _case_url(case: SveaCase) -> str:
    return url_for("collection.case", case_id=case.id)


@bp.route("/cases/<int:case_id>")
@client_required
def case(case_id: int) -> ResponseReturnValue:
    found = get_scoped_or_404(SveaCase, case_id)
    detail = queries.case_detail(found)
    if wants_fragment():
        response = make_response(render_template("collection/_case.html", detail=detail, **_detail_forms()))
        if request.args.get("watch") and not detail.busy:
            response.headers["HX-Trigger"] = "collection-changed"
        return response
    tab = "archived" if found.state in queries.ARCHIVED_STATES else "open"
    return _render_tab(tab, detail=detail)


@bp.route("/cases/<int:case_id>/jobs")
@client_required
def case_jobs(case_id: int) -> ResponseReturnValue:
    found = get_scoped_or_404(SveaCase, case_id)
    detail = queries.case_detail(found)
    response = make_response(render_template("collection/_case_jobs.html", detail=detail))
    if not detail.busy:
        # The job is done: the case pane and the lists show its outcome.
        response.headers["HX-Trigger"] = "case-changed, collection-changed"
    return response


def _act(case: SveaCase, action: Callable[[], bool], done: str) -> ResponseReturnValue:
    """Run a case action (it commits and starts its job); errors become a flash saying what to do."""
    try:
        started = action()
    except CollectionError as error:
        flash(str(error), "error")
    else:
        if started:
            flash(done, "info")
        else:
            _queue_down()
    return _go(_case_url(case), "#case-detail", "innerHTML")


@bp.route("/cases/<int:case_id>/retry", methods=["POST"])
@client_required
def retry_case(case_id: int) -> ResponseReturnValue:
    found = get_scoped_or_404(SveaCase, case_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _act(found, lambda: services.retry_case(found, current_user.id), _("Saken sendes til Svea på nytt."))


@bp.route("/cases/<int:case_id>/messages", methods=["POST"])
@client_required
def send_message(case_id: int) -> ResponseReturnValue:
    found = get_scoped_or_404(SveaCase, case_id)
    form = MessageForm()
    if not form.validate_on_submit():
        flash(" ".join(str(e) for e in form.text.errors) or _("Meldingen kunne ikke sendes."), "error")
        return _go(_case_url(found), "#case-detail", "innerHTML")
    text = form.text.data or ""
    return _act(
        found,
        lambda: services.post_message(found, text, current_user.id, current_user.name),
        _("Meldingen sendes til saksbehandler hos Svea."),
    )


@bp.route("/messages/<int:message_id>/retry", methods=["POST"])
@client_required
def retry_message(message_id: int) -> ResponseReturnValue:
    message = db.get_or_404(CaseMessage, message_id)
    found = get_scoped_or_404(SveaCase, message.case_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _act(found, lambda: services.retry_message(message, current_user.id), _("Meldingen sendes på nytt."))


@bp.route("/cases/<int:case_id>/close", methods=["POST"])
@client_required
def close_case(case_id: int) -> ResponseReturnValue:
    found = get_scoped_or_404(SveaCase, case_id)
    form = CloseForm()
    if not form.validate_on_submit():
        flash(_("Velg en årsak."), "error")
        return _go(_case_url(found), "#case-detail", "innerHTML")
    reason = form.reason.data or ""
    return _act(
        found, lambda: services.request_close(found, reason, current_user.id), _("Avslutningen sendes til Svea.")
    )


@bp.route("/cases/<int:case_id>/close/retry", methods=["POST"])
@client_required
def retry_close(case_id: int) -> ResponseReturnValue:
    found = get_scoped_or_404(SveaCase, case_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _act(found, lambda: services.retry_close(found, current_user.id), _("Avslutningen sendes til Svea på nytt."))


@bp.route("/cases/<int:case_id>/dispatches/<int:dispatch_id>.pdf")
@client_required
def dispatch_pdf(case_id: int, dispatch_id: int) -> ResponseReturnValue:
    found = get_scoped_or_404(SveaCase, case_id)
    letter = db.first_or_404(select(Dispatch).where(Dispatch.id == dispatch_id, Dispatch.case_id == found.id))
    if not found.case_number or setup_problems(found.client_id):
        abort(404)
    try:
        with svea_client_for(found.client_id) as svea:
            pdf = svea.get_dispatch_pdf(found.case_number, int(letter.external_id))
    except SveaError as error:
        return render_template("collection/letter_error.html", case=found, error=error.message), 502
    response = make_response(pdf)
    response.headers["Content-Type"] = "application/pdf"
    # The name is made of Svea's case number and letter id: cut down to plain characters, so that a
    # hostile value can neither add header parameters or lines nor name a path on the user's disk.
    name = secure_filename(f"{found.case_number}-{letter.external_id}") or "brev"
    response.headers["Content-Disposition"] = f'inline; filename="{name}.pdf"'
    return response


# The states a template may compare with, by name.
TEMPLATE_CONSTANTS = {
    "CASE_PENDING": CASE_PENDING,
    "CASE_SUBMITTED": CASE_SUBMITTED,
    "CASE_OPEN": CASE_OPEN,
    "CASE_REJECTED": CASE_REJECTED,
    "CASE_FAILED": CASE_FAILED,
    "CASE_CLOSED": CASE_CLOSED,
    "CLOSE_PENDING": CLOSE_PENDING,
    "CLOSE_FAILED": CLOSE_FAILED,
    "MESSAGE_PENDING": MESSAGE_PENDING,
    "MESSAGE_FAILED": MESSAGE_FAILED,
}


@bp.context_processor
def _constants() -> dict[str, Any]:
    return TEMPLATE_CONSTANTS
