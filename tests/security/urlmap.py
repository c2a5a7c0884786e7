"""Walking the app's URL map: every rule, every method, its URL parts filled with one firm's ids.

A URL part is filled by its name. When a page is added with a part this module does not know, the
walkers fail and name the rule: add the part to the right table below (and, for a new model, a
builder in world.py), so that the new page is checked like the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import Flask
from werkzeug.routing import Rule

from svea_web.collection.models import CaseMessage, Dispatch, SveaCase
from svea_web.dunning.models import ReminderLetter, ReminderRun
from svea_web.ledger.models import Customer, CustomerPost, ImportBatch
from svea_web.mail.models import MailAttachment, OutgoingMail
from svea_web.payments.models import Payment, PaymentImport, Settlement
from svea_web.setup.models import AccessOrder, FigureRow

from .world import FirmWorld

# An id of one firm's row: another firm's session must get 404/403 for it, never the row.
FIRM_ID_PARTS: dict[str, type] = {
    "customer_id": Customer,
    "post_id": CustomerPost,
    "batch_id": ImportBatch,
    "case_id": SveaCase,
    "dispatch_id": Dispatch,
    "message_id": CaseMessage,
    "run_id": ReminderRun,
    "letter_id": ReminderLetter,
    "mail_id": OutgoingMail,
    "attachment_id": MailAttachment,
    "payment_id": Payment,
    "import_id": PaymentImport,
    "settlement_id": Settlement,
    "order_id": AccessOrder,
}

# A firm's value that is not a row id: a job group, an RQ job, the batch key of a bulk submission.
FIRM_STRING_PARTS: dict[str, str] = {
    "group_id": "group_id",
    "job_id": "job_id",
    "batch_key": "batch_key",
}

# Rows every firm shares (the law's fee and interest tables): the same id for both firms.
SHARED_ID_PARTS: dict[str, type] = {"row_id": FigureRow}

# Parts that name no firm's data.
FIXED_PARTS: dict[str, Any] = {
    "kind": "reminder_fees",  # a figure table
    "lang": "nb",
    "filename": "css/app.css",
    # rq-dashboard's own URL parts
    "instance_number": 0,
    "queue_name": "high",
    "registry_name": "finished",
    "per_page": "10",
    "order": "asc",
    "page": "1",
}

IGNORED_METHODS = {"HEAD", "OPTIONS"}
STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")


def rules(app: Flask) -> list[Rule]:
    return sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))


def methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - IGNORED_METHODS)


def unknown_parts(app: Flask) -> list[str]:
    """Every URL part of the map that no table above knows, as 'rule: part'."""
    known = set(FIRM_ID_PARTS) | set(FIRM_STRING_PARTS) | set(SHARED_ID_PARTS) | set(FIXED_PARTS)
    return [f"{rule.rule}: {name}" for rule in rules(app) for name in rule.arguments if name not in known]


def firm_parts(rule: Rule) -> list[str]:
    return [name for name in sorted(rule.arguments) if name in FIRM_ID_PARTS or name in FIRM_STRING_PARTS]


def value_for(name: str, world: FirmWorld, index: int = 0) -> Any:
    if name in FIRM_ID_PARTS:
        ids = world.ids[FIRM_ID_PARTS[name]]
        assert ids, f"world.py made no {FIRM_ID_PARTS[name].__name__} for {world.tag}"
        return ids[min(index, len(ids) - 1)]
    if name in FIRM_STRING_PARTS:
        return world.strings[FIRM_STRING_PARTS[name]]
    if name in SHARED_ID_PARTS:
        return world.ids[SHARED_ID_PARTS[name]][0]
    return FIXED_PARTS[name]


@dataclass(frozen=True)
class Call:
    rule: Rule
    method: str
    url: str
    # The URL parts that came from the other firm (empty: all from the firm's own data).
    foreign: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f" [{', '.join(self.foreign)} of the other firm]" if self.foreign else ""
        return f"{self.method} {self.url} ({self.rule.endpoint}){where}"


def own_calls(app: Flask, world: FirmWorld, per_rule: int = 1) -> Iterator[Call]:
    """Every rule and method with the firm's own values; up to ``per_rule`` different rows per rule."""
    for rule in rules(app):
        for index in range(per_rule):
            if index and not firm_parts(rule):
                break
            values = {name: value_for(name, world, index) for name in rule.arguments}
            for method in methods(rule):
                yield Call(rule, method, _url(rule, values))


def foreign_calls(app: Flask, own: FirmWorld, other: FirmWorld) -> Iterator[Call]:
    """Every rule naming a firm's data, called with the other firm's values: all of them, and (for a
    URL with several parts) each one alone among the firm's own, which catches a view that checks
    the parent (the mail) but not the child (its attachment)."""
    for rule in rules(app):
        parts = firm_parts(rule)
        if not parts:
            continue
        choices = [tuple(parts)]
        if len(parts) > 1:
            choices += [(part,) for part in parts]
        for foreign in choices:
            values = {name: value_for(name, other if name in foreign else own) for name in rule.arguments}
            for method in methods(rule):
                yield Call(rule, method, _url(rule, values), foreign)


def _url(rule: Rule, values: dict[str, Any]) -> str:
    # The rule itself, not whichever rule of the endpoint url_for would pick.
    built = rule.build(values, append_unknown=False)
    assert built is not None, rule.rule
    return built[1]
