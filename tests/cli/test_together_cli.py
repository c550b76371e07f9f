"""`aigw generate` and `aigw transcribe` end to end against FakeTogether, with only TOGETHER_API_KEY and
the base URL set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from tests.fakes._server import Fault
from tests.fakes.together import FakeTogether
from tests.helpers import db_rows


@pytest.fixture
def fake(monkeypatch):
    with FakeTogether() as server:
        monkeypatch.setenv("TOGETHER_API_KEY", "tg-test")
        monkeypatch.setenv("AIGW_PROVIDERS__TOGETHER__BASE_URL", server.url)
        yield server
    assert not server.errors, server.errors


def test_generate_flux_schnell_end_to_end(cli, fake, cache_dir):
    r = cli("generate", "a lighthouse at dusk", "-m", "flux-schnell", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert (data["provider"], data["provider_model"]) == ("together", "black-forest-labs/FLUX.1-schnell")
    assert data["cost_usd"] == pytest.approx(0.0027 * 1024 * 1024 / 1e6, abs=1e-6)
    with Image.open(Path(data["paths"][0])) as img:
        assert img.format == "JPEG" and img.size == (1024, 1024)
    body = fake.last_request.json
    assert body["response_format"] == "base64" and (body["width"], body["height"]) == (1024, 1024)
    attempts = db_rows(cache_dir, "SELECT provider, http_status, served FROM attempts WHERE run_id = ?", data["id"])
    assert [tuple(a) for a in attempts] == [("together", 200, 1)]


def test_stdout_is_the_paths_and_an_aspect_ratio_sets_the_size(cli, fake):
    r = cli("generate", "two foxes", "-m", "flux-1.1-pro", "--aspect-ratio", "16:9", "-n", "2", "--format", "png")
    assert r.code == 0, r.stderr
    paths = r.stdout.splitlines()
    assert len(paths) == 2
    for p in paths:
        with Image.open(p) as img:
            assert img.format == "PNG" and img.size == (1024, 576)
    body = fake.last_request.json
    assert body["model"] == "black-forest-labs/FLUX.1.1-pro" and body["n"] == 2 and body["output_format"] == "png"
    assert "estimated cost: $0.047" in r.stderr  # 2 x 1024x576 at $0.04/MP


def test_webp_becomes_png_with_a_warning_on_stderr(cli, fake):
    r = cli("generate", "a fox", "-m", "flux-schnell", "--format", "webp")
    assert r.code == 0, r.stderr
    assert "does not return webp; using png" in r.stderr and r.stdout.strip().endswith(".png")
    assert fake.last_request.json["output_format"] == "png"


def test_steps_over_the_schnell_cap_are_clamped_with_a_warning(cli, fake):
    r = cli("generate", "a fox", "-m", "flux-schnell", "--steps", "30")
    assert r.code == 0, r.stderr
    assert "using 12" in r.stderr and fake.last_request.json["steps"] == 12


def test_a_rejected_key_is_exit_4_with_a_hint(cli, fake, monkeypatch):
    monkeypatch.setenv("TOGETHER_API_KEY", "bad-key")
    r = cli("generate", "a fox", "-m", "flux-schnell")
    assert r.code == 4 and "TOGETHER_API_KEY" in r.stderr and r.stdout == ""


def test_a_400_from_together_is_exit_2(cli, fake):
    fake.inject(Fault(status=400, body={"error": {"message": "Invalid prompt", "type": "invalid_request_error",
                                                  "param": "prompt", "code": None}}), route="/images/generations")
    r = cli("generate", "a fox", "-m", "flux-schnell")
    assert r.code == 2 and "Invalid prompt" in r.stderr


def test_transcribe_end_to_end(cli, fake, speech_wav, cache_dir):
    r = cli("transcribe", str(speech_wav), "-m", "whisper-large-v3", "-p", "together", "-f", "vtt")
    assert r.code == 0, r.stderr
    assert r.stdout.startswith("WEBVTT") and fake.transcript in r.stdout
    req = fake.last_request
    assert req.path == "/v1/audio/transcriptions" and req.form["response_format"] == "verbose_json"
    assert "unknown" in r.stderr  # no published price for Together's Whisper
    runs = db_rows(cache_dir, "SELECT provider, status FROM runs")
    assert [tuple(row) for row in runs] == [("together", "ok")]


def test_models_check(cli, fake):
    r = cli("models", "--check", "-p", "together", "--json")
    assert r.code == 0, r.stderr
    found = json.loads(r.stdout)[0]
    assert found["provider"] == "together" and found["key_accepted"] is True
    assert fake.last_request.path == "/v1/models"
