"""StabilityProvider against the loopback FakeStability over real HTTP: the multipart request shape,
parameter mapping with warnings, one request per image, CONTENT_FILTERED at 200, and error bodies."""

from __future__ import annotations

import asyncio
import base64
import io
from typing import Any

import httpx
import pytest
from PIL import Image

from aigw import errors
from aigw.clock import FakeClock
from aigw.providers.stability import StabilityProvider
from aigw.settings.model import ProviderSettings
from aigw.types import ImageCall
from tests.fakes._server import Fault
from tests.fakes.stability import FakeStability, error_body


@pytest.fixture
def fake():
    with FakeStability() as server:
        yield server
    assert not server.errors, server.errors


def provider(client: httpx.AsyncClient | None, base_url: str, key: str = "sk-test") -> StabilityProvider:
    return StabilityProvider("stability", ProviderSettings(api_key=key, base_url=base_url), client, clock=FakeClock())


def run(base_url: str, fn, key: str = "sk-test", transport: httpx.AsyncBaseTransport | None = None) -> Any:
    async def go() -> Any:
        async with httpx.AsyncClient(transport=transport) as client:
            return await fn(provider(client, base_url, key))
    return asyncio.run(go())


def generate(base_url: str, call: ImageCall, **kw: Any) -> Any:
    async def go(p: StabilityProvider) -> Any:
        prepared, _ = p.prepare_image(call)
        return await p.generate(prepared, timeout=30)
    return run(base_url, go, **kw)


def prepare(call: ImageCall) -> tuple[ImageCall, list[str]]:
    return provider(None, "http://127.0.0.1:9").prepare_image(call)


def image(model: str = "core", prompt: str = "a red fox", **kw: Any) -> ImageCall:
    return ImageCall(provider_model=model, prompt=prompt, **kw)


# ---- request shape ---------------------------------------------------------------------------


def test_core_is_multipart_with_no_file_bearer_auth_and_accept_image(fake):
    out = generate(fake.url, image("core", seed=7, negative_prompt="blur", style="anime", format="webp",
                                   aspect_ratio="16:9"))
    req = fake.last_request
    assert req.path == "/v2beta/stable-image/generate/core"
    assert req.content_type.startswith("multipart/form-data")
    assert req.file_list == []  # every field a plain form part; no dummy file
    assert req.headers["authorization"] == "Bearer sk-test" and req.headers["accept"] == "image/*"
    assert req.form == {"prompt": "a red fox", "aspect_ratio": "16:9", "output_format": "webp", "seed": "7",
                        "negative_prompt": "blur", "style_preset": "anime"}
    with Image.open(io.BytesIO(out.images[0].data)) as img:
        assert img.format == "WEBP" and img.size == (1344, 768)
    assert out.images[0].ext == "webp" and out.http_status == 200 and out.bytes_up > 0


def test_sd3_sends_the_model_and_cfg_scale(fake):
    generate(fake.url, image("sd3.5-large", guidance=4.5))
    req = fake.last_request
    assert req.path == "/v2beta/stable-image/generate/sd3"
    assert req.form["model"] == "sd3.5-large" and req.form["cfg_scale"] == "4.5"


def test_ultra_has_no_model_field(fake):
    generate(fake.url, image("ultra"))
    req = fake.last_request
    assert req.path == "/v2beta/stable-image/generate/ultra" and "model" not in req.form


# ---- mapping aigw's vocabulary ------------------------------------------------------------


def test_a_size_becomes_the_nearest_ratio_with_a_warning():
    call, notes = prepare(image(size="1920x1080"))
    assert call.aspect_ratio == "16:9" and call.size == "1344x768"
    assert any("1920x1080" in n and "16:9" in n for n in notes)


def test_a_listed_size_and_a_supported_ratio_pass_without_warnings():
    assert prepare(image(size="832x1216"))[0].aspect_ratio == "2:3"
    assert prepare(image(size="832x1216"))[1] == []
    call, notes = prepare(image(aspect_ratio="21:9"))
    assert (call.aspect_ratio, call.size, notes) == ("21:9", "1536x640", [])


def test_an_unsupported_ratio_becomes_the_nearest_with_a_warning():
    call, notes = prepare(image(aspect_ratio="4:3"))
    assert call.aspect_ratio == "5:4" and any("4:3" in n and "5:4" in n for n in notes)


def test_a_prepared_call_maps_onto_itself_without_new_warnings():
    call, _ = prepare(image("sd3.5-large-turbo", size="1000x1000", negative_prompt="x", format="webp", guidance=30))
    again, notes = prepare(call)
    assert again == call
    assert notes == [n for n in notes if "negative_prompt" in n or "guidance" in n]


@pytest.mark.parametrize(("call", "needle"), [
    (image("sd3.5-large-turbo", negative_prompt="blur"), "sd3.5-large-turbo does not take --negative-prompt; not sent"),
    (image("sd3.5-medium", format="webp"), "does not return webp; using png"),
    (image("core", steps=30), "does not take --steps; not sent"),
    (image("core", quality="high"), "does not take --quality; not sent"),
    (image("core", guidance=5.0), "core does not take --guidance; not sent"),
    (image("ultra", style="anime"), "ultra does not take --style; not sent"),
    (image("core", style="vivid"), "style vivid is not one of core's presets; not sent"),
    (image("sd3.5-large", guidance=12.0), "cfg_scale) 1 to 10; using 10"),
])
def test_what_cannot_be_honoured_is_warned_about(call, needle):
    _, notes = prepare(call)
    assert any(needle in n for n in notes), notes


def test_warned_parameters_are_not_sent(fake):
    generate(fake.url, image("sd3.5-large-turbo", negative_prompt="blur", steps=4, format="webp"))
    form = fake.last_request.form
    assert "negative_prompt" not in form and "steps" not in form and form["output_format"] == "png"


def test_a_seed_out_of_range_is_a_usage_error():
    with pytest.raises(errors.UsageError, match="4294967294"):
        prepare(image(seed=4_294_967_295))


def test_an_unknown_model_is_a_usage_error():
    with pytest.raises(errors.UsageError):
        prepare(image("sdxl"))


# ---- one image per request ---------------------------------------------------------------


def test_n_images_are_n_requests_with_consecutive_seeds(fake):
    call, notes = prepare(image(n=3, seed=41))
    assert any("3 requests" in n for n in notes)
    out = generate(fake.url, call)
    assert len(out.images) == 3
    sent = sorted(r.form["seed"] for r in fake.requests_to("/generate/core"))
    assert sent == ["41", "42", "43"]


def test_n_images_without_a_seed_leave_the_seed_out(fake):
    generate(fake.url, image(n=2))
    assert [("seed" in r.form) for r in fake.requests_to("/generate/core")] == [False, False]


# ---- results and refusals ------------------------------------------------------------------


def test_content_filtered_at_200_is_a_refusal(fake):
    with pytest.raises(errors.ContentRefusedError) as info:
        generate(fake.url, image(prompt="something nsfw"))
    assert info.value.status == 200 and info.value.code == "CONTENT_FILTERED"
    assert fake.last_request.status == 200


def test_one_filtered_image_of_two_refuses_the_whole_call(fake):
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        reason = "CONTENT_FILTERED" if calls["n"] == 2 else "SUCCESS"
        return httpx.Response(200, content=b"\x89PNG\r\n\x1a\nrest", headers={"content-type": "image/png",
                                                                              "finish-reason": reason})
    with pytest.raises(errors.ContentRefusedError):
        generate("http://stability.test", image(n=2), transport=httpx.MockTransport(handler))


def test_a_json_answer_is_read_too():
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 20

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"image": base64.b64encode(png).decode(), "finish_reason": "SUCCESS",
                                         "seed": 5})
    out = generate("http://stability.test", image(), transport=httpx.MockTransport(handler))
    assert out.images[0].data == png


def test_a_json_content_filtered_answer_is_a_refusal():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"image": "", "finish_reason": "CONTENT_FILTERED", "seed": 5})
    with pytest.raises(errors.ContentRefusedError):
        generate("http://stability.test", image(), transport=httpx.MockTransport(handler))


def test_an_empty_200_is_an_empty_result(fake):
    fake.inject(Fault(empty=True))
    with pytest.raises(errors.EmptyResultError):
        generate(fake.url, image())


# ---- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "cls"), [
    (400, errors.BadRequestError), (401, errors.AuthError), (402, errors.QuotaExceededError),
    (403, errors.ContentRefusedError), (413, errors.BadRequestError), (422, errors.BadRequestError),
    (429, errors.RateLimitedError), (500, errors.RetryableError),
])
def test_error_bodies_map_to_aigw_errors(fake, status, cls):
    fake.inject(Fault(status=status))
    with pytest.raises(errors.ProviderError) as info:
        generate(fake.url, image())
    assert type(info.value) is cls and info.value.status == status


def test_a_400_names_the_field_stability_rejected(fake):
    fake.inject(Fault(status=400, body=error_body("bad_request", "aspect_ratio: must be one of 1:1")))
    with pytest.raises(errors.BadRequestError, match="aspect_ratio: must be one of"):
        generate(fake.url, image())


def test_a_flagged_prompt_is_a_403_refusal(fake):
    with pytest.raises(errors.ContentRefusedError) as info:
        generate(fake.url, image(prompt="something forbidden"))
    assert info.value.status == 403 and info.value.code == "content_moderation"


def test_a_bad_key_is_an_auth_error_naming_the_variable(fake):
    with pytest.raises(errors.AuthError) as info:
        generate(fake.url, image(), key="bad-key")
    assert "STABILITY_API_KEY" in (info.value.hint or "")


def test_out_of_credits_is_quota(fake):
    fake.credits = 1.0
    with pytest.raises(errors.QuotaExceededError):
        generate(fake.url, image("ultra"))


def test_the_rate_limit_carries_the_time_out_from_the_message():
    with FakeStability(rate_limit=1) as fake:
        generate(fake.url, image())
        with pytest.raises(errors.RateLimitedError) as info:
            generate(fake.url, image())
    assert info.value.retry_after == 60.0


# ---- check -------------------------------------------------------------------------------------


def test_check_reads_the_account(fake):
    found = run(fake.url, lambda p: p.check(timeout=5))
    assert found["reachable"] is True and found["key_accepted"] is True
    req = fake.last_request
    assert (req.method, req.path) == ("GET", "/v1/user/account") and req.headers["authorization"] == "Bearer sk-test"


def test_check_with_a_bad_key(fake):
    assert run(fake.url, lambda p: p.check(timeout=5), key="bad-key")["key_accepted"] is False


def test_check_when_nothing_answers():
    found = run("http://127.0.0.1:9", lambda p: p.check(timeout=2))
    assert found["reachable"] is False
