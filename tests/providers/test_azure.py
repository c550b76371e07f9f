"""AzureOpenAIProvider against the loopback FakeAzureOpenAI over real HTTP: deployment URLs,
api-version and api-key, bodies shaped for the model behind a deployment, and Azure's errors."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from aigw import errors
from aigw.clock import FakeClock
from aigw.providers.azure import DEFAULT_API_VERSION, AzureOpenAIProvider
from aigw.settings.model import ProviderSettings, settings_model
from aigw.types import AudioUpload, ImageCall, TranscribeCall
from tests.fakes.azure import FakeAzureOpenAI, rate_limited

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MODELS = {"dall-e-3": "my-dalle", "whisper-1": "my-whisper", "gpt-image-1.5": "img15"}


@pytest.fixture
def fake():
    with FakeAzureOpenAI() as server:
        yield server
    assert not server.errors, server.errors


def settings(base_url: str, **kw: Any) -> ProviderSettings:
    # Azure's own fields (api_version) come from its description: the model settings validate it with.
    return settings_model("azure")(**{"api_key": "az-key", "base_url": base_url, "models": MODELS, **kw})


def run(s: ProviderSettings, fn) -> Any:
    async def go() -> Any:
        async with httpx.AsyncClient() as client:
            return await fn(AzureOpenAIProvider("azure", s, client, clock=FakeClock()))
    return asyncio.run(go())


def generate(s: ProviderSettings, call: ImageCall) -> Any:
    async def go(p: AzureOpenAIProvider) -> Any:
        prepared, _ = p.prepare_image(call)
        return await p.generate(prepared, timeout=30)
    return run(s, go)


def transcribe(s: ProviderSettings, call: TranscribeCall) -> Any:
    async def go(p: AzureOpenAIProvider) -> Any:
        prepared, _ = p.prepare_transcribe(call)
        return await p.transcribe(prepared, timeout=30)
    return run(s, go)


def audio_call(deployment: str = "my-whisper", fmt: str = "json") -> TranscribeCall:
    path = EXAMPLES / "hello.wav"
    upload = AudioUpload(path=path, filename="hello.wav", content_type="audio/wav", size_bytes=path.stat().st_size,
                         duration_s=2.0)
    return TranscribeCall(provider_model=deployment, audio=upload, format=fmt)


# ---- images ------------------------------------------------------------------------------------


def test_dalle_goes_to_its_deployment_with_api_key_and_api_version(fake):
    out = generate(settings(fake.url), ImageCall(provider_model="my-dalle", prompt="a cat", quality="hd",
                                                 style="natural", size="1792x1024"))
    req = fake.requests_to("/images/generations")[-1]
    assert req.path == "/openai/deployments/my-dalle/images/generations"
    assert req.query == {"api-version": DEFAULT_API_VERSION}
    assert req.headers["api-key"] == "az-key" and "authorization" not in req.headers
    # Shaped for dall-e-3 (the model mapped to the deployment), named by the deployment as the SDK does.
    assert req.json == {"model": "my-dalle", "prompt": "a cat", "n": 1, "size": "1792x1024", "quality": "hd",
                        "response_format": "b64_json", "style": "natural"}
    with Image.open(io.BytesIO(out.images[0].data)) as img:
        assert img.size == (1792, 1024)
    assert out.images[0].revised_prompt


def test_gpt_image_gets_output_format_and_its_usage(fake):
    s = settings(fake.url, api_version="2025-04-01-preview")
    out = generate(s, ImageCall(provider_model="img15", prompt="a cat", format="webp", quality="low"))
    req = fake.last_request
    assert req.query["api-version"] == "2025-04-01-preview"
    assert req.json["output_format"] == "webp" and "response_format" not in req.json
    assert out.usage is not None and out.usage.output_image_tokens


def test_gpt_image_on_the_default_ga_version_is_warned_about(fake):
    planner = AzureOpenAIProvider("azure", settings(fake.url), None)
    _, notes = planner.prepare_image(ImageCall(provider_model="img15", prompt="x"))
    assert any("preview api-version" in n for n in notes)
    _, notes = AzureOpenAIProvider("azure", settings(fake.url, api_version="2025-04-01-preview"), None) \
        .prepare_image(ImageCall(provider_model="img15", prompt="x"))
    assert notes == []
    _, notes = planner.prepare_image(ImageCall(provider_model="my-dalle", prompt="x"))
    assert notes == []


def test_an_endpoint_ending_in_openai_is_not_doubled(fake):
    generate(settings(fake.url + "/openai/"), ImageCall(provider_model="my-dalle", prompt="a cat"))
    assert fake.last_request.path == "/openai/deployments/my-dalle/images/generations"


def test_an_entra_token_goes_as_bearer_with_auth_bearer():
    with FakeAzureOpenAI(entra_token="entra-123") as fake:
        generate(settings(fake.url, api_key="entra-123", auth="bearer"), ImageCall(provider_model="my-dalle", prompt="x"))
        req = fake.last_request
    assert req.headers["authorization"] == "Bearer entra-123" and "api-key" not in req.headers


def test_no_endpoint_is_a_config_error_before_any_request():
    planner = AzureOpenAIProvider("azure", ProviderSettings(api_key="k", models=MODELS), None)
    with pytest.raises(errors.ConfigError) as info:
        planner.prepare_image(ImageCall(provider_model="my-dalle", prompt="x"))
    assert "AZURE_OPENAI_ENDPOINT" in (info.value.hint or "")


# ---- transcription ----------------------------------------------------------------------------


def test_whisper_deployment_transcribes(fake):
    out = transcribe(settings(fake.url), audio_call())
    req = fake.last_request
    assert req.path == "/openai/deployments/my-whisper/audio/transcriptions"
    assert req.query == {"api-version": DEFAULT_API_VERSION} and req.headers["api-key"] == "az-key"
    assert req.content_type.startswith("multipart/form-data") and req.files["file"].filename == "hello.wav"
    assert req.form["model"] == "my-whisper" and req.form["response_format"] == "json"
    assert out.text == "The quick brown fox jumps over the lazy dog." and out.usage.seconds


def test_srt_comes_back_as_srt(fake):
    out = transcribe(settings(fake.url), audio_call(fmt="srt"))
    assert out.body.startswith("1\n00:00:00,000 -->") and out.format == "srt"


# ---- errors ------------------------------------------------------------------------------------


def test_the_content_filter_is_a_refusal(fake):
    with pytest.raises(errors.ContentRefusedError) as info:
        generate(settings(fake.url), ImageCall(provider_model="my-dalle", prompt="something forbidden"))
    assert info.value.status == 400 and info.value.code == "contentFilter"


def test_429_honours_retry_after_ms(fake):
    fake.inject(rate_limited(retry_after_ms=250))
    with pytest.raises(errors.RateLimitedError) as info:
        generate(settings(fake.url), ImageCall(provider_model="my-dalle", prompt="x"))
    assert info.value.retry_after == 0.25


def test_a_missing_deployment_is_model_unavailable_naming_the_config(fake):
    s = settings(fake.url, models={"dall-e-3": "nope"})
    with pytest.raises(errors.ModelUnavailableError) as info:
        generate(s, ImageCall(provider_model="nope", prompt="x"))
    assert "DeploymentNotFound" == info.value.code and "providers.azure" in (info.value.hint or "")
    assert 'dall-e-3 = "<deployment name>"' in info.value.hint


def test_an_unknown_api_version_says_what_to_check(fake):
    with pytest.raises(errors.BadRequestError) as info:
        generate(settings(fake.url, api_version="1999-01-01"), ImageCall(provider_model="my-dalle", prompt="x"))
    assert info.value.status == 404 and "OPENAI_API_VERSION" in (info.value.hint or "")


def test_a_bad_key_is_an_auth_error(fake):
    with pytest.raises(errors.AuthError) as info:
        generate(settings(fake.url, api_key="bad-key"), ImageCall(provider_model="my-dalle", prompt="x"))
    assert "AZURE_OPENAI_API_KEY" in (info.value.hint or "")


def test_a_whisper_deployment_on_the_image_route_is_a_bad_request(fake):
    with pytest.raises(errors.BadRequestError, match="OperationNotSupported|does not work"):
        generate(settings(fake.url, models={"dall-e-3": "my-whisper"}), ImageCall(provider_model="my-whisper", prompt="x"))


# ---- check -------------------------------------------------------------------------------------


def test_check_lists_models(fake):
    found = run(settings(fake.url), lambda p: p.check(timeout=5))
    assert found["reachable"] is True and found["key_accepted"] is True
    req = fake.last_request
    assert (req.method, req.path, req.query) == ("GET", "/openai/models", {"api-version": DEFAULT_API_VERSION})
    assert req.headers["api-key"] == "az-key"


def test_check_with_a_bad_key(fake):
    assert run(settings(fake.url, api_key="bad-key"), lambda p: p.check(timeout=5))["key_accepted"] is False


def test_check_without_an_endpoint():
    found = run(ProviderSettings(api_key="k"), lambda p: p.check(timeout=5))
    assert found["reachable"] is False and "AZURE_OPENAI_ENDPOINT" in found["detail"]
