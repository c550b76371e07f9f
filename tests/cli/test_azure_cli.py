"""`aigw generate` / `aigw transcribe` end to end against FakeAzureOpenAI, configured as a user would:
AZURE_OPENAI_API_KEY, AZURE_OPENAI_ENDPOINT and a `[providers.azure] models` table of deployments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from tests.fakes.azure import FakeAzureOpenAI, rate_limited
from tests.helpers import db_rows

DEPLOYMENTS = '[providers.azure]\nmodels = { "dall-e-3" = "my-dalle", "whisper-1" = "my-whisper", "gpt-image-1.5" = "img15" }\n'


@pytest.fixture
def azure(monkeypatch, config_file):
    with FakeAzureOpenAI() as server:
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", "az-key")
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", server.url)
        config_file.parent.mkdir(parents=True, exist_ok=True)
        config_file.write_text(DEPLOYMENTS)
        yield server
    assert not server.errors, server.errors


def test_dall_e_3_goes_to_the_dalle_deployment_unchanged(cli, azure, cache_dir):
    r = cli("generate", "x", "-m", "dall-e-3", "-p", "azure", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert (data["model"], data["provider"], data["provider_model"]) == ("dall-e-3", "azure", "my-dalle")
    assert data["substituted"] is False and "retired" not in r.stderr
    assert data["cost_usd"] == pytest.approx(0.04)
    req = azure.requests_to("/images/generations")[-1]
    assert req.path == "/openai/deployments/my-dalle/images/generations"
    assert req.query == {"api-version": "2024-10-21"} and req.headers["api-key"] == "az-key"
    assert "authorization" not in req.headers
    with Image.open(Path(data["paths"][0])) as img:
        assert img.format == "PNG" and img.size == (1024, 1024)
    attempts = db_rows(cache_dir, "SELECT provider, provider_model, served FROM attempts WHERE run_id = ?", data["id"])
    assert [tuple(a) for a in attempts] == [("azure", "my-dalle", 1)]


def test_a_mapped_deployment_serves_dall_e_3_before_openais_substitute(cli, azure, fake_openai):
    r = cli("generate", "x", "-m", "dall-e-3", "--json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["provider"] == "azure"
    assert fake_openai.count() == 0


def test_transcription_goes_to_the_whisper_deployment(cli, azure, speech_wav, cache_dir):
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1")
    assert r.code == 0, r.stderr
    assert r.stdout.strip() == azure.transcript
    req = azure.requests_to("/audio/transcriptions")[-1]
    assert req.path == "/openai/deployments/my-whisper/audio/transcriptions"
    assert req.query == {"api-version": "2024-10-21"} and req.headers["api-key"] == "az-key"
    assert req.files["file"].filename == "hello.wav"
    run = db_rows(cache_dir, "SELECT status, provider, provider_model, cost_usd FROM runs")[0]
    assert (run["status"], run["provider"], run["provider_model"]) == ("ok", "azure", "my-whisper")
    assert run["cost_usd"] > 0


def test_srt_from_the_whisper_deployment(cli, azure, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "--format", "srt")
    assert r.code == 0, r.stderr
    assert "00:00:00,000 -->" in r.stdout


def test_the_content_filter_is_exit_5_and_keeps_nothing(cli, azure, cache_dir):
    r = cli("generate", "something forbidden", "-m", "dall-e-3", "-p", "azure")
    assert r.code == 5, r.stderr
    assert r.stdout == "" and "safety system" in r.stderr
    assert azure.count("/images/generations") == 1  # a refusal is not retried
    assert db_rows(cache_dir, "SELECT * FROM files") == []
    assert [tuple(x) for x in db_rows(cache_dir, "SELECT status, exit_code FROM runs")] == [("failed", 5)]


def test_a_429_waits_retry_after_ms_then_succeeds(cli, azure, cache_dir):
    azure.inject(rate_limited(retry_after_ms=200), route="/images/generations")
    r = cli("generate", "x", "-m", "dall-e-3", "-p", "azure", "--json")
    assert r.code == 0, r.stderr
    attempts = db_rows(cache_dir, "SELECT failure_class, retry_after_s, served FROM attempts ORDER BY hop")
    assert [tuple(a) for a in attempts] == [("rate_limited", 0.2, 0), (None, None, 1)]


def test_the_api_version_comes_from_openai_api_version(cli, azure, monkeypatch):
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-04-01-preview")
    r = cli("generate", "x", "-m", "gpt-image-1.5", "-p", "azure", "--quality", "low")
    assert r.code == 0, r.stderr
    req = azure.last_request
    assert req.path == "/openai/deployments/img15/images/generations"
    assert req.query == {"api-version": "2025-04-01-preview"}
    assert "preview api-version" not in r.stderr


def test_gpt_image_on_the_default_version_is_warned_about(cli, azure):
    r = cli("generate", "x", "-m", "gpt-image-1.5", "-p", "azure", "--quality", "low")
    assert "preview api-version" in r.stderr
    assert r.code == 2  # this fake, like Azure, refuses GPT image models on a GA api-version


def test_without_a_mapping_azure_is_not_a_candidate(cli, azure, config_file):
    config_file.write_text("")
    r = cli("generate", "x", "-m", "dall-e-3", "-p", "azure")
    assert r.code == 2 and azure.count() == 0


def test_a_wrong_deployment_name_is_exit_2_naming_the_config(cli, azure, config_file):
    # No provider left that has the model (404 DeploymentNotFound): exit 2, as the README says.
    config_file.write_text('[providers.azure]\nmodels = { "dall-e-3" = "old-dalle" }\n')
    r = cli("generate", "x", "-m", "dall-e-3", "-p", "azure")
    assert r.code == 2
    assert "DeploymentNotFound" in r.stderr or "deployment" in r.stderr
    assert "providers.azure" in r.stderr
