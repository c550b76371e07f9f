"""Ctrl-C, SIGTERM and SIGHUP end a run the same way: the run's task is cancelled, so queued jobs
are cancelled at the provider (providers/_jobs.py) and the run is logged as interrupted
(aigw/engine/run.py); aigw then exits 130, 143 or 129.

The handlers are the event loop's (`loop.add_signal_handler`), which wake the loop through its
self-pipe wherever the signal lands; asyncio.run's own SIGINT handler does not, so a Ctrl-C taken by
another thread could wait for the loop's next timer. Cleaning up is bounded: a second signal, or
EXIT_GRACE_S after the first, ends the process at once with the same code (the next aigw then finds
the run left `running` and marks it interrupted).

SIGINT is handled even when aigw inherited it ignored, as every job a shell starts in the background
does: asyncio.run then installs no handler, and an explicit `kill -INT` (or a test harness running in
the background) was silently ignored while aigw polled a job forever. An ignored SIGHUP or SIGTERM
stays ignored: `nohup aigw ...` keeps running when the terminal closes.

A batch passes `soft_stop`: the first signal calls it (start no more items, let those in flight
finish) instead of cancelling; the second cancels the task (the items in flight, queue jobs
included) with the grace timer above; a third ends the process at once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable, Coroutine
from types import FrameType
from typing import Any, TypeVar

from aigw import interrupts

T = TypeVar("T")

EXIT_GRACE_S = 20.0  # cancelling a job waits at most CANCEL_GRACE_S; logging it, SQLite's busy timeout
SIGNALS = tuple(s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None)


def _force_exit(code: int, message: str) -> None:
    try:
        os.write(2, f"aigw: error: {message}\n".encode())
    finally:
        os._exit(code)


def _outside_loop(signum: int, frame: FrameType | None) -> None:
    """Before the loop runs or after it stopped: nothing to cancel; end like Ctrl-C does."""
    if interrupts.received() is not None:
        _force_exit(interrupts.exit_code(), "interrupted again; exiting without waiting")
    interrupts.record(signum)
    raise KeyboardInterrupt


async def _guarded(coro: Coroutine[Any, Any, T], timers: list[threading.Timer],
                   handled: tuple[signal.Signals, ...], soft_stop: Callable[[], None] | None = None) -> T:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    soft = [soft_stop] if soft_stop is not None else []

    def on_signal(signum: int) -> None:
        if soft and interrupts.received() is not None:
            soft.clear()  # the second signal: cancel what is in flight, as below
        elif interrupts.received() is not None:
            _force_exit(interrupts.exit_code(), "interrupted again; exiting without waiting for the cleanup")
        else:
            interrupts.record(signum)
            if soft:
                soft[0]()
                return
        timer = threading.Timer(EXIT_GRACE_S, _force_exit, (interrupts.exit_code(),
                                f"{interrupts.describe()}; cleaning up took over {EXIT_GRACE_S:g} s, gave up"))
        timer.daemon = True
        timer.start()
        timers.append(timer)
        if task is not None:
            task.cancel()

    installed: list[signal.Signals] = []
    for sig in handled:
        try:
            loop.add_signal_handler(sig, on_signal, sig)
        except (NotImplementedError, RuntimeError, ValueError):  # Windows' loop: _outside_loop stays
            continue
        installed.append(sig)
    try:
        return await coro
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
            signal.signal(sig, _outside_loop)


def run(coro: Coroutine[Any, Any, T], *, soft_stop: Callable[[], None] | None = None) -> T:
    """asyncio.run, with SIGINT, SIGTERM and SIGHUP cancelling the coroutine (main thread only).
    Raises KeyboardInterrupt when a signal ended it; interrupts.exit_code() says which. With
    `soft_stop`, the first signal calls it and the coroutine goes on (see the module's docstring)."""
    interrupts.reset()
    if threading.current_thread() is not threading.main_thread():
        return asyncio.run(coro)
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    handled = tuple(sig for sig in SIGNALS if sig == signal.SIGINT or previous[sig] != signal.SIG_IGN)
    timers: list[threading.Timer] = []
    for sig in handled:
        signal.signal(sig, _outside_loop)
    try:
        return asyncio.run(_guarded(coro, timers, handled, soft_stop))
    except asyncio.CancelledError:
        if interrupts.received() is None:
            raise
        raise KeyboardInterrupt from None
    finally:
        for timer in timers:
            timer.cancel()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
