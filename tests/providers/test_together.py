"""TogetherProvider against the loopback FakeTogether over real HTTP: the JSON image request (base64,
width/height, mapped parameters with warnings), base64 and URL answers, Whisper transcription with
rendered formats, limits and errors."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import srt
from PIL import Image

from aigw import errors
from aigw.providers.together import UPLOAD_LIMIT_BYTES, TogetherProvider, api_root
from aigw.settings.model import ProviderSettings
from aigw.types import AudioUpload, ImageCall, TranscribeCall
from tests.fakes._server import Fault
from tests.fakes.openai import png_bytes
from tests.fakes.together import WHISPER, FakeTogether

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hello.wav"
SCHNELL = "black-forest-labs/FLUX.1-schnell"
PRO = "black-forest-labs/FLUX.1.1-pro"


@pytest.fixture
def fake():
    with FakeTogether(api_key="tg-test") as server:
        yield server
    assert not server.errors, server.errors


def provider(client: httpx.AsyncClient | None, base_url: str = "http://127.0.0.1:9", key: str = "tg-test") -> TogetherProvider:
    return TogetherProvider("together", ProviderSettings(api_key=key, base_url=base_url), client)


def run(base_url: str, fn, key: str = "tg-test") -> Any:
    async def go() -> Any:
        async with httpx.AsyncClient() as client:
            return await fn(provider(client, base_url, key))
    return asyncio.run(go())


def generate(base_url: str, c: ImageCall, **kw: Any) -> Any:
    async def go(p: TogetherProvider) -> Any:
        prepared, _ = p.prepare_image(c)
        return await p.generate(prepared, timeout=30)
    return run(base_url, go, **kw)


def transcribe(base_url: str, c: TranscribeCall, **kw: Any) -> Any:
    async def go(p: TogetherProvider) -> Any:
        prepared, _ = p.prepare_transcribe(c)
        return await p.transcribe(prepared, timeout=30)
    return run(base_url, go, **kw)


def image(model: str = SCHNELL, prompt: str = "a red fox", **kw: Any) -> ImageCall:
    return ImageCall(provider_model=model, prompt=prompt, **kw)


def audio_call(**kw: Any) -> TranscribeCall:
    up = kw.pop("audio", None) or AudioUpload(path=EXAMPLE, filename="hello.wav", content_type="audio/wav",
                                              size_bytes=EXAMPLE.stat().st_size, duration_s=4.864875)
    return TranscribeCall(provider_model=WHISPER, audio=up, **kw)


def prepare(c: ImageCall) -> tuple[ImageCall, list[str]]:
    return provider(None).prepare_image(c)


# ---- images: request shape ----------------------------------------------------------------


def test_image_request_is_json_with_base64_and_every_mapped_parameter(fake):
    out = generate(fake.url, image(size="768x1024", n=2, seed=7, steps=4, negative_prompt="blur", guidance=3.5,
                                   format="png"))
    req = fake.last_request
    assert req.path == "/v1/images/generations" and req.headers["authorization"] == "Bearer tg-test"
    assert req.json == {"model": SCHNELL, "prompt": "a red fox", "width": 768, "height": 1024, "n": 2,
                        "response_format": "base64", "output_format": "png", "steps": 4, "seed": 7,
                        "negative_prompt": "blur", "guidance_scale": 3.5}
    assert len(out.images) == 2
    with Image.open(io.BytesIO(out.images[0].data)) as img:
        assert img.format == "PNG" and img.size == (768, 1024)
    assert out.images[0].ext == "png" and out.http_status == 200


def test_default_is_1024_square_jpeg(fake):
    out = generate(fake.url, image())
    assert (fake.last_request.json["width"], fake.last_request.json["height"]) == (1024, 1024)
    assert "output_format" not in fake.last_request.json
    with Image.open(io.BytesIO(out.images[0].data)) as img:
        assert img.format == "JPEG" and out.images[0].ext == "jpeg"


def test_url_answers_are_downloaded(fake):
    fake.served_images["abc.png"] = png_bytes(64, 64, (1, 2, 3))
    answer = {"id": "x", "model": SCHNELL, "object": "list",
              "data": [{"index": 0, "type": "url", "url": f"{fake.url}/imgproxy/abc.png"}]}
    fake.inject(Fault(status=200, body=answer), route="/images/generations")
    out = generate(fake.url, image())
    assert out.images[0].data == fake.served_images["abc.png"] and fake.count("/imgproxy/abc.png") == 1


def test_a_base_url_with_v1_is_used_as_given(fake):
    assert api_root("https://api.together.xyz") == "https://api.together.xyz/v1"
    assert api_root("https://api.together.ai/v1/") == "https://api.together.ai/v1"
    generate(fake.base_url, image())
    assert fake.last_request.path == "/v1/images/generations"


def test_b64_json_would_be_refused_by_the_fake(fake):
    with httpx.Client() as client:
        resp = client.post(fake.base_url + "/images/generations", headers={"Authorization": "Bearer tg-test"},
                           json={"model": SCHNELL, "prompt": "x", "response_format": "b64_json"})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "response_format"


# ---- images: mapping aigw's vocabulary ----------------------------------------------------


def test_an_aspect_ratio_becomes_width_and_height():
    c, notes = prepare(image(aspect_ratio="16:9"))
    assert (c.size, c.aspect_ratio, notes) == ("1024x576", None, [])


@pytest.mark.parametrize(("kw", "size", "needle"), [
    ({"size": "1000x1000"}, "1008x1008", "not a multiple of 16; using 1008x1008"),
    ({"size": "auto"}, "1024x1024", "no size auto"),
    ({"size": "1024x1024", "aspect_ratio": "16:9"}, "1024x1024", "wins over --aspect-ratio 16:9"),
])
def test_sizes_become_the_nearest_allowed_with_a_warning(kw, size, needle):
    c, notes = prepare(image(**kw))
    assert c.size == size and any(needle in n for n in notes), notes


@pytest.mark.parametrize(("kw", "needle", "field", "value"), [
    ({"format": "webp"}, "does not return webp; using png", "format", "png"),
    ({"steps": 30}, "takes 1 to 12 steps; using 12", "steps", 12),
    ({"quality": "high"}, "does not take --quality; not sent", "quality", None),
    ({"style": "vivid"}, "does not take --style; not sent", "style", None),
])
def test_what_together_cannot_honour_is_mapped_with_a_warning(kw, needle, field, value):
    c, notes = prepare(image(**kw))
    assert getattr(c, field) == value and any(needle in n for n in notes), notes


def test_pro_steps_are_not_clamped_and_a_prepared_call_maps_onto_itself():
    c, notes = prepare(image(PRO, steps=30, size="1000x700", format="webp"))
    assert c.steps == 30
    again, more = prepare(c)
    assert again == c and more == []


def test_webp_reaches_the_wire_as_png(fake):
    out = generate(fake.url, image(format="webp"))
    assert fake.last_request.json["output_format"] == "png" and out.images[0].ext == "png"


def test_bad_size_text_is_a_usage_error():
    with pytest.raises(errors.UsageError):
        prepare(image(size="big"))


# ---- images: errors ---------------------------------------------------------------------


def test_a_bad_key_is_an_auth_error_naming_the_variable(fake):
    with pytest.raises(errors.AuthError) as info:
        generate(fake.url, image(), key="bad-key")
    assert "TOGETHER_API_KEY" in info.value.hint


def test_an_unknown_model_is_unavailable_here(fake):
    with pytest.raises(errors.ModelUnavailableError):
        generate(fake.url, image("black-forest-labs/FLUX.9"))


def test_200_with_no_images_is_an_empty_result(fake):
    fake.inject(Fault(empty=True), route="/images/generations")
    with pytest.raises(errors.EmptyResultError):
        generate(fake.url, image())


# ---- transcription --------------------------------------------------------------------


def test_transcription_asks_json_and_lets_together_detect_the_language(fake):
    out = transcribe(fake.url, audio_call(format="json"))
    req = fake.last_request
    assert req.path == "/v1/audio/transcriptions" and req.files["file"].filename == "hello.wav"
    assert req.form == {"model": WHISPER, "response_format": "json", "language": "auto"}
    assert out.text == fake.transcript and out.usage.seconds == pytest.approx(4.864875)


def test_a_given_language_is_sent(fake):
    transcribe(fake.url, audio_call(format="json", language="en"))
    assert fake.last_request.form["language"] == "en"


def test_text_is_taken_from_json_because_together_has_no_text_format(fake):
    out = transcribe(fake.url, audio_call(format="text"))
    assert fake.last_request.form["response_format"] == "json"
    assert out.format == "text" and out.body == fake.transcript


def test_srt_is_rendered_from_verbose_json_segments(fake):
    fake.transcript = "One sentence here. And another one."
    out = transcribe(fake.url, audio_call(format="srt"))
    req = fake.last_request
    assert req.form["response_format"] == "verbose_json" and req.form_list("timestamp_granularities[]") == ["segment"]
    assert [s.content for s in srt.parse(out.body)] == ["One sentence here.", "And another one."]


def test_verbose_json_with_words(fake):
    out = transcribe(fake.url, audio_call(format="verbose_json", timestamps="word"))
    assert json.loads(out.body)["words"]


def test_translation_uses_its_route_without_a_language(fake):
    transcribe(fake.url, audio_call(format="json", translate=True, language="de"))
    req = fake.last_request
    assert req.path == "/v1/audio/translations" and "language" not in req.form


def test_the_80_mb_cap_is_declared_for_long_recordings(fake):
    """Read by engine/chunks.py, which fits a longer file before any request."""
    assert TogetherProvider.upload_limit_bytes == UPLOAD_LIMIT_BYTES == 83_886_080


def test_check_lists_models(fake):
    async def go(p: TogetherProvider) -> Any:
        return await p.check(timeout=5)
    found = run(fake.url, go)
    assert found["key_accepted"] is True and fake.last_request.path == "/v1/models"
    assert run(fake.url, go, key="bad-key")["key_accepted"] is False


def test_base64_item_that_is_not_an_image_is_an_empty_result(fake):
    junk = {"id": "x", "model": SCHNELL, "object": "list",
            "data": [{"index": 0, "type": "b64_json", "b64_json": base64.b64encode(b"not an image").decode()}]}
    fake.inject(Fault(status=200, body=junk), route="/images/generations")
    with pytest.raises(errors.EmptyResultError):
        generate(fake.url, image())
