"""What a person sees while a run waits on a provider: subscribers of `aigw.events`.

On a terminal, `StatusLine` keeps one transient line on stderr (rich Live, redrawn 8 times a
second): the provider and model, the attempt's elapsed time, a queued job's status and position,
and any wait with its cause. Notices printed meanwhile go above it (Live redirects stderr), and it
is erased when the attempt is served, when the run fails and on Ctrl-C (`close_all`, called by
`run_async`). When stderr is not a terminal, `PlainWaits` says only what a person waiting on a log
must know: a rate-limit slot wait of more than a second, as one line, and, with `--progress`, a
long recording's progress (chunks done, audio minutes done, cost so far) as a line per chunk. On a
terminal that progress leads the live line, which then stays until the last chunk is in. `-q` silences both. Rich
loads when the line first draws, never on the start-up path.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aigw.events import (
    AttemptFinished,
    AttemptStarted,
    ChunkProgress,
    Event,
    EventSink,
    JobStatus,
    Notice,
    Waiting,
    no_events,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live

    from aigw.cli.output import UI

REFRESH_PER_SECOND = 8


def slot_wait_message(event: Waiting) -> str:
    """"waiting for a rate-limit slot at openai (rpm 30) until 12:03:04" (local time)."""
    if event.until is not None:
        until = f"until {event.until.astimezone():%H:%M:%S}"
    else:
        until = "until a request in flight ends"
    return f"waiting for a rate-limit slot at {event.provider} ({event.cause}) {until}"


class StatusLine:
    """One live line: built from the events it is handed, drawn by rich on `console` (stderr)."""

    def __init__(self, console: Console | None = None, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._console = console
        self._monotonic = monotonic
        self._live: Live | None = None
        self._spinner: Any = None
        self.provider = ""
        self.model = ""
        self.hop = 0
        self.since = monotonic()
        self.job: JobStatus | None = None
        self.waiting: Waiting | None = None
        self.waiting_since = self.since
        self.failed = ""
        self.chunks: ChunkProgress | None = None  # a long recording: several requests, one line
        self._lock = threading.Lock()  # rich redraws from its own thread

    def __call__(self, event: Event) -> None:
        if isinstance(event, ChunkProgress):
            with self._lock:
                self.chunks = event
            if event.done == event.total:
                self.close()
            else:
                self._show()
            return
        if isinstance(event, AttemptFinished) and event.attempt.served and self.chunks is None:
            self.close()
            return
        with self._lock:
            self._take(event, self._monotonic())
        self._show()

    def _take(self, event: Event, now: float) -> None:
        if isinstance(event, AttemptStarted):
            self.provider, self.model, self.hop = event.provider, event.model, event.hop
            self.since, self.job, self.waiting, self.failed = now, None, None, ""
        elif isinstance(event, Waiting):
            self.waiting, self.waiting_since = event, now
            if event.kind == "rate_limit_slot":  # before the attempt: the line is about this provider now
                self.provider, self.since, self.job, self.failed = event.provider, now, None, ""
        elif isinstance(event, JobStatus):
            self.job = event
            if self.waiting is not None and self.waiting.kind == "poll":
                self.waiting = None
        elif isinstance(event, AttemptFinished):
            self.failed = event.attempt.failure_class or "failed"
            self.waiting = None

    def text(self) -> str:
        """The line as plain text (what the spinner is followed by)."""
        with self._lock:
            return self._text(self._monotonic())

    def _text(self, now: float) -> str:
        line = self._attempt_text(now)
        return line if self.chunks is None else f"{self.chunks.text()} · {line}"

    def _attempt_text(self, now: float) -> str:
        wait = self.waiting
        if wait is not None and wait.kind == "rate_limit_slot":
            return f"{slot_wait_message(wait)} · {now - self.since:.1f} s"
        parts = [self.provider]
        if self.model:
            parts.append(self.model)
        if self.hop > 1:
            parts.append(f"attempt {self.hop}")
        parts.append(f"{now - self.since:.1f} s")
        if self.job is not None:
            parts.append(self.job.status + ("" if self.job.position is None else f", position {self.job.position}"))
        if self.failed and wait is None:  # a retry's cause says what failed
            parts.append(self.failed)
        if wait is not None:
            left = None if wait.seconds is None else max(wait.seconds - (now - self.waiting_since), 0.0)
            what = "retrying" if wait.kind == "retry" else "polling again"
            parts.append(f"{wait.cause}; {what}" + ("" if left is None else f" in {left:.1f} s"))
        return " · ".join(parts)

    def __rich__(self) -> Any:
        self._spinner.update(text=self.text())
        return self._spinner

    def _show(self) -> None:
        if self._live is not None:
            self._live.refresh()  # every change drawn at once, however short it lasts
            return
        from rich.console import Console
        from rich.live import Live
        from rich.spinner import Spinner

        if self._console is None:
            self._console = Console(stderr=True)
        self._spinner = Spinner("dots", style="cyan")
        self._live = Live(self, console=self._console, transient=True, refresh_per_second=REFRESH_PER_SECOND,
                          redirect_stdout=False, redirect_stderr=True)
        self._live.start()

    def close(self) -> None:
        """Erase the line and give stderr back; safe to call more than once."""
        live, self._live = self._live, None
        if live is not None:
            live.stop()


class PlainWaits:
    """stderr is not a terminal: no live line, but a long rate-limit slot wait is one plain line."""

    def __init__(self, ui: UI) -> None:
        self.ui = ui

    def __call__(self, event: Event) -> None:
        if isinstance(event, Waiting) and event.kind == "rate_limit_slot":
            self.ui.notice(slot_wait_message(event))
        elif isinstance(event, ChunkProgress) and self.ui.progress:
            self.ui.info("progress: " + event.text())


_open: list[StatusLine] = []


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def sink_for(ui: UI) -> EventSink:
    """The subscriber for this process's stderr: a live line, plain slot waits, or nothing (-q)."""
    if ui.quiet:
        return no_events
    if not stderr_is_terminal():
        return PlainWaits(ui)
    line = StatusLine()
    _open.append(line)
    return line


class Renderer:
    """The terminal subscriber of the engine's events: each Notice on stderr at its level ("notice: "
    for info, "warning: ", and cost lines plain), and what a run waits on to the status sink
    (`sink_for`). With `once_per_text` set, a cost line already shown is not shown again (a
    benchmark estimates the same run --runs times)."""

    STATUS = (AttemptStarted, Waiting, JobStatus, AttemptFinished, ChunkProgress)

    def __init__(self, ui: UI, status: EventSink = no_events, *, once_per_text: bool = False) -> None:
        self.ui = ui
        self.status = status
        self.once = once_per_text
        self._said: set[str] = set()

    def __call__(self, event: Event) -> None:
        if isinstance(event, Notice):
            self.say(event)
        elif isinstance(event, self.STATUS):
            self.status(event)

    def say(self, notice: Notice) -> None:
        if notice.level == "warning":
            self.ui.warn(notice.text)
        elif notice.level == "cost":
            if self.once and notice.text.startswith("estimated cost: "):
                if notice.text in self._said:
                    return
                self._said.add(notice.text)
            self.ui.info(notice.text)
        else:
            self.ui.notice(notice.text)


def close_all() -> None:
    """Erase any live line (success, error or Ctrl-C): nothing may draw after the run ends."""
    while _open:
        _open.pop().close()
