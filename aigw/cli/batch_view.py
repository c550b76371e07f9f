"""What a batch shows while it runs: each item's result on stdout as it finishes (paths, or one
JSON object per item with --json), its failures and notices on stderr naming the line, and the
batch's progress on stderr: one live line on a terminal, plain lines every PLAIN_EVERY_S with
--progress when stderr is not a terminal, nothing otherwise (or with -q)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from aigw.cli.output import STATE, json_line
from aigw.cli.status import slot_wait_message, stderr_is_terminal
from aigw.cli.stdout_lines import StdoutLines
from aigw.events import AttemptStarted, Event, Notice, Waiting

if TYPE_CHECKING:
    from rich.live import Live

    from aigw.batch.items import Malformed
    from aigw.batch.outcome import ItemOutcome
    from aigw.batch.progress import Progress
    from aigw.batch.seam import Lines

PLAIN_EVERY_S = 10.0
WAIT_TOLD_EVERY_S = 10.0  # one "waiting for a rate-limit slot" line per provider and limit this often


def item_json(outcome: ItemOutcome) -> dict[str, Any]:
    """The single-run object (or the failure object), plus the item's line, id and exit code."""
    from aigw.cli.schema import FAILURE_KEYS, attempt_json, run_json

    extra = {"line": outcome.line, "item_id": outcome.item_id, "exit_code": outcome.exit_code}
    if outcome.result is not None:
        body = {"body": outcome.body} if outcome.body is not None else {}
        return {**run_json(outcome.result, paths=outcome.paths, cache_paths=outcome.result.paths, **body), **extra}
    failure = {"error": outcome.error, "exit_code": outcome.exit_code, "hint": outcome.hint, "id": outcome.run_id,
               "attempts": [attempt_json(a) for a in outcome.attempts]}
    return {**{k: failure[k] for k in FAILURE_KEYS}, **extra}


class View:
    def __init__(self, *, as_json: bool, plain_progress: bool, lines: Lines) -> None:
        self.as_json = as_json
        self.lines = lines
        self.live = not STATE.quiet and stderr_is_terminal()
        self.plain = not STATE.quiet and not self.live and plain_progress
        self.progress: Progress | None = None
        self._live: Live | None = None
        self._last_plain = 0.0
        self._told: dict[tuple[str, str], float] = {}
        self._warned: set[str] = set()
        self._lock = threading.Lock()
        self.stdout = StdoutLines()

    # ---- results -------------------------------------------------------------------------------

    def done(self, outcome: ItemOutcome) -> None:
        if outcome.error:
            STATE.error(f"line {outcome.line}: {outcome.error}", outcome.hint)
        if self.as_json:
            self.stdout.add(json_line(item_json(outcome)))
        elif outcome.result is not None and outcome.paths:
            self.stdout.add("".join(path + "\n" for path in outcome.paths))

    def malformed(self, entry: Malformed) -> None:
        STATE.error(f"line {entry.line}: {entry.error}")
        if self.as_json:
            self.stdout.add(json_line({"error": f"line {entry.line}: {entry.error}", "exit_code": 2, "hint": None,
                                       "id": None, "attempts": [], "line": entry.line, "item_id": entry.id}))

    def notice(self, notice: Notice) -> None:
        """A run's notices, naming its line; the same warning for many lines is said once."""
        if notice.level == "cost" and notice.text.startswith("estimated cost"):
            return  # the batch's total was shown
        line = self.lines.of(notice.run_id)
        where = "" if line is None else f"line {line}: "
        if notice.level == "warning":
            with self._lock:
                if notice.text in self._warned:
                    return
                self._warned.add(notice.text)
            STATE.warn(where + notice.text)
        elif notice.level == "cost":
            STATE.info(where + notice.text)
        else:
            STATE.notice(where + notice.text)

    # ---- progress ------------------------------------------------------------------------------

    def events(self, event: Event) -> None:
        """The engine's events (the run-log recorder gets them first): notices, and rate-limit waits
        from every item, in the live line or one plain line per limit now and then."""
        if isinstance(event, Notice):
            self.notice(event)
        elif isinstance(event, Waiting) and event.kind == "rate_limit_slot":
            message = slot_wait_message(event)
            if self.progress is not None:
                self.progress.waiting = message
            if not self.live and not STATE.quiet:
                key, now = (event.provider, event.cause), time.monotonic()
                with self._lock:
                    if now - self._told.get(key, -WAIT_TOLD_EVERY_S) < WAIT_TOLD_EVERY_S:
                        return
                    self._told[key] = now
                STATE.notice(message)
        elif isinstance(event, AttemptStarted) and self.progress is not None:
            self.progress.waiting = ""

    def changed(self, progress: Progress) -> None:
        self.progress = progress
        if self.live:
            self._draw()
        elif self.plain and time.monotonic() - self._last_plain >= PLAIN_EVERY_S:
            self._last_plain = time.monotonic()
            STATE.info("progress: " + progress.line(time.monotonic()))

    def _draw(self) -> None:
        if self._live is not None:
            self._live.refresh()
            return
        from rich.console import Console
        from rich.live import Live

        self._live = Live(self, console=Console(stderr=True), transient=True, refresh_per_second=4,
                          redirect_stdout=False, redirect_stderr=True)
        self._live.start()

    def __rich__(self) -> str:
        from rich.markup import escape

        return escape(self.progress.line(time.monotonic())) if self.progress is not None else ""

    def close(self) -> None:
        """The results not yet written, then the end of the progress line."""
        try:
            self.stdout.flush()
        finally:
            self._close_progress()

    def _close_progress(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.stop()
        if self.plain and self.progress is not None:
            STATE.info("progress: " + self.progress.line(time.monotonic()))
