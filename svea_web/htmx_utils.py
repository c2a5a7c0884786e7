"""One view serves the whole page or, for an HTMX request, only the fragment."""

from __future__ import annotations

from svea_web.extensions import htmx


def wants_fragment() -> bool:
    """True for HTMX swaps; a boosted link or a history restore needs the whole page."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request
