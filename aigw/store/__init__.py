"""The cache directory: aigw.db (run log) and results/ (every result file)."""

from __future__ import annotations

from pathlib import Path

from aigw.store.db import RunLog


def open_store(cache_dir: Path, *, keep_open: bool = False) -> RunLog:
    return RunLog(cache_dir / "aigw.db", keep_open=keep_open)


__all__ = ["RunLog", "open_store"]
