"""Which entries `aigw cache prune` removes, and the units its options are written in."""

from __future__ import annotations

import re

from aigw.store.cache.entries import Entry

AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
SIZE_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
              "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_age(text: str) -> float:
    """'30d', '12h', '90m', '2w', '45s', '0d' -> seconds; ValueError otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text.lower())
    if not match:
        raise ValueError(text)
    return float(match[1]) * AGE_UNITS[match[2]]


def parse_size(text: str) -> int:
    """'2GB' (10^9), '500MB', '1.5GiB' (2^30), '4096' (bytes) -> bytes; ValueError otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", text.lower())
    if not match or match[2] not in SIZE_UNITS:
        raise ValueError(text)
    return int(float(match[1]) * SIZE_UNITS[match[2]])


def select(entries: list[Entry], *, now: float, older_than_s: float | None, max_bytes: int | None) -> list[Entry]:
    """Damaged entries, those last used more than `older_than_s` ago, then the least recently used
    until the rest fit in `max_bytes`."""
    chosen = [e for e in entries if e.damaged is not None
              or (older_than_s is not None and now - e.last_used >= older_than_s)]
    if max_bytes is not None:
        taken = {e.key for e in chosen}
        rest = sorted((e for e in entries if e.key not in taken), key=lambda e: e.last_used)
        total = sum(e.bytes for e in rest)
        for entry in rest:
            if total <= max_bytes:
                break
            chosen.append(entry)
            total -= entry.bytes
    return chosen
