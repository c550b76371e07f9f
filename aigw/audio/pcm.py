"""Any input PyAV can decode -> 16 kHz mono signed 16-bit blocks, one decoded frame at a time.

16 kHz mono is what Whisper-family models work in (they resample to it themselves), so nothing a
provider hears is lost, and it is the smallest faithful form to re-encode and split."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from aigw import errors

if TYPE_CHECKING:
    import numpy as np

RATE = 16_000


def iter_pcm(path: Path, *, name: str) -> Iterator[np.ndarray]:
    """int16 arrays of mono samples at RATE, in order, each no bigger than a decoded frame (plus
    the resampler's small delay): memory does not grow with the file."""
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            stream = next(iter(container.streams.audio), None)
            if stream is None:
                raise errors.UsageError(f"{name} has no audio stream", hint="give a recording with sound in it")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    yield out.to_ndarray().reshape(-1)
            for out in resampler.resample(None):  # flush the resampler's tail
                yield out.to_ndarray().reshape(-1)
    except errors.UsageError:
        raise
    except (av.FFmpegError, ValueError, OSError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise errors.UsageError(f"{name} cannot be decoded ({reason})",
                                hint="the file is damaged or not audio; export or copy it again") from exc


def blocks(source: Iterator[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """Re-block a stream of sample arrays into arrays of exactly `size` samples (the last shorter):
    encoders with a fixed frame size (MP3, Opus) take nothing else."""
    import numpy as np

    pending: list[np.ndarray] = []
    held = 0
    for block in source:
        pending.append(block)
        held += len(block)
        if held < size:
            continue
        joined = np.concatenate(pending)
        cut = len(joined) - len(joined) % size
        for start in range(0, cut, size):
            yield joined[start:start + size]
        pending, held = ([joined[cut:]], len(joined) - cut) if cut < len(joined) else ([], 0)
    if held:
        yield np.concatenate(pending)
