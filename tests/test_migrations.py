"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from svea_web import create_app
from svea_web.extensions import db


@pytest.mark.all_backends
def test_upgrade_to_head_matches_the_models(app_config: dict[str, Any], database_url: str, backend: str) -> None:
    application = create_app(app_config)
    with application.app_context():
        if backend == "postgresql":
            _empty_schema()
        else:
            import os

            path = database_url.removeprefix("sqlite:///")
            if os.path.exists(path):
                os.remove(path)
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        db.session.remove()
        if backend == "postgresql":
            _empty_schema()
        db.engine.dispose()
    assert diff == [], "a migration is missing: run flask db migrate"


def _empty_schema() -> None:
    """The shared test database back to empty, whatever a migration left in it."""
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
