"""Speakers (--diarize), cue shaping (--max-line-width/--max-line-count), tsv, and planning around
models without timestamps, through the real CLI against the OpenAI and Deepgram fakes."""

from __future__ import annotations

import io
import json

import pytest
import srt
import webvtt

from tests.fakes.deepgram import FakeDeepgram
from tests.fakes.openai import FakeOpenAI

THREE = "Welcome to the gateway. Every result is kept on disk. And a third one here."


@pytest.fixture
def openai(monkeypatch):
    with FakeOpenAI(transcript=THREE) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        yield server
    assert not server.errors, server.errors


@pytest.fixture
def deepgram(monkeypatch):
    with FakeDeepgram(api_key="dg-test", transcript=THREE) as server:
        monkeypatch.setenv("DEEPGRAM_API_KEY", "dg-test")
        monkeypatch.setenv("AIGW_PROVIDERS__DEEPGRAM__BASE_URL", server.url)
        yield server
    assert not server.errors, server.errors


def form(server: FakeOpenAI) -> dict[str, str]:
    return server.requests_to("/audio/transcriptions")[-1].form


# ---- --diarize ------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["gpt-4o-transcribe-diarize", "nova-3"])
def test_speakers_prefix_text_srt_and_vtt_one_based(cli, openai, deepgram, speech_wav, model):
    text = cli("transcribe", str(speech_wav), "-m", model, "--diarize")
    assert text.code == 0, text.stderr
    assert text.stdout.splitlines() == ["[SPEAKER 1] Welcome to the gateway.", "[SPEAKER 2] Every result is kept on disk.",
                                        "[SPEAKER 1] And a third one here."]
    subs = list(srt.parse(cli("transcribe", str(speech_wav), "-m", model, "--diarize", "-f", "srt").stdout))
    assert [s.content for s in subs] == ["[SPEAKER 1] Welcome to the gateway.", "[SPEAKER 2] Every result is kept on disk.",
                                         "[SPEAKER 1] And a third one here."]
    vtt = cli("transcribe", str(speech_wav), "-m", model, "--diarize", "-f", "vtt").stdout
    assert [c.text for c in webvtt.from_buffer(io.StringIO(vtt)).captions][1] == "[SPEAKER 2] Every result is kept on disk."


def test_openai_diarize_asks_diarized_json_with_chunking(cli, openai, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "gpt-4o-transcribe-diarize", "--diarize", "-f", "json")
    assert r.code == 0, r.stderr
    assert (form(openai)["response_format"], form(openai)["chunking_strategy"]) == ("diarized_json", "auto")
    doc = json.loads(r.stdout)
    assert doc["text"] == THREE and [s["speaker"] for s in doc["segments"]] == [1, 2, 1]  # "A", "B", "A"
    assert doc["usage"]["type"] == "tokens"


def test_the_diarizing_model_without_diarize_gives_subtitles_without_speakers(cli, openai, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "gpt-4o-transcribe-diarize", "-f", "srt")
    assert r.code == 0, r.stderr
    assert form(openai)["response_format"] == "diarized_json"  # the only answer of this model with times
    assert [s.content for s in srt.parse(r.stdout)][0] == "Welcome to the gateway."


def test_deepgram_speakers_on_segments_and_words(cli, deepgram, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "nova-3", "--diarize", "-f", "verbose_json", "--timestamps", "word")
    assert r.code == 0, r.stderr
    query = deepgram.last_request.query
    assert (query["diarize"], query["utterances"]) == ("true", "true")
    doc = json.loads(r.stdout)
    assert [s["speaker"] for s in doc["segments"]] == [1, 2, 1]
    assert {w["speaker"] for w in doc["words"]} == {1, 2} and doc["words"][4] == {
        "word": "Every", "start": doc["words"][4]["start"], "end": doc["words"][4]["end"], "speaker": 2}


def test_diarize_where_no_speakers_is_exit_2_naming_models_that_can(cli, openai, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "--diarize")
    assert r.code == 2
    assert "whisper-1 does not label speakers" in r.stderr and "gpt-4o-transcribe-diarize" in r.stderr
    assert "nova-3" in r.stderr and openai.count() == 0


def test_diarize_falls_back_to_a_model_with_speakers(cli, openai, deepgram, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "--fallback", "nova-3", "--diarize", "--json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["model"] == "nova-3" and openai.count() == 0


# ---- timed formats and planning ----------------------------------------------------------------------


def test_a_model_without_timestamps_is_left_out_for_a_fallback_that_has_them(cli, openai, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "gpt-4o-transcribe", "--fallback", "whisper-1", "-f", "vtt", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["model"] == "whisper-1" and data["format"] == "vtt"
    assert "warning: gpt-4o-transcribe left out: returns no timestamps, so it cannot give vtt" in r.stderr
    assert [r.form["model"] for r in openai.requests_to("/audio/transcriptions")] == ["whisper-1"]


def test_tsv_is_built_from_verbose_json_and_named_by_the_suffix(cli, openai, speech_wav, tmp_path):
    out = tmp_path / "talk.tsv"
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "-o", str(out))
    assert r.code == 0, r.stderr
    assert form(openai)["response_format"] == "verbose_json"
    lines = out.read_text().splitlines()
    assert lines[0] == "start\tend\ttext" and lines[1].startswith("0\t") and lines[1].endswith("\tWelcome to the gateway.")
    assert int(lines[-1].split("\t")[1]) == 4865  # the fake's last segment ends at the audio's length, in ms


def test_json_reports_the_tsv_format(cli, openai, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "-f", "tsv", "--json")
    data = json.loads(r.stdout)
    assert data["format"] == "tsv" and data["body"].startswith("start\tend\ttext\n") and data["paths"][0].endswith(".tsv")


# ---- cue shaping --------------------------------------------------------------------------------------


def test_line_width_and_count_shape_cues_from_word_timings(cli, openai, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "-f", "srt", "--timestamps", "word",
            "--max-line-width", "16", "--max-line-count", "1")
    assert r.code == 0, r.stderr
    sent = openai.requests_to("/audio/transcriptions")[-1]
    assert sent.form["response_format"] == "verbose_json"
    assert sent.form_list("timestamp_granularities[]") == ["segment", "word"]
    subs = list(srt.parse(r.stdout))
    assert all(len(line) <= 16 for s in subs for line in s.content.split("\n"))
    assert all("\n" not in s.content for s in subs)
    assert " ".join(s.content for s in subs) == THREE
    assert [s.index for s in subs] == list(range(1, len(subs) + 1))
    assert all(a.end <= b.start for a, b in zip(subs, subs[1:]))


def test_line_options_warn_where_they_shape_nothing(cli, openai, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "--max-line-width", "20")
    assert r.code == 0 and "--max-line-width shape srt and vtt cues only; not used for text" in r.stderr
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "-f", "srt", "--max-line-count", "2")
    assert r.code == 0 and "--max-line-count needs --max-line-width" in r.stderr
    assert form(openai)["response_format"] == "srt"  # nothing to shape: OpenAI's own SRT


def test_an_azure_deployment_of_the_diarizing_model_labels_speakers(cli, monkeypatch, config_file, speech_wav):
    from tests.fakes.azure import FakeAzureOpenAI

    with FakeAzureOpenAI(deployments={"meetings": "gpt-4o-transcribe-diarize"}, transcript=THREE) as server:
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", "az-key")
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", server.url)
        config_file.parent.mkdir(parents=True, exist_ok=True)
        config_file.write_text('[providers.azure]\nmodels = { "gpt-4o-transcribe-diarize" = "meetings" }\n')
        r = cli("transcribe", str(speech_wav), "-m", "gpt-4o-transcribe-diarize", "--diarize", "-f", "vtt")
        assert r.code == 0, r.stderr
        sent = server.requests_to("/audio/transcriptions")[-1]
        assert sent.path == "/openai/deployments/meetings/audio/transcriptions"
        assert (sent.form["response_format"], sent.form["chunking_strategy"]) == ("diarized_json", "auto")
        assert "[SPEAKER 2] Every result is kept on disk." in r.stdout
        assert not server.errors, server.errors


def test_readme_lists_every_format_the_cli_takes():
    from pathlib import Path

    from aigw.cli.transcribe import FORMATS, SUFFIX_FORMATS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `format` |"))
    option = next(line for line in readme.splitlines() if line.startswith("| `-f, --format` |") and "verbose_json" in line)
    for fmt in FORMATS:
        assert f"`{fmt}`" in row and f"`{fmt}`" in option
    for suffix in SUFFIX_FORMATS:
        assert f"`{suffix}`" in option


AUDIO_KEYS = {"OPENAI_API_KEY": "k", "FAL_KEY": "k", "REPLICATE_API_TOKEN": "k", "RUNPOD_API_KEY": "k",
              "TOGETHER_API_KEY": "k", "GROQ_API_KEY": "k", "DEEPGRAM_API_KEY": "k",
              "AIGW_PROVIDERS__RUNPOD__MODELS": '{"whisper-large-v3": "ep1"}'}
DIARIZE_SERVED = [("openai", "whisper-1"), ("openai", "gpt-4o-transcribe-diarize"), ("groq", "whisper-large-v3"),
                  ("together", "whisper-large-v3"), ("deepgram", "nova-3"), ("fal", "whisper-large-v3"),
                  ("replicate", "whisper-large-v3"), ("runpod", "whisper-large-v3"), ("local", "whisper-tiny.en")]


@pytest.mark.parametrize(("provider", "model"), DIARIZE_SERVED)
def test_diarize_is_planned_or_refused_as_each_provider_declares(cli, monkeypatch, speech_wav, provider, model):
    from aigw.providers._options import BY_MODEL, REFUSED, SENT, provider_columns

    for var, value in AUDIO_KEYS.items():
        monkeypatch.setenv(var, value)
    r = cli("transcribe", str(speech_wav), "-m", model, "-p", provider, "--diarize", "-f", "srt", "--dry-run")
    declared = provider_columns("audio")[f"`{provider}`"]["diarize"]
    if declared == REFUSED or (declared == BY_MODEL and "diarize" not in model):
        assert r.code == 2 and "does not label speakers (--diarize)" in r.stderr, r.stderr
    else:
        assert declared in (SENT, BY_MODEL) and r.code == 0, r.stderr
