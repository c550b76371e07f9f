"""What stands between the router and a provider: its circuit breaker and its rate limit.

Both keep their state in a `RoutingState` (the run-log database in real runs), so they hold across
invocations and across concurrent aigw processes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

from aigw import errors
from aigw.clock import Clock
from aigw.events import EventSink, Waiting, no_events

# Failures that say the provider is unhealthy; refusals, bad requests and rate limits do not.
COUNTED = (errors.EmptyResultError, errors.AuthError, errors.QuotaExceededError)
OPEN_AT_ONCE = (errors.AuthError, errors.QuotaExceededError)
SLOT_WAIT_TOLD_S = 1.0  # a rate-limit wait longer than this is announced (a Waiting event)
CONCURRENCY_RECHECK_S = 0.05  # the state asks again this soon when max_concurrency is what blocks


class CircuitLike(Protocol):
    # Read-only: the state hands out snapshots (store/state.py's frozen Circuit), never live rows.
    @property
    def failures(self) -> int: ...
    @property
    def open_until(self) -> float | None: ...


class RoutingState(Protocol):
    def circuit(self, provider: str) -> CircuitLike: ...
    def claim_trial(self, provider: str, *, now: float, cooldown: float) -> bool: ...
    def record_success(self, provider: str) -> None: ...
    def record_failure(self, provider: str, *, now: float, threshold: int, cooldown: float, open_now: bool,
                       error: str) -> CircuitLike: ...
    def try_acquire(self, provider: str, *, now: float, rpm: int | None, max_concurrency: int | None,
                    hold_s: float, pid: int) -> tuple[int | None, float]: ...
    def release(self, slot: int, *, now: float) -> None: ...


@dataclass(frozen=True)
class Limits:
    rpm: int | None = None
    max_concurrency: int | None = None


class Skip(Exception):
    """This candidate cannot be tried now (open circuit, no rate-limit slot within the deadline)."""


class Gate:
    def __init__(self, state: RoutingState, clock: Clock, *, failures: int, cooldown: float,
                 limits: dict[str, Limits], notify=lambda message: None,  # type: ignore[no-untyped-def]
                 events: EventSink = no_events) -> None:
        self.state = state
        self.clock = clock
        self.failures = failures
        self.cooldown = cooldown
        self.limits = limits
        self.notify = notify
        self.events = events

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def check_circuit(self, provider: str) -> None:
        circuit = self.state.circuit(provider)
        if circuit.open_until is None:
            return
        if not self.state.claim_trial(provider, now=self._now(), cooldown=self.cooldown):
            until = datetime.fromtimestamp(circuit.open_until, tz=timezone.utc).astimezone()
            raise Skip(f"{provider}: circuit open until {until:%H:%M:%S} ({self._why(circuit)})")
        self.notify(f"{provider}: circuit half-open; trying one request")

    async def acquire(self, provider: str, *, remaining: float | None, hold_s: float) -> tuple[int | None, float]:
        """Wait for a rate-limit slot; returns (slot, seconds waited). Waits count against the deadline."""
        limits = self.limits.get(provider)
        if limits is None or (limits.rpm is None and limits.max_concurrency is None):
            return None, 0.0
        waited = 0.0
        told = False
        while True:
            slot, wait = self.state.try_acquire(provider, now=self._now(), rpm=limits.rpm,
                                                max_concurrency=limits.max_concurrency, hold_s=hold_s, pid=os.getpid())
            if slot is not None:
                return slot, waited
            if remaining is not None and waited + wait > remaining:
                raise Skip(f"{provider}: no rate-limit slot within the deadline (rpm {limits.rpm}, "
                           f"concurrency {limits.max_concurrency})")
            if not told and waited + wait > SLOT_WAIT_TOLD_S:
                self.events(_slot_wait(provider, limits, wait, self.clock.now()))
                told = True
            await self.clock.sleep(wait)
            waited += wait

    def release(self, slot: int | None) -> None:
        if slot is not None:
            self.state.release(slot, now=self._now())

    def success(self, provider: str) -> None:
        circuit = self.state.circuit(provider)
        if circuit.failures or circuit.open_until is not None:  # a read, not a write, on the happy path
            self.state.record_success(provider)

    def _why(self, circuit: CircuitLike) -> str:
        """What opened a circuit, from what the state keeps: fewer failures than the threshold means
        one auth or quota failure opened it at once."""
        last = getattr(circuit, "last_error", None)
        cause = (f"opened after {circuit.failures} consecutive failures" if circuit.failures >= self.failures
                 else "opened after one auth or quota failure")
        return f"{cause}; last: {last}" if last else cause

    def failure(self, provider: str, exc: errors.ProviderError) -> str | None:
        """Count a failure against the provider's circuit; returns the notice when this opened it,
        for the caller to print after the error itself."""
        counted = isinstance(exc, COUNTED) or (isinstance(exc, errors.RetryableError)
                                               and not isinstance(exc, errors.RateLimitedError))
        if not counted:
            return None
        was_open = self.state.circuit(provider).open_until is not None
        open_now = isinstance(exc, OPEN_AT_ONCE)
        circuit = self.state.record_failure(provider, now=self._now(), threshold=self.failures, cooldown=self.cooldown,
                                            open_now=open_now, error=exc.message)
        if circuit.open_until is None:
            return None
        if was_open:
            cause = "after its trial request failed"
        elif open_now:
            what = f"{exc.status}" if exc.status else exc.failure_class
            cause = f"after one {what} ({'auth failure' if isinstance(exc, errors.AuthError) else 'quota exhausted'})"
        else:
            cause = f"after {circuit.failures} consecutive failures"
        return f"{provider}: circuit opened for {self.cooldown:g} s {cause}"


def _slot_wait(provider: str, limits: Limits, wait: float, now: datetime) -> Waiting:
    """Which limit holds the request back, and until when when that is known. The state asks again
    within CONCURRENCY_RECHECK_S when max_concurrency blocks, and after the exact time left in the
    rpm window otherwise; a long single wait is the rpm window, whose end is known. Short repeated
    waits (a request in flight must end first) have no known end."""
    if limits.max_concurrency is not None and (limits.rpm is None or wait <= CONCURRENCY_RECHECK_S):
        cause = f"max_concurrency {limits.max_concurrency}"
    else:
        cause = f"rpm {limits.rpm}"
    if wait > SLOT_WAIT_TOLD_S:
        return Waiting(provider, "rate_limit_slot", cause, wait, now + timedelta(seconds=wait))
    return Waiting(provider, "rate_limit_slot", cause)
