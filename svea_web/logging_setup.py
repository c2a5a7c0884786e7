"""Structured logs: one JSON object a line, with the client firm, case and job ids when known."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, has_request_context

# Fødselsnummer (11 digits) is masked wherever it might slip into a message.
_NATIONAL_ID = re.compile(r"(?<!\d)(\d{6})\d{5}(?!\d)")
_CONTEXT_FIELDS = ("client_id", "case_id", "job_id", "customer_id", "batch_id", "reason", "status")


def mask_personal_ids(text: str) -> str:
    return _NATIONAL_ID.sub(r"\1*****", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": mask_personal_ids(record.getMessage()),
        }
        for field in _CONTEXT_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        if "client_id" not in entry and has_request_context():
            client = g.get("client")
            if client is not None:
                entry["client_id"] = client.id
        if record.exc_info:
            entry["exc"] = mask_personal_ids(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(app: Flask) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        root.addHandler(handler)
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    for noisy in ("alembic", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    app.logger.handlers.clear()
    app.logger.propagate = True
