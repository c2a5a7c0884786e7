"""Reminder run benchmark (issue 5): the preview of a run over 100,000 posts, 20,000 of them overdue.

The ledger: 5,000 customers; 20,000 open overdue invoices (a third with one or more earlier steps,
some with open fees, some paused), the other 80,000 paid or not yet due. The firm runs two reminders
and a collection notice in the app, with fees and late interest.

Measured in the same run:
- baseline: the bare SELECT of the same overdue rows (the columns the preview reads), fetched;
- preview: services.build_preview (three set queries + a decision per post with the pure rules);
- page: GET /dunning/runs/<id> through the app (preview + summary + the first 100 rows as HTML);
- next page: the HTMX fragment with rows 101-200 (the list pages by 100; totals stay for the whole run);
- confirm: what the confirm job does, applying the run once (steps, fee posts, letters, post columns),
  called without the queue (services.confirm_run), for scale; the request itself only queues it.

    .venv/bin/python bench/bench_reminder_preview.py [--posts 100000] [--overdue 20000] [--repeat 5]

Target: preview ≤ 3 s.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

from bench._common import bench_app  # noqa: E402
from svea_web.accounts import services as accounts  # noqa: E402
from svea_web.accounts.models import ROLE_ADMIN  # noqa: E402
from svea_web.demo import build_rows  # noqa: E402
from svea_web.dunning import services  # noqa: E402
from svea_web.dunning.models import (  # noqa: E402
    RUN_CONFIRMED,
    CustomerPause,
    LetterSettings,
    ReminderRun,
    ReminderStep,
)
from svea_web.extensions import db  # noqa: E402
from svea_web.ledger.models import (  # noqa: E402
    POST_FEE,
    POST_INVOICE,
    STATUS_OPEN,
    STATUS_PAID,
    Customer,
    CustomerPost,
)
from svea_web.models_base import utcnow  # noqa: E402
from svea_web.setup.models import DunningSettings, SveaSettings  # noqa: E402

TODAY = date(2026, 11, 27)
PASSWORD = "bench-passord-2026"  # noqa: S105 - a throw-away user of a temp database


def build_ledger(client_id: int, posts: int, overdue: int, seed: int = 5) -> None:
    """Customers and posts with exactly ``overdue`` open overdue invoices, plus their dunning history."""
    rng = random.Random(seed)
    customer_rows, post_rows = build_rows(TODAY, customers=max(200, posts // 20), posts=posts, seed=seed)
    now = utcnow()
    db.session.execute(
        insert(Customer),
        [{**row, "client_id": client_id, "created_at": now, "updated_at": now} for row in customer_rows],
    )
    ids = dict(
        db.session.execute(select(Customer.customer_no, Customer.id).where(Customer.client_id == client_id)).all()
    )
    by_index = [ids[row["customer_no"]] for row in customer_rows]
    rows = []
    for n, row in enumerate(post_rows):
        amount = abs(row["amount"]) or Decimal("100.00")
        if n < overdue:
            due = TODAY - timedelta(days=rng.randint(1, 240))
            status, open_amount = STATUS_OPEN, amount
        elif n % 2:
            due = TODAY - timedelta(days=rng.randint(1, 240))
            status, open_amount = STATUS_PAID, Decimal("0")
        else:
            due = TODAY + timedelta(days=rng.randint(0, 30))
            status, open_amount = STATUS_OPEN, amount
        rows.append(
            {
                "client_id": client_id,
                "customer_id": by_index[row["customer_index"]],
                "kind": POST_INVOICE,
                "invoice_no": row["invoice_no"],
                "match_no": row["match_no"],
                "kid": row["kid"],
                "invoice_date": due - timedelta(days=14),
                "due_date": due,
                "amount": amount,
                "open_amount": open_amount,
                "status": status,
                "paused": n < overdue and n % 97 == 0,
                "pause_reason": "Tvist" if n < overdue and n % 97 == 0 else None,
                "created_at": now,
                "updated_at": now,
            }
        )
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(CustomerPost), rows[start : start + 5000])
    _history(client_id, rng, rows[:overdue])
    db.session.add_all(
        CustomerPause(client_id=client_id, customer_id=customer_id, reason="Betalingsavtale")
        for customer_id in sorted(set(by_index))[::100]
    )
    db.session.commit()


def _history(client_id: int, rng: random.Random, overdue_rows: list[dict[str, Any]]) -> None:
    """A third of the overdue posts already have 1–3 steps (and an open fee for the first one)."""
    post_ids = dict(
        db.session.execute(
            select(CustomerPost.invoice_no, CustomerPost.id).where(
                CustomerPost.client_id == client_id, CustomerPost.status == STATUS_OPEN
            )
        ).all()
    )
    runs: dict[date, int] = {}
    steps, fees = [], []
    now = utcnow()
    for row in overdue_rows[::3]:
        count = rng.choice([1, 1, 2, 3])
        sent_on = row["due_date"] + timedelta(days=14)
        for step_no in range(1, count + 1):
            if sent_on >= TODAY:
                break
            if sent_on not in runs:
                run = ReminderRun(client_id=client_id, run_date=sent_on, state=RUN_CONFIRMED, confirmed_at=now)
                db.session.add(run)
                db.session.flush()
                runs[sent_on] = run.id
            kind = "notice" if step_no == 3 else "reminder"
            fee = Decimal("37.50") if step_no in (1, 3) else Decimal("0")
            steps.append(
                {
                    "client_id": client_id,
                    "run_id": runs[sent_on],
                    "post_id": post_ids[row["invoice_no"]],
                    "kind": kind,
                    "step_no": step_no,
                    "sent_on": sent_on,
                    "deadline": sent_on + timedelta(days=14),
                    "principal": row["open_amount"],
                    "fee": fee,
                }
            )
            if step_no == 1:
                fees.append(
                    {
                        **{k: row[k] for k in ("client_id", "customer_id", "match_no", "kid", "created_at")},
                        "kind": POST_FEE,
                        "invoice_no": f"GEB-{row['invoice_no']}-1",
                        "invoice_date": sent_on,
                        "due_date": sent_on + timedelta(days=14),
                        "amount": fee,
                        "open_amount": fee,
                        "status": STATUS_OPEN,
                        "updated_at": now,
                    }
                )
            sent_on += timedelta(days=15)
    for start in range(0, len(steps), 5000):
        db.session.execute(insert(ReminderStep), steps[start : start + 5000])
    for start in range(0, len(fees), 5000):
        db.session.execute(insert(CustomerPost), fees[start : start + 5000])


def baseline_select(client_id: int) -> int:
    """The bare SELECT of the overdue rows the preview reads, fetched and nothing else."""
    rows = db.session.execute(
        select(*services.PREVIEW_COLUMNS)
        .join(Customer, Customer.id == CustomerPost.customer_id)
        .where(
            CustomerPost.client_id == client_id,
            CustomerPost.kind == POST_INVOICE,
            CustomerPost.status == STATUS_OPEN,
            CustomerPost.open_amount > 0,
            CustomerPost.due_date < TODAY,
        )
        .order_by(Customer.name, Customer.id, CustomerPost.due_date, CustomerPost.id)
    ).all()
    return len(rows)


def timed(fn: Any, repeat: int) -> tuple[float, float, Any]:
    """Median wall and CPU seconds (CPU shows the work when other processes share the machine)."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--overdue", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with bench_app(LEDGER_TODAY=TODAY) as app:
        client = accounts.create_client("Benk Rør AS", org_no="923609016", email="post@benk.example.no")
        user = accounts.create_user("bench@benk.example.no", "Benk", PASSWORD)
        accounts.add_member(user, client, ROLE_ADMIN)
        db.session.add_all(
            [
                SveaSettings(client_id=client.id, handover_level="inkasso"),
                DunningSettings(
                    client_id=client.id,
                    in_app_steps=2,
                    notice_enabled=True,
                    fee_enabled=True,
                    interest_enabled=True,
                    min_amount=Decimal("100"),
                ),
                LetterSettings(client_id=client.id, account_no="86011117947"),
            ]
        )
        db.session.commit()
        start = time.perf_counter()
        build_ledger(client.id, args.posts, args.overdue)
        print(f"data: {args.posts:,} posts, {args.overdue:,} overdue, built in {time.perf_counter() - start:.1f} s")

        base_s, base_cpu, rows = timed(lambda: baseline_select(client.id), args.repeat)
        preview_s, preview_cpu, preview = timed(lambda: services.build_preview(client.id, TODAY), args.repeat)
        summary = preview.summary
        assert rows == len(preview.steps) + len(preview.skipped)
        print(
            f"overdue rows read: {rows:,}; steps: {summary['steps']:,}; skipped: {summary['skipped']:,} "
            f"({dict(summary['skipped_by_reason'])}); letters: {summary['letters']:,}"
        )
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; medians of {args.repeat} runs")
        print(f"baseline SELECT of the overdue rows: {base_s:.3f} s wall, {base_cpu:.3f} s CPU")
        print(
            f"preview (build_preview):             {preview_s:.3f} s wall, {preview_cpu:.3f} s CPU"
            f" = {preview_s / base_s:.1f} x baseline (CPU {preview_cpu / base_cpu:.1f} x)"
        )

        web = app.test_client()
        web.post("/login", data={"email": user.email, "password": PASSWORD})
        run = services.start_run(client.id, TODAY, TODAY, user.id)

        def page() -> int:
            response = web.get(f"/dunning/runs/{run.id}")
            assert response.status_code == 200
            return len(response.data)

        page_s, page_cpu, size = timed(page, args.repeat)
        print(
            f"preview page (GET, whole HTML):      {page_s:.3f} s wall, {page_cpu:.3f} s CPU"
            f" = {page_s / base_s:.1f} x baseline (CPU {page_cpu / base_cpu:.1f} x), {size // 1024} KiB"
        )

        def next_page() -> int:
            response = web.get(f"/dunning/runs/{run.id}?tab=steps&page=2", headers={"HX-Request": "true"})
            assert response.status_code == 200 and b"<html" not in response.data
            return len(response.data)

        next_s, next_cpu, next_size = timed(next_page, args.repeat)
        print(
            f"next page of the list (HTMX):        {next_s:.3f} s wall, {next_cpu:.3f} s CPU"
            f" = {next_s / base_s:.1f} x baseline (CPU {next_cpu / base_cpu:.1f} x), {next_size // 1024} KiB"
        )
        verdict = "met" if max(preview_s, page_s, next_s) <= 3.0 else "missed"
        cpu_verdict = "met" if max(preview_cpu, page_cpu, next_cpu) <= 3.0 else "missed"
        print(f"target preview <= 3 s: {verdict} on wall time, {cpu_verdict} on CPU time")

        digest = services.build_preview(client.id, TODAY).digest
        confirm_s, confirm_cpu, result = timed(lambda: services.confirm_run(run, digest, TODAY, user.id), 1)
        assert result.outcome == "confirmed", result.outcome
        print(
            f"confirm job (apply {result.run.step_count:,} steps, {result.run.letter_count:,} letters): "
            f"{confirm_s:.3f} s wall, {confirm_cpu:.3f} s CPU = {confirm_s / base_s:.1f} x baseline"
        )


if __name__ == "__main__":
    main()
