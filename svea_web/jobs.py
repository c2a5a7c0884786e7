"""RQ job functions. Each is a doorway: it takes ids, calls one service, and is safe to run twice.

Jobs run inside an app context: the worker pushes one (worker.py), and in tests the queue runs jobs
inline in the test's context.
"""

from __future__ import annotations

from contextlib import nullcontext

from flask_babel import force_locale

from svea_web.ledger import services as ledger_services


def analyze_import(batch_id: int, locale: str | None = None) -> None:
    # The bad rows' reasons are kept with the batch in the language of the user who uploaded the file.
    with force_locale(locale) if locale else nullcontext():
        ledger_services.analyze_batch(batch_id)


def apply_import(batch_id: int) -> None:
    ledger_services.apply_batch(batch_id)
