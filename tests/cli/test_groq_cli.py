"""`aigw transcribe` end to end against FakeGroq with only GROQ_API_KEY and the base URL set, and failover
from Groq to Together for whisper-large-v3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import srt

from tests.fakes._server import Fault
from tests.helpers import db_rows

V3_PER_MINUTE = 0.00185




def test_transcribe_end_to_end(cli, groq, speech_wav, cache_dir):
    r = cli("transcribe", str(speech_wav), "-m", "whisper-large-v3", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert (data["provider"], data["provider_model"], data["text"]) == ("groq", "whisper-large-v3", groq.transcript)
    # 4.9 s of audio is billed as Groq's 10 s minimum; the estimate is the audio's own length.
    assert data["cost_usd"] == pytest.approx(V3_PER_MINUTE * 10 / 60, abs=1e-6)
    assert data["estimated_cost_usd"] == pytest.approx(V3_PER_MINUTE * 4.864875 / 60, abs=1e-6)
    req = groq.last_request
    assert req.path == "/openai/v1/audio/transcriptions" and req.headers["authorization"] == "Bearer gsk-test"
    assert req.form["response_format"] == "json"
    attempts = db_rows(cache_dir, "SELECT provider, http_status, served FROM attempts WHERE run_id = ?", data["id"])
    assert [tuple(a) for a in attempts] == [("groq", 200, 1)]


def test_stdout_is_only_the_transcript(cli, groq, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "whisper-large-v3-turbo")
    assert r.code == 0, r.stderr
    assert r.stdout == groq.transcript + "\n"
    assert "whisper-large-v3-turbo at groq" in r.stderr and "10 s" in r.stderr


def test_srt_is_real_srt_rendered_from_segments(cli, groq, speech_wav, tmp_path):
    groq.transcript = "Welcome to the gateway. Every result is kept on disk."
    out = tmp_path / "talk.srt"
    r = cli("transcribe", str(speech_wav), "-m", "whisper-large-v3", "-f", "srt", "-o", str(out))
    assert r.code == 0, r.stderr
    assert r.stdout.strip() == str(out)
    subs = list(srt.parse(out.read_text()))
    assert [s.index for s in subs] == [1, 2] and subs[1].content == "Every result is kept on disk."
    assert groq.last_request.form["response_format"] == "verbose_json"


def test_503_at_groq_fails_over_to_together(cli, groq, together, speech_wav, cache_dir):
    groq.inject(Fault(status=503), route="/audio/transcriptions", times=None)
    r = cli("transcribe", str(speech_wav), "-m", "whisper-large-v3", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["provider"] == "together" and data["provider_model"] == "openai/whisper-large-v3"
    assert data["text"] == together.transcript
    attempts = data["attempts"]
    assert [(a["provider"], a["http_status"], a["failure_class"], a["served"]) for a in attempts] == [
        ("groq", 503, "retryable", False), ("together", 200, None, True)]
    rows = db_rows(cache_dir, "SELECT provider, served FROM attempts WHERE run_id = ? ORDER BY hop", data["id"])
    assert [tuple(row) for row in rows] == [("groq", 0), ("together", 1)]
    assert together.last_request.path == "/v1/audio/transcriptions"


def test_turbo_translation_is_exit_2_before_any_request(cli, groq, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "whisper-large-v3-turbo", "--translate")
    assert r.code == 2 and "does not translate" in r.stderr and "whisper-large-v3" in r.stderr
    assert groq.count() == 0 and r.stdout == ""


def test_a_rejected_key_is_exit_4_with_a_hint(cli, groq, speech_wav, monkeypatch):
    monkeypatch.setenv("GROQ_API_KEY", "bad-key")
    r = cli("transcribe", str(speech_wav), "-m", "whisper-large-v3")
    assert r.code == 4 and "401" in r.stderr and "GROQ_API_KEY" in r.stderr
    assert r.stdout == ""


def test_a_file_over_the_upload_limit_is_reencoded_to_fit(cli, groq, tmp_path):
    import wave

    big = tmp_path / "long.wav"
    with wave.open(str(big), "wb") as w:  # ~26 MB of 16 kHz silence
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        block = b"\x00\x00" * 16000 * 60
        for _ in range(14):
            w.writeframes(block)
    r = cli("transcribe", str(big), "-m", "whisper-large-v3", "-p", "groq")
    assert r.code == 0, r.stderr  # Groq's own 25 MiB cap: re-encoded to fit, one request
    assert "26,214,400 bytes" in r.stderr
    (req,) = groq.requests
    assert req.files["file"].filename == "long.flac" and req.body_size < 26_214_400


def test_models_check(cli, groq):
    r = cli("models", "--check", "-p", "groq")
    assert r.code == 0, r.stderr
    assert r.stdout.startswith("groq\treachable\tkey accepted")
    assert groq.last_request.path == "/openai/v1/models"


def test_the_default_audio_model_with_only_groq_is_turbo(cli, groq, speech_wav):
    r = cli("transcribe", str(speech_wav), "--json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["model"] == "whisper-large-v3-turbo"
    assert Path(json.loads(r.stdout)["paths"][0]).read_text().strip() == groq.transcript
