"""The sandbox as its own process (the console script), and several sandbox servers sharing one database."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from svea_web.sandbox.testing import SandboxHandle, running_sandbox
from svea_web.svea import SveaClient

from .conftest import DEMO_PASSWORD, submission


def test_console_script_serves_the_demo_creditor_on_the_port_it_prints(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "svea_web.sandbox", "--demo", "--port", "0", "--db", str(tmp_path / "s.sqlite")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().rsplit(" ", 1)[1].strip()
        with SveaClient(url, "10042", "demo-regnskap", DEMO_PASSWORD) as client:
            assert client.ping().creditor_name == "Demo Regnskap AS"
            request_id = client.submit_case(submission(), "case-1").request_id
        admin = SandboxHandle(url)
        admin.advance_clock(300)
        [request] = admin.requests()
        assert (request["requestId"], request["status"]) == (request_id, "CONFIRMED")
        admin.close()
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_two_sandbox_servers_on_one_database_still_make_one_request_per_key(tmp_path: Path) -> None:
    database = str(tmp_path / "shared.sqlite")
    with running_sandbox(SANDBOX_DB=database) as first, running_sandbox(SANDBOX_DB=database) as second:
        clients = [SveaClient(**server.client_credentials()) for server in (first, second) for _ in range(3)]
        answers: list[str] = []

        def submit(client: SveaClient) -> None:
            answers.append(client.submit_case(submission(), "same-key").request_id)

        threads = [threading.Thread(target=submit, args=(client,)) for client in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for client in clients:
            client.close()

        assert len(answers) == 6
        assert len(set(answers)) == 1
        assert len(first.requests()) == len(second.requests()) == 1
