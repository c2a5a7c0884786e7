"""One production-shaped stack for the end-to-end tests (see stack.py), shared by them: starting
PostgreSQL's database, gunicorn, two worker.py processes and the sandbox costs most of a minute, and
each test works for a firm and a Svea creditor of its own, so their cases never mix.

The stack needs the real servers: PostgreSQL and Redis on loopback (skipped on a laptop without them,
failed in CI).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_server
from tests.e2e.stack import PG_ADMIN_URL, REDIS_SERVER_URL, Stack, running_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_server(PG_ADMIN_URL, 5432, "PostgreSQL")
    require_server(REDIS_SERVER_URL, 6379, "Redis")
    folder: Path = tmp_path_factory.mktemp("e2e")
    with running_stack(folder, workers=2) as running:
        yield running
