"""`aigw generate` / `aigw transcribe` through RunPod, end to end against the loopback fake, with only
RUNPOD_API_KEY set and the base URL pointed at the fake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from tests.fakes._server import Fault
from tests.fakes.runpod import DEFAULT_TRANSCRIPT, SCHNELL, FakeRunPod, JobPlan
from tests.helpers import db_rows


@pytest.fixture
def fake(monkeypatch):
    with FakeRunPod(max_hold=0.05) as server:
        monkeypatch.setenv("RUNPOD_API_KEY", "test-key")
        monkeypatch.setenv("AIGW_PROVIDERS__RUNPOD__BASE_URL", server.base_url)
        yield server
        assert server.errors == []


def polls(fake: FakeRunPod) -> int:
    return sum(1 for r in fake.requests if "/status/" in r.path)


def jobs(cache_dir: Path) -> list[tuple[str, str]]:
    return [(r["job_id"], r["status"]) for r in db_rows(cache_dir, "SELECT * FROM jobs ORDER BY job_id")]


# ---- public FLUX endpoints ------------------------------------------------------------------------


def test_generate_flux_schnell_with_only_the_runpod_key(cli, fake, cache_dir):
    r = cli("generate", "x", "-m", "flux-schnell", "-p", "runpod")
    assert r.code == 0, r.stderr
    [line] = r.stdout.splitlines()  # stdout: the path and nothing else
    with Image.open(line) as img:
        assert img.format == "JPEG" and img.size == (1024, 1024)
    [req] = fake.requests_to("/runsync")
    assert req.path == f"/v2/{SCHNELL}/runsync" and req.json["input"]["prompt"] == "x"
    assert req.headers["authorization"] == "Bearer test-key"
    assert "estimated cost: $0.0025" in r.stderr and "per megapixel" in r.stderr
    [(job_id, status)] = jobs(cache_dir)
    assert job_id == next(iter(fake.jobs)) and status == "completed"


def test_runsync_in_progress_falls_back_to_status_polling(cli, fake, cache_dir):
    fake.plan(JobPlan(polls=1, sync_status="IN_PROGRESS"))
    r = cli("generate", "x", "-m", "flux-schnell", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["provider"] == "runpod" and Path(data["paths"][0]).is_file()
    job_id = next(iter(fake.jobs))
    assert [q.path for q in fake.requests if "/status/" in q.path] == [f"/v2/{SCHNELL}/status/{job_id}"]
    assert jobs(cache_dir) == [(job_id, "completed")]


def test_two_images_are_two_jobs_both_saved_and_cost_is_their_sum(cli, fake, cache_dir):
    fake.plan(JobPlan(cost=0.00125), JobPlan(polls=1, cost=0.0025))
    r = cli("generate", "two apples", "-m", "flux-schnell", "-n", "2", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert len(data["paths"]) == 2 and all(Path(p).is_file() for p in data["paths"])
    reported = sum(job.output["cost"] for job in fake.jobs.values())
    assert reported == pytest.approx(0.00375)
    assert data["cost_usd"] == pytest.approx(reported)  # RunPod's actual charge, not the estimate
    assert data["attempts"][0]["actual_cost_usd"] == pytest.approx(reported)
    assert sorted(jobs(cache_dir)) == sorted((j, "completed") for j in fake.jobs)
    assert len(fake.jobs) == 2


def test_a_job_that_never_finishes_is_cancelled_at_the_timeout(cli, fake, cache_dir, monkeypatch):
    monkeypatch.setenv("AIGW_ROUTING__RETRIES", "0")
    fake.plan(JobPlan(never=True))
    r = cli("generate", "x", "-m", "flux-schnell", "--timeout", "1")
    assert r.code == 4
    assert "did not finish within 1 s" in r.stderr and r.stdout == ""
    job_id = next(iter(fake.jobs))
    assert fake.cancelled == [job_id]
    assert [q.method for q in fake.requests if q.path.endswith(f"/cancel/{job_id}")] == ["POST"]
    assert fake.requests_to("/runsync")[0].query["wait"] == "1000"  # bounded by the attempt's time
    assert jobs(cache_dir) == [(job_id, "cancelled")]
    [attempt] = db_rows(cache_dir, "SELECT * FROM attempts")
    assert attempt["failure_class"] == "retryable"


def test_a_failed_job_is_exit_4_with_the_attempt_logged(cli, fake, cache_dir, monkeypatch):
    monkeypatch.setenv("AIGW_ROUTING__RETRIES", "0")
    fake.plan(JobPlan(polls=1, outcome="FAILED", error="worker exited with code 137"))
    r = cli("generate", "x", "-m", "flux-schnell")
    assert r.code == 4 and r.stdout == ""
    assert "failed: worker exited with code 137" in r.stderr
    [attempt] = db_rows(cache_dir, "SELECT * FROM attempts")
    assert attempt["provider"] == "runpod" and attempt["failure_class"] == "retryable"
    assert "code 137" in attempt["error"]
    assert jobs(cache_dir) == [(next(iter(fake.jobs)), "failed")]
    assert db_rows(cache_dir, "SELECT status FROM runs")[0]["status"] != "ok"


def test_a_failed_job_fails_over_to_the_next_candidate(cli, fake, fake_openai, cache_dir):
    fake.plan(JobPlan(polls=1, outcome="FAILED"))
    r = cli("generate", "x", "-m", "flux-schnell", "--fallback", "gpt-image-2", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert [(a["provider"], a["failure_class"]) for a in data["attempts"]] == [("runpod", "retryable"),
                                                                              ("openai", None)]
    assert data["provider"] == "openai" and fake_openai.count("/images/generations") == 1


def test_retries_a_timed_out_job_and_is_served(cli, fake, cache_dir):
    fake.plan(JobPlan(outcome="TIMED_OUT"))
    r = cli("generate", "x", "-m", "flux-schnell", "--json")
    assert r.code == 0, r.stderr
    assert [a["failure_class"] for a in json.loads(r.stdout)["attempts"]] == ["retryable", None]
    assert sorted(s for _, s in jobs(cache_dir)) == ["completed", "failed"]


def test_invalid_parameter_is_exit_2(cli, fake, cache_dir):
    fake.inject(Fault(status=400, body={"id": "sync-bad-u1", "status": "FAILED",
                                        "error": "Invalid parameter: width must be divisible by 64"}), route="/runsync")
    r = cli("generate", "x", "-m", "flux-schnell")
    assert r.code == 2
    assert "Invalid parameter: width must be divisible by 64" in r.stderr
    assert fake.count("/runsync") == 1  # a bad request is not retried
    assert jobs(cache_dir) == [("sync-bad-u1", "failed")]


def test_sizes_off_the_grid_are_fitted_with_a_warning(cli, fake):
    r = cli("generate", "x", "-m", "flux-dev", "--size", "2048x1008", "--steps", "60", "--format", "webp")
    assert r.code == 0, r.stderr
    inp = fake.inputs()[0]
    assert (inp["width"], inp["height"], inp["num_inference_steps"], inp["image_format"]) == (1536, 1024, 50, "png")
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning: runpod:")]
    assert len(warnings) == 3
    assert Path(r.stdout.strip()).suffix == ".png"


def test_rate_limit_is_waited_out_then_served(cli, fake):
    fake.inject(Fault.http(429, retry_after="0.1"), route="/runsync")
    r = cli("generate", "x", "-m", "flux-schnell", "--json")
    assert r.code == 0, r.stderr
    assert [a["failure_class"] for a in json.loads(r.stdout)["attempts"]] == ["rate_limited", None]


def test_bad_key_is_exit_4_with_the_variable_to_fix(cli, fake, monkeypatch):
    monkeypatch.setenv("RUNPOD_API_KEY", "wrong")
    r = cli("generate", "x", "-m", "flux-schnell")
    assert r.code == 4 and "401" in r.stderr and "RUNPOD_API_KEY" in r.stderr


def test_models_check_uses_health(cli, fake):
    r = cli("models", "--check", "--json")
    assert r.code == 0, r.stderr
    [row] = [x for x in json.loads(r.stdout) if x["provider"] == "runpod"]
    assert row["reachable"] is True and row["key_accepted"] is True
    assert fake.requests[-1].path == f"/v2/{SCHNELL}/health"


# ---- a user's endpoints ------------------------------------------------------------------------------


def test_transcribe_through_a_mapped_whisper_endpoint(cli, fake, cache_dir, speech_wav, monkeypatch, tmp_path):
    # The JSON form is what AIGW_* variables take for tables (TOML's `{"a" = "b"}` is refused: exit 3).
    monkeypatch.setenv("AIGW_PROVIDERS__RUNPOD__MODELS", '{"whisper-large-v3": "ep123"}')
    fake.add_endpoint("ep123", "faster-whisper")
    talk = tmp_path / "talk.wav"
    talk.write_bytes(speech_wav.read_bytes())
    r = cli("transcribe", str(talk), "-m", "whisper-large-v3", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["text"] == DEFAULT_TRANSCRIPT and data["provider"] == "runpod" and data["provider_model"] == "ep123"
    assert data["cost_usd"] is None and data["estimated_cost_usd"] is None  # GPU time: unpriced, never $0
    [req] = fake.requests_to("/runsync")
    assert req.path == "/v2/ep123/runsync" and req.json["input"]["model"] == "large-v3"
    assert jobs(cache_dir) == [(next(iter(fake.jobs)), "completed")]
    assert "estimated cost: unknown" in r.stderr


def test_the_toml_form_of_the_mapping_in_a_variable_works_too(cli, fake, speech_wav, monkeypatch):
    monkeypatch.setenv("AIGW_PROVIDERS__RUNPOD__MODELS", '{"whisper-large-v3"="ep123"}')
    fake.add_endpoint("ep123", "faster-whisper")
    r = cli("transcribe", str(speech_wav), "-m", "whisper-large-v3")
    assert r.code == 0, r.stderr
    assert fake.count() > 0


def test_a_malformed_table_in_a_variable_is_a_config_error(cli, fake, speech_wav, monkeypatch):
    monkeypatch.setenv("AIGW_PROVIDERS__RUNPOD__MODELS", '{"whisper-large-v3": ep123')
    r = cli("transcribe", str(speech_wav), "-m", "whisper-large-v3")
    assert r.code == 3 and "AIGW_PROVIDERS__RUNPOD__MODELS" in r.stderr
    assert fake.count() == 0


def test_transcribe_srt_from_the_workers_segments(cli, fake, speech_wav, monkeypatch):
    monkeypatch.setenv("AIGW_PROVIDERS__RUNPOD__MODELS", '{"whisper-large-v3-turbo": "ep9"}')
    fake.add_endpoint("ep9", "faster-whisper")
    r = cli("transcribe", str(speech_wav), "-m", "whisper-large-v3-turbo", "--format", "srt")
    assert r.code == 0, r.stderr
    assert r.stdout.startswith("1\n00:00:00,000 --> ") and "Every result is kept on disk." in r.stdout
    assert fake.inputs()[0]["model"] == "turbo"


def test_an_unmapped_user_model_is_not_sent_to_runpod(cli, fake, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "whisper-large-v3", "-p", "runpod")
    assert r.code == 2 and fake.count() == 0
    assert "none of the providers runpod can serve whisper-large-v3" in r.stderr


def test_sdxl_endpoint_from_the_config_file(cli, fake, config_file, cache_dir):
    fake.add_endpoint("def456", "sdxl")
    config_file.parent.mkdir(parents=True)
    config_file.write_text('[providers.runpod]\nmodels = { "sdxl" = "def456" }\n')
    r = cli("generate", "a fox", "-m", "sdxl", "--size", "1152x896", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    with Image.open(data["paths"][0]) as img:
        assert img.format == "PNG" and img.size == (1152, 896)
    assert data["cost_usd"] is None
    assert fake.inputs() == [{"prompt": "a fox", "width": 1152, "height": 896, "num_images": 1}]
    assert len(jobs(cache_dir)) == 1


def test_a_user_endpoint_priced_in_config_costs_its_gpu_time(cli, fake, speech_wav, config_file):
    fake.add_endpoint("ep7", "faster-whisper")
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text('[providers.runpod]\nmodels = { "whisper-large-v3" = "ep7" }\n'
                           'prices = { "whisper-large-v3" = { per_gpu_second = 0.001, estimate_gpu_seconds = 0.5 } }\n')
    r = cli("transcribe", str(speech_wav), "-m", "whisper-large-v3", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["estimated_cost_usd"] > 0 and data["cost_usd"] is not None and data["cost_usd"] > 0
