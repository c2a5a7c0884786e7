"""The production shape on one machine: PostgreSQL, a real Redis, gunicorn, worker.py processes and the
Svea sandbox, each in its own process, driven over HTTP the way a browser drives the app.

    with running_stack(tmp_path, workers=2) as stack:
        firm = stack.seed_firm("Nordlys Rørlegger AS", posts=20)
        user = stack.user(firm.admin_email)    # logged in over HTTP, CSRF token from each page
        user.create_cases(user.new_case_rows())
        stack.kill_worker(0)                   # SIGKILL to worker.py and every process under it
        stack.start_worker(0)

The tables are made with db.create_all() (the lead generates the migrations from the models at the end).
The test process reads the app's database directly only to seed it and to check what happened.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import psutil
import requests
from flask import Flask
from redis import Redis
from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_SERVER_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "riktig-hest-batteri-stift"

# Waits a CI run can afford (see launch.py): 1 s for Svea's answer, Svea jobs retried after 1, 1, 2, 2 and
# 4 s, the periodic leader's lease lasts 10 s, and a case still pending after 15 s is resumed (longer
# than the 10 s the retries wait in all, so that no case is resumed while its own retries are still due).
FAST_TIMING: dict[str, Any] = {
    "SVEA_READ_TIMEOUT": 1.0,
    "SVEA_CONNECT_TIMEOUT": 1.0,
    "SVEA_BACKOFF_SECONDS": 0.1,
    "retry_intervals": [1, 1, 2, 2, 4],
    "stalled_after": 15,
    "lease_seconds": 10,
}
# The periodic status sync (and the resumption of lost jobs it carries) every 20 s instead of 300 s: more
# often, and the syncs of the suite's four firms would keep both workers busy on the `high` queue.
SYNC_INTERVAL_SECONDS = 20

PR_SET_PDEATHSIG = 1  # linux/prctl.h
# Redis databases a stack may take (tests/jobs uses 7); it claims the first empty one with this key, so that
# test runs at the same time on one machine never take each other's jobs.
REDIS_DATABASES = range(8, 16)
REDIS_CLAIM_KEY = "svea-e2e:claimed-by"
REDIS_CLAIM_SECONDS = 6 * 3600

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    check: Callable[[], T],
    timeout: float,
    what: str,
    interval: float = 0.25,
    state: Callable[[], object] | None = None,
) -> T:
    """Poll `check` until it returns something truthy; on timeout fail naming `what` and `state()`."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value:
        if time.monotonic() > deadline:
            seen = state() if state is not None else value
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (state: {seen!r})")
        time.sleep(interval)
        value = check()
    return value


def _stop_with_parent() -> None:
    """In the child before exec: SIGTERM when the test process dies, however it dies (a killed pytest
    must not leave a stack behind that goes on taking jobs from Redis)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Process:
    """A child process with its output in a log file; killed with every process it started."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        self._out = log.open("ab")
        self.popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_stop_with_parent,
        )
        self._stopping: list[psutil.Process] = []

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tree(self) -> list[psutil.Process]:
        try:
            parent = psutil.Process(self.pid)
            return [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def kill(self) -> int:
        """SIGKILL to the process and all its descendants at once (RQ's work horses sit in groups of their
        own, so a process-group kill would miss them): nothing gets to clean up, as in a crashed host.
        The number of processes killed."""
        victims = self.tree()
        for victim in victims:
            with suppress(psutil.NoSuchProcess):
                victim.send_signal(signal.SIGKILL)
        psutil.wait_procs(victims, timeout=10)
        self.popen.wait(timeout=10)
        self._out.close()
        return len(victims)

    def terminate(self) -> None:
        """SIGTERM, as a platform stops a process."""
        if self.alive():
            self._stopping = self.tree()
            self.popen.send_signal(signal.SIGTERM)

    def wait_stopped(self, grace: float = 15) -> None:
        """Whatever is left of it `grace` seconds after terminate() is killed."""
        _gone, alive = psutil.wait_procs(self._stopping, timeout=grace)
        for victim in alive:
            with suppress(psutil.NoSuchProcess):
                victim.send_signal(signal.SIGKILL)
        psutil.wait_procs(alive, timeout=5)
        with suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)
        self._out.close()

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class WebUser:
    """One browser session: cookies, the CSRF token of the last page, forms posted as a browser posts them."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.token = ""

    def get(self, path: str, **params: Any) -> requests.Response:
        response = self.http.get(self.base_url + path, params=params or None, timeout=60)
        self._remember_token(response)
        return response

    def post(self, path: str, data: dict[str, Any] | list[tuple[str, Any]]) -> requests.Response:
        fields = list(data.items()) if isinstance(data, dict) else list(data)
        response = self.http.post(
            self.base_url + path, data=[("csrf_token", self.token), *fields], timeout=60, allow_redirects=True
        )
        self._remember_token(response)
        return response

    def _remember_token(self, response: requests.Response) -> None:
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.text) or re.search(
            r'"X-CSRFToken": "([^"]+)"', response.text
        )
        if found:
            self.token = found.group(1)

    def login(self, email: str, password: str = PASSWORD) -> None:
        self.get("/login")
        response = self.post("/login", {"email": email, "password": password})
        assert response.status_code == 200 and "/login" not in response.url, response.text[:2000]

    def new_case_rows(self) -> list[str]:
        """The row keys on the first page of Nye saker, as its checkboxes carry them."""
        page = self.get("/collection/new")
        assert page.status_code == 200, page.text[:2000]
        return re.findall(r'name="row" value="([^"]+)"', page.text)

    def create_cases(self, rows: list[str]) -> requests.Response:
        """Mark the rows and press «Opprett Svea purring» (a plain form post, redirected to Nye saker)."""
        response = self.post("/collection/cases", [("row", row) for row in rows])
        assert response.status_code == 200, response.text[:2000]
        return response

    def sync_now(self) -> None:
        """«Oppdater nå» on Inkassosaker."""
        response = self.post("/collection/sync", {})
        assert response.status_code == 200, response.text[:2000]

    def retry_case(self, case_id: int) -> None:
        """«Prøv igjen» on a case that failed."""
        self.get(f"/collection/cases/{case_id}")
        response = self.post(f"/collection/cases/{case_id}/retry", {})
        assert response.status_code == 200, response.text[:2000]

    def register_payment(self, post_id: int, amount: str) -> requests.Response:
        """Innbetaling → Registrer innbetaling on one post, paid today, the form's own token and date."""
        form = self.get("/payments/new", post_id=post_id)
        assert form.status_code == 200, form.text[:2000]
        token = re.search(r'name="token" type="hidden" value="([^"]+)"', form.text)
        paid_on = re.search(r'name="paid_on"[^>]*value="([^"]+)"', form.text)
        assert token and paid_on, form.text[:3000]
        response = self.post(
            "/payments/new",
            {"token": token.group(1), "post_id": post_id, "paid_on": paid_on.group(1), "amount": amount},
        )
        assert response.status_code == 200 and "/payments/new" not in response.url, response.text[:3000]
        return response


@dataclass
class SeededFirm:
    client_id: int
    admin_email: str
    user_email: str
    customer_no: str  # the firm's kundenummer at Svea (the sandbox creditor)
    post_ids: list[int] = field(default_factory=list)
    invoice_numbers: list[str] = field(default_factory=list)


class Stack:
    def __init__(self, folder: Path, timing: dict[str, Any], confirm_delay: float) -> None:
        self.folder = folder
        self.timing = timing
        self.confirm_delay = confirm_delay
        self.redis_url = ""
        self.database_name = f"svea_e2e_{secrets.token_hex(4)}"
        self.database_url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + self.database_name
        self.secret_key = secrets.token_hex(16)
        from cryptography.fernet import Fernet

        self.encryption_key = Fernet.generate_key().decode()
        self.sandbox: Process | None = None
        self.sandbox_url = ""
        self.web: Process | None = None
        self.web_url = ""
        self.workers: list[Process | None] = []
        self.users: list[WebUser] = []
        self.worker_runs = 0
        self.app: Flask | None = None
        self._app_context: Any = None

    # --- servers ----------------------------------------------------------------------------------------

    def _pg_conninfo(self) -> str:
        admin = urlsplit(PG_ADMIN_URL)
        return f"host={admin.hostname} port={admin.port or 5432} user={admin.username or 'postgres'} dbname=postgres"

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(self._pg_conninfo(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database_name}"')
        from svea_web import create_app
        from svea_web.extensions import db

        self.app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": self.database_url,
                "SECRET_KEY": self.secret_key,
                "ENCRYPTION_KEYS": self.encryption_key,
                "REDIS_URL": self.redis_url,
                "LOG_LEVEL": "WARNING",
            }
        )
        self.app.instance_path = str(self.folder / "instance")
        self._app_context = self.app.app_context()
        self._app_context.push()
        db.create_all()

    def drop_database(self) -> None:
        import psycopg

        if self._app_context is not None:
            from svea_web.extensions import db

            db.session.remove()
            db.engine.dispose()
            self._app_context.pop()
            self._app_context = None
        with psycopg.connect(self._pg_conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database_name}" WITH (FORCE)')

    def claim_redis(self) -> None:
        """Take the first Redis database that is empty, and mark it as this stack's."""
        base = REDIS_SERVER_URL.rsplit("/", 1)[0]
        token = f"{socket.gethostname()}:{os.getpid()}:{self.database_name}"
        for number in REDIS_DATABASES:
            connection = Redis.from_url(f"{base}/{number}")
            try:
                if connection.dbsize() == 0 and connection.set(REDIS_CLAIM_KEY, token, nx=True, ex=REDIS_CLAIM_SECONDS):
                    self.redis_url = f"{base}/{number}"
                    return
            finally:
                connection.close()
        raise AssertionError(f"no empty Redis database among {list(REDIS_DATABASES)} at {base}")

    def release_redis(self) -> None:
        if not self.redis_url:
            return
        connection = Redis.from_url(self.redis_url)
        try:
            connection.flushdb()
        finally:
            connection.close()

    def start_sandbox(self) -> None:
        port = free_port()
        argv = [
            sys.executable,
            "-m",
            "svea_web.sandbox",
            "--demo",
            "--test-mode",
            "--port",
            str(port),
            "--db",
            str(self.folder / "sandbox.sqlite"),
            "--confirm-delay",
            str(self.confirm_delay),
        ]
        self.sandbox = Process("sandbox", argv, self._base_env(), self.folder / "sandbox.log")
        self.sandbox_url = f"http://127.0.0.1:{port}"

    def wait_for_sandbox(self) -> None:
        def listening() -> bool:
            assert self.sandbox is not None
            if not self.sandbox.alive():
                raise AssertionError("the sandbox exited:\n" + self.sandbox.tail())
            return "listening on" in self.sandbox.log.read_text(errors="replace")

        wait_until(listening, 60, "the sandbox to listen")

    def _base_env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SANDBOX_", "SMTP_", "DATABASE_", "REDIS_", "SVEA_", "WORKER_", "WEB_"))
            and key not in {"SECRET_KEY", "ENCRYPTION_KEY", "LEDGER_TODAY", "PORT"}
        }
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def app_env(self) -> dict[str, str]:
        env = self._base_env()
        env.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            SECRET_KEY=self.secret_key,
            SVEA_WEB_ENCRYPTION_KEYS=self.encryption_key,
            SVEA_WEB_INSTANCE=str(self.folder / "instance"),
            SVEA_BASE_URL=self.sandbox_url,
            SYNC_INTERVAL_SECONDS=str(SYNC_INTERVAL_SECONDS),
            E2E_TIMING=json.dumps(self.timing),
            LOG_LEVEL="INFO",
        )
        return env

    def start_web(self, processes: int = 2) -> None:
        port = free_port()
        argv = [
            str(BIN / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(processes),
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--preload",
            "--no-control-socket",
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            "tests.e2e.launch:app_under_test()",
        ]
        self.web = Process("gunicorn", argv, self.app_env(), self.folder / "gunicorn.log")
        self.web_url = f"http://127.0.0.1:{port}"

    def wait_for_web(self) -> None:
        def healthy() -> bool:
            assert self.web is not None
            if not self.web.alive():
                raise AssertionError("gunicorn exited:\n" + self.web.tail())
            try:
                return requests.get(self.web_url + "/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_until(healthy, 90, "gunicorn to answer /healthz")

    def start_worker(self, index: int) -> Process:
        """worker.py (one RQ worker and the periodic scheduler), as the Procfile's `worker` line runs it."""
        self.worker_runs += 1
        argv = [sys.executable, "-m", "tests.e2e.launch", "--workers", "1"]
        log = self.folder / f"worker{index}.run{self.worker_runs}.log"
        process = Process(f"worker{index}", argv, self.app_env(), log)
        while len(self.workers) <= index:
            self.workers.append(None)
        self.workers[index] = process
        return process

    def wait_for_workers(self, count: int, timeout: float = 60) -> None:
        from rq import Worker

        connection = Redis.from_url(self.redis_url)
        try:
            wait_until(
                lambda: len(Worker.all(connection=connection)) >= count,
                timeout,
                f"{count} RQ workers to register",
            )
        finally:
            connection.close()

    def kill_worker(self, index: int) -> int:
        process = self.workers[index]
        assert process is not None
        return process.kill()

    def stop(self) -> None:
        for user in self.users:
            user.http.close()
        running = [process for process in [*self.workers, self.web, self.sandbox] if process is not None]
        for process in running:
            process.terminate()
        for process in running:
            process.wait_stopped()

    def logs(self) -> str:
        parts = []
        for process in [*self.workers, self.web, self.sandbox]:
            if process is not None:
                parts.append(f"--- {process.name} ({process.log.name}) ---\n{process.tail()}")
        return "\n".join(parts)

    # --- sandbox admin ----------------------------------------------------------------------------------

    def sandbox_admin(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        response = requests.request(
            method, f"{self.sandbox_url}/sandbox/admin{path}", json=body, params=params or None, timeout=120
        )
        assert response.status_code < 400, f"sandbox admin {method} {path}: {response.status_code} {response.text}"
        return response.json()

    def sandbox_cases(self, customer_no: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.sandbox_admin("GET", "/cases", customerNo=customer_no)["cases"]
        return result

    def sandbox_requests(self, customer_no: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.sandbox_admin("GET", "/requests", customerNo=customer_no)["requests"]
        return result

    def set_faults(self, rates: dict[str, float], delay_seconds: float, seed: int) -> None:
        self.sandbox_admin(
            "PUT",
            "/faults",
            {"rates": rates, "once": [], "delaySeconds": delay_seconds, "errorStatus": 503, "seed": seed},
        )

    def clear_faults(self) -> None:
        self.sandbox_admin("DELETE", "/faults")

    def advance_sandbox_clock(self, seconds: float) -> None:
        self.sandbox_admin("POST", "/clock/advance", {"seconds": seconds})

    def api_requests_seen(self) -> dict[str, int]:
        """The sandbox's access log: API requests by answer (werkzeug logs one line per request)."""
        assert self.sandbox is not None
        counts: dict[str, int] = {}
        for match in re.finditer(r'"(GET|POST) /api/v1\S* HTTP/[\d.]+" (\d{3})', self.sandbox.log.read_text()):
            key = f"{match.group(1)} {match.group(2)}"
            counts[key] = counts.get(key, 0) + 1
        return counts

    # --- the app's data ---------------------------------------------------------------------------------

    def user(self, email: str) -> WebUser:
        browser = WebUser(self.web_url)
        self.users.append(browser)
        browser.login(email)
        return browser

    def seed_firm(self, name: str, posts: int, creditor: dict[str, str] | None = None) -> SeededFirm:
        """A firm with Oppsett Svea done (level Purring) for `creditor` (default: the sandbox's demo
        creditor; another one is added to the sandbox), an admin and a user, and `posts` overdue posts,
        each of its own debtor, so that every post becomes a case of its own."""
        from svea_web.accounts import services as accounts
        from svea_web.accounts.models import ROLE_ADMIN, ROLE_USER
        from svea_web.crypto import encrypt_secret
        from svea_web.extensions import db
        from svea_web.ledger.models import STATUS_OPEN, Customer, CustomerPost
        from svea_web.sandbox import DEMO_CREDITOR
        from svea_web.setup.models import DunningSettings, SveaSettings

        credentials = creditor or DEMO_CREDITOR
        # ASCII only: Chromium sends an e-mail field's non-ASCII domain as punycode.
        slug = re.sub(r"[^a-z0-9]+", "", name.lower())[:20]
        firm = accounts.create_client(name, org_no=None)
        admin = accounts.create_user(f"admin@{slug}.no", f"Admin {name}", PASSWORD)
        user = accounts.create_user(f"bruker@{slug}.no", f"Bruker {name}", PASSWORD)
        accounts.add_member(admin, firm, ROLE_ADMIN)
        accounts.add_member(user, firm, ROLE_USER)
        db.session.flush()
        db.session.add(
            SveaSettings(
                client_id=firm.id,
                customer_no=credentials["customer_no"],
                username=credentials["username"],
                password_encrypted=encrypt_secret(credentials["password"]),
                handover_level="purring",
                kid_length=25,
                group_by_customer=False,
                has_agreement=True,
            )
        )
        db.session.add(
            DunningSettings(
                client_id=firm.id,
                in_app_steps=0,
                notice_enabled=False,
                days_between=14,
                offer_after_days=14,
                min_amount=Decimal("0"),
            )
        )
        db.session.flush()
        due = date.today() - timedelta(days=40)
        customers = [
            {
                "client_id": firm.id,
                "customer_no": str(20000 + n),
                "name": f"Debitor {n:04d}",
                "kind": "person",
                "national_id": "01017012345",
                "address": f"Storgata {n}",
                "postcode": "0155",
                "city": "Oslo",
            }
            for n in range(1, posts + 1)
        ]
        customer_ids = db.session.scalars(
            insert(Customer).returning(Customer.id, sort_by_parameter_order=True), customers
        ).all()
        rows = [
            {
                "client_id": firm.id,
                "customer_id": customer_id,
                "invoice_no": f"{firm.id}-{70000 + n}",
                "match_no": f"{firm.id}-{70000 + n}",
                "kid": None,
                "invoice_date": due - timedelta(days=14),
                "due_date": due,
                "amount": Decimal("1000.00") + n,
                "open_amount": Decimal("1000.00") + n,
                "status": STATUS_OPEN,
            }
            for n, customer_id in enumerate(customer_ids, start=1)
        ]
        post_ids = list(
            db.session.scalars(
                insert(CustomerPost).returning(CustomerPost.id, sort_by_parameter_order=True), rows
            ).all()
        )
        db.session.commit()
        if creditor is not None:
            self.sandbox_admin(
                "POST",
                "/creditors",
                {
                    "customerNo": creditor["customer_no"],
                    "username": creditor["username"],
                    "password": creditor["password"],
                },
            )
        return SeededFirm(
            client_id=firm.id,
            admin_email=admin.email,
            user_email=user.email,
            customer_no=credentials["customer_no"],
            post_ids=post_ids,
            invoice_numbers=[str(row["invoice_no"]) for row in rows],
        )

    def case_states(self, client_id: int) -> dict[str, int]:
        from svea_web.collection.models import SveaCase
        from svea_web.extensions import db

        db.session.rollback()
        return dict(
            db.session.execute(
                select(SveaCase.state, func.count()).where(SveaCase.client_id == client_id).group_by(SveaCase.state)
            ).all()
        )

    def cases_per_post(self, client_id: int) -> dict[int, int]:
        """How many cases (of any state) each post of the firm was put in."""
        from svea_web.collection.models import CasePost, SveaCase
        from svea_web.extensions import db

        db.session.rollback()
        return dict(
            db.session.execute(
                select(CasePost.post_id, func.count())
                .join(SveaCase, SveaCase.id == CasePost.case_id)
                .where(SveaCase.client_id == client_id)
                .group_by(CasePost.post_id)
            ).all()
        )

    def posts_with_reference(self, client_id: int) -> dict[int, str | None]:
        from svea_web.extensions import db
        from svea_web.ledger.models import CustomerPost

        db.session.rollback()
        return dict(
            db.session.execute(
                select(CustomerPost.id, CustomerPost.svea_reference).where(CustomerPost.client_id == client_id)
            ).all()
        )


@contextmanager
def running_stack(
    folder: Path,
    *,
    workers: int = 2,
    timing: dict[str, Any] | None = None,
    confirm_delay: float = 300,
    show_logs: bool = True,
) -> Iterator[Stack]:
    """Database, Redis DB, sandbox, gunicorn (2 processes) and `workers` worker.py processes; all of it is
    stopped and dropped afterwards, and the logs are printed (pytest shows them when a test fails; a bench
    passes show_logs=False and gets them only when the run raised)."""
    stack = Stack(folder, FAST_TIMING if timing is None else timing, confirm_delay)
    try:
        stack.claim_redis()
        # The processes import the app while the database is made (each import takes seconds); the
        # workers start once the tables exist, so that no job meets a half-made database.
        stack.start_sandbox()
        stack.start_web()
        stack.create_database()
        for index in range(workers):
            stack.start_worker(index)
        stack.wait_for_sandbox()
        stack.wait_for_web()
        stack.wait_for_workers(workers)
        yield stack
    except BaseException:
        show_logs = True
        raise
    finally:
        try:
            stack.stop()
            if show_logs:
                print(stack.logs())
        finally:
            stack.drop_database()
            stack.release_redis()
