"""A firm at Svea level Inkasso with in-app reminders, and helpers to read the Purring pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis

from svea_web.collection.models import SveaCase
from svea_web.dunning import services
from svea_web.dunning.models import RUN_CONFIRMED, LetterSettings, ReminderRun, ReminderStep
from svea_web.extensions import db
from svea_web.ledger.models import POST_FEE, Customer, CustomerPost
from svea_web.models_base import utcnow
from svea_web.setup.models import DunningSettings, SveaSettings
from tests import factories
from tests.conftest import Firm
from tests.mail.smtp import SmtpServer, running_smtp_server

ACCOUNT_NO = "86011117947"
# queued_jobs: a Redis database of its own, emptied around each test, so no other test's job is in the queue.
QUEUE_DB = 9


@pytest.fixture(autouse=True)
def quick_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Logins are not what these tests prove: a one-round hash instead of scrypt keeps them quick."""
    from werkzeug.security import generate_password_hash

    monkeypatch.setattr(
        "svea_web.accounts.models.generate_password_hash",
        lambda password, method="scrypt": generate_password_hash(password, method="pbkdf2:sha256:1"),
    )


def configure(
    client_id: int,
    *,
    level: str = "inkasso",
    reminders: int = 2,
    notice: bool = True,
    fee: bool = True,
    interest: bool = True,
    min_amount: str = "100.00",
    days_between: int = 14,
    account_no: str | None = ACCOUNT_NO,
) -> None:
    db.session.merge(SveaSettings(client_id=client_id, handover_level=level))
    db.session.merge(
        DunningSettings(
            client_id=client_id,
            in_app_steps=reminders,
            notice_enabled=notice,
            fee_enabled=fee,
            interest_enabled=interest,
            min_amount=Decimal(min_amount),
            days_between=days_between,
            offer_after_days=14,
        )
    )
    if account_no:
        db.session.merge(LetterSettings(client_id=client_id, account_no=account_no))
    db.session.commit()


@pytest.fixture
def inkasso_firm(firm: Firm) -> Firm:
    """2 reminders and a collection notice in the app, 14-day deadlines, fees and interest, minimum 100 kr."""
    configure(firm.client.id)
    return firm


def set_today(app: Flask, day: date) -> None:
    app.config["LEDGER_TODAY"] = day


def html(response: Any) -> str:
    return str(response.get_data(as_text=True))


def start_run(client: FlaskClient, day: date) -> int:
    response = client.post("/dunning/runs", data={"run_date": day.isoformat()})
    assert response.status_code == 302, html(response)
    match = re.search(r"/dunning/runs/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def digest_of(client: FlaskClient, run_id: int) -> str:
    page = html(client.get(f"/dunning/runs/{run_id}"))
    match = re.search(r'name="digest" type="hidden" value="([0-9a-f]{64})"', page) or re.search(
        r'name="digest" value="([0-9a-f]{64})"', page
    )
    assert match, "the preview offers no confirm button"
    return match.group(1)


def confirm(client: FlaskClient, run_id: int, digest: str | None = None) -> Any:
    digest = digest or digest_of(client, run_id)
    return client.post(f"/dunning/runs/{run_id}/confirm", data={"digest": digest}, follow_redirects=True)


def run_today(client: FlaskClient, day: date) -> int:
    run_id = start_run(client, day)
    response = confirm(client, run_id)
    assert "Kjøringen er bekreftet" in html(response), html(response)
    return run_id


def row_of(page: str, invoice_no: str) -> str:
    """The table row of one post, as text without tags and with plain spaces."""
    match = re.search(rf'<tr data-post="{re.escape(invoice_no)}">(.*?)</tr>', page, re.S)
    assert match, f"no row for {invoice_no}"
    text = re.sub(r"<[^>]+>", " ", match.group(1)).replace("\u00a0", " ")
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture
def smtp(app: Flask) -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_STARTTLS=False, SMTP_USERNAME=None)
        yield server


def history(post: CustomerPost, steps: list[tuple[str, date, date, str]]) -> None:
    """Steps sent on ``post`` in earlier confirmed runs: (kind, sent_on, deadline, fee)."""
    for number, (kind, sent_on, deadline, fee) in enumerate(steps, start=1):
        run = ReminderRun(client_id=post.client_id, run_date=sent_on, state=RUN_CONFIRMED, confirmed_at=utcnow())
        db.session.add(run)
        db.session.flush()
        db.session.add(
            ReminderStep(
                client_id=post.client_id,
                run_id=run.id,
                post_id=post.id,
                kind=kind,
                step_no=number,
                sent_on=sent_on,
                deadline=deadline,
                principal=post.open_amount,
                fee=Decimal(fee),
            )
        )
        post.reminder_step = number
        post.last_reminder_at = sent_on
        post.reminder_deadline = deadline
    db.session.flush()


@dataclass
class Ledger:
    customers: dict[str, Customer]
    posts: dict[str, CustomerPost]


@pytest.fixture
def ledger(inkasso_firm: Firm) -> Ledger:
    """Posts in every situation a run on 27.11.2026 meets (the figures are worked by hand in the tests).

    1003 has a pause until 31.12.2026 and Ola (300) a pause until lifted."""
    client_id = inkasso_firm.client.id
    kari = factories.customer(client_id, "Kari Nordmann", email="kari@example.no", customer_no="100")
    fjell = factories.customer(client_id, "Fjell Bygg AS", kind="company", org_no="923609016", customer_no="200")
    ola = factories.customer(client_id, "Ola Hansen", email="ola@example.no", customer_no="300")
    per = factories.customer(client_id, "Per Berg", email="per@example.no", customer_no="400")
    posts: dict[str, CustomerPost] = {}

    def add(customer: Customer, invoice_no: str, amount: str, due: date, **fields: Any) -> CustomerPost:
        posts[invoice_no] = factories.post(
            customer, amount, due=due, invoice_no=invoice_no, match_no=invoice_no, kid=fields.pop("kid", None), **fields
        )
        return posts[invoice_no]

    add(kari, "1001", "10000.00", date(2026, 10, 1), kid="0000010017")
    add(kari, "1002", "500.00", date(2026, 11, 20))
    add(kari, "1003", "700.00", date(2026, 10, 1))
    add(kari, "1004", "1200.00", date(2026, 9, 1))
    history(
        posts["1004"],
        [
            ("reminder", date(2026, 9, 20), date(2026, 10, 4), "37.50"),
            ("reminder", date(2026, 10, 5), date(2026, 10, 19), "0"),
        ],
    )
    add(kari, "1005", "900.00", date(2026, 12, 15))  # not due yet: not in the run at all
    add(fjell, "2001", "2000.00", date(2026, 10, 10))
    history(posts["2001"], [("reminder", date(2026, 11, 1), date(2026, 11, 15), "37.50")])
    factories.post(fjell, "37.50", due=date(2026, 11, 15), invoice_no="GEB-2001-1", match_no="2001", kind=POST_FEE)
    add(fjell, "2002", "80.00", date(2026, 10, 1))
    add(fjell, "2003", "3000.00", date(2026, 9, 1))
    history(posts["2003"], [("reminder", date(2026, 11, 20), date(2026, 12, 4), "37.50")])
    add(ola, "3001", "4000.00", date(2026, 10, 1))
    add(per, "4001", "1500.00", date(2026, 9, 10))
    history(
        posts["4001"],
        [
            ("reminder", date(2026, 10, 1), date(2026, 10, 15), "37.50"),
            ("reminder", date(2026, 10, 20), date(2026, 11, 3), "0"),
        ],
    )
    add(per, "4002", "600.00", date(2026, 8, 1))
    history(
        posts["4002"],
        [
            ("reminder", date(2026, 8, 20), date(2026, 9, 3), "37.50"),
            ("reminder", date(2026, 9, 4), date(2026, 9, 18), "0"),
            ("notice", date(2026, 11, 5), date(2026, 11, 19), "37.50"),
        ],
    )
    add(per, "4003", "800.00", date(2026, 9, 1))
    case = SveaCase(client_id=client_id, customer_id=per.id, level="inkasso", state="open", idempotency_key="case-4003")
    db.session.add(case)
    db.session.flush()
    posts["4003"].svea_case_id = case.id
    db.session.commit()
    services.pause_post(client_id, posts["1003"], "Tvist om leveransen", date(2026, 12, 31))
    services.pause_customer(client_id, ola, "Betalingsavtale", None, None)
    return Ledger({"kari": kari, "fjell": fjell, "ola": ola, "per": per}, posts)


@pytest.fixture
def queued_jobs(app: Flask, redis_url: str) -> Iterator[None]:
    """Jobs wait in Redis until a worker.py process runs them, as in production."""
    url = f"{redis_url}?db={QUEUE_DB}"
    connection = Redis.from_url(url)
    connection.flushdb()
    app.config.update(REDIS_URL=url, RQ_IS_ASYNC=True)
    app.extensions.pop("svea_redis", None)
    yield
    connection.flushdb()
    connection.close()
