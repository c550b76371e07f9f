"""`aigw cache clear` and `prune`: remove entries (and, only when asked, their runs' result files),
keep the run log's rows in step, and count what was freed on disk."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from aigw import errors
from aigw.store.cache import index
from aigw.store.cache.entries import Entry, ResultCache


@dataclass
class Removed:
    entries: int = 0
    entry_bytes: int = 0  # what the entries held
    results: int = 0  # result files removed (--results)
    freed: int = 0  # bytes the disk got back: a file still linked elsewhere frees nothing
    log_warning: str | None = None  # the run log could not be updated (the files are gone all the same)


def remove(cache_dir: Path, entries: list[Entry], *, results: bool) -> Removed:
    """Remove the entries; with `results`, also the files under results/ of the runs each entry
    served (the paid run and its hits), found through the run log."""
    from aigw.store import open_store

    cache, out = ResultCache(cache_dir), Removed()
    try:
        log = open_store(cache_dir)
    except errors.RunLogError as exc:
        if results:  # which files belong to which run is only in the log
            raise
        log, out.log_warning = None, exc.message
    try:
        doomed: list[Path] = []
        if results and log is not None:
            doomed = _result_files(log.conn, cache_dir, entries)
        for entry in entries:
            out.freed += cache.remove(entry)
            out.entries += 1
            out.entry_bytes += entry.bytes
        for path in doomed:
            with contextlib.suppress(OSError):
                info = path.stat()
                path.unlink()
                out.results += 1
                out.freed += info.st_size if info.st_nlink == 1 else 0
        cache.sweep_builds()
        if log is not None:
            try:
                index.forget(log.conn, [e.key for e in entries])
                index.forget_missing(log.conn, {e.key for e in cache.scan()})
            except errors.RunLogError as exc:
                out.log_warning = exc.message
    finally:
        if log is not None:
            log.close()
    return out


def _result_files(conn: object, cache_dir: Path, entries: list[Entry]) -> list[Path]:
    results = (cache_dir / "results").resolve()
    found: list[Path] = []
    for entry in entries:
        shas = [f.get("sha256") for f in entry.get("files", []) if isinstance(f, dict)]
        source = entry.get("source_run")
        if not shas or not source:
            continue
        marks = ",".join("?" * len(shas))
        rows = conn.execute(  # type: ignore[attr-defined]
            f"SELECT path FROM files WHERE sha256 IN ({marks}) AND (run_id = ? OR run_id IN"  # noqa: S608
            " (SELECT id FROM runs WHERE cache_hit_of = ?))", (*shas, source, source))
        for (path,) in rows:
            resolved = Path(path).resolve()
            if results in resolved.parents:  # a rescued result or an -o copy is the user's: never touched
                found.append(resolved)
    return found
