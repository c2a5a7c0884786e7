"""Innstillinger: Firma, Svea (Bestill Svea tilgang, Oppsett Svea), Purre/rente, Satser.

Pages render for every member of the firm; changes are for its administrators. The settings forms
post normally (redirect after success); the dialog, the order status, Test connection and the KID
check are HTMX fragments of the same views.
"""

from __future__ import annotations

import secrets
from typing import Any

import click
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from svea_web.accounts.models import Client
from svea_web.htmx_utils import wants_fragment
from svea_web.mail import services as mail_services
from svea_web.redirects import referrer_path
from svea_web.rules.kid import KID_MAX_LENGTH, KID_MIN_LENGTH
from svea_web.setup import services
from svea_web.setup.forms import (
    AccessOrderForm,
    ActionForm,
    AddressChangeForm,
    DunningSettingsForm,
    FigureAddForm,
    FigureEditForm,
    FirmForm,
    FixForm,
    SveaSettingsForm,
)
from svea_web.tenancy import (
    admin_required,
    client_required,
    current_client,
    current_client_id,
    is_admin,
    is_operator,
    operator_required,
)

bp = Blueprint("setup", __name__, cli_group="setup")

TABS = (
    ("setup.index", _l("Firma")),
    ("setup.svea", _l("Svea")),
    ("setup.dunning", _l("Purre/rente")),
    ("setup.figures", _l("Satser")),
)


def _page(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    """The tab's content alone for an HTMX tab switch, else the whole page around it."""
    layout = "setup/_frame_fragment.html" if wants_fragment() else "setup/_frame_page.html"
    return render_template(template, layout=layout, tabs=TABS, can_edit=is_admin(), **context), status


def _user_id() -> int | None:
    return int(current_user.id) if current_user.is_authenticated else None


def _firm_form(client: Client) -> FirmForm:
    return FirmForm(
        data={
            "name": client.name,
            "org_no": client.org_no,
            "address": client.address,
            "postcode": client.postcode,
            "city": client.city,
            "email": client.email,
            "phone": client.phone,
        }
    )


# --- Firma ----------------------------------------------------------------------------------------


@bp.route("/", methods=["GET", "POST"])
@client_required
def index() -> ResponseReturnValue:
    client = current_client()
    form = FirmForm() if request.method == "POST" else _firm_form(client)
    if request.method == "POST":
        if not is_admin():
            abort(403)
        if form.validate_on_submit():
            firm = services.FirmDetails(
                form.name.data, form.org_no.data, form.address.data, form.postcode.data, form.city.data
            )
            if services.save_firm_details(client.id, _user_id(), firm, form.email.data or "", form.phone.data or ""):
                flash(_("Firmaadressen er endret. Svea Finans må få den nye adressen – send den nedenfor."), "warning")
            else:
                flash(_("Firmaopplysningene er lagret."), "success")
            return redirect(url_for("setup.index"))
    settings = services.svea_settings(client.id)
    return _page(
        "setup/firm.html",
        400 if form.errors else 200,
        title=_("Firma"),
        form=form,
        settings=settings,
        has_agreement=services.has_agreement(settings),
    )


# --- Svea -----------------------------------------------------------------------------------------


def _svea_context(client_id: int, form: SveaSettingsForm | None = None) -> dict[str, Any]:
    settings = services.svea_settings(client_id)
    if form is None:
        form = SveaSettingsForm(
            password_stored=bool(settings.password_encrypted),
            data={
                "customer_no": settings.customer_no,
                "username": settings.username,
                "handover_level": settings.handover_level,
                "kid_length": settings.kid_length,
                "group_by_customer": settings.group_by_customer,
            },
        )
    kid_length = settings.kid_length
    if isinstance(form.kid_length.data, int) and KID_MIN_LENGTH <= form.kid_length.data <= KID_MAX_LENGTH:
        kid_length = form.kid_length.data
    return {
        "title": _("Svea"),
        "settings": settings,
        "form": form,
        "has_agreement": services.has_agreement(settings),
        "problems": services.setup_problems(client_id),
        "fixable": bool(services.consistency_problems(settings, services.dunning_settings(client_id))),
        "recommendations": services.recommendations(settings),
        "kid": services.kid_report(client_id, kid_length),
        "orders": services.recent_orders(client_id),
        "mail_services": mail_services,
        "action_form": ActionForm(),
        "agency_email": services.agency_email(),
    }


@bp.route("/svea", methods=["GET", "POST"])
@client_required
def svea() -> ResponseReturnValue:
    client_id = current_client_id()
    if request.method == "GET":
        return _page("setup/svea.html", **_svea_context(client_id))
    if not is_admin():
        abort(403)
    settings = services.svea_settings(client_id)
    form = SveaSettingsForm(password_stored=bool(settings.password_encrypted))
    if not form.validate_on_submit():
        return _page("setup/svea.html", 400, **_svea_context(client_id, form))
    services.save_svea_settings(
        client_id,
        _user_id(),
        services.SveaSettingsInput(
            customer_no=form.customer_no.data,
            username=form.username.data,
            new_password=form.password.data or None,
            handover_level=form.handover_level.data,
            kid_length=form.kid_length.data,
            group_by_customer=bool(form.group_by_customer.data),
        ),
    )
    flash(_("Oppsett Svea er lagret."), "success")
    report = services.kid_report(client_id, form.kid_length.data)
    if report.too_long:
        flash(
            ngettext(
                "%(num)s post har KID lengre enn %(len)s siffer og kan ikke sendes til Svea slik.",
                "%(num)s poster har KID lengre enn %(len)s siffer og kan ikke sendes til Svea slik.",
                report.too_long,
                len=report.kid_length,
            ),
            "warning",
        )
    return redirect(url_for("setup.svea"))


@bp.route("/svea/kid-check")
@client_required
def kid_check() -> ResponseReturnValue:
    try:
        kid_length = int(request.args.get("kid_length", ""))
    except ValueError:
        kid_length = 0
    if not KID_MIN_LENGTH <= kid_length <= KID_MAX_LENGTH:
        return render_template("setup/_kid_check.html", kid=None)
    return render_template("setup/_kid_check.html", kid=services.kid_report(current_client_id(), kid_length))


@bp.route("/svea/test", methods=["POST"])
@admin_required
def test_connection() -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    result = services.check_connection(current_client_id())
    if wants_fragment():
        return render_template("setup/_test_result.html", result=result)
    flash(result.message + (f" ({result.detail})" if result.detail else ""), "success" if result.ok else "error")
    return redirect(url_for("setup.svea"))


def _orders_fragment() -> ResponseReturnValue:
    return render_template(
        "setup/_orders.html",
        orders=services.recent_orders(current_client_id()),
        mail_services=mail_services,
        action_form=ActionForm(),
        can_edit=is_admin(),
    )


@bp.route("/svea/orders")
@client_required
def orders() -> ResponseReturnValue:
    if not wants_fragment():
        return redirect(url_for("setup.svea"))
    return _orders_fragment()


@bp.route("/svea/orders/<int:order_id>/resend", methods=["POST"])
@admin_required
def resend_order(order_id: int) -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.resend_order(current_client_id(), order_id)
    except LookupError:
        abort(404)
    except mail_services.MailNotResendable:
        flash(_("E-posten er allerede sendt eller på vei, og sendes ikke på nytt."), "warning")
    if wants_fragment():
        return _orders_fragment()
    return redirect(url_for("setup.svea"))


def _order_form_for(client: Client) -> AccessOrderForm:
    contact = services.last_contact(client.id)
    return AccessOrderForm(
        data={
            "request_token": secrets.token_urlsafe(24),
            "name": client.name,
            "org_no": client.org_no,
            "address": client.address,
            "postcode": client.postcode,
            "city": client.city,
            "contact_name": contact.name if contact else current_user.name,
            "contact_email": contact.email if contact else current_user.email,
            "contact_phone": contact.phone if contact else client.phone,
        }
    )


def _agreement_fragment(dialog: str | None = None, **dialog_context: Any) -> ResponseReturnValue:
    client_id = current_client_id()
    settings = services.svea_settings(client_id)
    return render_template(
        "setup/_agreement.html",
        settings=settings,
        has_agreement=services.has_agreement(settings),
        orders=services.recent_orders(client_id),
        mail_services=mail_services,
        action_form=ActionForm(),
        agency_email=services.agency_email(),
        can_edit=True,
        dialog=dialog,
        **dialog_context,
    )


@bp.route("/svea/order", methods=["GET", "POST"])
@admin_required
def order() -> ResponseReturnValue:
    client = current_client()
    if request.method == "GET":
        form = _order_form_for(client)
        if wants_fragment():
            return render_template("setup/_order_dialog.html", order_form=form, agency_email=services.agency_email())
        return _page("setup/order.html", title=_("Bestill Svea tilgang"), order_form=form)
    form = AccessOrderForm()
    if not form.validate_on_submit():
        if wants_fragment():
            # htmx swaps 2xx answers only: the dialog comes back with its errors.
            return _agreement_fragment("setup/_order_dialog.html", order_form=form)
        return _page("setup/order.html", 400, title=_("Bestill Svea tilgang"), order_form=form)
    _order, created = services.place_access_order(
        client.id,
        _user_id(),
        services.FirmDetails(form.name.data, form.org_no.data, form.address.data, form.postcode.data, form.city.data),
        services.ContactPerson(form.contact_name.data, form.contact_email.data, form.contact_phone.data),
        form.request_token.data,
    )
    if created:
        flash(_("Bestillingen er lagret, og e-posten til Svea Finans er på vei."), "success")
    if wants_fragment():
        return _agreement_fragment()
    return redirect(url_for("setup.svea"))


@bp.route("/svea/address-change", methods=["GET", "POST"])
@admin_required
def address_change() -> ResponseReturnValue:
    client = current_client()
    if request.method == "GET":
        contact = services.last_contact(client.id)
        form = AddressChangeForm(
            data={
                "request_token": secrets.token_urlsafe(24),
                "contact_name": contact.name if contact else current_user.name,
                "contact_email": contact.email if contact else current_user.email,
                "contact_phone": contact.phone if contact else client.phone,
            }
        )
        if wants_fragment():
            return render_template("setup/_address_dialog.html", address_form=form, client=client)
        return _page("setup/address_change.html", title=_("Ny adresse til Svea"), address_form=form, client=client)
    form = AddressChangeForm()
    if not form.validate_on_submit():
        if wants_fragment():
            return _agreement_fragment("setup/_address_dialog.html", address_form=form, client=client)
        return _page("setup/address_change.html", 400, title=_("Ny adresse til Svea"), address_form=form, client=client)
    _order, created = services.send_address_change(
        client.id,
        _user_id(),
        services.ContactPerson(form.contact_name.data, form.contact_email.data, form.contact_phone.data),
        form.request_token.data,
    )
    if created:
        flash(_("Den nye adressen sendes til Svea Finans."), "success")
    if wants_fragment():
        return _agreement_fragment()
    return redirect(url_for("setup.svea"))


@bp.route("/svea/address-change/dismiss", methods=["POST"])
@admin_required
def dismiss_address_notice() -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    services.dismiss_address_notice(current_client_id(), _user_id())
    return redirect(referrer_path() or url_for("setup.svea"))


# --- Purre/rente ------------------------------------------------------------------------------------


@bp.route("/dunning", methods=["GET", "POST"])
@client_required
def dunning() -> ResponseReturnValue:
    client_id = current_client_id()
    settings = services.dunning_settings(client_id)
    if request.method == "POST":
        if not is_admin():
            abort(403)
        form = DunningSettingsForm()
        if form.validate_on_submit():
            assert form.min_amount.data is not None  # InputRequired: the amount parsed
            services.save_dunning_settings(
                client_id,
                _user_id(),
                services.DunningSettingsInput(
                    in_app_steps=form.in_app_steps.data,
                    days_between=form.days_between.data,
                    fee_enabled=bool(form.fee_enabled.data),
                    interest_enabled=bool(form.interest_enabled.data),
                    notice_enabled=bool(form.notice_enabled.data),
                    min_amount=form.min_amount.data,
                    offer_after_days=form.offer_after_days.data,
                ),
            )
            flash(_("Oppsett purre/rente er lagret."), "success")
            return redirect(url_for("setup.dunning"))
    else:
        form = DunningSettingsForm(obj=settings)
    problems = services.consistency_problems(services.svea_settings(client_id), settings)
    return _page(
        "setup/dunning.html",
        400 if form.errors else 200,
        title=_("Purre/rente"),
        form=form,
        svea=services.svea_settings(client_id),
        problems=problems,
        fixable=bool(problems),
    )


@bp.route("/fix", methods=["POST"])
@admin_required
def fix() -> ResponseReturnValue:
    form = FixForm()
    if not form.validate_on_submit():
        abort(400)
    services.fix_consistency(current_client_id(), _user_id(), form.how.data)
    flash(_("Oppsettet er rettet."), "success")
    return redirect(url_for("setup.svea" if form.back.data == "svea" else "setup.dunning"))


# --- Satser -----------------------------------------------------------------------------------------


def _figures_context(add_forms: dict[str, FigureAddForm] | None = None) -> dict[str, Any]:
    add_forms = add_forms or {}
    return {
        "title": _("Satser"),
        "tables": [
            (kind, FIGURE_LABELS[kind], services.figure_rows(kind), add_forms.get(kind) or FigureAddForm(prefix=kind))
            for kind in services.FIGURE_KINDS
        ],
        "action_form": ActionForm(),
        "can_edit_figures": is_operator(),
    }


FIGURE_LABELS = {
    "reminder_fees": _l("Purregebyr og gebyr for inkassovarsel (kr)"),
    "payment_demand_fees": _l("Gebyr for betalingsoppfordring (kr)"),
    "late_interest_rates": _l("Forsinkelsesrente (% per år)"),
    "company_compensation": _l("Standardkompensasjon for næringsdrivende (kr)"),
}


@bp.route("/figures")
@client_required
def figures() -> ResponseReturnValue:
    context = _figures_context()
    return _page("setup/figures.html", **context)


@bp.route("/figures/<kind>/add", methods=["POST"])
@operator_required
def add_figure(kind: str) -> ResponseReturnValue:
    if kind not in services.FIGURE_KINDS:
        abort(404)
    form = FigureAddForm(prefix=kind)
    if form.validate_on_submit():
        assert form.valid_from.data is not None and form.value.data is not None
        try:
            services.add_figure(kind, form.valid_from.data, form.value.data, _user_id(), current_client_id())
        except services.FigureError as error:
            form.valid_from.errors = [str(error)]
        else:
            flash(_("Satsen er lagt til."), "success")
            return redirect(url_for("setup.figures"))
    return _page("setup/figures.html", 400, **_figures_context({kind: form}))


@bp.route("/figures/row/<int:row_id>", methods=["POST"])
@operator_required
def update_figure(row_id: int) -> ResponseReturnValue:
    form = FigureEditForm()
    if not form.validate_on_submit():
        flash(_("Satsen ble ikke endret: %(e)s", e="; ".join(str(e) for e in form.value.errors)), "error")
        return redirect(url_for("setup.figures")), 303
    assert form.value.data is not None
    try:
        services.update_figure(row_id, form.value.data, _user_id(), current_client_id())
    except LookupError:
        abort(404)
    flash(_("Satsen er endret."), "success")
    return redirect(url_for("setup.figures"))


@bp.route("/figures/row/<int:row_id>/confirm", methods=["POST"])
@operator_required
def confirm_figure(row_id: int) -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.confirm_figure(row_id, _user_id(), current_client_id())
    except LookupError:
        abort(404)
    flash(_("Satsen er bekreftet."), "success")
    return redirect(url_for("setup.figures"))


@bp.route("/figures/row/<int:row_id>/delete", methods=["POST"])
@operator_required
def delete_figure(row_id: int) -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.delete_figure(row_id, _user_id(), current_client_id())
    except LookupError:
        abort(404)
    except services.FigureError as error:
        flash(str(error), "error")
    else:
        flash(_("Satsen er slettet."), "success")
    return redirect(url_for("setup.figures"))


# --- command line -------------------------------------------------------------------------------------


@bp.cli.command("rotate-secrets")
def rotate_secrets_command() -> None:
    """Re-encrypt stored Svea passwords under the first key of SVEA_WEB_ENCRYPTION_KEYS."""
    count = services.rotate_secrets()
    click.echo(f"re-encrypted {count} stored password(s) under the newest key")
