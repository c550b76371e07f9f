"""Sizes and aspect ratios as users write them ("1024x768", "16:9"), for every provider's mapping."""

from __future__ import annotations


def parse_size(size: str | None) -> tuple[int, int] | None:
    """'1024x768' -> (1024, 768); None for 'auto', junk or non-positive sides."""
    try:
        w, h = (int(v) for v in (size or "").lower().split("x"))
    except ValueError:
        return None
    return (w, h) if w > 0 and h > 0 else None


def parse_ratio(ratio: str | None) -> float | None:
    """'16:9' -> 1.777...; None for junk."""
    try:
        a, b = (float(v) for v in (ratio or "").split(":"))
    except ValueError:
        return None
    return a / b if a > 0 and b > 0 else None


def ratio_size(ratio: str, *, long_side: int = 1024, step: int = 16) -> tuple[int, int] | None:
    """'16:9' -> (1024, 576): the long side fixed, the other to the nearest multiple of `step`."""
    value = parse_ratio(ratio)
    if value is None:
        return None
    short = max(step, round(long_side * min(value, 1 / value) / step) * step)
    return (long_side, short) if value >= 1 else (short, long_side)
