"""A Svea Finans sandbox: the collection agency's side of the protocol, for demos and tests.

A separate system from the app: it imports nothing of svea_web outside this package and keeps its own
database. Run it with `flask --app svea_web.sandbox run -p 5001` or `svea-sandbox --demo`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from svea_web.sandbox.demo import DEMO_CREDITOR

__all__ = ["DEFAULTS", "DEMO_CREDITOR", "create_app", "settings_from_environment"]

DEFAULTS: dict[str, Any] = {
    "SANDBOX_DB": None,  # an SQLite file path, or ":memory:"; None means instance/svea-sandbox.sqlite
    "SANDBOX_DEMO": False,  # seed the demo creditor (and enable the admin endpoints)
    "TEST_MODE": False,  # enable /sandbox/admin: clock, faults, debtor payments, seeding
    "CONFIRM_DELAY_SECONDS": 300,  # the agency confirms a submission "after about 5 minutes"
    "REPLY_DELAY_SECONDS": 120,
    "FIRST_LETTER_DELAY_SECONDS": 3600,  # the first letter goes out with the next print run
    "RANDOM_PAYMENTS_SEED": None,  # an int: debtors pay at random after letters (demo mode)
    "RANDOM_PAYMENT_PROBABILITY": 0.3,
}

_FLAGS = ("SANDBOX_DEMO", "TEST_MODE")
_NUMBERS = ("CONFIRM_DELAY_SECONDS", "REPLY_DELAY_SECONDS", "FIRST_LETTER_DELAY_SECONDS", "RANDOM_PAYMENT_PROBABILITY")


def settings_from_environment() -> dict[str, Any]:
    """Settings from SANDBOX_* variables (SANDBOX_DB, SANDBOX_DEMO, SANDBOX_TEST_MODE, ...)."""
    settings: dict[str, Any] = {}
    for key in DEFAULTS:
        raw = os.environ.get(key if key.startswith("SANDBOX_") else f"SANDBOX_{key}")
        if raw is None or raw == "":
            continue
        if key in _FLAGS:
            settings[key] = raw.lower() in ("1", "true", "yes", "on")
        elif key in _NUMBERS:
            settings[key] = float(raw)
        elif key == "RANDOM_PAYMENTS_SEED":
            settings[key] = int(raw)
        else:
            settings[key] = raw
    return settings


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The sandbox app. With `config`, exactly those settings over the defaults; without, the environment's."""
    from svea_web.sandbox import admin, api, web
    from svea_web.sandbox.runtime import Sandbox

    app = Flask(__name__)
    app.config.update(DEFAULTS)
    app.config.update(settings_from_environment() if config is None else config)
    # Larger bodies get 413 before anything reads them.
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    if app.config["SANDBOX_DB"] is None:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["SANDBOX_DB"] = str(Path(app.instance_path) / "svea-sandbox.sqlite")

    sandbox = Sandbox(app.config)
    app.extensions["svea_sandbox"] = sandbox
    web.install(app)
    app.register_blueprint(api.bp)
    if app.config["TEST_MODE"] or app.config["SANDBOX_DEMO"]:
        app.register_blueprint(admin.bp)

    sandbox.seed()
    return app
