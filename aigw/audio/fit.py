"""Fit a recording to a provider's limits: as it is when it fits; else re-encoded to a compact
16 kHz mono format the provider accepts; else cut at silences into overlapping chunks, each
re-encoded the same way. Everything streams: one decode to re-encode and measure the energy
envelope, one more to write the chunks (from the lossless re-encode when there is one).

Chunk files go to a private directory (0700, files 0600) the caller owns and removes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aigw.audio import split
from aigw.audio.encode import Encoder, Format, choose, encode
from aigw.audio.pcm import RATE, iter_pcm

if TYPE_CHECKING:
    import numpy as np

MULTIPART_OVERHEAD = 2048   # boundaries, part headers and form fields around an uploaded file
BYTES_MARGIN = 0.92         # a chunk is planned from the average bitrate: leave room for a denser stretch
SECONDS_MARGIN = 0.98
SILENT_RMS = 100.0          # no window louder than about -50 dBFS: nothing a model could hear


@dataclass(frozen=True)
class Limits:
    upload_bytes: int | None = None
    audio_seconds: float | None = None
    accepted: frozenset[str] | None = None   # file extensions every candidate accepts; None: any
    chunk_seconds: float | None = None       # a cap of the user's (or a test's), below the providers'

    def fits(self, size_bytes: int, duration_s: float | None) -> bool:
        if self.upload_bytes and size_bytes + MULTIPART_OVERHEAD > self.upload_bytes:
            return False
        cap = min(c for c in (self.audio_seconds, self.chunk_seconds, float("inf")) if c is not None)
        return duration_s is None or duration_s <= cap


@dataclass(frozen=True)
class Chunk:
    index: int
    path: Path
    filename: str
    content_type: str
    offset_s: float       # where its audio starts on the whole file's timeline
    own_start_s: float    # the merge keeps its words from here ...
    end_s: float          # ... to here
    size_bytes: int
    sha256: str
    silent: bool

    @property
    def duration_s(self) -> float:
        return self.end_s - self.offset_s


@dataclass
class Fitted:
    how: str                       # "re-encoded" (one file) or "chunked"
    fmt: Format
    duration_s: float
    chunks: list[Chunk] = field(default_factory=list)


def fit(source: Path, limits: Limits, workdir: Path, *, name: str, overlap_s: float = split.OVERLAP_S) -> Fitted:
    fmt = choose(limits.accepted)
    env = split.Envelope()
    whole = workdir / f"whole.{fmt.ext}"
    encode(env.passthrough(iter_pcm(source, name=name)), whole, fmt)
    rms, duration = env.rms, env.duration
    size = whole.stat().st_size
    if limits.fits(size, duration):
        return Fitted("re-encoded", fmt, duration, [_chunk(0, whole, fmt, 0.0, 0.0, duration, rms)])
    # Chunks are decoded again from the re-encode when it is lossless (faster, and bit-exact);
    # a lossy one would lose twice, so then from the original.
    again = whole if fmt.ext in ("flac", "wav") else source
    max_s = _max_seconds(limits, size / max(duration, 1e-9), overlap_s)
    for _ in range(4):
        spans = split.plan(rms, duration, max_s=max_s, overlap_s=overlap_s)
        chunks = _write(again, spans, fmt, workdir, rms, name=name)
        worst = max(c.size_bytes for c in chunks)
        if not limits.upload_bytes or worst + MULTIPART_OVERHEAD <= limits.upload_bytes:
            if again is whole:
                whole.unlink(missing_ok=True)
            return Fitted("chunked", fmt, duration, chunks)
        for chunk in chunks:  # a denser stretch than average: plan shorter chunks and write again
            chunk.path.unlink(missing_ok=True)
        max_s *= (limits.upload_bytes - MULTIPART_OVERHEAD) / worst * BYTES_MARGIN
    raise RuntimeError(f"could not cut {name} into chunks under {limits.upload_bytes:,} bytes")


def _max_seconds(limits: Limits, bytes_per_s: float, overlap_s: float) -> float:
    caps = [c * SECONDS_MARGIN for c in (limits.audio_seconds, limits.chunk_seconds) if c]
    if limits.upload_bytes:
        caps.append((limits.upload_bytes - MULTIPART_OVERHEAD) * BYTES_MARGIN / bytes_per_s)
    return max(min(caps), 4 * overlap_s)


def _write(source: Path, spans: list[split.Span], fmt: Format, workdir: Path, rms: np.ndarray, *,
           name: str) -> list[Chunk]:
    """One pass over the audio; at most two chunks are open at a time (the overlap)."""
    open_: dict[int, Encoder] = {}
    done: list[Chunk] = []
    bounds = [(round(s.start * RATE), round(s.end * RATE)) for s in spans]
    pos = 0
    nxt = 0
    try:
        for block in _pcm(source, name):
            b0, b1 = pos, pos + len(block)
            while nxt < len(spans) and bounds[nxt][0] < b1:
                open_[nxt] = Encoder(workdir / f"chunk-{nxt:04d}.{fmt.ext}", fmt)
                nxt += 1
            for i in list(open_):
                s0, s1 = bounds[i]
                lo, hi = max(s0, b0), min(s1, b1)
                if hi > lo:
                    open_[i].write(block[lo - b0:hi - b0])
                if s1 <= b1 and i != len(spans) - 1:
                    done.append(_finish(open_.pop(i), spans[i], fmt, rms))
            pos = b1
        for i in sorted(open_):
            done.append(_finish(open_.pop(i), spans[i], fmt, rms))
    except BaseException:
        for enc in open_.values():
            enc.abort()
        raise
    return sorted(done, key=lambda c: c.index)


def _pcm(source: Path, name: str) -> Iterator[np.ndarray]:
    return iter_pcm(source, name=name)


def _finish(enc: Encoder, span: split.Span, fmt: Format, rms: np.ndarray) -> Chunk:
    enc.close()
    return _chunk(span.index, enc.path, fmt, span.start, span.own_start, span.end, rms)


def _chunk(index: int, path: Path, fmt: Format, start: float, own_start: float, end: float,
           rms: np.ndarray) -> Chunk:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    a, b = int(start / split.WINDOW_S), max(int(start / split.WINDOW_S) + 1, int(end / split.WINDOW_S) + 1)
    loudest = float(rms[a:b].max()) if len(rms[a:b]) else 0.0
    return Chunk(index=index, path=path, filename=path.name, content_type=fmt.content_type, offset_s=start,
                 own_start_s=own_start, end_s=end, size_bytes=path.stat().st_size, sha256=digest.hexdigest(),
                 silent=loudest < SILENT_RMS)
