"""Where a form's ``next`` may send the user after an action: only to a path on this site."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request


def local_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site ("/dunning/?page=2"), else None.

    Refused besides absolute URLs and scheme-relative "//host": a backslash or a control character
    anywhere, because browsers read "\\" as "/" and drop tabs and newlines, so "/\\host" and
    "/<tab>/host" would lead to another site.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def referrer_path() -> str | None:
    """The page the request came from, as a path, if it is a page of this site; else None.

    A Referer header is whatever the client sent, so "back to where you were" goes through the same check.
    """
    if not request.referrer:
        return None
    parts = urlsplit(request.referrer)
    if parts.scheme not in ("http", "https") or parts.netloc != request.host:
        return None
    return local_path((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
