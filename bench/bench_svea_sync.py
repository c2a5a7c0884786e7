"""Benchmark: a full and a delta status sync of 5,000 Svea cases, against the sandbox over loopback HTTP.

    .venv/bin/python bench/bench_svea_sync.py [--cases 5000] [--changed 500] [--pings 200]

Starts the sandbox as its own process (`python -m svea_web.sandbox`, SQLite file in a temporary folder),
seeds the cases through the admin bulk-seed endpoint, and measures with SveaClient:
- baseline: N trivial authenticated requests (GET /api/v1/ping), the cost of one round trip;
- full sync: every case (updatedSince unset), following the cursors;
- delta sync: after debtor payments on `--changed` cases, the cases changed since the full sync.
It prints requests made, wall time, and each time as a multiple of one baseline ping. It exits non-zero
if a sync takes more than one request per 500 cases (the protocol's page size).
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from svea_web.sandbox import DEMO_CREDITOR
from svea_web.sandbox.testing import SandboxHandle
from svea_web.svea import SveaClient

PAGE = 500


def start_sandbox(folder: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "svea_web.sandbox",
            "--test-mode",
            "--demo",
            "--port",
            "0",
            "--db",
            str(folder / "sandbox.sqlite"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if "listening on " not in line:
        process.kill()
        raise SystemExit(f"the sandbox did not start: {line!r}")
    return process, line.rsplit(" ", 1)[1].strip()


class Counter:
    def __init__(self) -> None:
        self.requests = 0

    def __call__(self, response: requests.Response, *args: object, **kwargs: object) -> requests.Response:
        self.requests += 1
        return response


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--changed", type=int, default=500)
    parser.add_argument("--pings", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        process, url = start_sandbox(Path(folder))
        try:
            return run(url, args.cases, args.changed, args.pings)
        finally:
            process.terminate()
            process.wait(timeout=10)


def run(url: str, cases: int, changed: int, pings: int) -> int:
    sandbox = SandboxHandle(url)
    counter = Counter()
    session = requests.Session()
    session.hooks["response"].append(counter)
    client = SveaClient(
        url, DEMO_CREDITOR["customer_no"], DEMO_CREDITOR["username"], DEMO_CREDITOR["password"], session=session
    )

    started = time.perf_counter()
    numbers = sandbox.bulk_seed(DEMO_CREDITOR["customer_no"], cases)
    seeding = time.perf_counter() - started

    client.ping()  # warm the connection
    durations = []
    for _ in range(pings):
        started = time.perf_counter()
        client.ping()
        durations.append(time.perf_counter() - started)
    ping = statistics.median(durations)

    counter.requests = 0
    started = time.perf_counter()
    pages = list(client.iter_case_pages(None))
    full_time = time.perf_counter() - started
    full_requests = counter.requests
    full_cases = sum(len(page.cases) for page in pages)
    watermark = pages[0].server_time

    sandbox.debtor_pays_many([(number, "1.00") for number in numbers[:changed]])

    counter.requests = 0
    started = time.perf_counter()
    delta = list(client.iter_cases_updated_since(watermark))
    delta_time = time.perf_counter() - started
    delta_requests = counter.requests

    print(f"Svea status sync against the sandbox at {url} (seeded {cases} cases in {seeding:.2f} s)")
    print(f"baseline: median of {pings} GET /ping = {ping * 1000:.2f} ms")
    print(f"{'sync':<12}{'cases':>8}{'requests':>10}{'wall s':>10}{'ms/case':>10}{'x ping':>10}")
    for name, count, made, seconds in (
        ("full", full_cases, full_requests, full_time),
        ("delta", len(delta), delta_requests, delta_time),
    ):
        print(
            f"{name:<12}{count:>8}{made:>10}{seconds:>10.2f}{seconds / max(count, 1) * 1000:>10.3f}"
            f"{seconds / ping:>10.0f}"
        )

    failures = []
    if full_cases != cases:
        failures.append(f"full sync saw {full_cases} cases, not {cases}")
    if len(delta) != changed:
        failures.append(f"delta sync saw {len(delta)} cases, not the {changed} changed")
    for name, count, made in (("full", cases, full_requests), ("delta", changed, delta_requests)):
        if made > max(1, math.ceil(count / PAGE)):
            failures.append(f"{name} sync made {made} requests for {count} cases (limit: one per {PAGE})")
    for failure in failures:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
