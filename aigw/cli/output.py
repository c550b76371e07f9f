"""stdout is for data; everything a person reads goes to stderr. Rich loads only when it draws."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any

from aigw.redact import clean

MAX_LINE = 500  # characters of one stderr message; an upstream body is shortened to fit


@dataclass
class UI:
    quiet: bool = False
    verbose: bool = False
    json: bool = False  # --json: a failure is also one JSON object on stdout
    progress: bool = False  # --progress: a long recording's chunk progress as plain lines off a terminal
    own_process: bool = False  # run() is the process's entry point (not called in-process by a test)
    argv: tuple[str, ...] = ()  # the arguments aigw was given: a batch prints the command that resumes it

    @property
    def color(self) -> bool:
        return sys.stderr.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"

    def _say(self, prefix: str, style: str, message: str) -> None:
        # Upstream text and user input reach here: one line, secrets redacted, escapes made visible.
        message = clean(message, limit=MAX_LINE)
        if self.color:
            sys.stderr.write(f"\x1b[{style}m{prefix}\x1b[0m{message}\n")
        else:
            sys.stderr.write(f"{prefix}{message}\n")
        sys.stderr.flush()

    def info(self, message: str) -> None:
        if not self.quiet:
            self._say("", "2", message)

    def notice(self, message: str) -> None:
        if not self.quiet:
            self._say("notice: ", "1;36", message)

    def warn(self, message: str) -> None:
        if not self.quiet:
            self._say("warning: ", "1;33", message)

    def error(self, message: str, hint: str | None = None) -> None:
        self._say("aigw: error: ", "1;31", message)
        if hint:
            self._say("hint: ", "1;34", hint)


STATE = UI()


def json_line(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str) + "\n"


def print_json(obj: Any) -> None:
    sys.stdout.write(json_line(obj))
    sys.stdout.flush()


def print_lines(lines: list[str]) -> None:
    for line in lines:
        sys.stdout.write(line + "\n")
    sys.stdout.flush()


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()


def cost_line(result: Any) -> str:
    """The stderr line after a run: what it cost, against the estimate, and who served it."""
    from aigw.catalog.pricing import format_usd
    from aigw.engine.planning import possibly_billed_note

    if getattr(result, "cache_hit", False):
        from aigw.engine.cache import saved_line

        return saved_line(result)
    via = f"{result.model} at {result.provider}"
    est = f" (estimated {format_usd(result.estimated_cost_usd)})" if result.estimated_cost_usd != result.cost_usd else ""
    hops = f", {len(result.attempts)} attempts" if len(result.attempts) > 1 else ""
    billed = [a for a in result.attempts if a.possibly_billed]
    also = f"; {possibly_billed_note(billed)}" if billed else ""
    return f"cost: {format_usd(result.cost_usd)}{est} · {result.latency_ms / 1000:.1f} s · {via}{hops}{also}"


def run_json(result: Any, **extra: Any) -> dict[str, Any]:
    """A run as one JSON object with every documented key (see aigw/cli/schema.py). --json renders
    the result Engine.run returns through this one function (not a RunFinished subscriber): the
    object also names where -o delivered, which only the CLI knows. A batch prints one per item."""
    from aigw.cli.schema import run_json as shaped

    return shaped(result, **extra)


def render_plan(plan: Any, as_json: bool) -> None:
    """--dry-run: the candidates in order with their estimates; nothing was sent."""
    from aigw.catalog.pricing import format_usd
    from aigw.engine.planning import plan_rows

    rows = plan_rows(plan)
    if as_json:
        print_json({"dry_run": True, "requested_model": plan.requested, "candidates": rows, "skipped": plan.skipped})
        return
    for row in rows:
        sub = f" (for {row['substituted_from']})" if row["substituted_from"] else ""
        fb = f" [fallback {row['as_model']}]" if row["as_model"] != plan.requested else ""
        when = f" as of {row['price_as_of']}" if row["price_as_of"] else ""
        nokey = "" if row["configured"] else "\tno key: " + row["key_hint"]
        sys.stdout.write(f"{row['hop'] or '-'}\t{row['provider']}\t{row['model']}{sub}{fb}\t"
                         f"{format_usd(row['estimated_cost_usd'])}{when}{nokey}\n")
    for warning in dict.fromkeys(w for row in rows for w in row.get("warnings") or ()):
        STATE.warn(warning)  # what each candidate would not send, or would map, as a real run says
    for reason in plan.skipped:
        STATE.info(f"skipped {reason}")
    STATE.info("dry run: nothing was sent")
