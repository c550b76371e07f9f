"""Where results go besides the cache (-o FILE, -o DIR, -o - for stdout), and what a failure to
write there means: the result stays in the cache, the run log says why, exit 7."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from aigw.catalog.pricing import format_usd
from aigw.cli.output import STATE, cost_line
from aigw.errors import OutputNotWritten, RunLogError
from aigw.services import delivery

if TYPE_CHECKING:
    from aigw.engine import Engine
    from aigw.types import RunResult


def format_from_output(output: str | None, fmt: str | None, suffixes: dict[str, str]) -> str | None:
    """The format `-o name.ext` asks for when --format is not given. When both are given and
    disagree, --format wins (it is the explicit choice) and a warning says so."""
    if output in (None, "-") or delivery.is_directory(output):
        return fmt
    implied = suffixes.get(Path(output).suffix.lower())
    if fmt is None:
        return implied
    if implied is not None and implied != fmt and (implied, fmt) != ("json", "verbose_json"):
        STATE.warn(f"writing {fmt} to {output} as --format asks, although its suffix says {implied}")
    return fmt


def deliver_images(engine: Engine, result: RunResult, output: str | None) -> list[str]:
    """Copy cached results to where the user asked; return the paths to print."""
    if output is None:
        return list(result.paths)
    if output == "-":
        try:
            sys.stdout.buffer.write(Path(result.paths[0]).read_bytes())
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:  # e.g. > /dev/full
            discard_stdout()
            _failed(engine, result, OutputNotWritten(f"could not write to stdout: {exc.strerror or exc}"))
        return []
    items = [(Path(p).name, Path(p).read_bytes()) for p in result.paths]
    return _deliver(engine, result, output, items, add_suffix=True)


def deliver_text(engine: Engine, result: RunResult, body: str, output: str | None) -> str | None:
    """The path to print, or None when there is none: no -o, -o -, or -o /dev/stdout."""
    if output is None or output == "-":
        return None
    written = _deliver(engine, result, output, [(Path(result.paths[0]).name, body.encode("utf-8"))], add_suffix=False)
    return written[0] if written else None


def _deliver(engine: Engine, result: RunResult, output: str, items: list[tuple[str, bytes]], *,
             add_suffix: bool) -> list[str]:
    try:
        written = delivery.write_outputs(output, items, add_suffix=add_suffix)
    except OutputNotWritten as exc:
        _failed(engine, result, exc)
    # What went to stdout is the data there: its path would be mixed into it.
    return [str(p) for p in written if not delivery.is_stdout(p)]


@contextmanager
def stdout_data(engine: Engine, result: RunResult) -> Iterator[None]:
    """stdout carries the data (paths, the transcript, JSON): a stdout that cannot take it
    (`> /dev/full`, a disk that filled) is a delivery failure like `-o`'s, exit 7."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        discard_stdout()
        _failed(engine, result, OutputNotWritten(f"could not write to stdout: {exc.strerror or exc}"), cost_shown=True)


def discard_stdout() -> None:
    """What stdout still buffers would fail again at exit (a second error, exit 120): send it nowhere."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError, AttributeError):  # not a real file (tests swap in a buffer)
        pass


def _failed(engine: Engine, result: RunResult, exc: OutputNotWritten, *, cost_shown: bool = False) -> NoReturn:
    """Exit 7: the error, the cost line and where the result is kept."""
    _record_failure(engine, result.id, exc)
    if not cost_shown:
        STATE.info(cost_line(result))
    cost = format_usd(result.cost_usd)
    exc.hint = f"the result (cost {cost}) is kept in the cache: " + ", ".join(result.paths)
    exc.run_id, exc.attempts = result.id, tuple(result.attempts)  # for --json's failure object
    raise exc


def _record_failure(engine: Engine, run_id: str, exc: OutputNotWritten) -> None:
    """The run log says the run exited 7 and why; a log that cannot be written does not hide the
    delivery failure, which is what the user must hear about."""
    try:
        engine.record_delivery_failure(run_id, exit_code=exc.exit_code, error=exc.message)
    except RunLogError as log_exc:
        STATE.warn(f"the run log could not record it: {log_exc.message}")
