"""The run log's chunk rows (m011_chunks): kept per run, found again for --resume only for the same
audio and options, and only from a run that did not finish."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from aigw.store import chunks, open_store

NOW = datetime(2026, 12, 6, tzinfo=timezone.utc)


def _run(log, run_id: str, status: str, sha: str = "a" * 64, key: str = "k1") -> None:
    log.start_run(run_id, kind="audio", created_at=NOW, requested_model="whisper-1",
                  request={"chunking": {"audio_sha256": sha, "options_key": key}}, estimated_cost_usd=0.1)
    log.conn.execute("UPDATE runs SET status = ? WHERE id = ?", (status, run_id))


def test_rows_round_trip_and_resume_finds_only_unfinished_runs_of_the_same_audio(tmp_path: Path) -> None:
    log = open_store(tmp_path)
    _run(log, "20261206-000000-000-aaaaaa", "interrupted")
    _run(log, "20261206-000001-000-bbbbbb", "ok")
    _run(log, "20261206-000002-000-cccccc", "failed", key="other-options")
    row = chunks.ChunkRow(0, 0.0, 0.0, 600.5, 1234, "f" * 64, "done", "openai", "whisper-1", 0.06,
                          {"text": "hi", "segments": []})
    chunks.record(log, "20261206-000000-000-aaaaaa", row, NOW)
    assert chunks.of_run(log, "20261206-000000-000-aaaaaa") == [row]
    assert chunks.resumable(log, audio_sha256="a" * 64, options_key="k1") == "20261206-000000-000-aaaaaa"
    assert chunks.resumable(log, audio_sha256="b" * 64, options_key="k1") is None
    assert chunks.resumable(log, audio_sha256="a" * 64, options_key="other-options") == "20261206-000002-000-cccccc"
    log.close()
