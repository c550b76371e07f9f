"""ReplicateProvider against the loopback FakeReplicate over real HTTP: request shapes, the
Prefer-wait / poll / cancel flow, output parsing and error mapping. Waiting uses a FakeClock."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import wave
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from aigw import errors
from aigw.clock import FakeClock
from aigw.providers.replicate import ReplicateProvider
from aigw.settings.model import ProviderSettings
from aigw.types import AudioUpload, ImageCall, TranscribeCall
from tests.fakes._server import Fault
from tests.fakes.replicate import FLUX, SDXL_VERSION, WHISPER_VERSION, FakeReplicate

SDXL_ID = f"stability-ai/sdxl:{SDXL_VERSION}"
WHISPER_ID = f"openai/whisper:{WHISPER_VERSION}"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.delenv("REPLICATE_POLL_INTERVAL", raising=False)  # the SDK's knob, honoured by the provider
    with FakeReplicate() as server:
        yield server
    assert not server.errors, server.errors


class Harness:
    """A provider wired to a fake, recording the jobs it reports."""

    def __init__(self, fake: FakeReplicate, token: str = "r8_test") -> None:
        self.fake, self.token = fake, token
        self.clock = FakeClock()
        self.jobs: list[tuple[str, str, dict[str, Any]]] = []

    def run(self, fn, *args: Any, **kwargs: Any) -> Any:
        async def go() -> Any:
            async with httpx.AsyncClient() as client:
                provider = ReplicateProvider("replicate", ProviderSettings(api_key=self.token, base_url=self.fake.url),
                                             client, clock=self.clock)
                provider.on_job = lambda job_id, status, details: self.jobs.append((job_id, status, details))
                return await fn(provider, *args, **kwargs)
        return asyncio.run(go())

    def planner(self) -> ReplicateProvider:
        """As the service builds it for prepare_*: no client, sends nothing."""
        return ReplicateProvider("replicate", ProviderSettings(api_key=self.token, base_url=self.fake.url), None)

    def generate(self, call: ImageCall, timeout: float = 60.0) -> Any:
        async def go(p: ReplicateProvider) -> Any:
            prepared, _ = p.prepare_image(call)
            return await p.generate(prepared, timeout=timeout)
        return self.run(go)

    def transcribe(self, call: TranscribeCall, timeout: float = 60.0) -> Any:
        async def go(p: ReplicateProvider) -> Any:
            prepared, _ = p.prepare_transcribe(call)
            return await p.transcribe(prepared, timeout=timeout)
        return self.run(go)


def image(prompt: str = "a red fox", model: str = FLUX, **kw: Any) -> ImageCall:
    return ImageCall(provider_model=model, prompt=prompt, **kw)


def wav(path: Path, seconds: float, rate: int = 16000) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x01\x00" * int(seconds * rate))
    return path


def audio(path: Path, fmt: str = "text", **kw: Any) -> TranscribeCall:
    with wave.open(str(path)) as w:
        duration = w.getnframes() / w.getframerate()
    upload = AudioUpload(path=path, filename=path.name, content_type="audio/wav", size_bytes=path.stat().st_size,
                         duration_s=duration)
    return TranscribeCall(provider_model=WHISPER_ID, audio=upload, format=fmt, **kw)


def creates(fake: FakeReplicate) -> list[Any]:
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith("/predictions")]


# ---- request shapes ---------------------------------------------------------------------------


def test_flux_goes_to_the_official_model_route_without_a_version(fake):
    h = Harness(fake)
    result = h.generate(image(size="512x512", n=2, seed=7, format="jpeg", steps=3))
    req = creates(fake)[0]
    assert req.path == "/v1/models/black-forest-labs/flux-schnell/predictions"
    assert req.headers["authorization"] == "Bearer r8_test"
    assert req.json == {"input": {"prompt": "a red fox", "aspect_ratio": "1:1", "megapixels": "0.25", "num_outputs": 2,
                                  "num_inference_steps": 3, "seed": 7, "go_fast": False, "output_format": "jpg"}}
    assert len(result.images) == 2
    for blob in result.images:
        with Image.open(io.BytesIO(blob.data)) as img:
            assert (img.format, img.size, blob.ext) == ("JPEG", (512, 512), "jpeg")


def test_sdxl_goes_to_the_version_route_with_the_bare_version(fake):
    h = Harness(fake)
    result = h.generate(image(model=SDXL_ID, size="1152x896", negative_prompt="blur", steps=30, guidance=6.5, seed=3))
    req = creates(fake)[0]
    assert req.path == "/v1/predictions"
    assert req.json == {"version": SDXL_VERSION, "input": {
        "prompt": "a red fox", "width": 1152, "height": 896, "num_outputs": 1, "negative_prompt": "blur",
        "num_inference_steps": 30, "guidance_scale": 6.5, "seed": 3}}
    with Image.open(io.BytesIO(result.images[0].data)) as img:
        assert (img.format, img.size) == ("PNG", (1152, 896))


@pytest.mark.parametrize(("timeout", "prefer"), [(300.0, "wait=60"), (10.0, "wait=9"), (2.5, "wait=1"), (1.0, None)])
def test_prefer_wait_stays_within_60_s_and_under_the_attempt_timeout(fake, timeout, prefer):
    Harness(fake).generate(image(), timeout=timeout)
    assert creates(fake)[0].headers.get("prefer") == prefer


@pytest.mark.parametrize(("call", "sent", "warning"), [
    (image(size="1024x576"), {"aspect_ratio": "16:9", "megapixels": "1"}, "16:9, megapixels 1 (1344x768)"),
    (image(aspect_ratio="7:5"), {"aspect_ratio": "3:2"}, "does not offer aspect ratio 7:5; using 3:2"),
    (image(steps=20), {"num_inference_steps": 4}, "takes 1 to 4 steps; using 4"),
    (image(n=6), {"num_outputs": 4}, "1 to 4 images per request; asking for 4"),
    (image(guidance=3.5), {}, "black-forest-labs/flux-schnell does not take --guidance; not sent"),
    (image(negative_prompt="blur"), {}, "does not take --negative-prompt; not sent"),
    (image(model=SDXL_ID, size="1001x1001"), {"width": 1000, "height": 1000}, "multiples of 8; 1001x1001 -> 1000x1000"),
    (image(model=SDXL_ID, aspect_ratio="16:9"), {"width": 1344, "height": 768}, "aspect ratio 16:9 -> 1344x768"),
    (image(model=SDXL_ID, steps=900, guidance=80.0), {"num_inference_steps": 500, "guidance_scale": 50.0}, "guidance 1 to 50"),
    (image(model=SDXL_ID, format="webp"), {}, "returns PNG only; saving PNG, not webp"),
])
def test_values_a_model_cannot_take_become_the_nearest_with_a_warning(fake, call, sent, warning):
    h = Harness(fake)
    prepared, notes = h.planner().prepare_image(call)
    assert any(warning in n for n in notes), notes
    result = h.run(lambda p: p.generate(prepared, timeout=30))
    body = creates(fake)[0].json["input"]
    assert body.items() >= sent.items()
    assert "guidance_scale" not in body if call.provider_model == FLUX else True
    assert "negative_prompt" not in body if call.provider_model == FLUX else True
    assert result.images


def test_exact_sizes_send_no_warning(fake):
    _, notes = Harness(fake).planner().prepare_image(image(size="1024x1024", format="png"))
    assert notes == []


# ---- the prediction flow ----------------------------------------------------------------------


def test_terminal_answer_to_prefer_wait_needs_no_poll_and_reports_the_job_first(fake):
    h = Harness(fake)
    result = h.generate(image())
    assert fake.count("/v1/predictions/" + fake.job_ids[0]) == 0
    assert [(s) for _, s, _ in h.jobs] == ["submitted", "completed"]
    job_id, _, details = h.jobs[0]
    assert job_id == fake.job_ids[0] and details["status_url"].endswith(f"/v1/predictions/{job_id}")
    assert details["cancel_url"].endswith("/cancel")
    assert result.usage is not None and result.usage.gpu_seconds == pytest.approx(1.25)


def test_processing_with_output_is_taken_as_done(fake):
    fake.wait_outcome = "processing"
    result = Harness(fake).generate(image())
    assert result.images and fake.count("/v1/predictions/" + fake.job_ids[0]) == 0


def test_starting_after_the_wait_falls_back_to_polling_every_half_second(fake):
    fake.wait_outcome, fake.polls_to_finish = "starting", 3
    h = Harness(fake)
    result = h.generate(image())
    assert result.images
    assert fake.count("/v1/predictions/" + fake.job_ids[0]) == 3
    assert h.clock.slept == [0.5, 0.5]
    assert [s for _, s, _ in h.jobs] == ["submitted", "completed"]


def test_a_prediction_that_never_finishes_is_cancelled_at_the_timeout(fake):
    fake.never_finish = True
    h = Harness(fake)
    with pytest.raises(errors.RetryableError, match="did not finish within 5 s"):
        h.generate(image(), timeout=5.0)
    assert fake.cancelled == fake.job_ids  # exactly one cancel, for the one prediction
    assert fake.predictions[fake.job_ids[0]].status == "canceled"
    assert [s for _, s, _ in h.jobs] == ["submitted", "cancelled"]


def test_an_interrupt_while_polling_cancels_the_prediction(fake):
    fake.never_finish = True
    h = Harness(fake)

    async def go(p: ReplicateProvider) -> None:
        task = asyncio.create_task(p.generate(image(), timeout=10_000))
        while fake.count() < 3:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    h.run(go)
    assert fake.cancelled == fake.job_ids
    assert h.jobs[-1][1] == "cancelled"


def test_transient_poll_failures_do_not_abandon_a_running_prediction(fake):
    fake.wait_outcome, fake.polls_to_finish = "starting", 2
    h = Harness(fake)

    def fail_polls(job_id: str, status: str, details: dict[str, Any]) -> None:
        h.jobs.append((job_id, status, details))
        if status == "submitted":
            fake.inject(Fault.http(503), route=f"/v1/predictions/{job_id}", times=2)
            fake.inject(Fault.http(429, retry_after="3"), route=f"/v1/predictions/{job_id}", times=1)

    async def go(p: ReplicateProvider) -> Any:
        p.on_job = fail_polls
        return await p.generate(image(), timeout=60)

    assert h.run(go).images
    polls = fake.requests_to(f"/v1/predictions/{fake.job_ids[0]}")
    assert [r.status for r in polls] == [503, 503, 429, 200, 200]
    assert 3 in h.clock.slept  # the poll's Retry-After was honoured
    assert fake.cancelled == [] and [s for _, s, _ in h.jobs] == ["submitted", "completed"]


def test_persistent_poll_failures_give_up_and_cancel(fake):
    fake.wait_outcome = "starting"
    h = Harness(fake)

    def fail_polls(job_id: str, status: str, details: dict[str, Any]) -> None:
        h.jobs.append((job_id, status, details))
        if status == "submitted":
            fake.inject(Fault.http(503), route=f"/v1/predictions/{job_id}", times=None)

    async def go(p: ReplicateProvider) -> Any:
        p.on_job = fail_polls
        return await p.generate(image(), timeout=600)

    with pytest.raises(errors.RetryableError, match="503"):
        h.run(go)
    assert fake.cancelled == fake.job_ids and h.jobs[-1][1] == "cancelled"


def test_failed_prediction_with_safety_wording_is_a_refusal(fake):
    h = Harness(fake)
    with pytest.raises(errors.ContentRefusedError, match="NSFW content"):
        h.generate(image("nsfw please"))
    assert [s for _, s, _ in h.jobs] == ["submitted", "failed"]


def test_replicates_own_sensitive_flag_is_a_refusal(fake):
    fake.fail_next("The input or output was flagged as sensitive. Please try again with different inputs. (E005)")
    with pytest.raises(errors.ContentRefusedError, match="E005"):
        Harness(fake).generate(image())


def test_other_failed_predictions_are_retryable(fake):
    fake.fail_next("CUDA out of memory. Tried to allocate 2.00 GiB")
    with pytest.raises(errors.RetryableError, match="CUDA out of memory") as info:
        Harness(fake).generate(image())
    assert not isinstance(info.value, errors.ContentRefusedError)


def test_a_prediction_canceled_elsewhere_is_retryable(fake):
    fake.wait_outcome, fake.polls_to_finish = "starting", 99
    h = Harness(fake)

    def cancel_on_submit(job_id: str, status: str, details: dict[str, Any]) -> None:
        h.jobs.append((job_id, status, details))
        if status == "submitted":
            httpx.post(details["cancel_url"], headers={"Authorization": "Bearer other"})

    async def go(p: ReplicateProvider) -> Any:
        p.on_job = cancel_on_submit
        return await p.generate(image(), timeout=60)

    with pytest.raises(errors.RetryableError, match="canceled"):
        h.run(go)
    assert h.jobs[-1][1] == "cancelled"


def test_removed_output_is_an_empty_result_naming_data_removed(fake):
    fake.wait_outcome = "starting"
    h = Harness(fake)

    def removed_on_poll(job_id: str, status: str, details: dict[str, Any]) -> None:
        if status == "submitted":
            body = {"id": job_id, "status": "succeeded", "output": None, "data_removed": True, "error": None,
                    "urls": {}, "metrics": {"predict_time": 1.0}}
            fake.inject(Fault(status=200, body=body), route=f"/v1/predictions/{job_id}")

    async def go(p: ReplicateProvider) -> Any:
        p.on_job = removed_on_poll
        return await p.generate(image(), timeout=60)

    with pytest.raises(errors.EmptyResultError, match="data_removed"):
        h.run(go)


def test_expired_output_files_fail_the_download(fake):
    fake.wait_outcome = "processing"
    h = Harness(fake)

    def expire_on_completion(job_id: str, status: str, details: dict[str, Any]) -> None:
        if status == "completed":
            fake.expire()

    async def go(p: ReplicateProvider) -> Any:
        p.on_job = expire_on_completion
        return await p.generate(image(), timeout=60)

    with pytest.raises(errors.RetryableError, match="download failed: HTTP 404"):
        h.run(go)


# ---- error mapping ----------------------------------------------------------------------------


def test_bad_token_is_an_auth_error_naming_the_variable(fake):
    with pytest.raises(errors.AuthError, match="Unauthenticated") as info:
        Harness(fake, token="bad-token").generate(image())
    assert "REPLICATE_API_TOKEN" in (info.value.hint or "")


def test_no_credit_is_quota_exceeded(fake):
    fake.inject(Fault.http(402), route="/predictions")
    with pytest.raises(errors.QuotaExceededError, match="insufficient credit"):
        Harness(fake).generate(image())


def test_community_model_without_version_is_model_unavailable(fake):
    with pytest.raises(errors.ModelUnavailableError, match="404") as info:
        Harness(fake).generate(image(model="stability-ai/sdxl"))
    assert "OWNER/NAME:VERSION" in (info.value.hint or "")


def test_unknown_version_is_model_unavailable_not_a_bad_request(fake):
    with pytest.raises(errors.ModelUnavailableError, match="Invalid version or not permitted"):
        Harness(fake).generate(image(model="stability-ai/sdxl:" + "0" * 64))


def test_input_validation_failure_is_a_bad_request_with_title_and_detail(fake):
    fake.inject(Fault(status=422, body={"title": "Input validation failed", "status": 422,
                                        "detail": "- input.num_outputs: Must be less than or equal to 4"}))
    with pytest.raises(errors.BadRequestError, match="Input validation failed: - input.num_outputs"):
        Harness(fake).generate(image())


@pytest.mark.parametrize(("header", "expected"), [
    ("7", 7.0),
    ("iso+12", 12.0),
    ("iso+600", 60.0),  # ISO dates are capped at 60 s, as the SDK does
    ("http+5", 5.0),
])
def test_rate_limit_reads_retry_after_in_seconds_or_dates(fake, header, expected):
    h = Harness(fake)
    kind, _, secs = header.partition("+")
    when = h.clock.now() + timedelta(seconds=float(secs or 0))
    value = {"iso": when.isoformat(), "http": format_datetime(when, usegmt=True)}.get(kind, header)
    fake.inject(Fault.http(429, retry_after=value), route="/predictions")
    with pytest.raises(errors.RateLimitedError, match="throttled") as info:
        h.generate(image())
    assert info.value.retry_after == pytest.approx(expected, abs=1.0)


def test_server_errors_on_create_are_retryable_and_nothing_is_left_running(fake):
    fake.inject(Fault.http(503), route="/predictions")
    with pytest.raises(errors.RetryableError, match="503"):
        Harness(fake).generate(image())
    assert fake.job_ids == []


def test_malformed_create_answer_is_retryable(fake):
    fake.inject(Fault(malformed=True), route="/predictions")
    with pytest.raises(errors.RetryableError, match="malformed JSON"):
        Harness(fake).generate(image())


def test_succeeded_with_no_output_is_an_empty_result(fake):
    fake.inject(Fault(empty=True), route="/predictions")
    with pytest.raises(errors.EmptyResultError, match="no output"):
        Harness(fake).generate(image())


# ---- transcription ----------------------------------------------------------------------------


def test_small_audio_goes_as_a_data_url_with_whisper_inputs(fake):
    path = EXAMPLES / "hello.wav"
    h = Harness(fake)
    result = h.transcribe(audio(path, "json", language="en", prompt="gateway", temperature=0.2))
    req = creates(fake)[0]
    assert req.path == "/v1/predictions" and req.json["version"] == WHISPER_VERSION
    sent = req.json["input"]
    assert sent["audio"].startswith("data:audio/wav;base64,")
    assert base64.b64decode(sent["audio"].split(",", 1)[1]) == path.read_bytes()
    assert {k: v for k, v in sent.items() if k != "audio"} == {
        "transcription": "plain text", "language": "en", "initial_prompt": "gateway", "temperature": 0.2}
    assert json.loads(result.body)["text"] == "Welcome to the gateway. Every result is kept on disk."
    assert result.language == "english" and result.usage.gpu_seconds == pytest.approx(1.25)
    assert fake.count("/v1/files") == 0


def test_large_audio_is_uploaded_and_its_url_passed(fake, tmp_path):
    path = wav(tmp_path / "long.wav", 10.0)  # 320 KB: over the 256 KB data-URL limit
    result = Harness(fake).transcribe(audio(path, "text"))
    upload = fake.requests_to("/v1/files")[0]
    part = upload.files["content"]
    assert (part.filename, part.content_type, part.data) == ("long.wav", "audio/wav", path.read_bytes())
    file_url = fake.files[next(iter(fake.files))]["urls"]["get"]
    assert creates(fake)[0].json["input"]["audio"] == file_url
    assert result.text.startswith("Welcome to the gateway.")


@pytest.mark.parametrize(("fmt", "wire", "check"), [
    ("text", "plain text", lambda body: body == "Welcome to the gateway. Every result is kept on disk."),
    ("srt", "srt", lambda body: body.startswith("1\n00:00:00,000 --> ") and "Every result" in body),
    ("vtt", "vtt", lambda body: body.startswith("WEBVTT") and "00:00:00.000 -->" in body),
    ("verbose_json", "plain text", lambda body: len(json.loads(body)["segments"]) == 2
     and json.loads(body)["language"] == "english"),
])
def test_each_format_is_rendered_from_the_segments(fake, fmt, wire, check):
    result = Harness(fake).transcribe(audio(EXAMPLES / "hello.wav", fmt))
    assert creates(fake)[0].json["input"]["transcription"] == wire
    assert check(result.body), result.body
    assert result.text == "Welcome to the gateway. Every result is kept on disk."


def test_translate_returns_the_translation_as_text(fake):
    result = Harness(fake).transcribe(audio(EXAMPLES / "hello.wav", "text", translate=True))
    assert creates(fake)[0].json["input"]["translate"] is True
    assert result.text == fake.translation


def test_translate_into_subtitles_is_refused_before_any_request(fake):
    with pytest.raises(errors.UsageError, match="translation as plain text only"):
        Harness(fake).transcribe(audio(EXAMPLES / "hello.wav", "srt", translate=True))
    assert fake.count() == 0


def test_word_timestamps_are_warned_about(fake):
    call = audio(EXAMPLES / "hello.wav", "verbose_json", timestamps="word")
    _, notes = Harness(fake).planner().prepare_transcribe(call)
    assert notes == ["replicate: openai/whisper gives segment timestamps only; word timestamps are not returned"]


def test_empty_transcript_is_an_empty_result(fake):
    fake.transcript = ""
    with pytest.raises(errors.EmptyResultError, match="empty transcript"):
        Harness(fake).transcribe(audio(EXAMPLES / "hello.wav", "text"))


# ---- check ------------------------------------------------------------------------------------


def test_check_reads_the_account(fake):
    out = Harness(fake).run(lambda p: p.check(timeout=5))
    assert out["reachable"] is True and out["key_accepted"] is True and "aigw-test" in out["detail"]
    assert [r.path for r in fake.requests] == ["/v1/account"]


def test_check_with_a_bad_token_says_the_key_was_refused(fake):
    out = Harness(fake, token="bad-token").run(lambda p: p.check(timeout=5))
    assert out["reachable"] is True and out["key_accepted"] is False


def test_check_of_a_closed_port_is_unreachable():
    with FakeReplicate() as fake:
        url = fake.url
    h = Harness(fake)
    h.fake = type("Closed", (), {"url": url})()  # type: ignore[assignment]
    out = h.run(lambda p: p.check(timeout=2))
    assert out["reachable"] is False and out["key_accepted"] is None
