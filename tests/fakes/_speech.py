"""What a fake provider "hears" in an upload: the committed espeak-ng sentences
(tests/fixtures/audio/), told apart by the length of each stretch of speech.

A fake cannot transcribe, but it must answer with the words a real model would, at the times they
were spoken in what it received, so chunking, timestamp shifting and overlap dedup can be checked
end to end. It decodes the upload with PyAV (any format aigw sends: FLAC, MP3, WAV), measures the
RMS of 50 ms windows, joins loud windows separated by less than MAX_PAUSE_S into stretches, and
names each stretch by the fixture sentence whose duration is within TOLERANCE_S of it. A stretch
cut by the edge of a chunk matches no sentence and is not heard: the neighbouring chunk, which holds
it whole thanks to the overlap, reports it. Deterministic: the same bytes give the same answer.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audio"
WINDOW = 800          # 50 ms at 16 kHz
THRESHOLD = 300.0     # as tests/fixtures/audio/make.py trims with
MAX_PAUSE_S = 0.6
TOLERANCE_S = 0.2


@dataclass(frozen=True)
class Heard:
    start: float
    end: float
    sentence_id: str
    text: str


@dataclass(frozen=True)
class Hearing:
    """What a fake answers for one upload: the text, Whisper-style segments timed from the upload's
    own start, and the upload's duration."""

    heard: tuple[Heard, ...]
    duration: float
    text_override: str | None = None

    @property
    def text(self) -> str:
        return self.text_override if self.text_override is not None else " ".join(h.text for h in self.heard)

    def segments(self, temperature: float = 0.0) -> list[dict[str, object]]:
        if self.text_override is not None:  # one segment over the whole upload (a loop, say)
            return [_segment(0, 0.0, self.duration, self.text_override, temperature)]
        return [_segment(i, h.start, h.end, h.text, temperature) for i, h in enumerate(self.heard)]


def _segment(i: int, start: float, end: float, text: str, temperature: float) -> dict[str, object]:
    return {"id": i, "seek": int(start // 30) * 3000, "start": start, "end": end, "text": " " + text,
            "tokens": [50364 + i], "temperature": temperature, "avg_logprob": -0.2, "compression_ratio": 1.2,
            "no_speech_prob": 0.01}


def transcriber(data: bytes) -> Hearing:
    """For a fake's `transcriber=`: hear the fixture sentences in an upload."""
    heard, duration = hear(data)
    return Hearing(tuple(heard), duration)


@lru_cache(maxsize=1)
def sentences() -> list[dict[str, object]]:
    return list(json.loads((FIXTURES / "sentences.json").read_text()))


def decode(data: bytes) -> tuple[object, float]:
    """16 kHz mono int16 samples and the duration in seconds."""
    import av
    import numpy as np

    with av.open(io.BytesIO(data)) as src:
        res = av.AudioResampler(format="s16", layout="mono", rate=16000)
        parts = [f.to_ndarray().reshape(-1) for fr in src.decode(audio=0) for f in res.resample(fr)]
        parts += [f.to_ndarray().reshape(-1) for f in res.resample(None)]
    pcm = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)
    return pcm, len(pcm) / 16000


def hear(data: bytes) -> tuple[list[Heard], float]:
    """The fixture sentences spoken in `data`, with times relative to its start; and its duration."""
    import numpy as np

    pcm, duration = decode(data)
    n = len(pcm) // WINDOW
    rms = np.sqrt((pcm[: n * WINDOW].astype(np.float32).reshape(-1, WINDOW) ** 2).mean(axis=1))
    loud = np.flatnonzero(rms > THRESHOLD)
    heard: list[Heard] = []
    if not len(loud):
        return heard, duration
    runs: list[list[int]] = [[int(loud[0]), int(loud[0])]]
    for w in loud[1:]:
        if (w - runs[-1][1]) * WINDOW / 16000 <= MAX_PAUSE_S:
            runs[-1][1] = int(w)
        else:
            runs.append([int(w), int(w)])
    for a, b in runs:
        start, end = a * WINDOW / 16000, (b + 1) * WINDOW / 16000
        if a == 0 or b == n - 1:
            continue  # cut by the edge of what was sent: not heard whole
        match = min(sentences(), key=lambda s: abs(float(s["duration"]) - (end - start)))  # type: ignore[arg-type]
        if abs(float(match["duration"]) - (end - start)) <= TOLERANCE_S:  # type: ignore[arg-type]
            heard.append(Heard(round(start, 3), round(end, 3), str(match["id"]), str(match["text"])))
    return heard, duration
