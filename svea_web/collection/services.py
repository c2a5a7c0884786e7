"""Inkassosaker: create cases from marked posts, hand them to Svea, follow them, talk, close.

Never twice, never lost:
- A case gets its idempotency key when its row is created, in the transaction that links its posts; the
  partial unique index on CasePost(post_id) WHERE active makes a second active case for a post impossible.
- The submit job POSTs only while the case has no request id, always with the stored key, so a retry after
  a timeout (or after a worker died mid-call) gets Svea's first answer again instead of a second case.
- Every job is safe to run twice: it reads the state from the database before it calls Svea.
- A job that gives up leaves the case (or message, or close) failed, with the reason and a retry button.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from redis.exceptions import RedisError
from sqlalchemy import CursorResult, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from svea_web import audit
from svea_web.clock import today
from svea_web.collection import eligibility
from svea_web.collection.models import (
    CASE_CLOSED,
    CASE_FAILED,
    CASE_OPEN,
    CASE_PENDING,
    CASE_REJECTED,
    CASE_SUBMITTED,
    CLOSE_FAILED,
    CLOSE_PENDING,
    LEVEL_INKASSO,
    MESSAGE_FAILED,
    MESSAGE_IN,
    MESSAGE_OUT,
    MESSAGE_PENDING,
    MESSAGE_RECEIVED,
    MESSAGE_SENT,
    SYNC_FAILED,
    SYNC_IDLE,
    SYNC_QUEUED,
    SYNC_RUNNING,
    CaseEvent,
    CaseMessage,
    CasePost,
    Dispatch,
    SveaCase,
    SyncState,
)
from svea_web.extensions import db
from svea_web.jobs_queue import SVEA_RETRY, TransientJobError, enqueue
from svea_web.ledger.models import KIND_COMPANY, Customer, CustomerPost
from svea_web.models_base import utcnow
from svea_web.rules.kid import pad_kid
from svea_web.setup.models import SveaSettings
from svea_web.setup.services import setup_problems, svea_client_for, svea_settings
from svea_web.svea import (
    Address,
    CaseInfo,
    CaseLevel,
    CaseSubmission,
    CloseReason,
    Debtor,
    DebtorType,
    Invoice,
    MessageDirection,
    RequestState,
    SveaAuthError,
    SveaClient,
    SveaConflict,
    SveaError,
    SveaMalformedResponse,
    SveaRejected,
    SveaUnavailable,
)

log = logging.getLogger(__name__)

# A job that should have run by now but left its row pending was lost (worker killed): run it again.
STALLED_AFTER = timedelta(minutes=10)
# Rejections show only on the request, not in the delta poll: ask for this many per sync.
REQUEST_CHECKS_PER_SYNC = 50

# The close reasons as stored in the history (bokmål) and as shown in the form (the user's language).
CLOSE_REASON_TEXTS = {
    CloseReason.WITHDRAWN.value: "Trukket tilbake",
    CloseReason.PAID_TO_CREDITOR.value: "Betalt direkte til oss",
    CloseReason.CREDITED.value: "Kreditert",
    CloseReason.OTHER.value: "Annet",
}
CLOSE_REASONS = (
    (CloseReason.WITHDRAWN.value, _l("Trukket tilbake")),
    (CloseReason.PAID_TO_CREDITOR.value, _l("Betalt direkte til oss")),
    (CloseReason.CREDITED.value, _l("Kreditert")),
    (CloseReason.OTHER.value, _l("Annet")),
)

# Svea's event kinds after which it has new letters or a reply from the case handler for us.
LETTER_EVENT_SUFFIX = "_SENT"
REPLY_EVENT = "MESSAGE_FROM_HANDLER"


class CollectionError(Exception):
    """An action the user asked for cannot be done; the message says why and what to do (Norwegian)."""


class _PostTaken(Exception):
    """One of the posts was put in another case between reading and writing."""


class RetryLater(TransientJobError):
    """A Svea call failed in a way worth trying again: RQ retries the job (SVEA_RETRY), then gives up.

    The service has written the reason on the row before raising; when the retries are used up, the
    job's give-up function marks the row failed, and the user sees the reason and a retry button.
    """


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _rowcount(statement: Any) -> int:
    result = db.session.execute(statement)
    assert isinstance(result, CursorResult)
    return result.rowcount


def _text(msgid: str, **values: Any) -> str:
    """Text stored in the database (history lines, errors), in requests and jobs alike.

    Bokmål, the app's language of record: a job has no user language, and the history must read the
    same for everyone who opens the case later.
    """
    return msgid % values if values else msgid


def _new_key() -> str:
    return uuid.uuid4().hex


def add_event(
    case: SveaCase, kind: str, text: str, *, user_id: int | None = None, at: datetime | None = None
) -> CaseEvent:
    """A line in the case's history from the app (Svea's own events come in through the sync)."""
    event = CaseEvent(case_id=case.id, at=at or utcnow(), source="app", kind=kind, text=text, user_id=user_id)
    db.session.add(event)
    case.last_event_at = max(filter(None, (case.last_event_at, event.at)))
    return event


# --- used by other features ---------------------------------------------------------------------------


def case_for_post(post_id: int) -> SveaCase | None:
    """The case currently holding the post (pending, at Svea or failed), or None.

    Not scoped to the current firm: pass only ids of posts already read through the firm's scope.
    """
    return db.session.scalar(
        select(SveaCase)
        .join(CasePost, CasePost.case_id == SveaCase.id)
        .where(CasePost.post_id == post_id, CasePost.active.is_(True))
    )


def record_case_event(case_id: int, kind: str, text: str, user_id: int | None = None) -> CaseEvent:
    """Add a history line to a case (it commits with the caller's change)."""
    case = db.session.get(SveaCase, case_id)
    if case is None:
        raise LookupError(f"no case {case_id}")
    return add_event(case, kind, text, user_id=user_id)


# --- creating cases ------------------------------------------------------------------------------------


@dataclass
class CreateResult:
    batch_key: str
    case_ids: list[int] = field(default_factory=list)
    posts: int = 0
    already_in_case: int = 0  # posts someone else put in a case meanwhile
    no_longer_eligible: int = 0  # marked rows that are paid or gone by now


def create_cases(client_id: int, row_keys: Sequence[str], user_id: int | None) -> CreateResult:
    """One pending case per marked row (per customer with Gruppere poster), each in its own savepoint.

    Commits; then start_submissions() enqueues one submit job per case.
    """
    problems = setup_problems(client_id)
    if problems:
        raise CollectionError(" ".join(problems))
    keys = list(dict.fromkeys(key for key in row_keys if key))
    if not keys:
        raise CollectionError(_("Marker minst én rad først."))
    policy = eligibility.policy_for(client_id)
    groups = eligibility.posts_for_rows(client_id, policy, today(), keys)
    result = CreateResult(batch_key=_new_key())
    found_rows = {f"p{g[0].id}" for g in groups if len(g) == 1} | {f"c{g[0].customer_id}" for g in groups}
    result.no_longer_eligible = sum(1 for key in keys if key not in found_rows)
    try:
        with db.session.begin_nested():
            result.case_ids = _new_cases_in_bulk(client_id, policy.level, groups, result.batch_key, user_id)
        result.posts = sum(len(posts) for posts in groups)
    except (IntegrityError, _PostTaken):
        # Someone put one of these posts in a case meanwhile: case by case, so that the others still go.
        for posts in groups:
            try:
                with db.session.begin_nested():
                    case = _new_case(client_id, policy.level, posts, result.batch_key, user_id)
            except (IntegrityError, _PostTaken):
                result.already_in_case += len(posts)
                continue
            result.case_ids.append(case.id)
            result.posts += len(posts)
    if result.case_ids:
        audit.record(
            client_id,
            "collection.cases_created",
            "svea_case_batch",
            result.batch_key,
            f"{len(result.case_ids)} saker, {result.posts} poster",
            user_id=user_id,
        )
    db.session.commit()
    return result


def _new_cases_in_bulk(
    client_id: int, level: str, groups: list[list[CustomerPost]], batch_key: str, user_id: int | None
) -> list[int]:
    """Every case of a bulk submission with a fixed number of statements (1,000 marked rows at once).

    The same rows as _new_case makes one by one. Raises IntegrityError or _PostTaken when any post is
    taken already; the caller then goes case by case.
    """
    if not groups:
        return []
    now = utcnow()
    keys = [_new_key() for _posts in groups]
    db.session.execute(
        insert(SveaCase),
        [
            {
                "client_id": client_id,
                "customer_id": posts[0].customer_id,
                "level": level,
                "state": CASE_PENDING,
                "idempotency_key": key,
                "batch_key": batch_key,
                "principal_original": sum((post.open_amount for post in posts), Decimal("0")),
                "principal_remaining": sum((post.open_amount for post in posts), Decimal("0")),
                "created_by_id": user_id,
                "last_event_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for key, posts in zip(keys, groups, strict=True)
        ],
    )
    ids = dict(
        db.session.execute(
            select(SveaCase.idempotency_key, SveaCase.id).where(
                SveaCase.client_id == client_id, SveaCase.batch_key == batch_key
            )
        ).all()
    )
    case_ids = [ids[key] for key in keys]
    pairs = [(case_id, post) for case_id, posts in zip(case_ids, groups, strict=True) for post in posts]
    db.session.execute(
        insert(CasePost),
        [
            {"case_id": case_id, "post_id": post.id, "active": True, "amount_at_handover": post.open_amount}
            for case_id, post in pairs
        ],
    )
    posts_table = CustomerPost.__table__
    db.session.execute(
        update(posts_table)
        .where(posts_table.c.id == bindparam("b_post"), posts_table.c.svea_case_id.is_(None))
        .values(svea_case_id=bindparam("b_case")),
        [{"b_post": post.id, "b_case": case_id} for case_id, post in pairs],
    )
    taken = db.session.scalar(
        select(func.count()).select_from(CustomerPost).where(CustomerPost.svea_case_id.in_(case_ids))
    )
    if taken != len(pairs):
        raise _PostTaken()
    db.session.execute(
        insert(CaseEvent),
        [
            {
                "case_id": case_id,
                "at": now,
                "source": "app",
                "kind": "created",
                "text": _created_text(level, len(posts)),
                "user_id": user_id,
            }
            for case_id, posts in zip(case_ids, groups, strict=True)
        ],
    )
    # The posts read before keep their old svea_case_id in memory; nothing below may trust it.
    db.session.expire_all()
    return case_ids


def _created_text(level: str, posts: int) -> str:
    word = _text("purring") if level != LEVEL_INKASSO else _text("inkasso")
    return _text("Saken er opprettet (%(level)s) med %(n)s poster og sendes til Svea.", level=word, n=posts)


def _new_case(client_id: int, level: str, posts: list[CustomerPost], batch_key: str, user_id: int | None) -> SveaCase:
    total = sum((post.open_amount for post in posts), Decimal("0"))
    case = SveaCase(
        client_id=client_id,
        customer_id=posts[0].customer_id,
        level=level,
        state=CASE_PENDING,
        idempotency_key=_new_key(),
        batch_key=batch_key,
        principal_original=total,
        principal_remaining=total,
        created_by_id=user_id,
    )
    db.session.add(case)
    db.session.flush()
    for post in posts:
        db.session.add(CasePost(case_id=case.id, post_id=post.id, active=True, amount_at_handover=post.open_amount))
    db.session.flush()
    taken = _rowcount(
        update(CustomerPost)
        .where(CustomerPost.id.in_([post.id for post in posts]), CustomerPost.svea_case_id.is_(None))
        .values(svea_case_id=case.id)
        .execution_options(synchronize_session="fetch")
    )
    if taken != len(posts):
        raise _PostTaken()
    add_event(case, "created", _created_text(level, len(posts)), user_id=user_id)
    return case


@dataclass(frozen=True)
class BatchProgress:
    total: int
    pending: int
    submitted: int
    confirmed: int
    rejected: int
    failed: int

    @property
    def sent(self) -> int:
        return self.total - self.pending

    @property
    def sending(self) -> bool:
        return self.pending > 0

    @property
    def percent(self) -> int:
        return round(100 * self.sent / self.total) if self.total else 100


def batch_progress(client_id: int, batch_key: str) -> BatchProgress | None:
    counts = dict(
        db.session.execute(
            select(SveaCase.state, func.count())
            .where(SveaCase.client_id == client_id, SveaCase.batch_key == batch_key)
            .group_by(SveaCase.state)
        ).all()
    )
    total = sum(counts.values())
    if not total:
        return None
    return BatchProgress(
        total=total,
        pending=counts.get(CASE_PENDING, 0),
        submitted=counts.get(CASE_SUBMITTED, 0),
        confirmed=counts.get(CASE_OPEN, 0) + counts.get(CASE_CLOSED, 0),
        rejected=counts.get(CASE_REJECTED, 0),
        failed=counts.get(CASE_FAILED, 0),
    )


# --- submitting ----------------------------------------------------------------------------------------


def _level(level: str) -> CaseLevel:
    return CaseLevel.INKASSO if level == LEVEL_INKASSO else CaseLevel.PURRING


def _kid(kid: str | None, length: int) -> str | None:
    if not kid:
        return None
    try:
        return pad_kid(kid, length)
    except ValueError:
        return kid  # longer than the configured length: Svea gets it as it is, never cut


def build_submission(case: SveaCase, settings: SveaSettings | None) -> CaseSubmission:
    """What Svea gets for the case: the debtor and the case's active posts, oldest due date first.

    Two plain reads (the customer by its key, the posts' columns in one select) rather than the case's
    relationships: each submit job runs in a fresh work horse, which compiles every statement it uses
    anew, and the ORM's eager-load statements cost more to compile than the job's Svea call.
    """
    customer = db.session.get(Customer, case.customer_id)
    assert customer is not None
    company = customer.kind == KIND_COMPANY
    kid_length = settings.kid_length if settings is not None else 25
    posts = db.session.execute(
        select(
            CustomerPost.invoice_no,
            CustomerPost.match_no,
            CustomerPost.invoice_date,
            CustomerPost.due_date,
            CustomerPost.amount,
            CustomerPost.kid,
            CustomerPost.currency,
            CasePost.amount_at_handover,
        )
        .join(CasePost, CasePost.post_id == CustomerPost.id)
        .where(CasePost.case_id == case.id, CasePost.active.is_(True))
        .order_by(CustomerPost.due_date, CustomerPost.id)
    ).all()
    return CaseSubmission(
        level=_level(case.level),
        # The idempotency key doubles as our reference: the sync can then recognise the case even if
        # the answer to the POST was lost.
        creditor_ref=case.idempotency_key,
        debtor=Debtor(
            type=DebtorType.COMPANY if company else DebtorType.PERSON,
            name=customer.name,
            address=Address(
                street=customer.address or "", postal_code=customer.postcode or "", city=customer.city or ""
            ),
            org_no=customer.org_no if company else None,
            national_id=None if company else customer.national_id,
            email=customer.email,
            customer_no=customer.customer_no,
        ),
        invoices=[
            Invoice(
                invoice_no=post.invoice_no,
                match_no=post.match_no,
                invoice_date=post.invoice_date,
                due_date=post.due_date,
                amount=post.amount,
                remaining_amount=post.amount_at_handover,
                kid=_kid(post.kid, kid_length),
                currency=post.currency,
            )
            for post in posts
        ],
    )


def submit_case(case_id: int) -> None:
    """The submit job: hand the case to Svea once, or learn what became of the earlier hand-over."""
    case = db.session.get(SveaCase, case_id)
    if case is None or case.state != CASE_PENDING:
        return
    problems = setup_problems(case.client_id)
    if problems:
        _fail(case, " ".join(problems))
        db.session.commit()
        return
    if case.request_id:
        _check_submitted(case)
        return
    submission = build_submission(case, svea_settings(case.client_id))
    svea = svea_client_for(case.client_id)
    key = case.idempotency_key
    # End the read transaction: nothing stays open in the database while Svea answers.
    db.session.commit()
    try:
        with svea:
            result = svea.submit_case(submission, key)
    except SveaRejected as error:
        case.attempts += 1
        _reject(case, error.reason)
        db.session.commit()
        return
    except SveaError as error:
        _call_failed(case, error)
        return
    _mark_submitted(case_id, result.request_id)
    db.session.commit()


def _mark_submitted(case_id: int, request_id: str) -> None:
    """Svea has the case: two statements, guarded by the state, so a confirmation a sync made meanwhile
    (it knows the case by our reference) is kept and only the request id is filled in."""
    now = utcnow()
    moved = _rowcount(
        update(SveaCase)
        .where(SveaCase.id == case_id, SveaCase.state == CASE_PENDING)
        .values(
            state=CASE_SUBMITTED,
            request_id=request_id,
            submitted_at=now,
            last_error=None,
            attempts=SveaCase.attempts + 1,
            last_event_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if moved:
        text = _text("Sendt til Svea. Svea bekrefter saken med saksnummer om ca. 5 minutter.")
        db.session.execute(insert(CaseEvent).values(case_id=case_id, at=now, source="app", kind="submitted", text=text))
    else:
        db.session.execute(
            update(SveaCase)
            .where(SveaCase.id == case_id, SveaCase.request_id.is_(None))
            .values(request_id=request_id)
            .execution_options(synchronize_session=False)
        )


def _check_submitted(case: SveaCase) -> None:
    """The case has a request id: ask Svea what became of the request (never POST again)."""
    request_id, client_id = case.request_id, case.client_id
    assert request_id is not None
    db.session.commit()
    try:
        with svea_client_for(client_id) as svea:
            status = svea.get_request(request_id)
    except SveaError as error:
        _call_failed(case, error)
        return
    case.attempts += 1
    _apply_request_status(case, status.state, status.case_number, status.reason, status.decided_at)
    db.session.commit()


def _apply_request_status(
    case: SveaCase, state: RequestState, case_number: str | None, reason: str | None, decided_at: datetime | None
) -> None:
    case.request_checked_at = utcnow()
    if state is RequestState.CONFIRMED and case_number:
        _confirm(case, case_number, _naive(decided_at) if decided_at else utcnow())
    elif state is RequestState.REJECTED:
        _reject(case, reason or _text("ingen begrunnelse oppgitt"))
    elif case.state in (CASE_PENDING, CASE_FAILED):
        case.state = CASE_SUBMITTED
        case.submitted_at = case.submitted_at or utcnow()
        case.last_error = None


def _call_failed(case: SveaCase, error: SveaError) -> None:
    """A Svea call of the submit job failed: a passing outage is retried, anything else fails at once."""
    case.attempts += 1
    if _transient(error):
        case.last_error = _error_text(error)
        db.session.commit()
        raise RetryLater(case.last_error) from error
    _fail(case, _auth_text() if isinstance(error, SveaAuthError) else _error_text(error))
    db.session.commit()


def _transient(error: SveaError) -> bool:
    return isinstance(error, SveaUnavailable | SveaMalformedResponse)


def mark_case_failed(case_id: int, reason: str) -> None:
    """The submit job gave up (retries used up, or an unexpected error): the case shows it, with a retry."""
    case = db.session.get(SveaCase, case_id)
    if case is not None and case.state == CASE_PENDING:
        _fail(case, reason)


def _auth_text() -> str:
    return _text(
        "Svea godtok ikke innloggingen. Kontroller kundenummer, brukernavn og passord under Oppsett Svea, "
        "og trykk «Prøv igjen»."
    )


def _error_text(error: SveaError) -> str:
    if isinstance(error, SveaUnavailable):
        return _text("Svea svarte ikke (%(detail)s).", detail=error.message)
    if isinstance(error, SveaMalformedResponse):
        return _text("Svea svarte med noe appen ikke forstod (%(detail)s).", detail=error.message)
    if isinstance(error, SveaRejected):
        return _text("Svea avviste forespørselen: %(reason)s", reason=error.reason)
    return error.message


def _confirm(case: SveaCase, case_number: str, acknowledged_at: datetime) -> None:
    if case.state not in (CASE_PENDING, CASE_SUBMITTED, CASE_FAILED):
        return
    case.state = CASE_OPEN
    case.case_number = case_number
    case.acknowledged_at = acknowledged_at
    case.svea_status = case.svea_status or "REGISTERED"
    case.last_error = None
    case.submitted_at = case.submitted_at or acknowledged_at
    db.session.execute(
        update(CustomerPost)
        .where(CustomerPost.svea_case_id == case.id)
        .values(svea_reference=case_number)
        .execution_options(synchronize_session=False)
    )
    add_event(case, "confirmed", _text("Svea bekreftet saken med saksnummer %(number)s.", number=case_number))


def _release_posts(case_ids: Iterable[int]) -> None:
    """The posts of these cases are free again (rejected or closed); they keep their Svea reference."""
    ids = list(case_ids)
    if not ids:
        return
    db.session.execute(
        update(CasePost)
        .where(CasePost.case_id.in_(ids))
        .values(active=False)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(CustomerPost)
        .where(CustomerPost.svea_case_id.in_(ids))
        .values(svea_case_id=None)
        .execution_options(synchronize_session=False)
    )


def _reject(case: SveaCase, reason: str) -> None:
    case.state = CASE_REJECTED
    case.last_error = reason
    case.request_checked_at = utcnow()
    _release_posts([case.id])
    add_event(case, "rejected", _text("Svea avviste saken: %(reason)s Postene er tilbake i Nye saker.", reason=reason))


def _fail(case: SveaCase, reason: str) -> None:
    case.state = CASE_FAILED
    case.last_error = reason
    add_event(case, "failed", _text("Sending til Svea feilet: %(reason)s", reason=reason))


def retry_case(case: SveaCase, user_id: int | None) -> bool:
    """Send a failed case again, with the same idempotency key: commits and starts the job (False: no queue)."""
    if case.state != CASE_FAILED:
        raise CollectionError(_("Bare saker som har feilet kan sendes på nytt."))
    problems = setup_problems(case.client_id)
    if problems:
        raise CollectionError(" ".join(problems))
    case.state = CASE_PENDING
    case.attempts = 0
    case.last_error = None
    add_event(case, "retry", _text("Sendes til Svea på nytt."), user_id=user_id)
    audit.record(case.client_id, "collection.case_retry", "svea_case", case.id, user_id=user_id)
    db.session.commit()
    return _start(enqueue_submit, case.id)


# --- status sync ---------------------------------------------------------------------------------------


def sync_state(client_id: int) -> SyncState:
    state = db.session.get(SyncState, client_id)
    if state is None:
        state = SyncState(client_id=client_id, status=SYNC_IDLE)
        db.session.add(state)
        try:
            with db.session.begin_nested():
                db.session.flush()
        except IntegrityError:
            state = db.session.get(SyncState, client_id)
            assert state is not None
    return state


def claim_sync(client_id: int) -> bool:
    """Mark a sync as queued unless one is queued or running already. Commits; True: enqueue it."""
    sync_state(client_id)
    now = utcnow()
    claimed = _rowcount(
        update(SyncState)
        .where(
            SyncState.client_id == client_id,
            or_(
                SyncState.status.not_in((SYNC_QUEUED, SYNC_RUNNING)),
                SyncState.requested_at.is_(None),
                SyncState.requested_at < now - STALLED_AFTER,
            ),
        )
        .values(status=SYNC_QUEUED, requested_at=now)
        .execution_options(synchronize_session="fetch")
    )
    db.session.commit()
    return bool(claimed)


def request_sync(client_id: int) -> bool:
    """Enqueue one delta poll for the firm, unless one is already queued or running (deduplicated).

    Call it after committing your own change (it commits). True when a sync job was enqueued.
    """
    if setup_problems(client_id) or not claim_sync(client_id):
        return False
    from svea_web.collection import jobs

    try:
        enqueue(jobs.sync_client, client_id, queue="high", job_timeout=600, on_give_up=jobs.sync_client_gave_up)
    except (RedisError, RuntimeError, OSError) as error:
        # No queue: say so on the page, and let the next request or the periodic sync try again.
        log.warning("could not enqueue the sync for client %s: %s", client_id, error)
        state = sync_state(client_id)
        state.status = SYNC_FAILED
        state.last_error = _text("Jobbkøen svarer ikke, så statusen ble ikke hentet fra Svea. Prøv igjen om litt.")
        db.session.commit()
        return False
    return True


@dataclass
class SyncOutcome:
    cases_seen: int = 0
    cases_updated: int = 0
    confirmed: int = 0
    rejected: int = 0
    closed: int = 0
    events: int = 0
    messages: int = 0
    dispatches: int = 0


def sync_client(client_id: int) -> SyncOutcome:
    """The sync job: one delta poll (`updatedSince`, all pages) for the firm, then open request checks."""
    outcome = SyncOutcome()
    state = sync_state(client_id)
    if setup_problems(client_id):
        state.status = SYNC_IDLE
        db.session.commit()
        return outcome
    since = _aware(state.updated_since) if state.updated_since else None
    state.status = SYNC_RUNNING
    db.session.commit()
    try:
        with svea_client_for(client_id) as svea:
            server_time: datetime | None = None
            for page in svea.iter_case_pages(since):
                server_time = server_time or page.server_time
                _apply_cases(client_id, svea, page.cases, outcome)
                db.session.commit()
            _check_open_requests(client_id, svea, outcome)
    except SveaError as error:
        db.session.rollback()
        state = sync_state(client_id)
        state.status = SYNC_FAILED
        state.last_error = _auth_text() if isinstance(error, SveaAuthError) else _error_text(error)
        db.session.commit()
        log.warning("sync for client %s failed: %s", client_id, error.message)
        return outcome
    state = sync_state(client_id)
    if server_time is not None:
        state.updated_since = _naive(server_time)
    state.last_synced_at = utcnow()
    state.status = SYNC_IDLE
    state.last_error = None
    db.session.commit()
    if outcome.confirmed:
        # Payments registered while these cases waited for their number can be reported to Svea now.
        _start(_enqueue_direct_payments, client_id)
    return outcome


def _enqueue_direct_payments(client_id: int) -> None:
    enqueue(
        "svea_web.payments.jobs.send_direct_payments",
        client_id,
        retry=SVEA_RETRY,
        on_give_up="svea_web.payments.jobs.send_direct_payments_gave_up",
        client_id=client_id,
    )


def _apply_cases(client_id: int, svea: SveaClient, infos: Sequence[CaseInfo], outcome: SyncOutcome) -> None:
    """Apply one page of the delta poll with a fixed number of statements, however many cases it holds.

    The cases are read as plain rows and written with one bulk UPDATE and one bulk INSERT of events:
    a page of 500 changed cases costs a handful of statements, not 500 round trips through the ORM.
    """
    latest: dict[str, CaseInfo] = {}
    for info in infos:
        latest[info.case_number] = info  # a case changed during paging comes twice; the later is newer
    outcome.cases_seen += len(latest)
    known = _case_rows(client_id, list(latest))
    unknown = [info for number, info in latest.items() if number not in known]
    if unknown:
        outcome.confirmed += _confirm_from_poll(client_id, unknown)
        known.update(_case_rows(client_id, [info.case_number for info in unknown]))
    if not known:
        return
    known_events = _external_ids(CaseEvent, [row.id for row in known.values()])
    now = utcnow()
    updates: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    closed_ids: list[int] = []
    wants_letters: list[tuple[int, str]] = []
    wants_messages: list[tuple[int, str]] = []
    for number, row in known.items():
        info = latest[number]
        new_events = _new_events(row.id, info, known_events.get(row.id, set()))
        events.extend(new_events)
        values = {"id": row.id, **_svea_values(info), "updated_at": now}
        values["last_event_at"] = max(
            filter(None, [row.last_event_at, *(event["at"] for event in new_events)]), default=None
        )
        if info.is_closed and row.state != CASE_CLOSED:
            values.update(_closed_values(info, row.close_reason))
            closed_ids.append(row.id)
        updates.append(values)
        kinds = [event["kind"] for event in new_events]
        # A case first seen with letters already sent has those letters' events among its new ones.
        if any(kind.endswith(LETTER_EVENT_SUFFIX) for kind in kinds):
            wants_letters.append((row.id, number))
        if REPLY_EVENT in kinds:
            wants_messages.append((row.id, number))
    db.session.execute(update(SveaCase), updates)
    if events:
        db.session.execute(insert(CaseEvent), events)
    _release_posts(closed_ids)
    outcome.cases_updated += len(updates)
    outcome.events += len(events)
    outcome.closed += len(closed_ids)
    _fetch_dispatches(svea, wants_letters, outcome)
    _fetch_messages(svea, wants_messages, outcome)


def _case_rows(client_id: int, numbers: list[str]) -> dict[str, Any]:
    rows = db.session.execute(
        select(SveaCase.id, SveaCase.case_number, SveaCase.state, SveaCase.close_reason, SveaCase.last_event_at).where(
            SveaCase.client_id == client_id, SveaCase.case_number.in_(numbers)
        )
    ).all()
    return {str(row.case_number): row for row in rows}


def _confirm_from_poll(client_id: int, unknown: list[CaseInfo]) -> int:
    """Cases of ours that Svea has opened, known by request id or by our reference (the lost-answer case).

    In bulk: a sync after a bulk submission confirms a thousand cases at once.
    """
    by_request = {info.request_id: info for info in unknown}
    by_ref = {info.creditor_ref: info for info in unknown}
    waiting = db.session.execute(
        select(SveaCase.id, SveaCase.request_id, SveaCase.idempotency_key).where(
            SveaCase.client_id == client_id,
            SveaCase.state.in_((CASE_PENDING, CASE_SUBMITTED, CASE_FAILED)),
            or_(SveaCase.request_id.in_(list(by_request)), SveaCase.idempotency_key.in_(list(by_ref))),
        )
    ).all()
    if not waiting:
        return 0
    now = utcnow()
    found = [(row.id, by_request.get(row.request_id or "") or by_ref[row.idempotency_key]) for row in waiting]
    table = SveaCase.__table__
    db.session.execute(
        update(table)
        .where(
            table.c.id == bindparam("b_id"),
            # Plain comparisons: an IN list cannot go into one statement run for many rows.
            or_(table.c.state == CASE_PENDING, table.c.state == CASE_SUBMITTED, table.c.state == CASE_FAILED),
        )
        .values(
            state=CASE_OPEN,
            case_number=bindparam("b_number"),
            request_id=bindparam("b_request"),
            acknowledged_at=bindparam("b_at"),
            submitted_at=func.coalesce(table.c.submitted_at, bindparam("b_at")),
            svea_status=func.coalesce(table.c.svea_status, "REGISTERED"),
            last_error=None,
            last_event_at=now,
            updated_at=now,
        ),
        [
            {
                "b_id": case_id,
                "b_number": info.case_number,
                "b_request": info.request_id,
                "b_at": _naive(info.created_at),
            }
            for case_id, info in found
        ],
    )
    posts = CustomerPost.__table__
    db.session.execute(
        update(posts).where(posts.c.svea_case_id == bindparam("b_case")).values(svea_reference=bindparam("b_number")),
        [{"b_case": case_id, "b_number": info.case_number} for case_id, info in found],
    )
    db.session.execute(
        insert(CaseEvent),
        [
            {
                "case_id": case_id,
                "at": now,
                "source": "app",
                "kind": "confirmed",
                "text": _text("Svea bekreftet saken med saksnummer %(number)s.", number=info.case_number),
            }
            for case_id, info in found
        ],
    )
    return len(found)


def _external_ids(
    model: type[CaseEvent] | type[Dispatch] | type[CaseMessage], case_ids: list[int]
) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for case_id, external_id in db.session.execute(
        select(model.case_id, model.external_id).where(model.case_id.in_(case_ids), model.external_id.is_not(None))
    ):
        found.setdefault(case_id, set()).add(str(external_id))
    return found


def _svea_values(info: CaseInfo) -> dict[str, Any]:
    """Svea's status and amounts of a case, as column values."""
    amounts = info.amounts
    return {
        "svea_status": info.status.value,
        "principal_original": amounts.principal.original,
        "principal_paid": amounts.principal.paid,
        "principal_remaining": amounts.principal.remaining,
        "fees_remaining": amounts.fees.remaining,
        "interest_remaining": amounts.interest.remaining,
        "svea_updated_at": _naive(info.updated_at),
    }


def _closed_values(info: CaseInfo, close_reason: str | None) -> dict[str, Any]:
    return {
        "state": CASE_CLOSED,
        "closed_at": _naive(info.closed_at or info.updated_at),
        "close_reason": info.close_reason or close_reason or info.status.value,
        "close_status": None,
        "last_error": None,
    }


def _new_events(case_id: int, info: CaseInfo, known: set[str]) -> list[dict[str, Any]]:
    """Svea's events of the case we have not stored yet (unique by Svea's event id), as rows."""
    rows = []
    for event in info.events:
        external_id = str(event.id)
        if external_id in known:
            continue
        known.add(external_id)
        rows.append(
            {
                "case_id": case_id,
                "at": _naive(event.at),
                "source": "svea",
                "kind": event.kind,
                "text": event.text,
                "external_id": external_id,
            }
        )
    return rows


def _apply_info(case: SveaCase, info: CaseInfo) -> None:
    """Svea's view of one case onto its ORM row (the close job's answer)."""
    for column, value in _svea_values(info).items():
        setattr(case, column, value)
    new_events = _new_events(case.id, info, _external_ids(CaseEvent, [case.id]).get(case.id, set()))
    if new_events:
        db.session.execute(insert(CaseEvent), new_events)
        case.last_event_at = max(filter(None, [case.last_event_at, *(event["at"] for event in new_events)]))
    if info.is_closed and case.state != CASE_CLOSED:
        for column, value in _closed_values(info, case.close_reason).items():
            setattr(case, column, value)


def _fetch_dispatches(svea: SveaClient, cases: list[tuple[int, str]], outcome: SyncOutcome) -> None:
    if not cases:
        return
    known = _external_ids(Dispatch, [case_id for case_id, _number in cases])
    for case_id, number in cases:
        for letter in svea.get_dispatches(number):
            if str(letter.id) in known.get(case_id, set()):
                continue
            db.session.add(
                Dispatch(
                    case_id=case_id,
                    external_id=str(letter.id),
                    kind=letter.kind.value,
                    title=_letter_title(letter.kind.value),
                    sent_at=_naive(letter.sent_at),
                    deadline=letter.deadline,
                    fee_charged=letter.fee_charged,
                    total_due=letter.total_due,
                )
            )
            outcome.dispatches += 1


def _letter_title(kind: str) -> str:
    titles = {
        "REMINDER": _text("Betalingspåminnelse"),
        "COLLECTION_NOTICE": _text("Inkassovarsel"),
        "PAYMENT_DEMAND": _text("Betalingsoppfordring"),
    }
    return titles.get(kind, kind)


def _fetch_messages(svea: SveaClient, cases: list[tuple[int, str]], outcome: SyncOutcome) -> None:
    if not cases:
        return
    known = _external_ids(CaseMessage, [case_id for case_id, _number in cases])
    for case_id, number in cases:
        for message in svea.get_messages(number):
            # Our own messages are stored by the send job, with the id Svea gave them.
            if message.direction is not MessageDirection.FROM_HANDLER or str(message.id) in known.get(case_id, set()):
                continue
            db.session.add(
                CaseMessage(
                    case_id=case_id,
                    direction=MESSAGE_IN,
                    text=message.text,
                    at=_naive(message.at),
                    state=MESSAGE_RECEIVED,
                    external_id=str(message.id),
                    author=message.author,
                )
            )
            outcome.messages += 1


def _check_open_requests(client_id: int, svea: SveaClient, outcome: SyncOutcome) -> None:
    """Submitted cases the poll did not confirm: a rejection is only told on the request itself."""
    waiting = db.session.scalars(
        select(SveaCase)
        .where(SveaCase.client_id == client_id, SveaCase.state == CASE_SUBMITTED, SveaCase.request_id.is_not(None))
        .order_by(SveaCase.request_checked_at.is_not(None), SveaCase.request_checked_at, SveaCase.id)
        .limit(REQUEST_CHECKS_PER_SYNC)
    ).all()
    for case in waiting:
        assert case.request_id is not None
        status = svea.get_request(case.request_id)
        before = case.state
        _apply_request_status(case, status.state, status.case_number, status.reason, status.decided_at)
        if case.state == CASE_REJECTED and before != CASE_REJECTED:
            outcome.rejected += 1
        elif case.state == CASE_OPEN and before != CASE_OPEN:
            outcome.confirmed += 1
        db.session.commit()


def sync_all_clients() -> int:
    """The periodic job: resume lost jobs and request a sync for every firm with Svea set up."""
    client_ids = db.session.scalars(
        select(SveaSettings.client_id).where(
            SveaSettings.customer_no.is_not(None),
            SveaSettings.username.is_not(None),
            SveaSettings.password_encrypted.is_not(None),
        )
    ).all()
    requested = 0
    for client_id in client_ids:
        resume_stalled(client_id)
        requested += request_sync(client_id)
    return requested


def resume_stalled(client_id: int) -> int:
    """Enqueue again the jobs whose rows are still pending long after they should have run.

    A worker killed mid-call leaves its row pending; the job is safe to run twice, so running it again
    finishes the work without sending anything twice.
    """
    before = utcnow() - STALLED_AFTER
    cases = db.session.scalars(
        select(SveaCase.id).where(
            SveaCase.client_id == client_id, SveaCase.state == CASE_PENDING, SveaCase.updated_at < before
        )
    ).all()
    closes = db.session.scalars(
        select(SveaCase.id).where(
            SveaCase.client_id == client_id,
            SveaCase.close_status == CLOSE_PENDING,
            SveaCase.close_requested_at < before,
        )
    ).all()
    messages = db.session.scalars(
        select(CaseMessage.id)
        .join(SveaCase, SveaCase.id == CaseMessage.case_id)
        .where(SveaCase.client_id == client_id, CaseMessage.state == MESSAGE_PENDING, CaseMessage.at < before)
    ).all()
    for case_id in cases:
        enqueue_submit(case_id)
    for case_id in closes:
        enqueue_close(case_id)
    for message_id in messages:
        enqueue_message(message_id)
    return len(cases) + len(closes) + len(messages)


def _start(enqueue_job: Callable[[int], None], object_id: int) -> bool:
    """Enqueue a job for a row already committed; False when the queue is down (the periodic job resumes it)."""
    try:
        enqueue_job(object_id)
    except (RedisError, RuntimeError, OSError) as error:
        log.warning("could not enqueue %s(%s): %s", enqueue_job.__name__, object_id, error)
        return False
    return True


def start_submissions(case_ids: Sequence[int]) -> bool:
    """One submit job per case (after create_cases); False when the queue is down."""
    return all(_start(enqueue_submit, case_id) for case_id in case_ids)


def enqueue_submit(case_id: int) -> None:
    from svea_web.collection import jobs

    enqueue(jobs.submit_case, case_id, retry=SVEA_RETRY, on_give_up=jobs.submit_case_gave_up)


def enqueue_message(message_id: int) -> None:
    from svea_web.collection import jobs

    enqueue(jobs.send_message, message_id, retry=SVEA_RETRY, on_give_up=jobs.send_message_gave_up)


def enqueue_close(case_id: int) -> None:
    from svea_web.collection import jobs

    enqueue(jobs.close_case, case_id, retry=SVEA_RETRY, on_give_up=jobs.close_case_gave_up)


# --- messages to the case handler ----------------------------------------------------------------------


def post_message(case: SveaCase, text: str, user_id: int | None, author: str | None) -> bool:
    """Store the message as pending, commit, and start the send job (False: no queue; it is sent later)."""
    text = text.strip()
    if not text:
        raise CollectionError(_("Skriv en melding først."))
    if case.state != CASE_OPEN or not case.case_number:
        raise CollectionError(_("Meldinger kan sendes når saken er åpen hos Svea og har saksnummer."))
    message = CaseMessage(
        case_id=case.id,
        direction=MESSAGE_OUT,
        text=text,
        state=MESSAGE_PENDING,
        idempotency_key=_new_key(),
        user_id=user_id,
        author=author,
    )
    db.session.add(message)
    audit.record(case.client_id, "collection.message", "svea_case", case.id, f"{len(text)} tegn", user_id=user_id)
    db.session.commit()
    return _start(enqueue_message, message.id)


def send_message(message_id: int) -> None:
    """The message job: post the message to Svea once (its idempotency key makes a retry safe)."""
    message = db.session.get(CaseMessage, message_id)
    if message is None or message.state != MESSAGE_PENDING:
        return
    case = db.session.get(SveaCase, message.case_id)
    assert case is not None and case.case_number is not None
    case_number, text, key = case.case_number, message.text, message.idempotency_key
    assert key is not None
    db.session.commit()
    try:
        with svea_client_for(case.client_id) as svea:
            sent = svea.send_message(case_number, text, key)
    except SveaError as error:
        message.attempts += 1
        message.last_error = _auth_text() if isinstance(error, SveaAuthError) else _error_text(error)
        if _transient(error):
            db.session.commit()
            raise RetryLater(message.last_error) from error
        _message_failed(message, case, message.last_error)
        db.session.commit()
        return
    message.attempts += 1
    message.state = MESSAGE_SENT
    message.external_id = str(sent.id)
    message.at = _naive(sent.at)
    message.last_error = None
    add_event(
        case,
        "message_sent",
        _text("Melding sendt til saksbehandler: «%(text)s»", text=_excerpt(text)),
        user_id=message.user_id,
    )
    db.session.commit()


def _message_failed(message: CaseMessage, case: SveaCase, reason: str) -> None:
    message.state = MESSAGE_FAILED
    message.last_error = reason
    add_event(case, "message_failed", _text("Meldingen til saksbehandler ble ikke sendt: %(reason)s", reason=reason))


def mark_message_failed(message_id: int, reason: str) -> None:
    """The message job gave up: the message shows the reason and a «Send på nytt» button."""
    message = db.session.get(CaseMessage, message_id)
    if message is not None and message.state == MESSAGE_PENDING:
        case = db.session.get(SveaCase, message.case_id)
        assert case is not None
        _message_failed(message, case, reason)


def _excerpt(text: str, length: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"


def retry_message(message: CaseMessage, user_id: int | None) -> bool:
    if message.state != MESSAGE_FAILED:
        raise CollectionError(_("Bare meldinger som ikke ble sendt kan sendes på nytt."))
    case = db.session.get(SveaCase, message.case_id)
    assert case is not None
    message.state = MESSAGE_PENDING
    message.attempts = 0
    message.at = utcnow()
    message.last_error = None
    audit.record(case.client_id, "collection.message_retry", "case_message", message.id, user_id=user_id)
    db.session.commit()
    return _start(enqueue_message, message.id)


# --- closing -------------------------------------------------------------------------------------------


def past_free_withdrawal(case: SveaCase) -> bool:
    until = case.free_withdrawal_until
    return until is not None and today() > until


def request_close(case: SveaCase, reason: str, user_id: int | None) -> bool:
    """Ask Svea to close the case: commits and starts the close job (False: no queue; it runs later)."""
    if reason not in CLOSE_REASON_TEXTS:
        raise CollectionError(_("Velg en årsak."))
    if case.state != CASE_OPEN or not case.case_number:
        raise CollectionError(_("Bare åpne saker med saksnummer kan avsluttes."))
    if case.close_status == CLOSE_PENDING:
        raise CollectionError(_("Avslutningen er allerede sendt til Svea."))
    case.close_status = CLOSE_PENDING
    case.close_reason = reason
    case.close_requested_at = utcnow()
    case.close_idempotency_key = _new_key()
    case.close_attempts = 0
    case.last_error = None
    label = CLOSE_REASON_TEXTS[reason]
    text = _text("Avslutning sendt til Svea (årsak: %(reason)s).", reason=label)
    if past_free_withdrawal(case):
        text += " " + _text(
            "Fristen for gratis tilbaketrekking var %(date)s; Svea kan kreve gebyrer.",
            date=case.free_withdrawal_until.strftime("%d.%m.%Y") if case.free_withdrawal_until else "",
        )
    add_event(case, "close_requested", text, user_id=user_id)
    audit.record(case.client_id, "collection.close", "svea_case", case.id, reason, user_id=user_id)
    db.session.commit()
    return _start(enqueue_close, case.id)


def close_case(case_id: int) -> None:
    """The close job: close the case at Svea once; a 409 means Svea has it closed already."""
    case = db.session.get(SveaCase, case_id)
    if case is None or case.close_status != CLOSE_PENDING or case.state == CASE_CLOSED:
        return
    assert case.case_number is not None and case.close_idempotency_key is not None
    number, key = case.case_number, case.close_idempotency_key
    reason = CloseReason(case.close_reason or CloseReason.OTHER.value)
    db.session.commit()
    try:
        with svea_client_for(case.client_id) as svea:
            try:
                info: CaseInfo | None = svea.close_case(number, reason, key)
            except SveaConflict:
                try:
                    info = svea.get_case(number)
                except SveaError:
                    info = None
    except SveaError as error:
        case.close_attempts += 1
        case.last_error = _auth_text() if isinstance(error, SveaAuthError) else _error_text(error)
        if _transient(error):
            db.session.commit()
            raise RetryLater(case.last_error) from error
        _close_failed(case, case.last_error)
        db.session.commit()
        return
    case.close_attempts += 1
    if info is None:
        # Svea answered 409 and the case could not be read: it is closed there already.
        case.state = CASE_CLOSED
        case.closed_at = utcnow()
        case.close_status = None
        add_event(case, "closed", _text("Svea hadde allerede avsluttet saken."))
        _release_posts([case.id])
    else:
        _apply_info(case, info)
        if info.is_closed:
            _release_posts([case.id])
        else:
            case.close_status = CLOSE_FAILED
            case.last_error = _text("Svea avsluttet ikke saken (status %(status)s).", status=info.status.value)
    db.session.commit()


def _close_failed(case: SveaCase, reason: str) -> None:
    case.close_status = CLOSE_FAILED
    case.last_error = reason
    add_event(case, "close_failed", _text("Saken ble ikke avsluttet hos Svea: %(reason)s", reason=reason))


def mark_close_failed(case_id: int, reason: str) -> None:
    """The close job gave up: the case shows the reason and a button to try closing again."""
    case = db.session.get(SveaCase, case_id)
    if case is not None and case.close_status == CLOSE_PENDING:
        _close_failed(case, reason)


def mark_sync_failed(client_id: int, reason: str) -> None:
    """The sync job failed unexpectedly: the page says so instead of waiting for it forever."""
    state = sync_state(client_id)
    state.status = SYNC_FAILED
    state.last_error = reason


def retry_close(case: SveaCase, user_id: int | None) -> bool:
    if case.close_status != CLOSE_FAILED or case.state != CASE_OPEN:
        raise CollectionError(_("Bare en avslutning som feilet kan sendes på nytt."))
    case.close_status = CLOSE_PENDING
    case.close_attempts = 0
    case.close_requested_at = utcnow()
    case.last_error = None
    add_event(case, "retry", _text("Avslutningen sendes til Svea på nytt."), user_id=user_id)
    audit.record(case.client_id, "collection.close_retry", "svea_case", case.id, user_id=user_id)
    db.session.commit()
    return _start(enqueue_close, case.id)
