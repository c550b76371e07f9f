"""The failover loop: try candidates in order, act on each failure by its class, record every attempt.

Policy (DESIGN.md): a retryable failure moves on at once while another candidate remains; the last
candidate is retried with exponential backoff and full jitter up to `retries` times, except after a
timeout, which may have been billed and is never sent to the same provider again. A rate limit
waits for Retry-After when the wait fits the deadline, else moves on. Empty results, auth and quota
failures move on. A bad request stops (exit 2); a refusal stops (exit 5) unless fallback on refusal
is allowed.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Generic, TypeVar

from aigw import errors
from aigw.clock import Clock
from aigw.events import AttemptFinished, AttemptStarted, EventSink, Waiting, no_events, retry_cause
from aigw.router.candidates import Candidate
from aigw.router.gate import Gate, Skip
from aigw.types import Attempt

T = TypeVar("T")

BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 8.0


@dataclass(frozen=True)
class Policy:
    retries: int = 2
    retry_before_failover: bool = False
    fallback_on_refusal: bool = False
    deadline_s: float | None = None  # total, from `started` (when aigw began handling the request)
    attempt_timeout_s: float = 300.0
    started: float | None = None  # clock.monotonic() at the start; None: when run() is called
    ignore_circuits: bool = False  # a measurement (aigw bench) tries a provider whose circuit is open


@dataclass
class Outcome(Generic[T]):
    value: T
    candidate: Candidate
    attempts: list[Attempt]
    hop: int


@dataclass
class Hooks:
    """Side effects the router needs, passed in so it stays pure and testable."""

    on_attempt: Callable[[Attempt], None]
    notify: Callable[[str], None] = lambda message: None
    events: EventSink = no_events
    rng: random.Random = field(default_factory=random.Random)


def _short(message: str, limit: int = 160) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


def model_not_found(lacked: list[Attempt], last: errors.ProviderError) -> errors.UsageError:
    """Every provider tried answered that it does not have the model (404 model_not_found): the
    request names a model none of them serves, which retrying elsewhere cannot fix (exit 2)."""
    providers = ", ".join(dict.fromkeys(a.provider for a in lacked))
    models = ", ".join(dict.fromkeys(a.model for a in lacked))
    return errors.UsageError(f"{models}: not found at {providers} (each answered that it does not serve the "
                             f"model; last: {_short(last.message)})",
                             hint=last.hint or "check the model id and each provider's `models` list ('aigw models' "
                                               "shows who serves what), or name another model with -m")


def backoff(try_number: int, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**n)]."""
    return rng.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * (2 ** try_number)))


class Router:
    def __init__(self, *, clock: Clock, policy: Policy, hooks: Hooks, gate: Gate | None = None) -> None:
        self.clock = clock
        self.policy = policy
        self.hooks = hooks
        self.gate = gate

    def _remaining(self, started: float) -> float | None:
        if self.policy.deadline_s is None:
            return None
        return self.policy.deadline_s - (self.clock.monotonic() - started)

    async def run(
        self,
        candidates: list[Candidate],
        call: Callable[[Candidate, float], Awaitable[T]],
        *,
        cost_of: Callable[[Candidate, T | None], tuple[float | None, float | None]],
        sizes_of: Callable[[T], tuple[int, int, int | None]],
    ) -> Outcome[T]:
        started = self.policy.started if self.policy.started is not None else self.clock.monotonic()
        attempts: list[Attempt] = []
        skipped: list[str] = []
        last: errors.ProviderError | None = None
        hop = 0
        for index, cand in enumerate(candidates):
            is_last = index == len(candidates) - 1
            tries = 0
            waited = 0.0
            while True:
                remaining = self._remaining(started)
                if remaining is not None and remaining <= 0:
                    raise errors.NoProviderSucceeded(
                        f"deadline of {self.policy.deadline_s:g} s passed after {len(attempts)} attempt(s)",
                        hint="raise --deadline, or check the providers with 'aigw models --check'", last=last)
                timeout = self.policy.attempt_timeout_s if remaining is None else min(self.policy.attempt_timeout_s, remaining)
                try:
                    slot, slot_wait = await self._enter(cand, remaining, timeout)
                except Skip as skip:
                    skipped.append(str(skip))
                    if not is_last or attempts:  # else the error that follows says it
                        self.hooks.notify(str(skip) + ("" if is_last else "; trying the next provider"))
                    break
                waited += slot_wait
                if slot_wait and remaining is not None:
                    timeout = max(min(timeout, remaining - slot_wait), 0.001)
                hop += 1
                self.hooks.events(AttemptStarted(cand.provider, cand.model.id, hop, cand.provider_model))
                t0 = self.clock.monotonic()
                began = self.clock.now()
                try:
                    value = await call(cand, timeout)
                except errors.ProviderError as exc:
                    opened = self._leave(cand, slot, exc)
                    exc.provider = exc.provider or cand.provider
                    last = exc
                    est, _ = cost_of(cand, None)
                    billed = isinstance(exc, errors.TimedOutError) and est != 0
                    attempt = Attempt(
                        hop=hop, provider=cand.provider, provider_model=cand.provider_model, model=cand.model.id,
                        started_at=began, latency_ms=(self.clock.monotonic() - t0) * 1000,
                        http_status=exc.status, failure_class=exc.failure_class, error=exc.message,
                        retry_after_s=getattr(exc, "retry_after", None), waited_s=waited, estimated_cost_usd=est,
                        possibly_billed=billed,
                    )
                    attempts.append(attempt)
                    self.hooks.on_attempt(attempt)
                    self.hooks.events(AttemptFinished(attempt))
                    waited = 0.0
                    wait = self._decide(exc, is_last=is_last, tries=tries, started=started)
                    if wait is None:
                        self.hooks.notify(f"{_short(exc.message)}" + ("" if is_last else "; trying the next provider"))
                        if opened:  # after the error that opened it, not before
                            self.hooks.notify(opened)
                        break
                    if opened:
                        self.hooks.notify(opened)
                    tries += 1
                    if wait > 0:
                        self.hooks.notify(f"{cand.provider}: {exc.failure_class}; retrying in {wait:.1f} s")
                        self.hooks.events(Waiting(cand.provider, "retry", retry_cause(exc), wait,
                                                  self.clock.now() + timedelta(seconds=wait)))
                        await self.clock.sleep(wait)
                    waited = wait
                    continue
                except BaseException:
                    self._leave(cand, slot, None, ok=False)
                    raise
                # Success: the caller's `call` has already put the paid result on disk.
                self._leave(cand, slot, None)
                est, actual = cost_of(cand, value)
                up, down, status = sizes_of(value)
                attempt = Attempt(
                    hop=hop, provider=cand.provider, provider_model=cand.provider_model, model=cand.model.id,
                    started_at=began, latency_ms=(self.clock.monotonic() - t0) * 1000, http_status=status,
                    waited_s=waited, bytes_up=up, bytes_down=down, estimated_cost_usd=est,
                    actual_cost_usd=actual, served=True,
                )
                attempts.append(attempt)
                self.hooks.on_attempt(attempt)
                self.hooks.events(AttemptFinished(attempt))
                return Outcome(value, cand, attempts, hop)
        lacked = [a for a in attempts if a.failure_class == errors.ModelUnavailableError.failure_class]
        if last is not None and lacked and len(lacked) == len(attempts) and not skipped:
            raise model_not_found(lacked, last)
        if last is None:
            raise errors.NoProviderSucceeded(
                "no provider could be tried: " + "; ".join(skipped),
                hint="try again later (open circuits close after their cooldown, rate-limit slots free up), "
                     "or raise --deadline; fixed a key? 'aigw models --check' closes the circuit of each "
                     "provider it finds healthy")
        also = f" ({', '.join(dict.fromkeys(a.provider for a in lacked))} lacked the model)" if lacked else ""
        raise errors.NoProviderSucceeded(
            f"no provider succeeded after {len(attempts)} attempt(s){also}; last: {last.message}",
            hint=last.hint or "check the providers with 'aigw models --check', or add a fallback provider",
            last=last,
        )

    async def _enter(self, cand: Candidate, remaining: float | None, timeout: float) -> tuple[int | None, float]:
        if self.gate is None:
            return None, 0.0
        if not self.policy.ignore_circuits:
            self.gate.check_circuit(cand.provider)
        return await self.gate.acquire(cand.provider, remaining=remaining, hold_s=timeout + 5.0)

    def _leave(self, cand: Candidate, slot: int | None, exc: errors.ProviderError | None, *,
               ok: bool = True) -> str | None:
        """Free the slot and count the outcome; returns the notice of a circuit this opened."""
        if self.gate is None:
            return None
        self.gate.release(slot)
        if exc is not None:
            return self.gate.failure(cand.provider, exc)
        if ok:
            self.gate.success(cand.provider)
        return None

    def _decide(self, exc: errors.ProviderError, *, is_last: bool, tries: int, started: float) -> float | None:
        """Seconds to wait before retrying the same candidate, or None to move on / give up."""
        if isinstance(exc, errors.BadRequestError):
            raise exc
        if isinstance(exc, errors.ContentRefusedError):
            if self.policy.fallback_on_refusal:
                return None
            raise exc
        if not isinstance(exc, errors.RetryableError) or tries >= self.policy.retries:
            return None
        if isinstance(exc, errors.TimedOutError):
            return None  # the provider may be doing (and billing) it already: never send it twice
        remaining = self._remaining(started)
        if isinstance(exc, errors.RateLimitedError) and exc.retry_after is not None:
            if remaining is not None:
                return exc.retry_after if exc.retry_after < remaining else None
            return exc.retry_after if is_last else None
        if not is_last and not self.policy.retry_before_failover:
            return None
        wait = backoff(tries, self.hooks.rng)
        if remaining is not None and wait >= remaining:
            return None
        return wait
