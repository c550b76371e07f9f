"""Must-show: a 70-minute, ~134 MB 16-bit WAV through a fake enforcing OpenAI's 26,214,400-byte
request limit: one SRT, cues in order covering the whole file (parsed by `srt`), no request over the
limit; and the same file interrupted (SIGINT) after half its chunks, then `--resume`: only the
missing chunks are sent. Slow (about a minute or two on 2 cores): `python -m pytest -m slow`."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.audio.test_long_recording import check_srt
from tests.audio_fixtures import assemble
from tests.fakes._speech import transcriber
from tests.fakes.openai import OPENAI_MAX_BODY_BYTES, FakeOpenAI

pytestmark = pytest.mark.slow
TRANSCRIBE = "/audio/transcriptions"
SECONDS = 70 * 60


@pytest.fixture(scope="module")
def seventy_minutes(tmp_path_factory: pytest.TempPathFactory):
    src = tmp_path_factory.mktemp("long") / "meeting.wav"
    truth = assemble(src, SECONDS)
    assert 130_000_000 < src.stat().st_size < 140_000_000
    return src, truth


def test_seventy_minutes_through_openais_limit(cli, seventy_minutes, monkeypatch: pytest.MonkeyPatch) -> None:
    src, truth = seventy_minutes
    assert OPENAI_MAX_BODY_BYTES == 26_214_400
    with FakeOpenAI(transcriber=transcriber) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        r = cli("transcribe", str(src), "-m", "whisper-1", "-f", "srt")
        assert r.code == 0, r.stderr
        sent = fake.requests_to(TRANSCRIBE)
    check_srt(r.stdout, truth, SECONDS)
    notice = re.search(r"notice: \S+meeting.wav: 134,400,044 bytes, 70.0 min, over the limit \(26,214,400 bytes\): "
                       r"re-encoded to 16 kHz mono FLAC and cut at silences into (\d) chunks of up to ([\d.]+) min",
                       r.stderr)
    assert notice and int(notice[1]) == len(sent), r.stderr
    print(notice[0])
    assert len(sent) >= 3
    assert all(req.body_size <= 26_214_400 and not req.too_large and req.status == 200 for req in sent)


def test_interrupted_after_half_its_chunks_then_resumed(cli, seventy_minutes, cache_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    src, truth = seventy_minutes
    with FakeOpenAI(transcriber=transcriber) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        proc = subprocess.Popen([sys.executable, "-m", "aigw", "transcribe", str(src), "-m", "whisper-1", "-f", "srt",
                                 "--concurrency", "1"], env=dict(os.environ), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        deadline = time.monotonic() + 300
        while sum(1 for r in fake.requests_to(TRANSCRIBE) if r.status == 200) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err.decode()
        assert b"--resume" in err
        sent_before = fake.count(TRANSCRIBE)
        with sqlite3.connect(cache_dir / "aigw.db") as db:
            (run_id, status, chunks), = db.execute(
                "SELECT id, status, json_extract(request_json, '$.chunking.chunks') FROM runs").fetchall()
            done = db.execute("SELECT COUNT(*) FROM chunks WHERE run_id = ?", (run_id,)).fetchone()[0]
        assert status == "interrupted" and 2 <= done < chunks and done * 2 >= chunks

        r = cli("transcribe", str(src), "-m", "whisper-1", "-f", "srt", "--resume")
        assert r.code == 0, r.stderr
        assert fake.count(TRANSCRIBE) - sent_before == chunks - done   # only the missing chunks
        assert all(req.body_size <= 26_214_400 for req in fake.requests_to(TRANSCRIBE))
    check_srt(r.stdout, truth, SECONDS)
    assert f"resuming run {run_id}: {done} of {chunks} chunks" in r.stderr
