"""A recording over a provider's limits: re-encoded, cut at silences, sent as chunks of one run,
merged into one transcript on the whole timeline (checked by the independent `srt` parser)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import srt

from tests.audio.conftest import LIMIT
from tests.audio_fixtures import Spoken, assemble
from tests.fakes.openai import FakeOpenAI

TRANSCRIBE = "/audio/transcriptions"


def check_srt(body: str, truth: list[Spoken], duration: float) -> None:
    """One cue per sentence, in order, each where it was spoken: the whole file is covered once."""
    cues = list(srt.parse(body))
    assert [c.content for c in cues] == [s.text for s in truth]
    assert [c.index for c in cues] == list(range(1, len(cues) + 1))
    for cue, spoken in zip(cues, truth):
        assert abs(cue.start.total_seconds() - spoken.start) < 0.15
        assert abs(cue.end.total_seconds() - spoken.end) < 0.15
    assert all(a.end <= b.start for a, b in zip(cues, cues[1:]))
    assert truth[-1].end > duration - 10  # the last sentence is near the end: the whole file was heard


def uploads(fake: FakeOpenAI) -> list[int]:
    return [r.body_size for r in fake.requests_to(TRANSCRIBE)]


def test_long_file_through_a_small_upload_limit(cli, hearing_openai: FakeOpenAI, tmp_path: Path,
                                                cache_dir: Path) -> None:
    limit = LIMIT
    src = tmp_path / "meeting.wav"
    truth = assemble(src, 480)          # 8 minutes, 15 MB: five times the limit
    r = cli("transcribe", str(src), "-m", "whisper-1", "-f", "srt", "--progress")
    assert r.code == 0, r.stderr
    check_srt(r.stdout, truth, 480)
    sent = uploads(hearing_openai)
    assert len(sent) >= 3 and max(sent) <= limit
    assert all(not req.too_large and req.status == 200 for req in hearing_openai.requests_to(TRANSCRIBE))
    assert "cut at silences into" in r.stderr and "progress: chunks 1/" in r.stderr
    with sqlite3.connect(cache_dir / "aigw.db") as db:
        (run_id, status, request), = db.execute("SELECT id, status, request_json FROM runs").fetchall()
        assert status == "ok" and json.loads(request)["chunking"]["chunks"] == len(sent)
        rows = db.execute("SELECT idx, status FROM chunks WHERE run_id = ? ORDER BY idx", (run_id,)).fetchall()
        assert rows == [(i, "done") for i in range(len(sent))]
        hops = db.execute("SELECT hop, chunk, served FROM attempts WHERE run_id = ? ORDER BY hop", (run_id,)).fetchall()
        assert sorted(c for _, c, _ in hops) == list(range(len(sent))) and all(s for _, _, s in hops)
    assert not list((cache_dir / "tmp").glob("chunks-*"))  # the chunk files are gone


def test_file_that_fits_once_reencoded_is_one_request(cli, hearing_openai: FakeOpenAI, tmp_path: Path) -> None:
    src = tmp_path / "talk.wav"
    truth = assemble(src, 120)
    assert src.stat().st_size > LIMIT > src.stat().st_size / 2  # the WAV is over, its FLAC is not
    r = cli("transcribe", str(src), "-m", "whisper-1", "-f", "srt")
    assert r.code == 0, r.stderr
    check_srt(r.stdout, truth, 120)
    (req,) = hearing_openai.requests_to(TRANSCRIBE)
    assert req.files["file"].filename == "talk.flac" and req.body_size < src.stat().st_size / 1.5


def test_a_dry_run_says_the_file_is_over_the_limit_and_sends_nothing(cli, hearing_openai: FakeOpenAI,
                                                                    tmp_path: Path) -> None:
    src = tmp_path / "meeting.wav"
    assemble(src, 120)
    r = cli("transcribe", str(src), "-m", "whisper-1", "--dry-run")
    assert r.code == 0, r.stderr
    assert f"meeting.wav: {src.stat().st_size:,} bytes, 2.0 min, over the limit ({LIMIT:,} bytes)" in r.stderr
    assert "re-encodes it to 16 kHz mono" in r.stderr and "nothing was sent" in r.stderr
    assert not hearing_openai.requests_to(TRANSCRIBE)
    small = tmp_path / "short.wav"
    assemble(small, 5)
    r = cli("transcribe", str(small), "-m", "whisper-1", "--dry-run")
    assert r.code == 0 and "over the limit" not in r.stderr


def test_failed_chunks_are_resumed_alone(cli, hearing_openai: FakeOpenAI, tmp_path: Path) -> None:
    from tests.fakes._server import Fault

    src = tmp_path / "meeting.wav"
    truth = assemble(src, 480)
    from tests.fakes._speech import transcriber

    heard = []

    def then_down(data: bytes):  # the provider goes down after its second answer
        heard.append(1)
        if len(heard) == 2:
            hearing_openai.inject(Fault.http(500), route=TRANSCRIBE, times=None)
        return transcriber(data)

    hearing_openai.transcriber = then_down
    r = cli("transcribe", str(src), "-m", "whisper-1", "-f", "srt", "--concurrency", "1")
    assert r.code == 4 and "--resume" in r.stderr
    first = hearing_openai.count(TRANSCRIBE)
    hearing_openai.clear_faults()
    hearing_openai.transcriber = transcriber
    r = cli("transcribe", str(src), "-m", "whisper-1", "-f", "srt", "--resume")
    assert r.code == 0, r.stderr
    check_srt(r.stdout, truth, 480)
    assert "resuming run" in r.stderr and "2 of" in r.stderr
    total = len({(req.files["file"].data[:4096], req.body_size) for req in hearing_openai.requests_to(TRANSCRIBE)})
    assert hearing_openai.count(TRANSCRIBE) - first == total - 2  # only the chunks not done before


@pytest.mark.parametrize("flag", [[], ["--resume"]])
def test_resume_with_nothing_to_resume_starts_afresh(cli, hearing_openai: FakeOpenAI, tmp_path: Path,
                                                     flag: list[str]) -> None:
    src = tmp_path / "m.wav"
    truth = assemble(src, 300)
    r = cli("transcribe", str(src), "-m", "whisper-1", *flag)
    assert r.code == 0, r.stderr
    assert r.stdout.split() == " ".join(s.text for s in truth).split()
    assert ("starting afresh" in r.stderr) == bool(flag)


def test_silence_over_the_limit_is_an_empty_transcript(cli, tmp_path: Path, monkeypatch) -> None:
    """Re-encoded to FLAC, silence is still known as silence: no words is the right answer (exit 0)."""
    import struct

    big = tmp_path / "quiet.wav"
    size = 27_000_000
    with big.open("wb") as f:   # 14 minutes of digital silence, sparse on disk
        f.write(b"RIFF" + struct.pack("<I", size - 8) + b"WAVE" + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000,
                32000, 2, 16) + b"data" + struct.pack("<I", size - 44))
        f.truncate(size)
    with FakeOpenAI(transcript="") as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        r = cli("transcribe", str(big), "-m", "whisper-1")
        assert r.code == 0, r.stderr
        assert r.stdout.strip() == "" and fake.count(TRANSCRIBE) == 1
