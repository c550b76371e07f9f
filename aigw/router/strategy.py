"""Ordering the candidates for one model by `routing.strategy`.

priority     config order, or each provider's `priority` (lower first)
round-robin  rotate the priority order one step per request, shared across processes
cheapest     the catalog estimate for this exact request; unknown prices last
fastest      median latency of recent successful attempts in the run log, else the catalog's
             typical latency; unknown last
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from aigw.router.candidates import Candidate

T = TypeVar("T")

UNKNOWN = float("inf")


class History(Protocol):
    def next_turn(self, key: str, *, advance: bool = True) -> int: ...
    def median_latency_ms(self, provider: str, provider_model: str, *, recent: int = 20) -> float | None: ...


def order(items: list[T], *, strategy: str, candidate: Callable[[T], Candidate],
          estimate: Callable[[T], float | None], history: History | None, key: str,
          advance: bool = True) -> list[T]:
    if len(items) < 2 or strategy == "priority":
        return items
    if strategy == "round-robin":
        turn = history.next_turn(f"rr:{key}", advance=advance) if history else 0
        shift = turn % len(items)
        return items[shift:] + items[:shift]
    if strategy == "cheapest":
        return sorted(items, key=lambda it: (estimate(it) is None, estimate(it) or 0.0))
    if strategy == "fastest":
        def latency(it: T) -> float:
            cand = candidate(it)
            measured = history.median_latency_ms(cand.provider, cand.provider_model) if history else None
            if measured is not None:
                return measured
            typical = cand.offer.typical_latency_s or cand.model.typical_latency_s
            return typical * 1000 if typical else UNKNOWN

        return sorted(items, key=latency)
    raise ValueError(f"unknown strategy {strategy}")
