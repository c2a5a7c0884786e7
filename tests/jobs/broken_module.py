"""A module that exists but cannot be imported: one of its own imports is missing."""

import svea_web_no_such_dependency  # type: ignore[import-not-found]  # noqa: F401


def task() -> None:
    """Never reached."""
