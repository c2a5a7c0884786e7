"""Ledger use cases: importing a CSV of customers and posts (all rows or none)."""

from __future__ import annotations

import hashlib
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import insert, select, update

from svea_web import audit
from svea_web.extensions import db
from svea_web.ledger.csv_import import (
    CUSTOMER_COLUMNS,
    MAX_REPORTED_ERRORS,
    ImportFileError,
    ParsedImport,
    dump_parsed,
    load_parsed,
    parse_csv,
)
from svea_web.ledger.models import STATUS_OPEN, STATUS_PAID, Customer, CustomerPost, ImportBatch
from svea_web.models_base import utcnow

log = logging.getLogger(__name__)

BATCH_ANALYZING = "analyzing"
BATCH_READY = "ready"  # analysed without errors; waiting for the user to confirm
BATCH_INVALID = "invalid"  # analysed, has bad rows or cannot be read; nothing will be written
BATCH_QUEUED = "queued"  # confirmed; the import job is queued or running
BATCH_DONE = "done"
BATCH_FAILED = "failed"


def upload_path(batch: ImportBatch) -> Path:
    folder = Path(current_app.instance_path) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"import-{batch.id}.csv"


def create_batch(client_id: int, user_id: int | None, filename: str, data: bytes) -> ImportBatch:
    batch = ImportBatch(
        client_id=client_id,
        user_id=user_id,
        filename=filename[:255] or "import.csv",
        sha256=hashlib.sha256(data).hexdigest(),
        status=BATCH_ANALYZING,
    )
    db.session.add(batch)
    db.session.flush()
    upload_path(batch).write_bytes(data)
    db.session.commit()
    return batch


def parsed_path(batch: ImportBatch) -> Path:
    return upload_path(batch).with_suffix(".parsed.json")


def _read(batch: ImportBatch, progress: bool) -> ParsedImport:
    data = upload_path(batch).read_bytes()

    def report(rows: int) -> None:
        batch.done_rows = rows
        db.session.commit()

    return parse_csv(data, progress=report if progress else None)


def _read_analyzed(batch: ImportBatch) -> ParsedImport:
    """The rows the analysis kept for this file; the file is parsed again only if they are missing."""
    cached = parsed_path(batch)
    if cached.exists():
        parsed = load_parsed(cached.read_bytes(), batch.sha256)
        if parsed is not None:
            return parsed
        log.warning("parsed rows of an import unreadable; parsing the file again", extra={"batch_id": batch.id})
    return _read(batch, progress=False)


def analyze_batch(batch_id: int) -> None:
    """Parse the uploaded file and keep the preview and the bad rows on the batch."""
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or batch.status != BATCH_ANALYZING:
        return
    try:
        parsed = _read(batch, progress=True)
    except ImportFileError as exc:
        batch.status = BATCH_INVALID
        batch.error = str(exc)
        db.session.commit()
        return
    batch.total_rows = parsed.total_rows
    batch.done_rows = parsed.total_rows
    batch.preview = parsed.preview
    batch.error_count = len(parsed.errors)
    batch.row_errors = [e.as_dict() for e in parsed.errors[:MAX_REPORTED_ERRORS]]
    if parsed.errors:
        batch.status = BATCH_INVALID
    elif parsed.total_rows == 0:
        batch.status = BATCH_INVALID
        batch.error = "Filen har ingen rader."
    else:
        # The import job writes these rows as the user saw them, without parsing the file again.
        parsed_path(batch).write_bytes(dump_parsed(parsed, batch.sha256))
        batch.status = BATCH_READY
    db.session.commit()


def confirm_batch(batch: ImportBatch) -> bool:
    """Mark a ready batch for import; False if it was not ready (double click, or already done)."""
    result = db.session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch.id, ImportBatch.status == BATCH_READY)
        .values(status=BATCH_QUEUED, done_rows=0)
    )
    db.session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def apply_batch(batch_id: int) -> None:
    """Write every row of a confirmed batch in one transaction: all rows or none."""
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or batch.status != BATCH_QUEUED:
        return
    try:
        parsed = _read_analyzed(batch)
    except ImportFileError as exc:
        batch.status = BATCH_FAILED
        batch.error = str(exc)
        db.session.commit()
        return
    if parsed.errors:
        batch.status = BATCH_FAILED
        batch.error = "Filen har feil og ble ikke importert."
        db.session.commit()
        return
    try:
        # Claim the batch inside the same transaction as the rows, so two workers cannot both import it.
        claimed = db.session.execute(
            update(ImportBatch)
            .where(ImportBatch.id == batch_id, ImportBatch.status == BATCH_QUEUED)
            .values(status=BATCH_DONE, finished_at=utcnow())
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]
            db.session.rollback()
            return
        counts = upsert(batch.client_id, parsed)
        db.session.execute(
            update(ImportBatch).where(ImportBatch.id == batch_id).values(done_rows=parsed.total_rows, **counts)
        )
        audit.record(
            batch.client_id,
            "ledger.import",
            "import_batch",
            batch_id,
            f"{batch.filename}: {parsed.total_rows} rader",
            user_id=batch.user_id,
        )
        db.session.commit()
        parsed_path(batch).unlink(missing_ok=True)
    except Exception:
        db.session.rollback()
        log.exception("import failed", extra={"batch_id": batch_id})
        batch = db.session.get(ImportBatch, batch_id)
        if batch is not None:
            batch.status = BATCH_FAILED
            batch.error = "Importen feilet; ingenting ble lagret. Se loggen for detaljer."
            db.session.commit()
        raise
    log.info("import done", extra={"batch_id": batch_id, "client_id": batch.client_id})


def _post_status(open_amount: Decimal) -> str:
    return STATUS_OPEN if open_amount != 0 else STATUS_PAID


def upsert(client_id: int, parsed: ParsedImport) -> dict[str, int]:
    """Insert new customers and posts, update existing ones (by customer number and invoice number)."""
    existing_customers = dict(
        db.session.execute(select(Customer.customer_no, Customer.id).where(Customer.client_id == client_id)).all()
    )
    new_customers: list[dict[str, Any]] = []
    changed_customers: list[dict[str, Any]] = []
    for customer_no, fields in parsed.customers.items():
        customer_id = existing_customers.get(customer_no)
        if customer_id is None:
            new_customers.append({"client_id": client_id, **fields})
        else:
            changed_customers.append({"id": customer_id, **fields})
    now = utcnow()
    if new_customers:
        db.session.execute(
            insert(Customer.__table__), [{**c, "created_at": now, "updated_at": now} for c in new_customers]
        )
    if changed_customers:
        db.session.execute(update(Customer), [{**c, "updated_at": now} for c in changed_customers])
    customer_ids = dict(
        db.session.execute(select(Customer.customer_no, Customer.id).where(Customer.client_id == client_id)).all()
    )
    existing_posts = dict(
        db.session.execute(
            select(CustomerPost.invoice_no, CustomerPost.id).where(CustomerPost.client_id == client_id)
        ).all()
    )
    new_posts: list[dict[str, Any]] = []
    changed_posts: list[dict[str, Any]] = []
    for post in parsed.posts:
        row = {k: v for k, v in post.items() if k != "customer_no"}
        row["customer_id"] = customer_ids[post["customer_no"]]
        row["status"] = _post_status(post["open_amount"])
        row["updated_at"] = now
        post_id = existing_posts.get(post["invoice_no"])
        if post_id is None:
            new_posts.append({**row, "client_id": client_id, "created_at": now})
        else:
            changed_posts.append({**row, "id": post_id})
    # Core inserts: the rows are complete dicts, and the ORM's per-row bookkeeping would double the time.
    for chunk in _chunks(new_posts, 5000):
        db.session.execute(insert(CustomerPost.__table__), chunk)
    for chunk in _chunks(changed_posts, 5000):
        db.session.execute(update(CustomerPost), chunk)
    return {
        "customers_created": len(new_customers),
        "customers_updated": len(changed_customers),
        "posts_created": len(new_posts),
        "posts_updated": len(changed_posts),
    }


def _chunks(rows: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def recent_batches(client_id: int, limit: int = 10) -> list[ImportBatch]:
    return list(
        db.session.scalars(
            select(ImportBatch)
            .where(ImportBatch.client_id == client_id)
            .order_by(ImportBatch.created_at.desc())
            .limit(limit)
        )
    )


# What an administrator may change: a customer's columns as an import has them, but the ledger's key.
EDITABLE_CUSTOMER_COLUMNS = tuple(column for column in CUSTOMER_COLUMNS if column != "customer_no")


def save_customer(customer: Customer, values: dict[str, Any], user_id: int | None) -> list[str]:
    """Change a customer's details; a blank fødselsnummer keeps the stored one (it is never shown in full).

    The names of the fields that changed (never their values: the audit trail holds no personal ids).
    """
    changed = []
    for name in EDITABLE_CUSTOMER_COLUMNS:
        value = values.get(name) or None
        if name == "national_id" and value is None:
            continue
        if getattr(customer, name) != value:
            setattr(customer, name, value)
            changed.append(name)
    if changed:
        customer.updated_at = utcnow()
        audit.record(
            customer.client_id, "ledger.customer_saved", "customer", customer.id, ", ".join(changed), user_id=user_id
        )
    db.session.commit()
    return changed
