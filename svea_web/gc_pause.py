"""Pausing Python's cyclic garbage collector around a burst of allocations that makes no cycles."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """A reminder preview or a payment file allocates some hundred thousand short-lived rows, lines and
    amounts; each full collection they trigger walks them and the whole app's heap again (a third of a
    preview's CPU time, a fifth of an import's). Reference counting still frees everything as usual, and
    callers let their objects die inside the pause, so re-enabling the collector walks none of them.

    Only the caller that paused the collector resumes it, so an overlapping pause in another thread
    never leaves the collector off.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
