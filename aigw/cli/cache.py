"""`aigw cache`: where the result cache is, what it holds, and removing entries from it."""

from __future__ import annotations

from typing import Optional

import typer

from aigw.cli.output import STATE

HELP = ("The result cache: a repeated request answered from disk at no cost. Removing entries never "
        "removes files under results/ unless --results is given.")
app = typer.Typer(help=HELP, no_args_is_help=True)
Results = typer.Option(False, "--results", help="Also delete the files under results/ of the runs each removed entry "
                       "served (the paid run and its cache hits).")


def _cache_dir():  # type: ignore[no-untyped-def]
    from aigw import settings

    return settings.load().settings.cache_dir or settings.default_cache_dir()


@app.command("path")
def path_cmd() -> None:
    """Print the directory that holds the cache entries."""
    from aigw.cli.output import print_lines

    print_lines([str(_cache_dir() / "cache")])


@app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json", help="One JSON array, one object per entry.")) -> None:
    """Every entry, most recently used first: size, age, model, kind and the run it came from."""
    from aigw.cli.cache_view import entry_json, show_table
    from aigw.cli.output import print_json
    from aigw.store.cache import ResultCache

    entries = sorted(ResultCache(_cache_dir()).scan(), key=lambda e: e.last_used, reverse=True)
    if as_json:
        print_json([entry_json(e) for e in entries])
    else:
        show_table(entries)


@app.command("clear")
def clear_cmd(results: bool = Results) -> None:
    """Remove every entry (asks nothing) and say what that freed."""
    from aigw.store.cache import ResultCache

    cache_dir = _cache_dir()
    _remove(cache_dir, ResultCache(cache_dir).scan(), results)


@app.command("prune")
def prune_cmd(
    older_than: Optional[str] = typer.Option(None, "--older-than", help="Remove entries not used for this long: 30d, 12h, 2w, 0d."),
    max_size: Optional[str] = typer.Option(None, "--max-size", help="Then remove the least recently used until the cache "
                                 "holds at most this much: 2GB, 500MB, 1GiB."),
    results: bool = Results,
) -> None:
    """Remove old entries, least recently used first, and say what that freed."""
    import time

    from aigw.errors import UsageError
    from aigw.store.cache import ResultCache, prune

    if older_than is None and max_size is None:
        raise UsageError("prune needs --older-than or --max-size", hint="e.g. aigw cache prune --older-than 30d")
    try:
        age = None if older_than is None else prune.parse_age(older_than)
    except ValueError:
        raise UsageError(f"bad --older-than {older_than}", hint="a number and s, m, h, d or w: 30d, 12h") from None
    try:
        size = None if max_size is None else prune.parse_size(max_size)
    except ValueError:
        raise UsageError(f"bad --max-size {max_size}", hint="a number and a unit: 2GB, 500MB, 1GiB") from None
    cache_dir = _cache_dir()
    chosen = prune.select(ResultCache(cache_dir).scan(), now=time.time(), older_than_s=age, max_bytes=size)
    _remove(cache_dir, chosen, results)


def _remove(cache_dir, entries, results: bool) -> None:  # type: ignore[no-untyped-def]
    from aigw.cli.cache_view import human_bytes
    from aigw.store.cache import admin

    done = admin.remove(cache_dir, entries, results=results)
    if done.log_warning:
        STATE.warn(f"the run log could not be updated: {done.log_warning}")
    kept = "" if results else "; files under results/ were kept"
    also = f" and {done.results} result file(s)" if results else ""
    STATE.info(f"removed {done.entries} cache entr{'y' if done.entries == 1 else 'ies'} "
               f"({human_bytes(done.entry_bytes)}){also}; freed {human_bytes(done.freed)} on disk{kept}")
