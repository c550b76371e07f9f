"""`aigw generate` / `aigw transcribe` end to end against FakeReplicate, with only Replicate's token
and AIGW_PROVIDERS__REPLICATE__BASE_URL set: the Prefer-wait / poll / cancel flow, jobs in the run
log, rate limits and error bodies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from tests.fakes._server import Fault
from tests.fakes.replicate import SDXL_VERSION, WHISPER_VERSION, FakeReplicate
from tests.helpers import db_rows


@pytest.fixture
def fake_replicate(monkeypatch):
    with FakeReplicate() as fake:
        monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_test")
        monkeypatch.setenv("AIGW_PROVIDERS__REPLICATE__BASE_URL", fake.url)
        monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.05")  # the SDK's knob; keeps real-clock polls short
        yield fake
    assert not fake.errors, fake.errors


def jobs(cache_dir: Path) -> list[tuple[str, str, str]]:
    return [(r["provider"], r["job_id"], r["status"]) for r in db_rows(cache_dir, "SELECT * FROM jobs ORDER BY updated_at")]


def test_generate_flux_schnell_prints_the_path_and_logs_the_prediction(cli, fake_replicate, cache_dir):
    r = cli("generate", "a red fox", "-m", "flux-schnell")
    assert r.code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 1  # stdout carries only data
    with Image.open(lines[0]) as img:
        assert (img.format, img.size) == ("PNG", (1024, 1024))
    assert "estimated cost: $0.0030 (flux-schnell at replicate" in r.stderr
    req = fake_replicate.requests_to("/v1/models/black-forest-labs/flux-schnell/predictions")[0]
    assert req.headers["authorization"] == "Bearer r8_test" and req.headers["prefer"].startswith("wait=")
    assert jobs(cache_dir) == [("replicate", fake_replicate.job_ids[0], "completed")]
    run = db_rows(cache_dir, "SELECT * FROM runs")[0]
    assert (run["status"], run["provider"], run["model"]) == ("ok", "replicate", "flux-schnell")
    assert run["cost_usd"] == pytest.approx(0.003)


def test_generate_with_no_model_uses_flux_schnell_when_replicate_is_the_only_provider(cli, fake_replicate, cache_dir):
    r = cli("generate", "a red fox", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert (data["model"], data["provider"], data["provider_model"]) == ("flux-schnell", "replicate",
                                                                         "black-forest-labs/flux-schnell")
    assert Path(data["paths"][0]).is_file()


def test_a_starting_answer_to_prefer_wait_falls_back_to_polling(cli, fake_replicate, cache_dir):
    fake_replicate.wait_outcome, fake_replicate.polls_to_finish = "starting", 2
    r = cli("generate", "a red fox", "-m", "flux-schnell")
    assert r.code == 0, r.stderr
    job_id = fake_replicate.job_ids[0]
    assert fake_replicate.count(f"/v1/predictions/{job_id}") == 2
    assert jobs(cache_dir) == [("replicate", job_id, "completed")]
    details = json.loads(db_rows(cache_dir, "SELECT details_json FROM jobs")[0]["details_json"])
    assert details["predict_time"] == pytest.approx(1.25)


def test_a_prediction_that_never_finishes_within_the_timeout_is_cancelled(cli, fake_replicate, cache_dir, monkeypatch):
    monkeypatch.setenv("AIGW_ROUTING__RETRIES", "0")
    fake_replicate.never_finish = True
    r = cli("generate", "a red fox", "-m", "flux-schnell", "--timeout", "1.5")
    assert r.code == 4, r.stderr
    assert r.stdout == ""
    assert "did not finish" in r.stderr and "cancelled" in r.stderr
    job_id = fake_replicate.job_ids[0]
    assert fake_replicate.cancelled == [job_id]
    assert fake_replicate.requests_to(f"/v1/predictions/{job_id}/cancel")[0].method == "POST"
    assert jobs(cache_dir) == [("replicate", job_id, "cancelled")]
    run = db_rows(cache_dir, "SELECT * FROM runs")[0]
    assert run["status"] == "failed" and run["exit_code"] == 4


def test_rate_limit_on_the_only_provider_waits_for_retry_after_and_retries(cli, fake_replicate, cache_dir):
    fake_replicate.inject(Fault.http(429, retry_after="1"), route="/flux-schnell/predictions")
    r = cli("generate", "a red fox", "-m", "flux-schnell", "--json")
    assert r.code == 0, r.stderr
    attempts = json.loads(r.stdout)["attempts"]
    assert [(a["failure_class"], a["served"]) for a in attempts] == [("rate_limited", False), (None, True)]
    assert attempts[0]["retry_after_s"] == 1.0 and attempts[0]["http_status"] == 429
    assert attempts[1]["waited_s"] == pytest.approx(1.0, abs=0.05)
    assert "Request was throttled" in db_rows(cache_dir, "SELECT error FROM attempts WHERE hop = 1")[0]["error"]
    assert len(fake_replicate.job_ids) == 1  # the throttled create made no prediction


def test_transcribe_whisper_large_v3_as_srt(cli, fake_replicate, cache_dir, speech_wav, tmp_path):
    talk = shutil.copy(speech_wav, tmp_path / "talk.wav")
    r = cli("transcribe", str(talk), "-m", "whisper-large-v3", "-p", "replicate", "--format", "srt")
    assert r.code == 0, r.stderr
    assert r.stdout.startswith("1\n00:00:00,000 --> ")
    assert "Welcome to the gateway." in r.stdout and "Every result is kept on disk." in r.stdout
    req = fake_replicate.requests_to("/v1/predictions")[0]
    assert req.json["version"] == WHISPER_VERSION
    assert req.json["input"]["transcription"] == "srt"
    assert req.json["input"]["audio"].startswith("data:audio/wav;base64,")
    assert jobs(cache_dir) == [("replicate", fake_replicate.job_ids[0], "completed")]
    run = db_rows(cache_dir, "SELECT * FROM runs")[0]
    assert run["model"] == "whisper-large-v3" and run["cost_usd"] == pytest.approx(1.25 * 0.000225, abs=1e-6)
    saved = Path(json.loads(run["result_json"])["paths"][0])
    assert saved.suffix == ".srt" and saved.read_text() == r.stdout


def test_transcribe_with_no_model_uses_whisper_large_v3_as_plain_text(cli, fake_replicate, speech_wav, cache_dir):
    r = cli("transcribe", str(speech_wav), "--language", "en")
    assert r.code == 0, r.stderr
    assert db_rows(cache_dir, "SELECT model, provider FROM runs")[0][:] == ("whisper-large-v3", "replicate")
    assert r.stdout.strip() == "Welcome to the gateway. Every result is kept on disk."
    sent = fake_replicate.requests_to("/v1/predictions")[0].json["input"]
    assert sent["transcription"] == "plain text" and sent["language"] == "en"


def test_sdxl_maps_its_parameters_and_warns_about_png(cli, fake_replicate):
    r = cli("generate", "a red fox", "-m", "sdxl", "--size", "1216x832", "--negative-prompt", "blur",
            "--steps", "25", "--guidance", "6", "--seed", "9", "--format", "jpeg")
    assert r.code == 0, r.stderr
    assert "warning: replicate: stability-ai/sdxl returns PNG only" in r.stderr
    req = fake_replicate.requests_to("/v1/predictions")[0]
    assert req.json == {"version": SDXL_VERSION, "input": {
        "prompt": "a red fox", "width": 1216, "height": 832, "num_outputs": 1, "negative_prompt": "blur",
        "num_inference_steps": 25, "guidance_scale": 6.0, "seed": 9}}
    with Image.open(r.stdout.strip()) as img:
        assert (img.format, img.size) == ("PNG", (1216, 832))


def test_flux_warns_when_a_size_becomes_an_aspect_ratio(cli, fake_replicate):
    r = cli("generate", "a red fox", "-m", "flux-schnell", "--size", "1024x576")
    assert r.code == 0, r.stderr
    assert "16:9, megapixels 1 (1344x768)" in r.stderr
    with Image.open(r.stdout.strip()) as img:
        assert img.size == (1344, 768)


def test_bad_token_is_exit_4_with_the_variable_to_fix(cli, fake_replicate, monkeypatch):
    monkeypatch.setenv("REPLICATE_API_TOKEN", "bad-token")
    r = cli("generate", "a red fox", "-m", "flux-schnell")
    assert r.code == 4 and r.stdout == ""
    assert "Unauthenticated" in r.stderr and "REPLICATE_API_TOKEN" in r.stderr


def test_nsfw_failure_is_a_refusal_exit_5(cli, fake_replicate, cache_dir):
    r = cli("generate", "something nsfw", "-m", "flux-schnell")
    assert r.code == 5, r.stderr
    assert "NSFW content" in r.stderr
    assert jobs(cache_dir)[0][2] == "failed"


def test_an_unknown_mapped_version_is_not_served(cli, fake_replicate, config_file):
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text('[providers.replicate.models]\nsdxl = "stability-ai/sdxl:' + "0" * 64 + '"\n')
    r = cli("generate", "a red fox", "-m", "sdxl")
    assert r.code == 2, r.stderr  # the only provider lacks the model: exit 2 (README, failure table)
    assert "Invalid version or not permitted" in r.stderr
