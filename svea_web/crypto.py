"""Secrets at rest (Svea and SMTP passwords): Fernet with key rotation through MultiFernet."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class SecretUnreadable(Exception):
    """The stored secret was encrypted with a key this deployment no longer has."""


def _fernet() -> MultiFernet:
    keys = [k.strip() for k in current_app.config["ENCRYPTION_KEYS"].split(",") if k.strip()]
    return MultiFernet([Fernet(k.encode()) for k in keys])


def encrypt_secret(plain: str) -> str:
    return _fernet().encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt_secret(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise SecretUnreadable("stored secret cannot be decrypted with the configured keys") from exc


def rotate_secret(token: str) -> str:
    """Re-encrypt under the first (newest) key."""
    return _fernet().rotate(token.encode("ascii")).decode("ascii")
