"""The RQ connection and queues. Every background job of the app is enqueued through here.

How a feature runs a call to Svea (or an SMTP send) in the background, with retries and a visible
failure::

    from svea_web.jobs_queue import SVEA_RETRY, enqueue

    db.session.commit()  # the worker may run the job at once: commit first
    enqueue(jobs.submit_case, case.id, retry=SVEA_RETRY, on_give_up=jobs.submit_case_gave_up)

    # svea_web/collection/jobs.py
    def submit_case(case_id: int) -> None:
        services.submit_case(case_id)  # idempotent: checks the state, sends the idempotency key

    def submit_case_gave_up(case_id: int, *, reason: str) -> None:
        services.mark_case_failed(case_id, reason)  # state failed, last_error = reason; no commit needed

The job is retried with backoff while it fails with a transient error (:func:`is_transient`: Svea
unavailable, a dropped connection, a timeout, an SMTP 4xx, or :class:`TransientJobError`). When it
fails for good - a permanent error such as :class:`svea_web.svea.errors.SveaRejected`, a bug, an
explicit :class:`JobFailed`, or the last retry - the ``on_give_up`` function is called once, in the
worker's app context, with the job's own arguments and ``reason=`` (a short text for the user); its
session changes are committed for it. The feature shows the reason and a retry button, whose view
resets the object and enqueues the job again.

Bulk actions report progress through a job group::

    group = create_group(current_client_id(), len(case_ids), _("Sender saker til Svea"))
    for case_id in case_ids:
        enqueue(jobs.submit_case, case_id, retry=SVEA_RETRY, on_give_up=..., group=group.id)
    return render_template("jobs/_progress.html", group=group)

and the partial polls ``/jobs/groups/<id>`` every second until every job is done or has failed.
"""

from __future__ import annotations

import contextvars
import logging
import smtplib
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, cast

from flask import current_app, g, has_request_context
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Callback, Queue, Retry, get_current_job
from rq.job import Job
from rq.timeouts import JobTimeoutException
from sqlalchemy.exc import OperationalError
from werkzeug.utils import import_string

from svea_web.logging_setup import mask_personal_ids
from svea_web.svea.errors import SveaError, SveaMalformedResponse, SveaUnavailable

log = logging.getLogger(__name__)

QUEUE_NAMES = ("high", "default", "low")


def backoff(retries: int, first: int, factor: int = 4, cap: int = 3600) -> Retry:
    """``retries`` more attempts after the first, waiting first, first*factor, ... seconds (at most cap)."""
    return Retry(max=retries, interval=[min(first * factor**n, cap) for n in range(retries)])


# Svea: 10 s, 40 s, 2m40s, 10m40s, 42m40s - a short outage is bridged, a long one ends visibly.
SVEA_RETRY = backoff(5, 10)
# SMTP: 30 s, 2 min, 8 min, 32 min.
SMTP_RETRY = backoff(4, 30)

FAILURE_REASON_MAX = 500


class TransientJobError(Exception):
    """Raise (or subclass) to say: this failure may pass, retry the job later if retries are left."""


class JobFailed(Exception):
    """Raise to give up at once, without retries; the message becomes the reason the user sees."""


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TransientJobError,
    SveaUnavailable,
    # A proxy's error page instead of Svea's JSON is most often a passing outage.
    SveaMalformedResponse,
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    ConnectionError,
    TimeoutError,
    socket.timeout,
    RedisConnectionError,
    RedisTimeoutError,
    JobTimeoutException,
    # Database gone for a moment, or SQLite busy past its timeout.
    OperationalError,
)


def is_transient(error: BaseException) -> bool:
    """True for failures worth another try later; everything else (bugs included) is permanent."""
    if isinstance(error, JobFailed):
        return False
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _msg in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    return isinstance(error, TRANSIENT_ERRORS)


def failure_reason(error: BaseException, attempts: int = 1) -> str:
    """A short text for the user: what went wrong, and after how many attempts."""
    message = getattr(error, "message", None) or str(error)
    if isinstance(error, JobFailed | TransientJobError | SveaError) and message:
        text = message  # already written for the user (Svea's own explanation, or the feature's)
    elif isinstance(error, JobTimeoutException):
        text = "Jobben brukte for lang tid og ble stoppet"
    else:
        text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    if attempts > 1:
        text = f"{text} (ga opp etter {attempts} forsøk)"
    text = mask_personal_ids(text)
    return text if len(text) <= FAILURE_REASON_MAX else text[: FAILURE_REASON_MAX - 1] + "…"


def get_redis() -> Redis:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    conn = app.extensions.get("svea_redis")
    if conn is None:
        url = app.config.get("REDIS_URL")
        if not url:
            raise RuntimeError("REDIS_URL is not set: start the app with `svea-web run` or set REDIS_URL")
        conn = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10, health_check_interval=30)
        app.extensions["svea_redis"] = conn
    return conn


def get_queue(name: str = "default") -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}; the worker listens on {QUEUE_NAMES}")
    return Queue(name, connection=get_redis(), is_async=current_app.config.get("RQ_IS_ASYNC", True))


def _dotted(func: Callable[..., Any] | str) -> str:
    if isinstance(func, str):
        return func
    return f"{func.__module__}.{func.__qualname__}"


# Keyword arguments that configure the job rather than being passed to it.
RQ_OPTIONS = frozenset(
    {
        "job_timeout", "result_ttl", "ttl", "failure_ttl", "description", "depends_on", "at_front", "meta",
        "retry", "on_success", "on_failure", "on_stopped", "pipeline", "enqueue_at_front", "group_id",
        "args", "kwargs",
    }
)  # fmt: skip


def _is_id(value: Any) -> bool:
    """Ids (numbers, keys, names) or lists of them: the only job arguments, as Redis and the dashboard keep them."""
    if isinstance(value, list | tuple):
        return all(isinstance(item, int | str) for item in value)
    return value is None or isinstance(value, int | str)


def enqueue(
    func: Callable[..., Any] | str,
    *args: Any,
    queue: str = "default",
    job_id: str | None = None,
    retry: Retry | None = None,
    on_give_up: Callable[..., Any] | str | None = None,
    group: str | None = None,
    client_id: int | None = None,
    **options: Any,
) -> Job:
    """Enqueue a job. Arguments must be ids, never personal data or secrets (they are stored in Redis).

    ``on_give_up`` (a function or its dotted path) is called with the job's arguments and ``reason=``
    once the job has failed for good. ``group`` is a job group id (:func:`create_group`).
    ``client_id`` tags the job's log lines; in a request it defaults to the current firm.
    """
    passed = [*args, *options.get("args", ()), *dict(options.get("kwargs") or {}).values()]
    passed += [value for key, value in options.items() if key not in RQ_OPTIONS]
    for value in passed:
        if not _is_id(value):
            raise TypeError(f"job arguments are ids, never objects or data: got {type(value).__name__}")
    meta: dict[str, Any] = dict(options.pop("meta", None) or {})
    if client_id is None and has_request_context() and g.get("client") is not None:
        client_id = g.client.id
    if client_id is not None:
        meta["client_id"] = client_id
    if on_give_up is not None:
        meta["on_give_up"] = _dotted(on_give_up)
    if group is not None:
        meta["group_id"] = group
    meta["attempts_allowed"] = 1 + (retry.max if retry else 0)
    return get_queue(queue).enqueue(
        cast(Any, func),
        *args,
        job_id=job_id,
        retry=retry,
        meta=meta,
        on_success=Callback(job_succeeded),
        on_failure=Callback(job_failed),
        **options,
    )


def _will_retry(job: Job) -> bool:
    # An inline queue (RQ_IS_ASYNC=False, the tests) never retries.
    return bool(current_app.config.get("RQ_IS_ASYNC", True) and job.retries_left)


def job_succeeded(job: Job, connection: Redis, result: Any, *args: Any, **kwargs: Any) -> None:
    group_id = job.meta.get("group_id")
    if group_id:
        _count(connection, group_id, "done")


def job_failed(
    job: Job,
    connection: Redis,
    exc_type: type[BaseException] | None,
    exc_value: BaseException | None,
    traceback: TracebackType | None,
    *args: Any,
    **kwargs: Any,
) -> None:
    """RQ's failure callback for every job: decide retry or give up, and tell the feature once."""
    from svea_web.extensions import db

    # The job's transaction may be broken half-way; nothing of it may leak into what follows.
    db.session.rollback()
    error = exc_value if exc_value is not None else RuntimeError("unknown failure")
    give_up_path = job.meta.get("on_give_up")
    if give_up_path and not is_transient(error):
        # Permanent: retrying cannot help, so the user sees the reason now, not after an hour of retries.
        job.retries_left = 0
    if _will_retry(job):
        log.warning("job attempt failed, will retry: %s", failure_reason(error), extra={"reason": "retry"})
        return
    allowed = int(job.meta.get("attempts_allowed", 1))
    attempts = allowed - int(job.retries_left or 0) if is_transient(error) else 1
    reason = failure_reason(error, attempts)
    log.error("job gave up: %s", reason, extra={"reason": "gave_up"})
    if give_up_path:
        try:
            import_string(give_up_path)(*job.args, reason=reason, **job.kwargs)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("the give-up function %s failed", give_up_path)
    group_id = job.meta.get("group_id")
    if group_id:
        _count(connection, group_id, "failed")


# --- the job running now, for log lines -------------------------------------------------------

_running_job: contextvars.ContextVar[Job | None] = contextvars.ContextVar("svea_running_job", default=None)


@contextmanager
def running(job: Job) -> Iterator[None]:
    """Mark ``job`` as the one whose log lines follow (the worker wraps each job, callbacks included)."""
    token = _running_job.set(job)
    try:
        yield
    finally:
        _running_job.reset(token)


class JobLogFilter(logging.Filter):
    """Adds ``job_id`` and ``client_id`` to every log record made while a job runs."""

    def filter(self, record: logging.LogRecord) -> bool:
        job = _running_job.get() or get_current_job()
        if job is not None:
            if getattr(record, "job_id", None) is None:
                record.job_id = job.id
            client_id = job.meta.get("client_id")
            if client_id is not None and getattr(record, "client_id", None) is None:
                record.client_id = client_id
        return True


# --- job groups: progress of a bulk action -----------------------------------------------------

GROUP_TTL_SECONDS = 24 * 3600


@dataclass(frozen=True)
class JobGroup:
    id: str
    client_id: int
    total: int
    done: int
    failed: int
    label: str

    @property
    def processed(self) -> int:
        # A job requeued by hand after it failed may count twice; the progress never passes the total.
        return min(self.total, self.done + self.failed)

    @property
    def finished(self) -> bool:
        return self.processed >= self.total

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else min(100, self.processed * 100 // self.total)


def _group_key(group_id: str) -> str:
    return f"svea:jobgroup:{group_id}"


def create_group(client_id: int, total: int, label: str) -> JobGroup:
    """A new group of ``total`` jobs belonging to one client firm; enqueue them with ``group=group.id``."""
    group = JobGroup(uuid.uuid4().hex, client_id, total, 0, 0, label)
    key = _group_key(group.id)
    with get_redis().pipeline() as pipe:
        pipe.hset(key, mapping={"client_id": client_id, "total": total, "done": 0, "failed": 0, "label": label})
        pipe.expire(key, GROUP_TTL_SECONDS)
        pipe.execute()
    return group


def get_group(group_id: str) -> JobGroup | None:
    raw = cast(dict[bytes, bytes], get_redis().hgetall(_group_key(group_id)))
    if not raw:
        return None
    data = {k.decode(): v.decode() for k, v in raw.items()}
    return JobGroup(
        id=group_id,
        client_id=int(data["client_id"]),
        total=int(data["total"]),
        done=int(data.get("done", 0)),
        failed=int(data.get("failed", 0)),
        label=data.get("label", ""),
    )


def _count(connection: Redis, group_id: str, field: str) -> None:
    key = _group_key(group_id)
    with connection.pipeline() as pipe:
        pipe.hincrby(key, field, 1)
        pipe.expire(key, GROUP_TTL_SECONDS)
        pipe.execute()


def redis_reachable() -> bool:
    try:
        return bool(get_redis().ping())
    except (RedisError, RuntimeError, OSError):
        return False
