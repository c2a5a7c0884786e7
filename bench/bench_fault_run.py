"""Benchmark: 1,000 cases handed to Svea under faults with worker.py processes killed, on the production shape.

    .venv/bin/python bench/bench_fault_run.py [--cases 1000] [--batch 50] [--workers 2] [--timeout 5400]

Needs PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379; takes an empty database of 8-15).
Starts the Svea sandbox, gunicorn (2 processes) and `--workers` worker.py processes (tests/e2e/stack.py),
then for two firms of `--cases` overdue posts each, a user presses «Opprett Svea purring» `--batch` rows
at a time and the run waits until every post carries its Svea case number (tests/e2e/fault_run.py):

- baseline: no faults, no kills;
- fault run: the sandbox answers 30 % of API requests with 503 and lets 10 % time out (half of them after
  acting), and a worker.py is killed with SIGKILL (whole process tree, in the middle of a submit job)
  after a third and after two thirds of the presses, and started again.

It prints, for both: time to hand every case over, time to drain, duplicates, lost, API requests the
sandbox answered (by status), submit job runs, user retries; and the fault run's times as multiples of
the baseline's. The waits are shortened as in the CI test (stack.FAST_TIMING, launch.py: Svea read timeout
1 s, retries after 1, 1, 2, 2, 4 s, a case pending for 15 s resumed, periodic sync every 20 s). Exits
non-zero on any duplicate or loss.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e import fault_run  # noqa: E402
from tests.e2e.stack import running_stack  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=50, help="rows marked per «Opprett» (a page of Nye saker)")
    parser.add_argument("--workers", type=int, default=2, help="worker.py processes")
    parser.add_argument("--timeout", type=float, default=5400, help="seconds each run may take")
    args = parser.parse_args()
    presses = -(-args.cases // args.batch)
    kills = (max(1, presses // 3), max(1, 2 * presses // 3))

    with (
        tempfile.TemporaryDirectory() as folder,
        running_stack(Path(folder), workers=args.workers, show_logs=False) as stack,
    ):
        runs = {}
        for name, number, faults, kill_after in (
            ("baseline", "10081", None, ()),
            ("fault run", "10082", fault_run.FAULT_RATES, kills),
        ):
            firm = stack.seed_firm(
                f"Benk {name.title()} AS",
                posts=args.cases,
                creditor={"customer_no": number, "username": f"benk-{number}", "password": "benk-2026"},
            )
            user = stack.user(firm.admin_email)
            print(f"--- {name}: {args.cases} cases, {presses} presses of «Opprett»", flush=True)
            started = time.monotonic()
            result = fault_run.run(
                stack,
                firm,
                user,
                faults=faults,
                kill_after_batches=kill_after,
                batch=args.batch,
                timeout=args.timeout,
            )
            print("\n".join(result.lines()), f"(wall {time.monotonic() - started:.0f} s)", sep="\n", flush=True)
            runs[name] = result

    base, faulty = runs["baseline"], runs["fault run"]
    print("--- fault run / baseline")
    print(f"time to hand every case over: {faulty.submit_seconds / base.submit_seconds:.2f}x")
    print(f"time to drain: {faulty.drain_seconds / base.drain_seconds:.2f}x")
    print(f"API requests: {sum(faulty.api_requests.values()) / max(1, sum(base.api_requests.values())):.2f}x")
    print(f"submit job runs: {faulty.submit_job_runs / max(1, base.submit_job_runs):.2f}x")
    broken = [
        name
        for name, result in runs.items()
        if result.duplicates or result.lost or result.unreferenced_posts or result.mismatched_references
    ]
    if broken:
        print(f"FAILED: duplicates or losses in {', '.join(broken)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
