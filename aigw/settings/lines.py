"""Finding the line of a dotted key in TOML text, for messages that say where to look."""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = r"(?:[A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*')"
_ASSIGN = re.compile(rf"^\s*({_KEY}(?:\s*\.\s*{_KEY})*)\s*=")
_PART = re.compile(r"\"([^\"]*)\"|'([^']*)'|([A-Za-z0-9_\-]+)")


def _parts(dotted: str) -> list[str]:
    return [next(g for g in m.groups() if g is not None).lower() for m in _PART.finditer(dotted)]


def locate_line(text: str, keys: list[str]) -> int | None:
    """1-based line of a key in TOML text: its own line, else the nearest line that defines its
    table (a header or a dotted assignment). Case-insensitive, as provider names are."""
    want = [k.lower() for k in keys]
    table: list[str] = []
    best: int | None = None
    best_depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        m = _HEADER.match(line)
        if m:
            table = _parts(m.group(1))
            full = table
        else:
            m = _ASSIGN.match(line)
            if not m:
                continue
            full = table + _parts(m.group(1))
        if full == want:
            return number
        depth = len(full)
        if full == want[:depth] and depth > best_depth:
            best, best_depth = number, depth
    return best
