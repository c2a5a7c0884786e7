"""Faults on demand, for reliability tests: the ways a real agency's web service lets its clients down.

- error: a 5xx answer, and nothing happens;
- unauthorized: a 401, and nothing happens;
- slow: the answer comes after `delay_seconds` (a client with a shorter read timeout sees a timeout);
- lost_response: the request takes effect, then the answer is held back `delay_seconds` (a timeout after
  the fact: the client cannot know whether its POST went through);
- malformed: the request takes effect and the body is cut short (JSON that does not parse);
- wrong_shape: the request takes effect and the body is valid JSON of the wrong shape.

Faults come from a queue of one-shot faults (`once`, used first, in order) or at random by rate, from a
seeded generator so that a reliability run can be repeated. They apply to /api/v1 only, never to the
admin endpoints.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

from svea_web.sandbox.errors import ApiError, invalid

KINDS = ("error", "unauthorized", "slow", "lost_response", "malformed", "wrong_shape")


@dataclass
class FaultPlan:
    rates: dict[str, float] = field(default_factory=dict)
    once: list[str] = field(default_factory=list)
    delay_seconds: float = 2.0
    error_status: int = 503
    seed: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "rates": dict(self.rates),
            "once": list(self.once),
            "delaySeconds": self.delay_seconds,
            "errorStatus": self.error_status,
            "seed": self.seed,
        }


def read_plan(body: Any) -> FaultPlan:
    if not isinstance(body, dict):
        raise invalid("body", "must be a JSON object")
    rates = body.get("rates") or {}
    once = body.get("once") or []
    if not isinstance(rates, dict) or not all(
        kind in KINDS and isinstance(rate, int | float) and 0 <= rate <= 1 for kind, rate in rates.items()
    ):
        raise invalid("rates", f"must map fault kinds ({', '.join(KINDS)}) to rates between 0 and 1")
    if sum(rates.values()) > 1:
        raise invalid("rates", "must add up to at most 1")
    if not isinstance(once, list) or not all(kind in KINDS for kind in once):
        raise invalid("once", f"must be a list of fault kinds ({', '.join(KINDS)})")
    delay = body.get("delaySeconds", 2.0)
    if not isinstance(delay, int | float) or not 0 <= delay <= 120:
        raise invalid("delaySeconds", "must be a number of seconds between 0 and 120")
    status = body.get("errorStatus", 503)
    if status not in (500, 502, 503, 504):
        raise invalid("errorStatus", "must be 500, 502, 503 or 504")
    seed = body.get("seed")
    if seed is not None and not isinstance(seed, int):
        raise invalid("seed", "must be an integer")
    return FaultPlan(
        rates={kind: float(rate) for kind, rate in rates.items()},
        once=list(once),
        delay_seconds=float(delay),
        error_status=status,
        seed=seed,
    )


class FaultInjector:
    """The sandbox process's current fault plan; faults belong to a run, so they are not persisted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plan = FaultPlan()
        self._random = random.Random()

    @property
    def plan(self) -> FaultPlan:
        with self._lock:
            return self._plan

    def set(self, plan: FaultPlan) -> None:
        with self._lock:
            self._plan = plan
            self._random = random.Random(plan.seed)

    def clear(self) -> None:
        self.set(FaultPlan())

    def draw(self) -> tuple[str | None, FaultPlan]:
        """The fault for the next API request (None for a normal answer), and the plan it came from."""
        with self._lock:
            plan = self._plan
            if plan.once:
                return plan.once.pop(0), plan
            if not plan.rates:
                return None, plan
            roll = self._random.random()
            for kind in KINDS:
                rate = plan.rates.get(kind, 0.0)
                if roll < rate:
                    return kind, plan
                roll -= rate
            return None, plan


def error_for(kind: str, plan: FaultPlan) -> ApiError | None:
    """The error answer a fault gives instead of doing the work, if it is that kind of fault."""
    if kind == "error":
        return ApiError(plan.error_status, "service_unavailable", "Svea is temporarily unavailable")
    if kind == "unauthorized":
        return ApiError(401, "unauthorized", "invalid credentials")
    return None
