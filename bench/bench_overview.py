"""Overview benchmark (issue 10): the whole overview page with 100,000 posts and 5,000 cases.

Builds a firm in a temp SQLite database (or BENCH_DATABASE_URL): the demo ledger generator's posts,
5,000 Svea cases in every state, reminder steps, payments with allocations (some reversed, some
reported as direct payments, some Svea settlements) and customer pauses. Then measures, through the
Flask test client, p50/p95 of the page for today and for a past day, of the monthly results the
page loads once shown (hx-trigger="load", a second request), and of the two one after the other
(the whole page as the user waits for it), against a trivial endpoint of the same app in the same
run, in wall-clock time and in this process's CPU time (the figure that holds on a machine shared
with other work).

    .venv/bin/python bench/bench_overview.py [--posts 100000] [--cases 5000] [--requests 60]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text  # noqa: E402

from bench._common import bench_app, percentile  # noqa: E402
from svea_web.accounts import services as accounts  # noqa: E402
from svea_web.accounts.models import ROLE_ADMIN  # noqa: E402
from svea_web.collection.models import CasePost, SveaCase  # noqa: E402
from svea_web.demo import insert_ledger  # noqa: E402
from svea_web.dunning.models import RUN_CONFIRMED, CustomerPause, ReminderRun, ReminderStep  # noqa: E402
from svea_web.extensions import db  # noqa: E402
from svea_web.ledger.models import STATUS_OPEN, STATUS_PAID, CustomerPost  # noqa: E402
from svea_web.payments.models import (  # noqa: E402
    PAYMENT_BOOKED,
    REPORT_SENT,
    SOURCE_MANUAL,
    SOURCE_SVEA,
    DirectPaymentReport,
    Payment,
    PaymentAllocation,
    Settlement,
)
from svea_web.setup.models import DunningSettings, SveaSettings  # noqa: E402

TODAY = date(2026, 11, 27)
PAST = date(2026, 6, 30)
CHUNK = 5000


def first_reminder(client_id: int, post_id: int, sent: date, principal: Decimal) -> dict[str, Any]:
    """A reminder step row: the first reminder, without fee, with a 14-day deadline."""
    return {
        "client_id": client_id,
        "run_id": 1,
        "post_id": post_id,
        "kind": "reminder",
        "step_no": 1,
        "sent_on": sent,
        "deadline": sent + timedelta(days=14),
        "principal": principal,
        "fee": Decimal("0"),
        "interest_until_run": Decimal("0"),
        "amount_due": principal,
    }


def _bulk(model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(model), rows[start : start + CHUNK])


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, datetime.min.time()) + timedelta(hours=hour)


def build(posts: int, cases: int, seed: int = 10) -> tuple[int, dict[str, int]]:
    rng = random.Random(seed)
    client = accounts.create_client("Bench AS")
    user = accounts.create_user("bench@example.no", "Bench", "bench-passord-123")
    accounts.add_member(user, client, ROLE_ADMIN)
    cid = client.id
    db.session.add(SveaSettings(client_id=cid, handover_level="inkasso"))
    db.session.add(DunningSettings(client_id=cid, in_app_steps=1, notice_enabled=True, offer_after_days=14))
    insert_ledger(cid, TODAY, customers=max(200, posts // 20), posts=posts, seed=seed)
    rows = db.session.execute(
        select(
            CustomerPost.id,
            CustomerPost.customer_id,
            CustomerPost.due_date,
            CustomerPost.amount,
            CustomerPost.open_amount,
            CustomerPost.status,
        ).where(CustomerPost.client_id == cid, CustomerPost.kind == "invoice")
    ).all()
    overdue_open = [r for r in rows if r.status == STATUS_OPEN and r.due_date < TODAY]
    paid = [r for r in rows if r.status == STATUS_PAID]
    rng.shuffle(overdue_open)
    now = datetime(2026, 11, 27, 8, 0)

    # Cases: one per post, in every state; active ones hold their post.
    case_rows, link_rows, post_case = [], [], []
    for n, r in enumerate(overdue_open[:cases], start=1):
        roll = rng.random()
        created = _at(r.due_date + timedelta(days=rng.randint(15, 40)))
        created = min(created, now - timedelta(hours=1))
        state = (
            "open"
            if roll < 0.6
            else "pending"
            if roll < 0.68
            else "submitted"
            if roll < 0.72
            else ("closed" if roll < 0.95 else "rejected")
        )
        acknowledged = created + timedelta(minutes=5) if state in ("open", "closed") else None
        closed = min(created + timedelta(days=rng.randint(10, 90)), now) if state == "closed" else None
        case_rows.append(
            {
                "id": n,
                "client_id": cid,
                "customer_id": r.customer_id,
                "level": "inkasso",
                "state": state,
                "idempotency_key": f"bench-{n}",
                "case_number": f"{700000 + n}" if acknowledged else None,
                "created_at": created,
                "submitted_at": created,
                "acknowledged_at": acknowledged,
                "closed_at": closed,
                "updated_at": now,
                "principal_original": r.open_amount,
                "principal_paid": Decimal("0"),
                "principal_remaining": r.open_amount,
                "fees_remaining": Decimal("0"),
                "interest_remaining": Decimal("0"),
                "attempts": 0,
                "close_attempts": 0,
            }
        )
        active = state in ("open", "pending", "submitted")
        link_rows.append({"case_id": n, "post_id": r.id, "active": active, "amount_at_handover": r.open_amount})
        if active:
            post_case.append({"pid": r.id, "cid": n})
    _bulk(SveaCase, case_rows)
    _bulk(CasePost, link_rows)
    for start in range(0, len(post_case), CHUNK):
        db.session.execute(
            CustomerPost.__table__.update()
            .where(CustomerPost.id == db.bindparam("pid"))
            .values(svea_case_id=db.bindparam("cid")),
            post_case[start : start + CHUNK],
        )

    # Reminder steps on a third of the other overdue posts.
    db.session.add(ReminderRun(id=1, client_id=cid, run_date=TODAY - timedelta(days=20), state=RUN_CONFIRMED))
    step_rows, post_steps = [], []
    for r in overdue_open[cases : cases + len(overdue_open) // 3]:
        sent = min(r.due_date + timedelta(days=rng.randint(1, 20)), TODAY - timedelta(days=1))
        deadline = sent + timedelta(days=14)
        step_rows.append(first_reminder(cid, r.id, sent, r.open_amount))
        post_steps.append({"pid": r.id, "sent": sent, "deadline": deadline})
    for start in range(0, len(post_steps), CHUNK):
        db.session.execute(
            CustomerPost.__table__.update()
            .where(CustomerPost.id == db.bindparam("pid"))
            .values(reminder_step=1, last_reminder_at=db.bindparam("sent"), reminder_deadline=db.bindparam("deadline")),
            post_steps[start : start + CHUNK],
        )

    # Payments: every paid post was paid by one payment (three in four by a week after the due date,
    # one in ten more than a month late), some by Svea, a few reversed; posts paid more than 14 days
    # late had a reminder first.
    payment_rows, allocation_rows, report_rows = [], [], []
    for n, r in enumerate(paid, start=1):
        late = rng.random()
        delay = rng.randint(-5, 7) if late < 0.75 else rng.randint(8, 30) if late < 0.9 else rng.randint(31, 90)
        paid_on = min(r.due_date + timedelta(days=delay), TODAY)
        if paid_on > r.due_date + timedelta(days=14):
            sent = r.due_date + timedelta(days=10)
            step_rows.append(first_reminder(cid, r.id, sent, r.amount))
        source = SOURCE_SVEA if n % 10 == 0 else SOURCE_MANUAL
        payment_rows.append(
            {
                "id": n,
                "client_id": cid,
                "paid_on": paid_on,
                "amount": r.amount,
                "source": source,
                "external_id": f"p{n}",
                "state": PAYMENT_BOOKED,
                "created_at": now,
                "updated_at": now,
            }
        )
        allocation_rows.append(
            {
                "id": n,
                "client_id": cid,
                "payment_id": n,
                "post_id": r.id,
                "amount": r.amount,
                "is_credit": False,
                "created_at": now,
                "reversed_at": _at(paid_on + timedelta(days=3)) if n % 97 == 0 else None,
            }
        )
        if n % 13 == 0:
            report_rows.append(
                {
                    "client_id": cid,
                    "allocation_id": n,
                    "case_id": 1 + n % cases,
                    "amount": r.amount,
                    "paid_on": paid_on,
                    "idempotency_key": f"d{n}",
                    "state": REPORT_SENT,
                    "attempts": 0,
                    "closed_case": False,
                    "created_at": now,
                }
            )
    _bulk(ReminderStep, step_rows)
    _bulk(Payment, payment_rows)
    _bulk(PaymentAllocation, allocation_rows)
    _bulk(DirectPaymentReport, report_rows)
    _bulk(
        Settlement,
        [
            {
                "client_id": cid,
                "svea_id": n,
                "settled_on": TODAY - timedelta(days=n),
                "principal_total": Decimal("1234.50"),
                "fees_total": Decimal("70"),
                "interest_total": Decimal("12"),
                "payout_total": Decimal("1234.50"),
                "fetched_at": now,
            }
            for n in range(1, 366)
        ],
    )
    customer_ids = sorted({r.customer_id for r in overdue_open})
    _bulk(
        CustomerPause,
        [
            {"client_id": cid, "customer_id": c, "reason": "Tvist", "paused_until": None, "created_at": now}
            for c in rng.sample(customer_ids, min(50, len(customer_ids)))
        ],
    )
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # Autovacuum analyses a freshly loaded table within a minute; do it now so the planner sees the data.
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    counts = {
        "posts": db.session.scalar(select(func.count()).select_from(CustomerPost)) or 0,
        "cases": db.session.scalar(select(func.count()).select_from(SveaCase)) or 0,
        "allocations": len(allocation_rows),
        "steps": len(step_rows),
    }
    return cid, counts


def run(posts: int, cases: int, requests: int) -> dict[str, Any]:
    with bench_app(LEDGER_TODAY=TODAY) as app:
        start = time.perf_counter()
        _, counts = build(posts, cases)
        built = time.perf_counter() - start
        app.add_url_rule("/bench/trivial", "bench_trivial", lambda: "ok")
        http = app.test_client()
        http.post("/login", data={"email": "bench@example.no", "password": "bench-passord-123"})

        def page(url: str, fragment: bool = False) -> Any:
            headers = {"HX-Request": "true"} if fragment else {}

            def call() -> None:
                response = http.get(url, headers=headers)
                assert response.status_code == 200, response.status_code
                assert b"<svg" in response.data

            return call

        def trivial() -> None:
            assert http.get("/bench/trivial").status_code == 200

        def whole(*calls: Any) -> Any:
            def call() -> None:
                for fn in calls:
                    fn()

            return call

        result: dict[str, Any] = {"counts": counts, "build_s": built}
        result["trivial"] = measure(trivial, requests * 5)
        for key, query in (("today", ""), ("past", f"?as_of={PAST.isoformat()}")):
            shown = page(f"/overview/{query}")
            partial = page(f"/overview/results{query}", fragment=True)
            result[key] = measure(shown, requests)
            result[f"{key}_results"] = measure(partial, requests)
            # What the user waits for until the page is complete: the page, then the partial it loads.
            result[f"{key}_whole"] = measure(whole(shown, partial), requests)
        return result


def measure(fn: Any, count: int, warmup: int = 3) -> dict[str, float]:
    """Wall-clock and CPU time per call. On SQLite the database works inside this process, so the CPU
    time is the page's own work, whatever else the machine is running."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(count):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return {
        "p50_ms": statistics.median(wall) * 1000,
        "p95_ms": percentile(wall, 95) * 1000,
        "cpu_p50_ms": statistics.median(cpu) * 1000,
        "cpu_p95_ms": percentile(cpu, 95) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    result = run(args.posts, args.cases, args.requests)
    c, base = result["counts"], result["trivial"]
    print(
        f"data: {c['posts']} posts, {c['cases']} cases, {c['allocations']} allocations, {c['steps']} reminder "
        f"steps (built in {result['build_s']:.1f} s)"
    )
    print(
        f"trivial endpoint: p50 {base['p50_ms']:.2f} ms, p95 {base['p95_ms']:.2f} ms "
        f"(CPU p95 {base['cpu_p95_ms']:.2f} ms)"
    )
    for label, key in (
        ("overview page today", "today"),
        ("  its monthly results (loaded after it)", "today_results"),
        ("  the page and its results together", "today_whole"),
        (f"overview page as of {PAST.isoformat()}", "past"),
        ("  its monthly results (loaded after it)", "past_results"),
        ("  the page and its results together", "past_whole"),
    ):
        s = result[key]
        print(
            f"{label}: p50 {s['p50_ms']:.0f} ms, p95 {s['p95_ms']:.0f} ms "
            f"(= {s['p95_ms'] / base['p95_ms']:.0f}x the trivial endpoint); CPU p50 {s['cpu_p50_ms']:.0f} ms, "
            f"CPU p95 {s['cpu_p95_ms']:.0f} ms (target <= 300 ms)"
        )


if __name__ == "__main__":
    main()
