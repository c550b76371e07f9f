"""16 kHz mono int16 blocks -> a compact audio file, written streaming and private (0600).

Formats, most preferred first (`COMPACT`): FLAC is lossless (the provider hears exactly the 16 kHz
mono signal, about half a 16-bit WAV's size for speech), and OpenAI, Groq, Together, Deepgram and
local take it; MP3 at 64 kbit/s (PyAV's wheel bundles libmp3lame) for providers that lack FLAC
(fal's wizper takes mp3, mp4, mpeg, mpga, m4a, wav, webm); 16 kHz mono WAV for anything else."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from aigw.audio.pcm import RATE, blocks

if TYPE_CHECKING:
    import numpy as np
    from av.audio.stream import AudioStream


@dataclass(frozen=True)
class Format:
    ext: str
    container: str
    codec: str
    content_type: str
    bit_rate: int | None = None


COMPACT = (
    Format("flac", "flac", "flac", "audio/flac"),
    Format("mp3", "mp3", "libmp3lame", "audio/mpeg", bit_rate=64_000),
    Format("wav", "wav", "pcm_s16le", "audio/wav"),
)


def choose(accepted: frozenset[str] | None) -> Format:
    """The first compact format every candidate accepts (None: any)."""
    for fmt in COMPACT:
        if accepted is None or fmt.ext in accepted:
            return fmt
    return COMPACT[-1]


class Encoder:
    """Write blocks as they come; `close()` finishes the file. Opened 0600: chunks of someone's
    recording are as private as the results in the cache."""

    def __init__(self, path: Path, fmt: Format) -> None:
        import av

        self.path, self.fmt, self.samples = path, fmt, 0
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._file = os.fdopen(fd, "wb")
        self._out = av.open(self._file, "w", format=fmt.container)
        stream = cast("AudioStream", self._out.add_stream(fmt.codec, rate=RATE, layout="mono"))
        if fmt.bit_rate:
            stream.bit_rate = fmt.bit_rate
        self._stream = stream
        self._pending: list[np.ndarray] = []

    def write(self, samples: np.ndarray) -> None:
        self._pending.append(samples)
        if sum(len(p) for p in self._pending) >= 16_384:
            self._drain(final=False)

    def _drain(self, *, final: bool) -> None:
        import av
        import numpy as np

        if not self._pending:
            return
        joined = np.concatenate(self._pending)
        size = self._stream.codec_context.frame_size or 4096
        usable = len(joined) if final else len(joined) - len(joined) % size
        self._pending = [] if usable == len(joined) else [joined[usable:]]
        for block in blocks(iter([joined[:usable]]), size):
            frame = av.AudioFrame.from_ndarray(block.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = RATE
            frame.pts = self.samples
            self.samples += len(block)
            for packet in self._stream.encode(frame):
                self._out.mux(packet)

    def close(self) -> None:
        self._drain(final=True)
        for packet in self._stream.encode(None):
            self._out.mux(packet)
        self._out.close()
        self._file.close()

    def abort(self) -> None:
        try:
            self._out.close()
        except Exception:  # half-written: the file is removed anyway  # noqa: BLE001
            pass
        self._file.close()
        self.path.unlink(missing_ok=True)


def encode(source: Iterable[np.ndarray], path: Path, fmt: Format) -> int:
    """Encode a whole stream; returns the samples written."""
    enc = Encoder(path, fmt)
    try:
        for block in source:
            enc.write(block)
        enc.close()
    except BaseException:
        enc.abort()
        raise
    return enc.samples
