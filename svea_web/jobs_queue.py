"""The RQ connection and queues. Every background job of the app is enqueued through here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.job import Job

QUEUE_NAMES = ("high", "default", "low")


def get_redis() -> Redis:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    conn = app.extensions.get("svea_redis")
    if conn is None:
        url = app.config.get("REDIS_URL")
        if not url:
            raise RuntimeError("REDIS_URL is not set: start the app with `svea-web run` or set REDIS_URL")
        conn = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)
        app.extensions["svea_redis"] = conn
    return conn  # type: ignore[no-any-return]


def get_queue(name: str = "default") -> Queue:
    return Queue(name, connection=get_redis(), is_async=current_app.config.get("RQ_IS_ASYNC", True))


def enqueue(
    func: Callable[..., Any] | str,
    *args: Any,
    queue: str = "default",
    job_id: str | None = None,
    retry: Retry | None = None,
    **options: Any,
) -> Job:
    """Enqueue a job. Arguments must be ids, never personal data or secrets (they are stored in Redis)."""
    return get_queue(queue).enqueue(func, *args, job_id=job_id, retry=retry, **options)


def redis_reachable() -> bool:
    try:
        return bool(get_redis().ping())
    except (RedisError, RuntimeError, OSError):
        return False
