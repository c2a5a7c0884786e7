"""The current client firm: every query of firm data goes through here, so another firm's id is a 404."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g, session
from flask_login import current_user
from sqlalchemy import Select, select

from svea_web.accounts.models import Client, Membership
from svea_web.extensions import db

M = TypeVar("M")
F = TypeVar("F", bound=Callable[..., Any])


def load_current_client() -> None:
    """Pick the firm for this request: the one in the session if the user belongs to it, else the first."""
    g.client = None
    g.membership = None
    g.memberships = []
    if not current_user.is_authenticated:
        return
    memberships = db.session.scalars(
        select(Membership).where(Membership.user_id == current_user.id).join(Membership.client).order_by(Client.name)
    ).all()
    g.memberships = memberships
    if not memberships:
        return
    wanted = session.get("client_id")
    chosen = next((m for m in memberships if m.client_id == wanted), memberships[0])
    session["client_id"] = chosen.client_id
    g.membership = chosen
    g.client = chosen.client


def current_client() -> Client:
    client = g.get("client")
    if client is None:
        abort(403)
    return client


def current_client_id() -> int:
    return current_client().id


def is_admin() -> bool:
    membership = g.get("membership")
    return bool(membership and membership.is_admin)


def scoped(model: type[M]) -> Select[Any]:
    """``select(model)`` limited to the current client firm."""
    return select(model).where(model.client_id == current_client_id())  # type: ignore[attr-defined]


def get_scoped_or_404(model: type[M], object_id: int) -> M:
    obj = db.session.scalar(scoped(model).where(model.id == object_id))  # type: ignore[attr-defined]
    if obj is None:
        abort(404)
    return obj


def is_operator() -> bool:
    return bool(current_user.is_authenticated and current_user.is_operator)


def operator_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not is_operator():
            abort(403)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def client_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        current_client()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def admin_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        current_client()
        if not is_admin():
            abort(403)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
