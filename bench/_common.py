"""Shared bench helpers: a throw-away app on a temp database, and timing statistics."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask


@contextmanager
def bench_app(**config: Any) -> Iterator[Flask]:
    """An app on a fresh SQLite file (or BENCH_DATABASE_URL), jobs inline, date pinned."""
    from cryptography.fernet import Fernet

    from svea_web import create_app
    from svea_web.extensions import db

    with tempfile.TemporaryDirectory() as folder:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{folder}/bench.sqlite3"
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "bench",
                "SQLALCHEMY_DATABASE_URI": url,
                "WTF_CSRF_ENABLED": False,
                "RATELIMIT_ENABLED": False,
                "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                "LOG_LEVEL": "WARNING",
                **config,
            }
        )
        app.instance_path = folder
        with app.app_context():
            db.drop_all()
            db.create_all()
            try:
                yield app
            finally:
                db.session.remove()
                db.drop_all()
                db.engine.dispose()


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def time_calls(fn: Callable[[], Any], count: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": statistics.median(samples) * 1000,
        "p95_ms": percentile(samples, 95) * 1000,
        "per_s": len(samples) / sum(samples),
    }
