"""Chunk planning (pure) and the fit step (re-encode, then split at silences) on assembled speech."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pytest

from aigw.audio import split
from aigw.audio.fit import MULTIPART_OVERHEAD, Limits, fit
from tests.audio_fixtures import assemble
from tests.fakes._speech import hear


def _envelope(seconds: float, quiet_at: list[float]) -> np.ndarray:
    """Loud everywhere except half a second of quiet at each of `quiet_at`."""
    rms = np.full(int(seconds / split.WINDOW_S), 3000.0, dtype=np.float32)
    for t in quiet_at:
        rms[int(t / split.WINDOW_S):int((t + 0.5) / split.WINDOW_S)] = 5.0
    return rms


def test_cuts_land_in_the_quiet_near_equal_lengths_with_overlap() -> None:
    spans = split.plan(_envelope(300, [80, 95, 170, 260]), 300.0, max_s=100, overlap_s=1.5)
    cuts = [s.end for s in spans[:-1]]
    assert [round(c) for c in cuts] == [80, 170, 260]      # four chunks of about 75 s: quiet near each target
    assert spans[0].start == 0 and spans[-1].end == 300
    for prev, cur in zip(spans, spans[1:]):
        assert cur.own_start == prev.end and cur.start == pytest.approx(prev.end - 1.5)
    assert all(s.duration <= 100 for s in spans)


def test_no_quiet_anywhere_cuts_at_the_limit() -> None:
    spans = split.plan(np.full(6000, 3000.0, dtype=np.float32), 300.0, max_s=60, overlap_s=1.0)
    assert all(s.duration <= 60 + 1e-9 for s in spans)
    assert spans[-1].end == 300 and len(spans) == 7
    assert min(s.duration for s in spans) > 40   # no sliver at the end


def test_a_file_under_the_limit_is_one_span() -> None:
    (span,) = split.plan(np.zeros(200, dtype=np.float32), 10.0, max_s=60)
    assert (span.start, span.own_start, span.end) == (0.0, 0.0, 10.0)


def test_too_small_a_limit_for_the_overlap_is_refused() -> None:
    with pytest.raises(ValueError, match="no room"):
        split.plan(np.zeros(100, dtype=np.float32), 5.0, max_s=2.0, overlap_s=1.5)


def test_fitting_file_is_reencoded_once(tmp_path: Path) -> None:
    src = tmp_path / "talk.wav"
    assemble(src, 60)
    fitted = fit(src, Limits(upload_bytes=src.stat().st_size - 1000), tmp_path, name="talk.wav")
    assert fitted.how == "re-encoded" and fitted.fmt.ext == "flac" and len(fitted.chunks) == 1
    assert fitted.chunks[0].size_bytes < src.stat().st_size / 1.5
    assert fitted.chunks[0].duration_s == pytest.approx(60, abs=0.01)


def test_chunks_fit_cover_the_file_and_hold_every_sentence_once(tmp_path: Path) -> None:
    src = tmp_path / "talk.wav"
    # Sized so the FLAC fit needs four chunks and the MP3 fit two; the MP3 encode is the cost of
    # this test (about 55 ms of CPU per second of audio), so the recording is no longer than that needs.
    truth = assemble(src, 140)
    limit = 833_000
    fitted = fit(src, Limits(upload_bytes=limit, accepted=frozenset({"mp3", "wav"})), tmp_path, name="talk.wav")
    assert fitted.how == "chunked" and fitted.fmt.ext == "mp3"   # no FLAC accepted: the next compact format
    fitted = fit(src, Limits(upload_bytes=limit), tmp_path, name="talk.wav")
    assert fitted.how == "chunked" and len(fitted.chunks) >= 3
    assert fitted.chunks[0].offset_s == 0 and fitted.chunks[-1].end_s == pytest.approx(140, abs=0.01)
    heard = []
    for chunk in fitted.chunks:
        assert chunk.size_bytes + MULTIPART_OVERHEAD <= limit
        assert stat.S_IMODE(chunk.path.stat().st_mode) == 0o600
        for h in hear(chunk.path.read_bytes())[0]:
            at = h.start + chunk.offset_s
            if chunk.own_start_s <= at < chunk.end_s:
                heard.append((round(at, 1), h.sentence_id))
    assert [sid for _, sid in heard] == [s.sentence_id for s in truth]
    assert all(abs(at - s.start) < 0.1 for (at, _), s in zip(heard, truth))


def test_duration_cap_splits_even_when_bytes_fit(tmp_path: Path) -> None:
    src = tmp_path / "talk.wav"
    assemble(src, 130)
    fitted = fit(src, Limits(audio_seconds=50), tmp_path, name="talk.wav")
    assert fitted.how == "chunked" and all(c.duration_s <= 50 for c in fitted.chunks)
    assert not any(c.silent for c in fitted.chunks)
