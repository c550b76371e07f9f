"""What the run log keeps of an input file: its absolute path, size and sha256, so that a run can be
found again from the file however it was named, and a moved or changed file can be told apart."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

STDIN = "<stdin>"


def describe(path: Path, display_name: str) -> dict[str, Any]:
    """`file` (absolute, or <stdin> for piped audio, whose spooled copy is gone after the run),
    `file_bytes` and `file_sha256` (None when the file cannot be read now: the run says why)."""
    digest = hashlib.sha256()
    size: int | None = 0
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
                size = (size or 0) + len(block)
        sha: str | None = digest.hexdigest()
    except OSError:
        size, sha = None, None
    return {"file": describe_name(path, display_name), "file_bytes": size, "file_sha256": sha}


def describe_name(path: Path, display_name: str) -> str:
    return STDIN if display_name == STDIN else os.path.abspath(path)
