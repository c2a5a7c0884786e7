"""A job enqueued by a request waits in Redis until a separately started worker.py runs it."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask import Flask
from rq import Queue
from sqlalchemy import select

from svea_web.extensions import db
from svea_web.jobs_queue import get_redis
from svea_web.ledger.models import ImportBatch
from tests.jobs.worker_process import run_worker

CSV = (
    "Kundenr;Navn;Type;Orgnr;Adresse;Postnr;Poststed;E-post;Fakturanr;Motpostnr;KID;Fakturadato;Forfallsdato;Beløp;Restbeløp\n"
    "1001;Kari Nordmann;person;;Storgata 1;0150;OSLO;kari@example.no;5001;5001;0000012344;01.10.2026;15.10.2026;1 234,50;1 234,50\n"
)


def log_records(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


@pytest.mark.all_backends
def test_an_upload_is_analysed_by_a_separately_started_worker(app: Flask, logged_in: Any, firm: Any) -> None:
    response = logged_in.post(
        "/ledger/import", data={"file": (io.BytesIO(CSV.encode()), "poster.csv")}, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    batch = db.session.scalars(select(ImportBatch)).one()
    # The request returned at once; the analysis waits in Redis for a worker.
    assert batch.status == "analyzing"
    queued = Queue("high", connection=get_redis())
    assert queued.count == 1
    job_id = queued.job_ids[0]

    result = run_worker(app)

    assert result.returncode == 0, result.stderr
    assert queued.count == 0
    batch = db.session.get_one(ImportBatch, batch.id)
    assert batch.status == "ready"
    assert batch.total_rows == 1
    # Every log line of the job names the job and the firm it worked for.
    job_lines = [r for r in log_records(result.stderr) if r.get("job_id") == job_id]
    assert job_lines, result.stderr
    assert all(r.get("client_id") == firm.client.id for r in job_lines)
