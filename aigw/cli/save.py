"""Where results go besides the cache: -o FILE, -o DIR, or -o - (raw bytes on stdout)."""

from __future__ import annotations

import sys
from pathlib import Path

from aigw.store.files import copy_atomic


def deliver_images(cached: list[str], output: str | None) -> list[str]:
    """Copy cached results to where the user asked; return the paths to print."""
    if output is None:
        return cached
    if output == "-":
        sys.stdout.buffer.write(Path(cached[0]).read_bytes())
        sys.stdout.buffer.flush()
        return []
    target = Path(output).expanduser()
    if output.endswith(("/", "\\")) or target.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        out = [target / Path(p).name for p in cached]
    elif len(cached) == 1:
        out = [target if target.suffix else target.with_suffix(Path(cached[0]).suffix)]
    else:
        stem, suffix = target.stem, target.suffix or Path(cached[0]).suffix
        out = [target.with_name(f"{stem}-{i}{suffix}") for i in range(1, len(cached) + 1)]
    for src, dest in zip(cached, out):
        copy_atomic(Path(src), dest)
    return [str(p) for p in out]


def deliver_text(body: str, output: str | None) -> str | None:
    if output is None or output == "-":
        return None
    target = Path(output).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    tmp.write_text(body, encoding="utf-8")
    tmp.replace(target)
    return str(target)
