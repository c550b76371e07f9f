"""The failover policy: which candidate next, after which wait, and when to give up.

Policy (DESIGN.md): a retryable failure moves on at once while another candidate remains; the last
candidate is retried with exponential backoff and full jitter up to `retries` times, except after a
timeout, which may have been billed and is never sent to the same provider again. A rate limit
waits for Retry-After when the wait fits the deadline, else moves on. Empty results, auth and quota
failures move on. A bad request stops (exit 2); a refusal stops (exit 5) unless fallback on refusal
is allowed.

`Failover` holds no callbacks: the engine drives it (aigw/engine/run.py).

    turn = await failover.next_turn()   # the next candidate and its timeout, after any wait;
                                        # raises the final error when nothing is left
    ... call the provider ...
    attempt = failover.failed(exc, estimated_cost_usd=est)   # then loop to next_turn()
    attempt = failover.served(estimated..., actual..., sizes) # the served attempt, to record
    failover.abandoned()                # the call was cancelled (Ctrl-C): free its slot

It emits what a person watching needs (AttemptStarted, Waiting, Notice) on its event sink; the
engine records the attempts it returns.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

from aigw import errors
from aigw.clock import Clock
from aigw.events import AttemptStarted, EventSink, Notice, Waiting, no_events, retry_cause
from aigw.router.candidates import Candidate
from aigw.router.gate import Gate, Skip
from aigw.types import Attempt

BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 8.0
# With no deadline, the longest Retry-After a run waits for: a server asking for more (999999 s)
# would park the run, and a batch a signal lets finish its items in flight, for days.
RETRY_AFTER_CAP_S = 300.0


@dataclass(frozen=True)
class Policy:
    retries: int = 2
    retry_before_failover: bool = False
    fallback_on_refusal: bool = False
    deadline_s: float | None = None  # total, from `started` (when aigw began handling the request)
    attempt_timeout_s: float = 300.0
    started: float | None = None  # clock.monotonic() at the start; None: when the Failover is made
    ignore_circuits: bool = False  # a measurement (aigw bench) tries a provider whose circuit is open


@dataclass(frozen=True)
class Turn:
    candidate: Candidate
    timeout: float  # seconds this attempt may take (the policy's, cut to the deadline left)
    hop: int  # counts every try, from 1


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


class Failover:
    """One run's way through its candidates. Not shared between runs."""

    def __init__(self, candidates: Sequence[Candidate], *, clock: Clock, policy: Policy, gate: Gate | None = None,
                 rng: random.Random | None = None, events: EventSink = no_events, run_id: str = "",
                 hops: Iterator[int] | None = None) -> None:
        self.candidates = list(candidates)
        # A run of several requests (a long recording's chunks) numbers its attempts across them.
        self._hops = hops if hops is not None else itertools.count(1)
        self.clock = clock
        self.policy = policy
        self.gate = gate
        self.rng = rng or random.Random()
        self.events = events
        self.run_id = run_id
        self.started = policy.started if policy.started is not None else clock.monotonic()
        self.attempts: list[Attempt] = []
        self.skipped: list[str] = []
        self.last: errors.ProviderError | None = None
        self.hop = 0
        self._index = 0
        self._tries = 0  # retries of the current candidate so far
        self._waited = 0.0  # seconds waited before the current attempt (retry wait, rate-limit slot)
        self._pending: errors.ProviderError | None = None  # the failure next_turn() must act on
        self._opened: str | None = None  # the notice of a circuit the last failure opened
        self._turn: Turn | None = None
        self._slot: int | None = None
        self._t0 = 0.0
        self._began = clock.now()

    def _notice(self, text: str) -> None:
        self.events(Notice("info", text, self.run_id))

    def _remaining(self) -> float | None:
        if self.policy.deadline_s is None:
            return None
        return self.policy.deadline_s - (self.clock.monotonic() - self.started)

    @property
    def _is_last(self) -> bool:
        return self._index == len(self.candidates) - 1

    async def next_turn(self) -> Turn:
        """The next attempt to make, after acting on the last failure (moving on, or waiting to
        retry). Raises the run's final error when no candidate is left."""
        if self._pending is not None:
            exc, self._pending = self._pending, None
            await self._after_failure(exc)
        while self._index < len(self.candidates):
            cand = self.candidates[self._index]
            remaining = self._remaining()
            if remaining is not None and remaining <= 0:
                raise errors.NoProviderSucceeded(
                    f"deadline of {self.policy.deadline_s:g} s passed after {len(self.attempts)} attempt(s)",
                    hint="raise --deadline, or check the providers with 'aigw models --check'", last=self.last)
            timeout = self.policy.attempt_timeout_s if remaining is None else min(self.policy.attempt_timeout_s, remaining)
            try:
                slot, slot_wait = await self._enter(cand, remaining, timeout)
            except Skip as skip:
                self.skipped.append(str(skip))
                if not self._is_last or self.attempts:  # else the error that follows says it
                    self._notice(str(skip) + ("" if self._is_last else "; trying the next provider"))
                self._move_on()
                continue
            self._waited += slot_wait
            if slot_wait and remaining is not None:
                timeout = max(min(timeout, remaining - slot_wait), 0.001)
            self.hop = next(self._hops)
            self._slot = slot
            self.events(AttemptStarted(cand.provider, cand.model.id, self.hop, cand.provider_model, self.run_id))
            self._t0 = self.clock.monotonic()
            self._began = self.clock.now()
            self._turn = Turn(cand, timeout, self.hop)
            return self._turn
        raise self._final_error()

    def failed(self, exc: errors.ProviderError, *, estimated_cost_usd: float | None) -> Attempt:
        """The attempt failed: count it against the provider's circuit and return the attempt to
        record. What to do next (move on, retry after a wait, stop) happens in next_turn()."""
        turn = self._current()
        cand = turn.candidate
        self._opened = self._leave(cand, exc)
        exc.provider = exc.provider or cand.provider
        self.last = exc
        billed = isinstance(exc, errors.TimedOutError) and estimated_cost_usd != 0
        attempt = Attempt(
            hop=turn.hop, provider=cand.provider, provider_model=cand.provider_model, model=cand.model.id,
            started_at=self._began, latency_ms=(self.clock.monotonic() - self._t0) * 1000,
            http_status=exc.status, failure_class=exc.failure_class, error=exc.message,
            retry_after_s=getattr(exc, "retry_after", None), waited_s=self._waited,
            estimated_cost_usd=estimated_cost_usd, actual_cost_usd=exc.billed_usd, possibly_billed=billed,
        )
        self.attempts.append(attempt)
        self._waited = 0.0
        self._pending = exc
        return attempt

    def served(self, *, estimated_cost_usd: float | None, actual_cost_usd: float | None, bytes_up: int,
               bytes_down: int, http_status: int | None) -> Attempt:
        """The attempt served the result (already staged on disk): the attempt to record."""
        turn = self._current()
        cand = turn.candidate
        self._leave(cand, None)
        attempt = Attempt(
            hop=turn.hop, provider=cand.provider, provider_model=cand.provider_model, model=cand.model.id,
            started_at=self._began, latency_ms=(self.clock.monotonic() - self._t0) * 1000, http_status=http_status,
            waited_s=self._waited, bytes_up=bytes_up, bytes_down=bytes_down, estimated_cost_usd=estimated_cost_usd,
            actual_cost_usd=actual_cost_usd, served=True,
        )
        self.attempts.append(attempt)
        return attempt

    def abandoned(self) -> None:
        """The attempt was cancelled or broke on something that is not the provider's failure: free
        its rate-limit slot without counting anything against the provider."""
        if self._turn is not None:
            self._leave(self._turn.candidate, None, ok=False)

    def _current(self) -> Turn:
        assert self._turn is not None, "next_turn() first"
        return self._turn

    def _move_on(self) -> None:
        self._index += 1
        self._tries = 0
        self._waited = 0.0

    async def _after_failure(self, exc: errors.ProviderError) -> None:
        cand = self._current().candidate
        self._turn = None
        wait = self._decide(exc)
        if wait is None:
            self._notice(f"{_short(exc.message)}" + ("" if self._is_last else "; trying the next provider"))
            if self._opened:  # after the error that opened it, not before
                self._notice(self._opened)
            self._move_on()
            return
        if self._opened:
            self._notice(self._opened)
        self._tries += 1
        if wait > 0:
            self._notice(f"{cand.provider}: {exc.failure_class}; retrying in {wait:.1f} s")
            self.events(Waiting(cand.provider, "retry", retry_cause(exc), wait,
                                self.clock.now() + timedelta(seconds=wait), self.run_id))
            await self.clock.sleep(wait)
        self._waited = wait

    def _final_error(self) -> errors.AigwError:
        attempts, last = self.attempts, self.last
        lacked = [a for a in attempts if a.failure_class == errors.ModelUnavailableError.failure_class]
        if last is not None and lacked and len(lacked) == len(attempts) and not self.skipped:
            return model_not_found(lacked, last)
        if last is None:
            return errors.NoProviderSucceeded(
                "no provider could be tried: " + "; ".join(self.skipped),
                hint="try again later (open circuits close after their cooldown, rate-limit slots free up), "
                     "or raise --deadline; fixed a key? 'aigw models --check' closes the circuit of each "
                     "provider it finds healthy")
        also = f" ({', '.join(dict.fromkeys(a.provider for a in lacked))} lacked the model)" if lacked else ""
        return errors.NoProviderSucceeded(
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

    def _leave(self, cand: Candidate, exc: errors.ProviderError | None, *, ok: bool = True) -> str | None:
        """Free the slot and count the outcome; returns the notice of a circuit this opened."""
        slot, self._slot = self._slot, None
        if self.gate is None:
            return None
        self.gate.release(slot)
        if exc is not None:
            return self.gate.failure(cand.provider, exc)
        if ok:
            self.gate.success(cand.provider)
        return None

    def _decide(self, exc: errors.ProviderError) -> float | None:
        """Seconds to wait before retrying the same candidate, or None to move on / give up."""
        if isinstance(exc, errors.BadRequestError):
            raise exc
        if isinstance(exc, errors.ContentRefusedError):
            if self.policy.fallback_on_refusal:
                return None
            raise exc
        if not isinstance(exc, errors.RetryableError) or self._tries >= self.policy.retries:
            return None
        if isinstance(exc, errors.TimedOutError):
            return None  # the provider may be doing (and billing) it already: never send it twice
        remaining = self._remaining()
        if isinstance(exc, errors.RateLimitedError) and exc.retry_after is not None:
            if remaining is not None:
                return exc.retry_after if exc.retry_after < remaining else None
            return exc.retry_after if self._is_last and exc.retry_after <= RETRY_AFTER_CAP_S else None
        if not self._is_last and not self.policy.retry_before_failover:
            return None
        wait = backoff(self._tries, self.rng)
        if remaining is not None and wait >= remaining:
            return None
        return wait
