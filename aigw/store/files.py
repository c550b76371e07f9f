"""Result files: results/YYYY-MM-DD/<run-id>[-N].<ext>, written to a temporary name, then renamed."""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import datetime
from pathlib import Path
from typing import BinaryIO


def result_path(cache_dir: Path, run_id: str, created_at: datetime, ext: str, index: int | None) -> Path:
    """The folder is the local calendar day, the day budgets count (run ids and the log are UTC)."""
    suffix = f"-{index}" if index is not None else ""
    day = created_at.astimezone() if created_at.tzinfo is not None else created_at
    return cache_dir / "results" / f"{day:%Y-%m-%d}" / f"{run_id}{suffix}.{ext}"


_made: set[Path] = set()


def _ensure_dir(directory: Path) -> None:
    """mkdir -p once per directory per process: a day's results all land in one folder."""
    if directory not in _made:
        directory.mkdir(parents=True, exist_ok=True)
        _made.add(directory)


def write_atomic(path: Path, data: bytes) -> str:
    """Write bytes so that a reader sees either nothing or the whole file; return its sha256.
    No fsync: the rename is atomic against a crashed process, and a sync per image would cost
    more than all of aigw's other per-request work together."""
    _ensure_dir(path.parent)
    tmp = path.with_name(f".{path.name}.part")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
    return hashlib.sha256(data).hexdigest()


def copy_atomic(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)


def spool(stream: BinaryIO, dest: Path, chunk: int = 1 << 20) -> int:
    """Copy a stream (stdin) to disk in chunks; never holds the whole input in memory."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    total = 0
    with open(dest, "wb") as out:
        while True:
            block = stream.read(chunk)
            if not block:
                break
            out.write(block)
            total += len(block)
    return total
