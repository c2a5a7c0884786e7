"""Start worker.py as a separate process against the test's database and Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parents[2]


def worker_env(app: Flask, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "SMTP_HOST", "WORKER_COUNT"}
    }
    env.update(
        DATABASE_URL=str(app.config["SQLALCHEMY_DATABASE_URI"]),
        REDIS_URL=str(app.config["REDIS_URL"]),
        SECRET_KEY=str(app.config["SECRET_KEY"]),
        SVEA_WEB_ENCRYPTION_KEYS=str(app.config["ENCRYPTION_KEYS"]),
        SVEA_WEB_INSTANCE=app.instance_path,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def run_worker(app: Flask, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python worker.py --burst`: runs every queued job in its own processes, then exits."""
    from svea_web.extensions import db

    # The test's open read transaction would hide the worker's writes (SQLite WAL snapshot).
    db.session.remove()
    return subprocess.run(
        [sys.executable, str(ROOT / "worker.py"), "--burst", *args],
        cwd=ROOT,
        env=worker_env(app),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
