"""Logging in with a lockout against guessing, and creating users and firms."""

from __future__ import annotations

import functools
import secrets
from datetime import timedelta

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from svea_web.accounts.models import ROLES, Client, Membership, User
from svea_web.extensions import db
from svea_web.models_base import utcnow

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)


class LoginRefused(Exception):
    pass


def authenticate(email: str, password: str) -> User:
    """Return the user, or raise LoginRefused with a message safe to show (no hint which part was wrong)."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    now = utcnow()
    if user is not None and user.locked_until and user.locked_until > now:
        raise LoginRefused("locked")
    # Check a password even for an unknown e-mail, so the answer's speed does not tell which exist.
    password_ok = user.check_password(password) if user is not None else _check_decoy(password)
    if user is None or not user.active or not password_ok:
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILED_LOGINS:
                user.locked_until = now + LOCKOUT
                user.failed_logins = 0
            db.session.commit()
        raise LoginRefused("invalid")
    user.failed_logins = 0
    user.locked_until = None
    db.session.commit()
    return user


@functools.cache
def _decoy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16), method="scrypt")


def _check_decoy(password: str) -> bool:
    check_password_hash(_decoy_hash(), password)
    return False


def create_user(email: str, name: str, password: str) -> User:
    user = User(email=email.strip().lower(), name=name)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def create_client(name: str, org_no: str | None = None, **fields: str | None) -> Client:
    client = Client(name=name, org_no=org_no, **fields)
    db.session.add(client)
    db.session.flush()
    return client


def add_member(user: User, client: Client, role: str) -> Membership:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    membership = Membership(user=user, client=client, role=role)
    db.session.add(membership)
    db.session.flush()
    return membership


def log_out_everywhere(user: User) -> None:
    """A new session token makes every remembered session of the user invalid."""
    user.session_token = secrets.token_hex(16)
    db.session.commit()
