"""Glue every command shares: building the core's context, running it, reading stdin."""

from __future__ import annotations

import sys
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from aigw.cli.output import STATE

if TYPE_CHECKING:
    from aigw.services.context import Context

T = TypeVar("T")


def make_context() -> Context:
    from aigw import catalog, settings
    from aigw.services.context import Context

    loaded = settings.load()
    cache_dir = loaded.settings.cache_dir or settings.default_cache_dir()
    return Context(loaded=loaded, catalog=catalog.load(), cache_dir=cache_dir, notify=STATE.notify)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    import asyncio

    from aigw.errors import Interrupted

    try:
        return asyncio.run(coro)
    except KeyboardInterrupt as exc:
        raise Interrupted("interrupted; what was already saved is in the cache directory") from exc


def read_stdin_text(what: str) -> str:
    from aigw.errors import UsageError

    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError(f"no {what} given", hint=f'pass it as an argument, or pipe it in: echo "..." | aigw ... -')
    return sys.stdin.read().strip()
