"""Glue every command shares: opening the engine, running it, reading stdin."""

from __future__ import annotations

import gc
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from aigw.cli.output import STATE

if TYPE_CHECKING:
    from aigw.engine import Engine
    from aigw.events import EventSink

T = TypeVar("T")


def make_engine(*, once_per_text: bool = False, events: EventSink | None = None) -> Engine:
    """The engine for this process, with the terminal renderer subscribed (stderr messages and the
    status line), or `events` instead (a batch's view). Not opened yet: `with_engine` opens it
    around the work and closes it after."""
    from aigw import catalog, settings
    from aigw.engine import open_engine

    from datetime import date

    from aigw.errors import ConfigError

    loaded = settings.load()
    for warning in loaded.warnings:
        STATE.warn(warning)
    cache_dir = loaded.settings.cache_dir or settings.default_cache_dir()
    try:
        kept = catalog.load(kept_in=cache_dir)
        models = catalog.with_user_models(kept, loaded.settings.models, today=date.today())
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        first = exc.errors()[0] if hasattr(exc, "errors") else None
        detail = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}" if first else str(exc)
        raise ConfigError(f"{loaded.config_path}: invalid [models] entry: {detail}",
                          hint="entries take the fields of aigw/catalog/models.toml; see README 'Your own models'") from exc
    from aigw.cli import status

    return open_engine(loaded, models, cache_dir,
                       events=events or status.Renderer(STATE, status.sink_for(STATE), once_per_text=once_per_text))


def with_engine(engine: Engine, work: Callable[[Engine], Awaitable[T]]) -> T:
    """Run `work(engine)` with the engine open (one run log, one HTTP client), as run_async does."""

    async def go() -> T:
        async with engine:
            return await work(engine)

    return run_async(go())


def settings_and_cache() -> tuple[Any, Path]:
    """The settings and the cache directory, for commands that read the run log and need no catalog."""
    from aigw import settings

    loaded = settings.load()
    for warning in loaded.warnings:
        STATE.warn(warning)
    return loaded.settings, loaded.settings.cache_dir or settings.default_cache_dir()


def collect_from_the_run() -> None:
    """No garbage collection in aigw's own process until the run starts: run_async freezes what is
    loaded by then and turns the collector back on. What `generate` and `transcribe` allocate
    before their run (the parsed command, the modules they import, the settings, the catalog, the
    engine) lives to the end of the process, and the collector's young-generation passes over it
    cost a one-shot `aigw generate` about 1.5% of its instructions for next to nothing. Called by
    cli/main.py for commands that reach run_async or exit (a usage error, --help)."""
    if STATE.own_process:
        gc.disable()


def run_async(coro: Coroutine[Any, Any, T], *, soft_stop: Callable[[], None] | None = None) -> T:
    """Run the core; Ctrl-C, SIGTERM and SIGHUP cancel it (cli/signals.py) and exit 130, 143, 129.
    A batch passes `soft_stop`, which the first signal calls instead of cancelling."""
    from aigw import interrupts
    from aigw.cli import signals, status
    from aigw.errors import HungUp, Interrupted, Terminated

    if STATE.own_process:
        # Modules, settings and catalog are loaded and live to the end: the collector need not scan
        # them again during the run (cli/main.py did the same before parsing). The run's own
        # garbage is collected as usual, also after collect_from_the_run() paused the collector.
        gc.freeze()
        gc.enable()
    try:
        return signals.run(coro, soft_stop=soft_stop)
    except KeyboardInterrupt as exc:
        cls = {143: Terminated, 129: HungUp}.get(interrupts.exit_code(), Interrupted)
        raise cls(f"{interrupts.describe()}; what was already saved is in the cache directory") from exc
    finally:
        status.close_all()  # the live status line goes before the error or the result is printed


def read_stdin_text(what: str) -> str:
    from aigw.errors import UsageError

    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError(f"no {what} given", hint='pass it as an argument, or pipe it in: echo "..." | aigw ... -')
    return sys.stdin.read().strip()
