"""README command 1: `svea-web run` starts database, Redis, sandbox, worker and web, and stops them all."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests
from redis import Redis
from rq import Worker

ROOT = Path(__file__).resolve().parents[2]
SVEA_WEB = Path(sys.executable).parent / "svea-web"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Output:
    """Collects the command's output in a thread, so that its pipe never fills up."""

    def __init__(self, stream: object) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.append(line)

    def wait_for(self, pattern: str, proc: subprocess.Popen[str], timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := re.search(pattern, line):
                    return match
            if proc.poll() is not None:
                break
            time.sleep(0.2)
        pytest.fail(f"no {pattern!r} in the output of svea-web run:\n{self.text}")

    @property
    def text(self) -> str:
        return "".join(self.lines)


@pytest.mark.slow
def test_svea_web_run_serves_the_demo_and_stops_every_child(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    port, sandbox_port = free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "SVEA_BASE_URL", "WORKER_COUNT", "PORT", "SMTP_HOST"}
    }
    env["SVEA_WEB_INSTANCE"] = str(instance)
    proc = subprocess.Popen(
        [str(SVEA_WEB), "run", "--port", str(port), "--sandbox-port", str(sandbox_port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = Output(proc.stdout)
    descendants: list[psutil.Process] = []
    try:
        login = output.wait_for(r"Demo login: (\S+) / (\S+)", proc, timeout=180)
        base = f"http://127.0.0.1:{port}"

        health = requests.get(base + "/healthz", timeout=10)
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "database": "ok", "redis": "ok"}

        descendants = psutil.Process(proc.pid).children(recursive=True)
        commands = [" ".join(p.cmdline()) for p in psutil.Process(proc.pid).children()]
        for part in ("redis-server", "svea_web.sandbox", "worker.py", "gunicorn"):
            assert any(part in command for command in commands), commands
        assert (instance / "svea_web.sqlite3").exists()
        # The worker listens on the private Redis, a unix socket in the instance folder.
        private_redis = Redis(unix_socket_path=str(instance / "redis.sock"))
        deadline = time.monotonic() + 60
        while not Worker.all(connection=private_redis) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert len(Worker.all(connection=private_redis)) == 1
        private_redis.close()
        assert requests.get(f"http://127.0.0.1:{sandbox_port}/api/v1/cases", timeout=10).status_code == 401

        browser = requests.Session()
        page = browser.get(base + "/login", timeout=10).text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token is not None, page
        response = browser.post(
            base + "/login",
            data={"email": login.group(1), "password": login.group(2), "csrf_token": token.group(1)},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        assert response.url.rstrip("/") != base + "/login"
        assert "Nordlys Rørlegger AS" in response.text
    finally:
        if not descendants and proc.poll() is None:
            descendants = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0, output.text
    assert "stopped." in output.text
    survivors = [p for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert survivors == [], [p.cmdline() for p in survivors]
