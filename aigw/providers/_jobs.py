"""Queue-style jobs (fal, Replicate, RunPod): poll until done within the attempt's time, and cancel
the job when time runs out or the user interrupts, so nothing keeps running (and billing) unseen."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aigw import errors
from aigw.clock import Clock
from aigw.events import EventSink, JobStatus, Waiting, no_events

T = TypeVar("T")

CANCEL_GRACE_S = 5.0
POLL_ERRORS_TOLERATED = 5  # consecutive transient poll failures before giving up (the SDKs retry GETs ~10x)


async def poll_until(
    fetch: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    clock: Clock,
    timeout: float,
    cancel: Callable[[], Awaitable[object]] | None,
    provider: str,
    interval: float = 0.5,
    max_interval: float = 5.0,
) -> T:
    """Call `fetch` until `done(result)`; back off the interval gently; cancel on timeout or Ctrl-C."""
    started = clock.monotonic()
    wait = interval
    try:
        while True:
            state = await fetch()
            if done(state):
                return state
            left = timeout - (clock.monotonic() - started)
            if left <= 0:
                await _cancel_quietly(cancel)
                raise errors.RetryableError(f"{provider}: job did not finish within {timeout:.0f} s; cancelled it",
                                            provider=provider)
            await clock.sleep(min(wait, left))
            wait = min(wait * 1.5, max_interval)
    except asyncio.CancelledError:
        # Interrupted (Ctrl-C cancels the main task): stop the job at the provider, then go on unwinding.
        await asyncio.shield(_cancel_quietly(cancel))
        raise


async def _cancel_quietly(cancel: Callable[[], Awaitable[object]] | None) -> None:
    if cancel is None:
        return
    await quietly(cancel())


async def quietly(coro: Awaitable[object]) -> None:
    """Best effort, bounded: cancelling a job that may already be gone must not fail the run.

    Bounded for real: asyncio.wait_for (3.11) waits, after its timeout, for the timed-out request
    to finish cancelling, without a bound; here a request still running after CANCEL_GRACE_S is
    told to stop and left behind."""
    task = asyncio.ensure_future(coro)
    try:
        done, _ = await asyncio.wait({task}, timeout=CANCEL_GRACE_S)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        task.cancel()
    elif not task.cancelled():
        task.exception()  # seen, not raised: the job may already be gone; cancelling is best effort


class PollState:
    """One job's polling: the last status seen, bytes read, and a cancel that runs at most once.

    A failed poll says nothing about the job, which is still running (and billing), so a transient
    failure keeps the last status, waits out any Retry-After, and counts; only `limit` failures in a
    row (or one the caller calls fatal) give up. Each new status (and queue position, fal's
    `queue_position`) goes to `events` as a JobStatus."""

    def __init__(self, *, clock: Clock, timeout: float, initial: dict[str, Any] | None = None,
                 limit: int = POLL_ERRORS_TOLERATED, events: EventSink = no_events, provider: str = "",
                 job_id: str = "") -> None:
        self.clock = clock
        self.events = events
        self.provider = provider
        self.job_id = job_id
        self._shown: JobStatus | None = None
        self.timeout = timeout
        self.last: dict[str, Any] = dict(initial or {})
        self.bytes = 0
        self.errors = 0
        self.limit = limit
        self.cancelled = False

    async def failed(self, exc: errors.RetryableError, *, fatal: bool = False) -> dict[str, Any]:
        self.errors += 1
        if fatal or self.errors > self.limit:
            raise exc
        if isinstance(exc, errors.RateLimitedError) and exc.retry_after:
            pause = min(exc.retry_after, max(self.timeout, 0.0))
            self.events(Waiting(self.provider, "poll", f"status poll: {exc.status or 429}, Retry-After "
                                f"{exc.retry_after:g} s", pause))
            await self.clock.sleep(pause)
        return dict(self.last)

    def seen(self, status: dict[str, Any], size: int) -> dict[str, Any]:
        self.errors = 0
        self.bytes += size
        self.last = status
        self._tell(status)
        return status

    def _tell(self, status: dict[str, Any]) -> None:
        position = status.get("queue_position")
        event = JobStatus(self.provider, self.job_id, str(status.get("status")),
                          position if isinstance(position, int) else None)
        if event != self._shown:
            self._shown = event
            self.events(event)

    def once(self, send: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        async def cancel() -> None:
            if self.cancelled:
                return
            self.cancelled = True
            await send()

        return cancel
