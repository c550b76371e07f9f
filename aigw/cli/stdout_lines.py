"""A batch's stdout, written in bursts: each result's lines are queued and written together at most
FLUSH_EVERY_S after the first of them, and at the end. One write per item cost a system call each,
and when stdout is a pipe a wake-up of its reader: on a busy machine about as much as the rest of
an item's own work. Results still come as items finish, a few milliseconds later at most."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable
from typing import TextIO

FLUSH_EVERY_S = 0.05


class StdoutLines:
    def __init__(self, stream: Callable[[], TextIO] = lambda: sys.stdout, every_s: float = FLUSH_EVERY_S) -> None:
        self._stream = stream  # looked up at each write: tests and the CLI runner swap sys.stdout
        self._every_s = every_s
        self._queued: list[str] = []
        self._timer: asyncio.TimerHandle | None = None
        self._failed: BaseException | None = None  # a write the timer made failed (a closed pipe)
        self._lock = threading.Lock()

    def add(self, text: str) -> None:
        """Queue `text` (whole lines); raise what the last timed write raised, as an immediate
        write would have (aigw ... | head: the reader went away)."""
        if self._failed is not None:
            failed, self._failed = self._failed, None
            raise failed
        with self._lock:
            self._queued.append(text)
            if self._timer is not None:
                return
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not inside the batch's event loop: no timer to wait for
                loop = None
            if loop is not None:
                self._timer = loop.call_later(self._every_s, self._timed)
                return
        self.flush()

    def _timed(self) -> None:
        try:
            self.flush()
        except BaseException as exc:  # noqa: BLE001 - handed to the next add(), which the runner awaits
            self._failed = exc

    def flush(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            text, self._queued = "".join(self._queued), []
        if text:
            stream = self._stream()
            stream.write(text)
            stream.flush()
