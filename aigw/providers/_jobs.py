"""Queue-style jobs (fal, Replicate, RunPod): poll until done within the attempt's time, and cancel
the job when time runs out or the user interrupts, so nothing keeps running (and billing) unseen."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aigw import errors
from aigw.clock import Clock

T = TypeVar("T")

CANCEL_GRACE_S = 5.0


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
    try:
        await asyncio.wait_for(cancel(), timeout=CANCEL_GRACE_S)
    except Exception:  # the job may already be gone; cancelling is best effort
        pass
