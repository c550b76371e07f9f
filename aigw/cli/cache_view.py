"""How `aigw cache list` shows entries: a table on a terminal, tab-separated lines in a pipe, JSON."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from aigw.cli.output import STATE, print_lines, stdout_is_tty
from aigw.store.cache import Entry

COLUMNS = ("key", "kind", "model", "provider", "bytes", "created_at", "last_used_at", "source_run")


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def _age(seconds: float) -> str:
    for unit, span in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= span:
            return f"{seconds / span:.0f}{unit}"
    return f"{max(seconds, 0):.0f}s"


def entry_json(e: Entry) -> dict[str, Any]:
    return {
        "key": e.key, "kind": e.get("kind"), "model": e.get("model"), "provider": e.get("provider"),
        "bytes": e.bytes, "created_at": e.get("created_at"),
        "last_used_at": datetime.fromtimestamp(e.last_used, timezone.utc).isoformat(),
        "source_run": e.get("source_run"), "path": str(e.path), "files": [str(p) for p in e.files],
        "damaged": e.damaged,
    }


def show_table(entries: list[Entry]) -> None:
    if not stdout_is_tty():
        data = [entry_json(e) for e in entries]
        print_lines(["\t".join(COLUMNS)] + ["\t".join("-" if r[c] is None else str(r[c]) for c in COLUMNS) for r in data])
        return
    now = time.time()
    rows: list[tuple[str, ...]] = [("key", "kind", "model", "provider", "size", "age", "used", "source run")]
    for e in entries:
        created = e.get("created_at")
        age = _age(now - datetime.fromisoformat(created).timestamp()) if isinstance(created, str) else "-"
        rows.append((e.key[:12], str(e.get("kind") or "?"), str(e.get("model") or e.damaged or "?"),
                     str(e.get("provider") or "-"), human_bytes(e.bytes), age, _age(now - e.last_used) + " ago",
                     str(e.get("source_run") or "-")))
    # Plain aligned columns, nothing cut short: a table squeezed to the terminal would cut the run id.
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print_lines(["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows])
    STATE.info(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, {human_bytes(sum(e.bytes for e in entries))}")
