"""`--batch FILE` (and several files for transcribe): read the input, run it as a batch
(aigw/batch), and end with a summary and the batch's exit code: 0 when every item succeeded, 8
when any failed, 130/143 when a signal stopped it, 6 when --max-cost stopped it."""

from __future__ import annotations

import glob
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aigw.cli.output import STATE

if TYPE_CHECKING:
    from aigw.batch.items import Input, Kind
    from aigw.batch.run import Summary
    from aigw.engine import RunOptions

GLOB_CHARS = "*?["


def resume_argv(args: list[str]) -> list[str]:
    """`--resume` takes an optional batch id: a bare `--resume` becomes `--resume latest`."""
    from aigw.batch.ids import BATCH_ID

    out: list[str] = []
    for index, arg in enumerate(args):
        out.append(arg)
        if arg == "--":
            out.extend(args[index + 1:])
            break
        if arg == "--resume":
            following = args[index + 1] if index + 1 < len(args) else ""
            if not BATCH_ID.match(following) and following != "latest":
                out.append("latest")
    return out


def expand_files(files: list[str]) -> tuple[list[str], bool]:
    """Paths as given, a pattern aigw expands itself when the shell did not (quoted, or no match
    there): (paths, whether any pattern was given)."""
    from aigw.errors import UsageError

    paths: list[str] = []
    patterned = False
    for name in files:
        if any(c in name for c in GLOB_CHARS) and not os.path.exists(name):
            patterned = True
            found = sorted(glob.glob(os.path.expanduser(name)))
            if not found:
                raise UsageError(f"no file matches {name}", hint="check the pattern, or quote it differently")
            paths.extend(found)
        else:
            paths.append(name)
    return paths, patterned


def read_input(source: str, kind: Kind) -> tuple[bytes, Input]:
    from aigw.batch.items import parse
    from aigw.errors import UsageError

    if source == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("--batch - reads the input from stdin, but nothing is piped in",
                             hint="aigw generate --batch - < prompts.txt")
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
    else:
        try:
            data = Path(source).expanduser().read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read --batch {source}: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"--batch {source} is not UTF-8 text (byte {exc.start})") from exc
    return data, parse(text, kind)


def check_output(output: str | None) -> None:
    """A command-line -o is every item's default: only a directory can take them all."""
    from aigw.errors import UsageError
    from aigw.services.delivery import is_directory

    if output is not None and (output == "-" or not is_directory(output)):
        raise UsageError(f"-o {output} would take every item's results", hint="in a batch, -o is a directory "
                         "(-o out/); a JSON line may give its own \"output\" file")


def run(kind: Kind, content: bytes, batch_input: Input, defaults: dict[str, Any], options: RunOptions, *,
        as_json: bool, concurrency: int, progress: bool, resume: str | None, new: bool,
        max_cost: float | None, allow_unpriced: bool) -> None:
    from aigw.batch.run import Hooks, Spec, run_batch
    from aigw.batch.seam import Lines
    from aigw.cli.batch_view import View
    from aigw.cli.common import make_engine, run_async
    from aigw.errors import UsageError

    if options.dry_run:
        raise UsageError("--dry-run does not take --batch", hint="dry-run one line: aigw generate \"PROMPT\" --dry-run")
    if resume is not None and new:
        raise UsageError("--resume and --new contradict each other")
    check_output(defaults.get("output"))
    STATE.json = False  # each item's failure is its own JSON object; the batch's end is not one more
    lines = Lines()
    view = View(as_json=as_json, plain_progress=progress, lines=lines)
    engine = make_engine(events=view.events)
    runners: list[Any] = []
    ids: list[str] = []

    def started(batch_id: str, resumed: bool, skipped: int) -> None:
        ids.append(batch_id)
        also = f"; {skipped} item(s) done before are not sent again" if skipped else ""
        STATE.info(f"batch {batch_id}{' (resumed)' if resumed else ''}{also}")

    def estimated(total: float, items: int, unpriced: int, cached: int) -> None:
        from aigw.catalog.pricing import format_usd

        unknown = f" (+ {unpriced} item(s) of unknown price)" if unpriced else ""
        hits = f"; {cached} of them in the result cache, $0" if cached else ""
        # Nothing to send costs nothing ("free" is for models that are); "unknown" for unknown prices.
        cost = "$0" if not items or cached == items else format_usd(total) if items > unpriced else "unknown"
        STATE.info(f"estimated cost: {cost} for {items} item(s){unknown}{hits}")

    hooks = Hooks(started=started, estimated=estimated, malformed=view.malformed, done=view.done,
                  progress=view.changed, runner=runners.append)
    spec = Spec(kind=kind, content=content, input=batch_input, defaults=defaults, argv=list(STATE.argv),
                resume=resume, new=new, concurrency=concurrency, max_cost=max_cost, allow_unpriced=allow_unpriced)

    def soft_stop() -> None:
        for runner in runners:
            runner.stop("interrupted")

    try:
        summary = run_async(run_batch(engine, spec, options, hooks, lines), soft_stop=soft_stop)
    except Exception as exc:
        from aigw.errors import Interrupted

        if isinstance(exc, Interrupted) and ids:
            exc.hint = resume_hint(ids[0])
        raise
    finally:
        view.close()
    finish(summary, view)


def resume_hint(batch_id: str) -> str:
    """The command that resumes: this one, with --resume BATCH_ID instead of --resume/--new."""
    args = list(STATE.argv)
    kept: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg == "--resume":
            skip = True
            continue
        if arg == "--new" or arg.startswith("--resume="):
            continue
        kept.append(arg)
    stdin = " (with the same input on stdin)" if "-" in kept else ""
    return f"resume with: aigw {shlex.join(kept)} --resume {batch_id}{stdin}"


def finish(summary: Summary, view: Any) -> None:
    from aigw import errors, interrupts
    from aigw.catalog.pricing import format_usd

    progress = view.progress
    spent = f" · {format_usd(progress.cost_usd)}" if progress is not None and progress.cost_usd else ""
    report = summary.report
    left = f"; {len(report.not_started)} not started" if report.not_started else ""
    failed = summary.failed_lines
    counts = f"{summary.ok} of {summary.total} item(s) done, {len(failed)} failed{left}{spent}"
    if report.stopped == "interrupted":
        cls = {143: errors.Terminated, 129: errors.HungUp}.get(interrupts.exit_code(), errors.Interrupted)
        raise cls(f"{interrupts.describe()}: batch {summary.batch_id}: {counts}", hint=resume_hint(summary.batch_id))
    if report.stopped == "max-cost":
        raise errors.BudgetExceededError(f"--max-cost reached: batch {summary.batch_id}: {counts}",
                                         hint=resume_hint(summary.batch_id) + " (with a higher --max-cost)")
    if failed:
        raise errors.BatchItemsFailed(f"batch {summary.batch_id}: {counts}: line(s) {_lines(failed)}",
                                      hint="fix what the errors above say, then " + resume_hint(summary.batch_id))
    STATE.info(f"batch {summary.batch_id}: {counts}")


def _lines(lines: list[int], shown: int = 20) -> str:
    text = ", ".join(str(n) for n in lines[:shown])
    return text + (f" and {len(lines) - shown} more" if len(lines) > shown else "")
