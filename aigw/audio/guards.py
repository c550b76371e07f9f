"""Quality guards on one chunk's transcript: a decoding loop, or no words from audio that is not
silent. Either is a useless answer that another candidate may get right, so the chunk's request
fails with an error the router treats as an empty result (next candidate), and the attempt keeps
the reason in the run log.

A loop is what Whisper-family decoders fall into on noise or music: the same words over and over.
Two signs, as Whisper itself uses: a run of one n-gram repeated back to back, and a segment whose
text zlib compresses by more than COMPRESSION_RATIO (ordinary speech stays near 1.2-1.8)."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

from aigw import errors

COMPRESSION_RATIO = 2.4
MIN_CHARS_FOR_RATIO = 80   # shorter texts do not compress at all, whatever they say
MAX_NGRAM = 8
LOOP_REPEATS = 4           # the same n-gram four times in a row ...
LOOP_WORDS = 12            # ... covering at least this many words ("no no no no" is speech)
SAME_SEGMENTS = 6          # six identical segments in a row: the decoder stuck, not a chorus

_WORD = re.compile(r"[\w']+")


def compression_ratio(text: str) -> float:
    raw = text.encode("utf-8")
    return len(raw) / len(zlib.compress(raw)) if raw else 0.0


def repeated_run(words: Sequence[str]) -> tuple[str, int] | None:
    """The first n-gram repeated LOOP_REPEATS+ times back to back over LOOP_WORDS+ words, and how
    many times; None when there is none."""
    for n in range(1, MAX_NGRAM + 1):
        i = 0
        while i + n * LOOP_REPEATS <= len(words):
            gram = words[i:i + n]
            count = 1
            while words[i + count * n:i + (count + 1) * n] == gram:
                count += 1
            if count >= LOOP_REPEATS and count * n >= LOOP_WORDS:
                return " ".join(gram), count
            i += max(1, (count - 1) * n) if count > 1 else 1
    return None


def check(texts: Sequence[str], *, provider: str, where: str, silent: bool) -> None:
    """`texts`: the transcript's segments in order (one item when the provider gave plain text)."""
    joined = " ".join(t.strip() for t in texts).strip()
    if not joined:
        if silent:
            return
        raise errors.EmptyResultError(f"{provider}: no words for {where}, whose audio is not silent", provider=provider)
    words = _WORD.findall(joined.lower())
    run = repeated_run(words)
    if run is not None:
        raise errors.RepetitionLoopError(
            f"{provider}: repetition loop in {where}: '{run[0][:60]}' {run[1]} times in a row", provider=provider)
    for text in texts:
        if len(text) >= MIN_CHARS_FOR_RATIO and (ratio := compression_ratio(text)) > COMPRESSION_RATIO:
            raise errors.RepetitionLoopError(
                f"{provider}: repetition loop in {where}: a segment compresses {ratio:.1f}x "
                f"(over {COMPRESSION_RATIO}): '{text[:60]}…'", provider=provider)
    stripped = [t.strip().lower() for t in texts if t.strip()]
    same = 1
    for prev, cur in zip(stripped, stripped[1:]):
        same = same + 1 if cur == prev else 1
        if same >= SAME_SEGMENTS:
            raise errors.RepetitionLoopError(
                f"{provider}: repetition loop in {where}: '{cur[:60]}' {same} segments in a row", provider=provider)
