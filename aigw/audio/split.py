"""Where to cut a long recording: an energy envelope computed while decoding, and chunk boundaries
placed at the quietest moment near each chunk's length limit, with a small overlap.

The envelope holds one RMS value per WINDOW_S of audio (20 values a second: 0.9 MB of float32 for
three hours), so planning needs neither the audio in memory nor a second look at it. Each chunk
owns the span between its cuts; it also carries `overlap_s` of audio before its cut so that a word
spoken across a cut is heard whole by one of the two chunks (the merge keeps one copy)."""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aigw.audio.pcm import RATE

if TYPE_CHECKING:
    import numpy as np

WINDOW_S = 0.05
WINDOW = int(RATE * WINDOW_S)
SMOOTH_WINDOWS = 10   # a cut lands in 0.5 s of quiet, not between two syllables
SEARCH_S = 30.0       # look this far back from a chunk's limit for the quietest moment
OVERLAP_S = 1.5


@dataclass(frozen=True)
class Span:
    """A chunk on the whole file's timeline: audio from `start` to `end`; it owns `own_start` to
    `end` (`start` is `own_start` minus the overlap, except for the first chunk)."""

    index: int
    start: float
    own_start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


class Envelope:
    """Feed int16 blocks in order; `rms` then holds one value per window."""

    def __init__(self) -> None:
        import numpy as np

        # 4 bytes a window in one growing buffer: decoders hand over blocks of a window or two, and
        # an array per block would cost a hundred bytes of overhead per value.
        self._values = array("f")
        self._carry = np.zeros(0, dtype=np.int16)
        self.samples = 0

    def feed(self, block: np.ndarray) -> None:
        import numpy as np

        self.samples += len(block)
        data = np.concatenate([self._carry, block]) if len(self._carry) else block
        whole = len(data) - len(data) % WINDOW
        if whole:
            frames = data[:whole].astype(np.float32).reshape(-1, WINDOW)
            self._values.frombytes(np.sqrt((frames * frames).mean(axis=1)).astype(np.float32).tobytes())
        self._carry = data[whole:].copy()

    def passthrough(self, source: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for block in source:
            self.feed(block)
            yield block

    @property
    def rms(self) -> np.ndarray:
        import numpy as np

        values = np.frombuffer(self._values, dtype=np.float32) if len(self._values) else np.zeros(0, dtype=np.float32)
        if not len(self._carry):
            return values.copy()
        tail = np.sqrt((self._carry.astype(np.float32) ** 2).mean())
        return np.append(values, np.float32(tail))

    @property
    def duration(self) -> float:
        return self.samples / RATE


def plan(rms: Sequence[float] | np.ndarray, duration: float, *, max_s: float, overlap_s: float = OVERLAP_S,
         search_s: float = SEARCH_S) -> list[Span]:
    """Chunks no longer than `max_s` (overlap included) covering `duration`, as few as the limit
    allows and of about equal length (so they finish together when sent at once, and the last is not
    a sliver), each cut at the quietest smoothed window within `search_s` before its target."""
    import math

    import numpy as np

    if max_s <= 2 * overlap_s:
        raise ValueError(f"a chunk limit of {max_s:.1f} s leaves no room beside a {overlap_s:.1f} s overlap")
    energy = np.asarray(rms, dtype=np.float32)
    if len(energy) >= SMOOTH_WINDOWS:
        kernel = np.ones(SMOOTH_WINDOWS, dtype=np.float32) / SMOOTH_WINDOWS
        energy = np.convolve(energy, kernel, mode="same").astype(np.float32)
    search = min(search_s, max_s / 3)
    count = max(1, math.ceil((duration - overlap_s) / (max_s - overlap_s - search / 2)))
    target = duration / count
    spans: list[Span] = []
    own_start = 0.0
    while True:
        start = max(0.0, own_start - overlap_s) if spans else 0.0
        if duration - start <= max_s and (duration - own_start <= target + search or not spans and count == 1):
            spans.append(Span(len(spans), start, own_start, duration))
            return spans
        limit = min(start + max_s, own_start + target + search / 2, duration)
        lo = max(own_start + overlap_s, limit - search)
        cut = _quietest(energy, lo, limit)
        spans.append(Span(len(spans), start, own_start, cut))
        own_start = cut


def _quietest(energy: np.ndarray, lo: float, hi: float) -> float:
    """The middle of the quiet stretch holding the latest quietest window in [lo, hi): a cut in the
    middle of a pause, not at the edge of the next word; the latest, so chunks stay long."""
    import numpy as np

    a, b = int(lo / WINDOW_S), int(hi / WINDOW_S)
    window = energy[a:b]
    if len(window) == 0:
        return hi
    quiet = float(window.min())
    calm = window <= quiet * 1.25 + 1.0  # within a hair of the quietest: the same pause
    last = int(np.flatnonzero(calm)[-1])
    first = last
    while first > 0 and calm[first - 1]:
        first -= 1
    return min(hi, (a + (first + last + 1) / 2) * WINDOW_S)
