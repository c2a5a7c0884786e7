from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Response

from svea_web.accounts import services
from svea_web.accounts.forms import LoginForm, SwitchClientForm
from svea_web.extensions import limiter
from svea_web.redirects import local_path, referrer_path

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths; anything else goes to the start page."""
    return local_path(target) or url_for("main.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data or "", form.password.data or "")
        except services.LoginRefused as refused:
            current_app.logger.warning("login refused", extra={"reason": str(refused)})
            if str(refused) == "locked":
                flash(_("For mange mislykkede forsøk. Kontoen er låst i 15 minutter."), "error")
            else:
                flash(_("Feil e-post eller passord."), "error")
            return render_template("accounts/login.html", form=form), 401
        session.clear()
        login_user(user)
        session.permanent = True
        return redirect(_safe_next(form.next.data))
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    services.log_out_everywhere(current_user._get_current_object())
    logout_user()
    session.clear()
    flash(_("Du er logget ut."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/client/switch", methods=["POST"])
@login_required
def switch_client() -> Response:
    form = SwitchClientForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        wanted = int(form.client_id.data or "")
    except ValueError:
        abort(400)
    if not any(m.client_id == wanted for m in g.memberships):
        abort(404)
    session["client_id"] = wanted
    return redirect(_same_page_in_another_firm() or url_for("main.index"))


def _same_page_in_another_firm() -> str | None:
    """The page the switch was made from, as far as it is not about one firm's own records: its path up to
    the first id (/ledger/customers/12 → /ledger/customers), without the query (it may name records too),
    if that is a page of the app; else None."""
    path = (referrer_path() or "").split("?", 1)[0]
    kept: list[str] = []
    for part in path.split("/")[1:]:
        if part.isdigit():
            break
        kept.append(part)
    target = "/" + "/".join(kept)
    if not path or target == "/":
        return None
    try:
        current_app.url_map.bind("localhost").match(target, method="GET")
    except RequestRedirect as moved:  # /payments → /payments/
        return urlsplit(moved.new_url).path
    except HTTPException:
        return None
    return target
