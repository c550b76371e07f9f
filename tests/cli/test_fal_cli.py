"""`aigw generate` / `aigw transcribe` end to end through fal's queue, against the loopback FakeFal,
with only FAL_KEY set and the base URL pointed at the fake (storage is served by the same loopback
origin). The CLI polls with the real clock, so the fake's jobs finish on the second status poll."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest
from PIL import Image

from tests.fakes.fal import FakeFal
from tests.helpers import db_rows


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.delenv("FAL_REST_HOST", raising=False)
    with FakeFal() as server:
        monkeypatch.setenv("FAL_KEY", "test-key")
        monkeypatch.setenv("AIGW_PROVIDERS__FAL__BASE_URL", server.base_url)
        yield server
    assert not server.errors, server.errors


def make_wav(path: Path, seconds: float) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x01\x00" * int(16000 * seconds))
    return path


def test_generate_with_no_model_goes_to_fal_flux_schnell(cli, fake, cache_dir):
    r = cli("generate", "x")
    assert r.code == 0, r.stderr
    (line,) = r.stdout.splitlines()
    path = Path(line)
    assert path.is_file() and path.is_relative_to(cache_dir / "results")
    with Image.open(path) as img:
        assert img.format == "JPEG" and img.size == (1024, 1024)
    (submit,) = fake.requests_to("/fal-ai/flux/schnell", method="POST")
    assert submit.headers["authorization"] == "Key test-key"
    assert submit.json == {"prompt": "x", "image_size": "square_hd", "num_images": 1}
    assert "estimated cost: $0.0031 (flux-schnell at fal, per megapixel" in r.stderr
    run = db_rows(cache_dir, "SELECT * FROM runs")[0]
    assert (run["status"], run["provider"], run["model"], run["provider_model"]) == \
        ("ok", "fal", "flux-schnell", "fal-ai/flux/schnell")
    assert run["cost_usd"] == pytest.approx(0.003 * 1024 * 1024 / 1e6, abs=1e-6)


def test_the_job_id_is_in_the_run_log_before_the_first_poll(cli, fake, cache_dir):
    seen: list[list[tuple[str, str]]] = []

    def look(rid: str) -> None:
        if not seen:
            seen.append([(row["job_id"], row["status"]) for row in db_rows(cache_dir, "SELECT * FROM jobs")])

    fake.on_status = look
    r = cli("generate", "a red apple", "-m", "flux-dev", "--json")
    assert r.code == 0, r.stderr
    rid = fake.job().id
    assert seen == [[(rid, "submitted")]]
    (job,) = db_rows(cache_dir, "SELECT * FROM jobs")
    assert job["job_id"] == rid and job["provider"] == "fal" and job["status"] == "completed"
    assert job["run_id"] == json.loads(r.stdout)["id"]


def test_a_failed_job_exits_4_with_the_attempt_logged(cli, fake, cache_dir, monkeypatch):
    monkeypatch.setenv("AIGW_ROUTING__RETRIES", "0")
    fake.fail_next_jobs(status=500, detail="Runner disconnected", error_type="runner_disconnected")
    r = cli("generate", "a red apple", "-m", "flux-schnell")
    assert r.code == 4 and r.stdout == ""
    assert "Runner disconnected" in r.stderr
    (attempt,) = db_rows(cache_dir, "SELECT * FROM attempts")
    assert (attempt["provider"], attempt["failure_class"], attempt["http_status"], attempt["served"]) == \
        ("fal", "retryable", 500, 0)
    assert db_rows(cache_dir, "SELECT status FROM jobs")[0]["status"] == "failed"
    assert db_rows(cache_dir, "SELECT status, exit_code FROM runs")[0][:] == ("failed", 4)


def test_a_failed_job_fails_over_to_the_fallback_model(cli, fake, cache_dir):
    fake.fail_next_jobs(status=500, detail="Runner disconnected")
    r = cli("generate", "a red apple", "-m", "flux-schnell", "--fallback", "flux-dev", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["model"] == "flux-dev" and data["provider_model"] == "fal-ai/flux/dev"
    assert [(a["model"], a["served"]) for a in data["attempts"]] == [("flux-schnell", False), ("flux-dev", True)]
    statuses = {row["status"] for row in db_rows(cache_dir, "SELECT status FROM jobs")}
    assert statuses == {"failed", "completed"}


def test_a_rejected_input_is_exit_2_and_not_retried(cli, fake, cache_dir):
    r = cli("generate", "a red apple", "-m", "sdxl", "--steps", "80")  # fast-sdxl takes 1-50
    assert r.code == 2, r.stderr
    assert "body.num_inference_steps" in r.stderr
    assert len(fake.requests_to("/fal-ai/fast-sdxl", method="POST")) == 1
    (attempt,) = db_rows(cache_dir, "SELECT * FROM attempts")
    assert attempt["http_status"] == 422 and attempt["failure_class"] == "bad_request"


def test_a_job_that_never_finishes_is_cancelled_at_the_timeout(cli, fake, cache_dir, monkeypatch):
    monkeypatch.setenv("AIGW_ROUTING__RETRIES", "0")
    fake.hang_jobs = True
    r = cli("generate", "a red apple", "-m", "flux-schnell", "--timeout", "0.6")
    assert r.code == 4
    assert "cancelled it" in r.stderr
    rid = fake.job().id
    assert fake.cancelled == [rid]
    assert fake.requests_to(f"/fal-ai/flux/requests/{rid}/cancel", method="PUT")[-1].status == 202
    (job,) = db_rows(cache_dir, "SELECT * FROM jobs")
    assert job["status"] == "cancelled" and job["job_id"] == rid
    assert json.loads(job["details_json"])["cancel_url"].endswith(f"/fal-ai/flux/requests/{rid}/cancel")


def test_an_nsfw_flagged_image_is_exit_5(cli, fake):
    fake.nsfw = True
    r = cli("generate", "a red apple", "-m", "flux-schnell")
    assert r.code == 5 and r.stdout == ""
    assert "has_nsfw_concepts" in r.stderr


def test_warnings_for_values_fal_cannot_take_go_to_stderr(cli, fake):
    r = cli("generate", "a red apple", "-m", "flux-schnell", "--steps", "30", "--format", "webp")
    assert r.code == 0, r.stderr
    assert "takes 1 to 12 steps; using 12" in r.stderr and "using png" in r.stderr
    body = fake.requests_to("/fal-ai/flux/schnell", method="POST")[-1].json
    assert body["num_inference_steps"] == 12 and body["output_format"] == "png"
    assert Path(r.stdout.strip()).suffix == ".png"


# ---- transcription -----------------------------------------------------------------------------


def test_transcribe_with_whisper_large_v3_at_fal(cli, fake, tmp_path, cache_dir):
    talk = make_wav(tmp_path / "talk.wav", 2.0)
    r = cli("transcribe", str(talk), "-m", "whisper-large-v3", "-p", "fal")
    assert r.code == 0, r.stderr
    assert r.stdout.strip() == fake.transcript
    body = fake.requests_to("/fal-ai/wizper", method="POST")[-1].json
    assert body["audio_url"].startswith("data:audio/wav;base64,")
    assert "estimated cost: unknown" in r.stderr
    run = db_rows(cache_dir, "SELECT * FROM runs")[0]
    assert (run["status"], run["provider"], run["provider_model"], run["cost_usd"]) == ("ok", "fal", "fal-ai/wizper", None)
    assert db_rows(cache_dir, "SELECT status FROM jobs")[0]["status"] == "completed"


def test_a_large_file_is_uploaded_through_fal_storage(cli, fake, tmp_path):
    talk = make_wav(tmp_path / "talk.wav", 40.0)  # 1.28 MB: over the 1 MiB inline limit
    r = cli("transcribe", str(talk), "-m", "whisper-large-v3", "-p", "fal", "--format", "srt")
    assert r.code == 0, r.stderr
    assert r.stdout.startswith("1\n00:00:00,000 --> ") and "Every result is kept on disk." in r.stdout
    (grant,) = fake.uploads.values()
    assert grant["size"] == talk.stat().st_size
    assert fake.files[grant["path"]][0] == talk.read_bytes()
    assert fake.requests_to("/fal-ai/wizper", method="POST")[-1].json["audio_url"] == fake.url + grant["path"]


def test_fal_whisper_is_reachable_by_its_own_id(cli, fake, tmp_path):
    talk = make_wav(tmp_path / "talk.wav", 2.0)
    r = cli("transcribe", str(talk), "-m", "fal/fal-ai/whisper", "--prompt", "gateway", "--format", "verbose_json")
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["text"] == fake.transcript and doc["segments"]
    body = fake.requests_to("/fal-ai/whisper", method="POST")[-1].json
    assert body["prompt"] == "gateway"


def test_translate_at_fal(cli, fake, tmp_path):
    talk = make_wav(tmp_path / "talk.wav", 2.0)
    r = cli("transcribe", str(talk), "-m", "whisper-large-v3", "-p", "fal", "--translate", "--language", "de")
    assert r.code == 0, r.stderr
    body = fake.requests_to("/fal-ai/wizper", method="POST")[-1].json
    assert body["task"] == "translate" and body["language"] == "de"


def test_models_check_reaches_fal(cli, fake):
    r = cli("models", "--check", "--json")
    assert r.code == 0, r.stderr
    rows = [row for row in json.loads(r.stdout) if row["provider"] == "fal"]
    assert rows and rows[0]["reachable"] is True and rows[0]["key_accepted"] is True
    assert fake.requests_to("/storage/auth/token", method="POST")


def test_the_sdk_queue_host_variable_reaches_a_loopback_fake(cli, monkeypatch):
    with FakeFal() as server:
        monkeypatch.delenv("AIGW_PROVIDERS__FAL__BASE_URL", raising=False)
        monkeypatch.setenv("FAL_KEY", "test-key")
        monkeypatch.setenv("FAL_QUEUE_RUN_HOST", server.base_url.split("://", 1)[1])
        r = cli("generate", "x", "-m", "flux-schnell")
        assert r.code == 0, r.stderr
        assert server.requests_to("/fal-ai/flux/schnell", method="POST")


def test_quality_on_a_model_without_qualities_is_warned_about_and_not_sent(cli, fake):
    # README's table: fal ✗ for --quality, "not sent, with one warning on stderr" (it was exit 2,
    # "hint: allowed: none").
    r = cli("generate", "x", "-m", "flux-schnell", "--quality", "high", "--json")
    assert r.code == 0, r.stderr
    assert r.stderr.count("does not take --quality; not sent") == 1
    (submit,) = fake.requests_to("/fal-ai/flux/schnell", method="POST")
    assert "quality" not in submit.json
    assert json.loads(r.stdout)["quality"] is None
