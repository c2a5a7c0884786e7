"""The fault run, shared by tests/e2e/test_fault_run.py (CI scale) and bench/bench_fault_run.py (1,000 cases).

A user marks the firm's overdue posts page by page and presses «Opprett Svea purring» while the sandbox
fails requests at the plan's rates and worker.py processes are killed (SIGKILL to the whole process tree,
each time while it runs a submit job; first the one whose RQ scheduler enqueues the delayed retries) and
started again. Then the faults stop, the user presses «Prøv igjen» on any case that gave up, Svea's clock
moves on so that it confirms everything, and the run waits until every post carries its case number.
What Svea holds is then compared with the ledger.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import cast

from redis import Redis
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, SCHEDULER_LOCKING_KEY_TEMPLATE
from sqlalchemy import select

from svea_web.jobs_queue import QUEUE_NAMES
from tests.e2e.stack import SeededFirm, Stack, WebUser, wait_until

# 30 % answers are 5xx; 10 % time out: half of those before Svea acts ("slow"), half after it has acted
# and only the answer is late ("lost_response"), the case where a retry must not make a second case.
FAULT_RATES = {"error": 0.30, "slow": 0.05, "lost_response": 0.05}


@dataclass
class Kill:
    worker: int
    processes: int
    job: str  # the job the worker was running when it died


@dataclass
class FaultRunResult:
    cases: int
    submit_seconds: float = 0.0  # first «Opprett» → no case waits to be handed over
    drain_seconds: float = 0.0  # first «Opprett» → every post carries its Svea case number
    kills: list[Kill] = field(default_factory=list)
    retried_by_user: int = 0
    submit_job_runs: int = 0
    api_requests: Counter[str] = field(default_factory=Counter)
    submissions_at_svea: int = 0
    duplicates: int = 0
    lost: int = 0
    rejected: int = 0
    unreferenced_posts: int = 0
    mismatched_references: int = 0
    # RQ's delayed retries past their time at the end, and whether a live scheduler holds RQ's lock.
    overdue_retries: int = 0
    scheduler_running: bool = True

    def lines(self) -> list[str]:
        faults = sum(count for key, count in self.api_requests.items() if key.endswith(" 503"))
        return [
            f"cases: {self.cases}",
            f"time to hand every case over: {self.submit_seconds:.1f} s",
            f"time to drain (every post has its case number): {self.drain_seconds:.1f} s",
            f"duplicated: {self.duplicates}  lost: {self.lost}  rejected: {self.rejected}",
            f"posts without Svea reference: {self.unreferenced_posts}  wrong reference: {self.mismatched_references}",
            f"submissions Svea received: {self.submissions_at_svea}",
            f"API requests the sandbox answered: {sum(self.api_requests.values())} ({faults} of them 503) "
            + ", ".join(f"{key}: {count}" for key, count in sorted(self.api_requests.items())),
            f"submit job runs: {self.submit_job_runs} ({self.submit_job_runs / max(self.cases, 1):.2f} per case)",
            f"workers killed: {len(self.kills)} "
            + "; ".join(f"worker{k.worker} ({k.processes} processes) in {k.job}" for k in self.kills),
            f"cases the user had to press «Prøv igjen» on: {self.retried_by_user}",
            f"RQ retries overdue at the end: {self.overdue_retries}; "
            f"RQ scheduler running: {'yes' if self.scheduler_running else 'no'}",
        ]


def _next_victim(stack: Stack, redis: Redis, result: FaultRunResult) -> int:
    """First the worker whose scheduler enqueues the delayed retries (the harder loss), then the others."""
    if not result.kills:
        holder = scheduler_holder(stack, redis)
        if holder is not None:
            return holder
    return (result.kills[-1].worker + 1) % len(stack.workers) if result.kills else 0


def _worker_pids_running_submit(stack: Stack, redis: Redis) -> dict[int, str]:
    """RQ worker pid → the submit job it runs now, for live workers of this stack only."""
    live = {proc.pid: index for index, process in enumerate(stack.workers) if process for proc in process.tree()}
    busy: dict[int, str] = {}
    for worker in Worker.all(connection=redis):
        try:
            job = worker.get_current_job()
        except NoSuchJobError:
            continue
        if worker.pid in live and job is not None and (job.func_name or "").endswith("submit_case"):
            busy[live[worker.pid]] = job.description or job.id
    return busy


def scheduler_holder(stack: Stack, redis: Redis) -> int | None:
    """The index of the worker.py whose RQ scheduler holds the lock (and so enqueues the delayed retries)."""
    holder = cast(bytes | None, redis.get(SCHEDULER_LOCKING_KEY_TEMPLATE % "default"))
    pid = cast(bytes | None, redis.hget(SCHEDULER_KEY_TEMPLATE % holder.decode(), "pid")) if holder else None
    for index, process in enumerate(stack.workers):
        if pid is not None and process is not None and int(pid) in {proc.pid for proc in process.tree()}:
            return index
    return None


def kill_a_busy_worker(stack: Stack, redis: Redis, prefer: int, timeout: float = 60) -> Kill:
    """SIGKILL a worker.py while it runs a submit job (`prefer`, unless it has none for a while), then
    start it again."""
    deadline = time.monotonic() + timeout
    preferred_until = time.monotonic() + timeout / 3
    busy = wait_until(
        lambda: {
            index: job
            for index, job in _worker_pids_running_submit(stack, redis).items()
            if index == prefer or time.monotonic() > preferred_until
        },
        deadline - time.monotonic(),
        "a worker running a submit job",
        0.02,
    )
    index = prefer if prefer in busy else next(iter(busy))
    killed = stack.kill_worker(index)
    stack.start_worker(index)
    return Kill(index, killed, busy[index])


def _diagnosis(stack: Stack, firm: SeededFirm) -> dict[str, object]:
    """What a stuck run looks like: the cases' states, RQ's queues and registries, the live workers."""
    redis = Redis.from_url(stack.redis_url)
    try:
        queues = {name: Queue(name, connection=redis) for name in QUEUE_NAMES}
        return {
            "cases": stack.case_states(firm.client_id),
            "queued": {name: queue.count for name, queue in queues.items()},
            "scheduled": {name: ScheduledJobRegistry(queue=queue).count for name, queue in queues.items()},
            "started": {name: StartedJobRegistry(queue=queue).count for name, queue in queues.items()},
            "workers alive": [bool(process and process.alive()) for process in stack.workers],
        }
    finally:
        redis.close()


def _submit_runs(stack: Stack, case_ids: set[int]) -> int:
    runs = 0
    for log in stack.folder.glob("worker*.log"):
        for match in re.finditer(r"default: svea_web\.collection\.jobs\.submit_case\((\d+)\) \(", log.read_text()):
            runs += int(match.group(1)) in case_ids
    return runs


def _states_by_case(client_id: int) -> dict[int, str]:
    from svea_web.collection.models import SveaCase
    from svea_web.extensions import db

    db.session.rollback()
    return dict(db.session.execute(select(SveaCase.id, SveaCase.state).where(SveaCase.client_id == client_id)).all())


def run(
    stack: Stack,
    firm: SeededFirm,
    user: WebUser,
    *,
    faults: dict[str, float] | None,
    kill_after_batches: tuple[int, ...] = (),
    batch: int = 50,
    timeout: float = 600,
    seed: int = 2026,
) -> FaultRunResult:
    """Submit every post of `firm` as `user`, `batch` rows per «Opprett», under `faults` (None: none),
    killing a worker after each batch number in `kill_after_batches`; wait until all is drained."""
    result = FaultRunResult(cases=len(firm.post_ids))
    requests_before = Counter(stack.api_requests_seen())
    redis = Redis.from_url(stack.redis_url)
    read_timeout = float(stack.timing.get("SVEA_READ_TIMEOUT", 30.0))
    if faults:
        stack.set_faults(faults, delay_seconds=read_timeout + 0.5, seed=seed)
    started = time.monotonic()
    deadline = started + timeout
    try:
        batches = 0
        while rows := user.new_case_rows():
            user.create_cases(rows[:batch])
            batches += 1
            if batches in kill_after_batches:
                result.kills.append(kill_a_busy_worker(stack, redis, prefer=_next_victim(stack, redis, result)))
        for _ in kill_after_batches[len(result.kills) :]:
            # Fewer batches than planned kills: the rest happen while the queue drains.
            result.kills.append(kill_a_busy_worker(stack, redis, prefer=_next_victim(stack, redis, result)))

        def handed_over() -> bool:
            states = stack.case_states(firm.client_id)
            return "pending" not in states and sum(states.values()) == result.cases

        wait_until(
            handed_over,
            deadline - time.monotonic(),
            "every case handed over or given up",
            0.5,
            lambda: _diagnosis(stack, firm),
        )
        result.submit_seconds = time.monotonic() - started
    finally:
        if faults:
            stack.clear_faults()
        redis.close()

    # A case that used up its attempts waits for the user: «Prøv igjen», as on the case page.
    retried: set[int] = set()

    def settled() -> bool:
        states = _states_by_case(firm.client_id)
        for case_id, state in states.items():
            if state == "failed" and case_id not in retried:
                user.retry_case(case_id)
                retried.add(case_id)
        return all(state == "submitted" or state == "open" for state in states.values())

    wait_until(settled, deadline - time.monotonic(), "every case at Svea", 0.5, lambda: _diagnosis(stack, firm))
    result.retried_by_user = len(retried)

    # Svea confirms five minutes after each submission; «Oppdater nå» brings the case numbers.
    stack.advance_sandbox_clock(stack.confirm_delay + 1)
    user.sync_now()

    def referenced() -> bool:
        references = stack.posts_with_reference(firm.client_id)
        return all(references[post_id] for post_id in firm.post_ids)

    wait_until(
        referenced,
        deadline - time.monotonic(),
        "every post to carry its case number",
        0.5,
        lambda: _diagnosis(stack, firm),
    )
    result.drain_seconds = time.monotonic() - started
    _scheduler_state(stack, result)
    _compare(stack, firm, result)
    result.api_requests = Counter(stack.api_requests_seen()) - requests_before
    result.submit_job_runs = _submit_runs(stack, set(_states_by_case(firm.client_id)))
    return result


def _scheduler_state(stack: Stack, result: FaultRunResult) -> None:
    redis = Redis.from_url(stack.redis_url)
    try:
        # A retry may be a second or two late while the scheduler polls; more than that, nobody schedules.
        late = int(time.time()) - 5
        result.overdue_retries = sum(
            len(ScheduledJobRegistry(name, connection=redis).get_jobs_to_schedule(late)) for name in QUEUE_NAMES
        )
        result.scheduler_running = scheduler_holder(stack, redis) is not None
    finally:
        redis.close()


def _compare(stack: Stack, firm: SeededFirm, result: FaultRunResult) -> None:
    """What Svea holds against the ledger: one submission and one case per post, with its number."""
    from svea_web.collection.models import SveaCase
    from svea_web.extensions import db

    submissions = stack.sandbox_requests(firm.customer_no)
    cases = stack.sandbox_cases(firm.customer_no)
    result.submissions_at_svea = len(submissions)
    result.rejected = sum(1 for request in submissions if request["status"] == "REJECTED")
    held = Counter(invoice["invoiceNo"] for case in cases for invoice in case["invoices"])
    ours = set(firm.invoice_numbers)
    # A second hand-over of a post shows as a submission more than one per case (Svea rejects it, the
    # invoice being in an open case already) or, had Svea let it through, as an invoice in two cases.
    result.duplicates = max(0, len(submissions) - result.cases) + sum(count - 1 for count in held.values() if count > 1)
    result.lost = len(ours - set(held))
    number_of_invoice = {invoice["invoiceNo"]: case["caseNumber"] for case in cases for invoice in case["invoices"]}
    references = stack.posts_with_reference(firm.client_id)
    invoice_of_post = dict(zip(firm.post_ids, firm.invoice_numbers, strict=True))
    result.unreferenced_posts = sum(1 for post_id in firm.post_ids if not references[post_id])
    result.mismatched_references = sum(
        1
        for post_id in firm.post_ids
        if references[post_id] and references[post_id] != number_of_invoice.get(invoice_of_post[post_id])
    )
    db.session.rollback()
    keys = set(db.session.scalars(select(SveaCase.idempotency_key).where(SveaCase.client_id == firm.client_id)))
    # Every case of the app is at Svea under its own key, and Svea holds nothing else for the firm.
    result.lost += len(keys - {case["creditorRef"] for case in cases})
    result.duplicates += len({case["creditorRef"] for case in cases} - keys)
