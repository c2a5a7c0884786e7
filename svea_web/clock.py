"""The app's notion of today: Oslo's date, or a pinned date (LEDGER_TODAY) for tests and benchmarks."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app

OSLO = ZoneInfo("Europe/Oslo")


def today() -> date:
    pinned = current_app.config.get("LEDGER_TODAY")
    if pinned:
        return pinned if isinstance(pinned, date) else date.fromisoformat(str(pinned))
    return datetime.now(OSLO).date()
