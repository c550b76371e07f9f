"""A chunk answered with a repetition loop is retried at the next candidate; the merged transcript
has no loop, and the run log says which chunk was retried where (and why)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import srt

from aigw import errors
from aigw.audio import guards
from tests.audio.conftest import LIMIT
from tests.audio_fixtures import assemble
from tests.fakes._speech import Hearing, transcriber
from tests.fakes.openai import FakeOpenAI

LOOP = "I'm going to go ahead and " * 12


def test_loop_in_one_chunk_goes_to_the_next_candidate(cli, config_file: Path, cache_dir: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    answers: list[int] = []

    def loops_on_the_second(data: bytes) -> Hearing:
        answers.append(1)
        heard = transcriber(data)
        return Hearing(heard.heard, heard.duration, text_override=LOOP) if len(answers) == 2 else heard

    src = tmp_path / "meeting.wav"
    truth = assemble(src, 480)
    with FakeOpenAI(transcriber=loops_on_the_second, max_body_bytes=LIMIT) as first, \
            FakeOpenAI(transcriber=transcriber, max_body_bytes=LIMIT) as backup:
        config_file.parent.mkdir(parents=True, exist_ok=True)
        config_file.write_text(
            f'[models."whisper-1"]\nextends = "whisper-1"\nlimits = {{ upload_bytes = {LIMIT} }}\n'
            '[providers.openai]\npriority = 1\n'
            f'[providers.backup]\ntype = "openai"\npriority = 2\nbase_url = "{backup.base_url}"\nmodels = ["whisper-1"]\n')
        monkeypatch.setenv("OPENAI_BASE_URL", first.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        monkeypatch.setenv("AIGW_PROVIDERS__BACKUP__API_KEY", "test")
        r = cli("transcribe", str(src), "-m", "whisper-1", "-f", "srt", "--concurrency", "1")
        assert r.code == 0, r.stderr
        assert backup.count("/audio/transcriptions") == 1      # only the looping chunk went there
    cues = list(srt.parse(r.stdout))
    assert [c.content for c in cues] == [s.text for s in truth]
    assert "going to go ahead" not in r.stdout
    with sqlite3.connect(cache_dir / "aigw.db") as db:
        (run_id, run_cost) = db.execute("SELECT id, cost_usd FROM runs").fetchone()
        rows = db.execute("SELECT hop, chunk, provider, failure_class, error, served FROM attempts ORDER BY hop").fetchall()
        chunk_rows = dict(db.execute("SELECT idx, provider FROM chunks").fetchall())
        chunk_costs = sum(cost for (cost,) in db.execute("SELECT cost_usd FROM chunks"))
        (rejected_cost,) = db.execute("SELECT actual_cost_usd FROM attempts WHERE served = 0").fetchone()
    failed = [row for row in rows if not row[5]]
    assert len(failed) == 1
    hop, chunk, provider, failure, error, _ = failed[0]
    assert (chunk, provider, failure) == (1, "openai", "repetition_loop")
    assert error.startswith("chunk 2/") and "repetition loop" in error
    assert chunk_rows[1] == "backup" and all(p == "openai" for i, p in chunk_rows.items() if i != 1)
    assert any(row[1] == 1 and row[2] == "backup" and row[5] for row in rows)
    # The looping answer was transcribed audio, charged all the same: the run's cost and the
    # budgets count it beside the chunks that were used.
    assert rejected_cost is not None and rejected_cost > 0
    assert run_cost == pytest.approx(chunk_costs + rejected_cost)
    shown = cli("logs", run_id)  # `aigw logs RUN_ID` shows the whole run, its attempts included
    assert shown.code == 0, shown.stderr
    assert "chunk 2/" in shown.stdout and "repetition loop" in shown.stdout and "backup" in shown.stdout


@pytest.mark.parametrize("text", [
    LOOP,
    "thank you " * 8,
    "the the the the the the the the the the the the the",
])
def test_loops_are_caught(text: str) -> None:
    with pytest.raises(errors.RepetitionLoopError):
        guards.check([text], provider="p", where="chunk 1/2", silent=False)


def test_a_segment_that_compresses_too_well_is_a_loop() -> None:
    text = "we will see. we will then see what we will see. " * 4
    assert guards.compression_ratio(text) > guards.COMPRESSION_RATIO
    with pytest.raises(errors.RepetitionLoopError, match="compresses"):
        guards.check([text], provider="p", where="chunk 1/2", silent=False)


def test_ordinary_speech_passes_and_silence_may_be_empty() -> None:
    from tests.fakes._speech import sentences

    texts = [str(s["text"]) for s in sentences()]
    guards.check(texts + texts[:3], provider="p", where="chunk 1/2", silent=False)
    guards.check(["Good morning."] * 5, provider="p", where="chunk 1/2", silent=False)
    guards.check([], provider="p", where="chunk 1/2", silent=True)
    with pytest.raises(errors.EmptyResultError, match="not silent"):
        guards.check([""], provider="p", where="chunk 1/2", silent=False)
