"""`aigw logs`: past runs from the run log, newest first; one whole run; the run that made a file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

if TYPE_CHECKING:
    from datetime import datetime

    from aigw.store.history import History, LoggedRun

HELP = """Show past runs from the run log, newest first, one line each; or one whole run.

A run id (or its start) shows that run with every attempt. --for finds the run that made a file, by
its path, its content (a copy of a result) or the run id the file carries. Examples:

  aigw logs -n 5
  aigw logs --kind audio --since 1d --search "quarterly budget"
  aigw logs 20261206-0315 --json
  aigw logs --for ~/Pictures/apple.png
  open "$(aigw logs --last --path)"
"""

KINDS = ("image", "audio")


def command(
    run_id: Optional[str] = typer.Argument(None, help="A run id, or its start: show that whole run."),
    count: int = typer.Option(20, "-n", "--count", min=0, help="How many runs (0: all of them)."),
    as_json: bool = typer.Option(False, "--json", help="JSON: an array of runs, or one object for one run."),
    kind: Optional[str] = typer.Option(None, "--kind", help="image or audio."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Runs of this model (served or asked for)."),
    provider: Optional[str] = typer.Option(None, "--provider", "-p", help="Runs that tried this provider."),
    failed: bool = typer.Option(False, "--failed", help="Only runs that failed, were interrupted or not delivered."),
    since: Optional[str] = typer.Option(None, "--since", help="30m, 2h, 1d, 2w, or a date (2026-12-01)."),
    search: Optional[str] = typer.Option(None, "--search", help="Words in the prompt, input file name or transcript."),
    for_path: Optional[Path] = typer.Option(None, "--for", metavar="PATH", help="The run that made this file."),
    last: bool = typer.Option(False, "--last", help="Only the newest run (-n 1)."),
    path: bool = typer.Option(False, "--path", help="Print only the result files' paths, one per line."),
) -> None:
    from aigw.cli.output import STATE, print_json

    STATE.json = as_json
    with _history() as history:
        if for_path is not None or run_id is not None:
            run = _found(history, for_path) if for_path is not None else history.get(run_id or "")
            _show_one(run, as_json, path)
            return
        from aigw.store.history import Filters

        filters = Filters(kind=_kind(kind), model=model, provider=provider, failed=failed,
                          since=_since(since), search=search, with_files=path,
                          limit=1 if last else (count or None))
        runs = history.runs(filters)
    if path:
        _print_paths(runs)
    elif as_json:
        from aigw.cli.schema import logged_json

        print_json([logged_json(r) for r in runs])
    else:
        _print_lines(runs)


@contextmanager
def _history() -> Iterator[History]:
    """The run log (opened as every command opens it: migrated, left-behind runs marked), read-only here."""
    from aigw.cli.common import settings_and_cache
    from aigw.store import open_store
    from aigw.store.history import History

    log = open_store(settings_and_cache()[1])
    try:
        yield History(log.conn)
    finally:
        log.close()


def _kind(kind: str | None) -> str | None:
    from aigw.errors import UsageError

    if kind is not None and kind not in KINDS:
        raise UsageError(f"unknown kind {kind}", hint="allowed: image, audio")
    return kind


def _since(since: str | None) -> datetime | None:
    if since is None:
        return None
    from datetime import datetime, timezone

    from aigw.store.stats import parse_since

    return parse_since(since, datetime.now(timezone.utc))


def _found(history: History, path: Path) -> LoggedRun:
    from aigw.errors import UsageError

    run, carried = history.made(path.expanduser())
    if run is not None:
        return run
    if carried.get("run_id"):
        what = ", ".join(f"{k} {v}" for k, v in carried.items() if k in ("model", "provider", "cost_usd"))
        raise UsageError(f"{path} was made by run {carried['run_id']} ({what}), which this run log does not have",
                         hint="the file carries its provenance: the prompt and the rest are in its metadata")
    raise UsageError(f"no run in the run log made {path}",
                     hint="it is neither a result path the log knows, nor a copy of one, nor a file with aigw provenance")


def _show_one(run: LoggedRun, as_json: bool, path_only: bool) -> None:
    from aigw.cli.output import print_json, print_lines

    if path_only:
        _print_paths([run])
    elif as_json:
        from aigw.cli.schema import logged_json

        print_json(logged_json(run))
    else:
        from aigw.cli.log_view import detail

        print_lines(detail(run))


def _print_lines(runs: list[LoggedRun]) -> None:
    import shutil

    from aigw.cli.log_view import line
    from aigw.cli.output import STATE, print_lines, stdout_is_tty

    if not runs:
        STATE.info("no runs match")
        return
    width = shutil.get_terminal_size().columns if stdout_is_tty() else None
    print_lines([line(r, width) for r in runs])


def _print_paths(runs: list[LoggedRun]) -> None:
    from aigw.cli.output import STATE, print_lines
    from aigw.errors import UsageError

    files = [f for r in runs for f in r.files]
    for f in files:
        if not f["exists"]:
            STATE.warn(f"{f['path']} is no longer there (pruned or deleted)")
    present = [f["path"] for f in files if f["exists"]]
    if not present:
        raise UsageError("no result file of the runs asked for is on disk",
                         hint="'aigw logs' lists the runs and marks files that are missing")
    print_lines(present)
