"""The running sandbox: its database, clock-driven transitions, lock and fault plan."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from svea_web.sandbox import agency
from svea_web.sandbox.db import make_engine, make_sessionmaker
from svea_web.sandbox.demo import DEMO_CREDITOR
from svea_web.sandbox.faults import FaultInjector
from svea_web.sandbox.models import Base, Creditor


class Sandbox:
    def __init__(self, config: dict[str, Any]) -> None:
        self.engine = make_engine(config["SANDBOX_DB"])
        self._sessions = make_sessionmaker(self.engine)
        # Requests take turns on the state: SQLite has one writer anyway, and a request applies due
        # transitions before it reads, so two at once could both act on the same due transition.
        self._lock = threading.RLock()
        self.faults = FaultInjector()
        self._demo = bool(config["SANDBOX_DEMO"])
        self._random_payments = (config["RANDOM_PAYMENTS_SEED"], float(config["RANDOM_PAYMENT_PROBABILITY"]))
        self.timing = agency.Timing(
            confirm_delay=timedelta(seconds=float(config["CONFIRM_DELAY_SECONDS"])),
            reply_delay=timedelta(seconds=float(config["REPLY_DELAY_SECONDS"])),
            first_letter_delay=timedelta(seconds=float(config["FIRST_LETTER_DELAY_SECONDS"])),
        )

    @contextmanager
    def session(self) -> Iterator[tuple[Session, datetime]]:
        """A transaction on an up-to-date sandbox, and the sandbox time it runs at.

        Due transitions are committed first on their own, so that a request that is rolled back (a
        replayed idempotency key, a 4xx) never undoes them.
        """
        with self._lock, self._sessions() as session:
            with session.begin():
                now = agency.clock_now(session)
                agency.apply_due(session, self.timing, now)
            try:
                yield session, now
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def seed(self) -> None:
        """What the configuration asks to exist: the demo creditor, the random-payments seed."""
        if self._demo:
            self.ensure_creditor(**DEMO_CREDITOR)
        seed, probability = self._random_payments
        if seed is not None:
            self.set_random_payments(int(seed), probability)

    def reset(self) -> None:
        """Back to a fresh start: no records, the clock on real time, no faults, the configured seed data.

        Lets a test suite share one sandbox server and still give every test a sandbox of its own.
        """
        with self._lock, self._sessions() as session, session.begin():
            for table in reversed(Base.metadata.sorted_tables):
                session.execute(table.delete())
        self.faults.clear()
        self.seed()

    def ensure_creditor(self, customer_no: str, username: str, password: str, name: str) -> bool:
        """Create the creditor, or give an existing one these credentials; True when it was created."""
        with self.session() as (session, _now):
            creditor = session.scalar(select(Creditor).where(Creditor.customer_no == customer_no))
            created = creditor is None
            if creditor is None:
                creditor = Creditor(customer_no=customer_no)
                session.add(creditor)
            creditor.username = username
            creditor.name = name
            creditor.set_password(password)
            return created

    def set_random_payments(self, seed: int | None, probability: float | None = None) -> None:
        with self.session() as (session, _now):
            state = agency.state(session)
            state.random_payments_seed = seed
            if probability is not None:
                state.random_payment_probability = probability


def current_sandbox() -> Sandbox:
    sandbox: Sandbox = current_app.extensions["svea_sandbox"]
    return sandbox
