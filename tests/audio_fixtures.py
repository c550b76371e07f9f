"""Long recordings assembled at test time from the committed espeak-ng sentences
(tests/fixtures/audio/), written streaming so an hour or more never sits in memory.

Between sentences: 1.5-4 s of faint noise (never loud enough to be speech), as a real room has, so a
lossless re-encode cannot shrink the pauses to nothing. Which sentence comes next and how long each
pause lasts come from a seeded generator: a file and its truth are the same every time.
"""

from __future__ import annotations

import random
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.fakes._speech import FIXTURES, decode, sentences

RATE = 16000


@dataclass(frozen=True)
class Spoken:
    start: float
    end: float
    sentence_id: str
    text: str


def _pcm(sentence_id: str) -> np.ndarray:
    return decode((FIXTURES / f"{sentence_id}.flac").read_bytes())[0]  # type: ignore[return-value]


def assemble(path: Path, seconds: float, *, seed: int = 7, noise: int = 40, rate: int = RATE,
             channels: int = 1) -> list[Spoken]:
    """Write a 16-bit WAV of about `seconds` (never more) and return what is said in it, when."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    clips = {str(s["id"]): _pcm(str(s["id"])) for s in sentences()}
    texts = {str(s["id"]): str(s["text"]) for s in sentences()}
    total = int(seconds * RATE)
    spoken: list[Spoken] = []
    pos = 0
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)

        def put(samples: np.ndarray) -> None:
            if rate != RATE:  # nearest-sample resampling is enough for a probe/decode test
                samples = samples[(np.arange(int(len(samples) * rate / RATE)) * RATE // rate)]
            if channels > 1:
                samples = np.repeat(samples, channels)
            w.writeframes(samples.astype("<i2").tobytes())

        while True:
            gap = int(rng.uniform(1.5, 4.0) * RATE)
            sid = rng.choice(sorted(clips))
            clip = clips[sid]
            if pos + gap + len(clip) + RATE > total:
                put(nrng.integers(-noise, noise + 1, total - pos, dtype=np.int16))
                return spoken
            put(nrng.integers(-noise, noise + 1, gap, dtype=np.int16))
            pos += gap
            spoken.append(Spoken(pos / RATE, (pos + len(clip)) / RATE, sid, texts[sid]))
            put(clip)
            pos += len(clip)
