"""FalProvider against the loopback FakeFal over real HTTP: request shapes, the queue flow (submit,
status, result, cancel), storage uploads, output parsing and error mapping. Waiting uses a FakeClock."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import math
import struct
import wave
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from aigw.providers._jobs import POLL_ERRORS_TOLERATED
from aigw import errors
from aigw.clock import FakeClock
from aigw.providers import fal as fal_module
from aigw.providers.fal import DATA_URI_MAX_BYTES, FalProvider
from aigw.settings.model import ProviderSettings
from aigw.types import AudioUpload, ImageCall, TranscribeCall
from tests.fakes._server import Fault
from tests.fakes.fal import FakeFal


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.delenv("FAL_REST_HOST", raising=False)
    with FakeFal() as server:
        yield server
    assert not server.errors, server.errors


class Harness:
    """A provider wired to a fake, recording the jobs it reports."""

    def __init__(self, fake: FakeFal, key: str = "test-key") -> None:
        self.fake, self.key = fake, key
        self.clock = FakeClock()
        self.jobs: list[tuple[str, str, dict[str, Any]]] = []

    def provider(self, client: httpx.AsyncClient | None) -> FalProvider:
        provider = FalProvider("fal", ProviderSettings(api_key=self.key, base_url=self.fake.url), client, clock=self.clock)
        provider.on_job = lambda job_id, status, details: self.jobs.append((job_id, status, details))
        return provider

    def run(self, fn, *args: Any, **kwargs: Any) -> Any:
        async def go() -> Any:
            async with httpx.AsyncClient() as client:
                return await fn(self.provider(client), *args, **kwargs)
        return asyncio.run(go())

    def generate(self, timeout: float = 60.0, **call: Any) -> Any:
        prepared, _ = self.provider(None).prepare_image(image_call(**call))
        return self.run(lambda p: p.generate(prepared, timeout=timeout))

    def transcribe(self, upload: AudioUpload, timeout: float = 60.0, **call: Any) -> Any:
        prepared, _ = self.provider(None).prepare_transcribe(TranscribeCall(audio=upload, **call))
        return self.run(lambda p: p.transcribe(prepared, timeout=timeout))

    def statuses(self) -> list[str]:
        return [status for _, status, _ in self.jobs]


@pytest.fixture
def h(fake) -> Harness:
    return Harness(fake)


def image_call(**kw: Any) -> ImageCall:
    return ImageCall(**{"provider_model": "fal-ai/flux/schnell", "prompt": "a red apple", **kw})


def make_wav(path: Path, seconds: float, rate: int = 16000) -> AudioUpload:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = int(seconds * rate)
        w.writeframes(b"".join(struct.pack("<h", int(3000 * math.sin(i / 8))) for i in range(min(frames, 800)))
                      + b"\x00\x00" * max(frames - 800, 0))
    return AudioUpload(path=path, filename=path.name, content_type="audio/wav", size_bytes=path.stat().st_size,
                       duration_s=seconds)


def submits(fake: FakeFal, model: str = "fal-ai/flux/schnell"):
    return fake.requests_to("/" + model, method="POST")


# ---- images: request shape -------------------------------------------------------------------


def test_submit_sends_the_model_input_as_the_body_with_key_auth(h, fake):
    out = h.generate(size="1024x768", n=2, seed=7, steps=4, format="png")
    req = submits(fake)[-1]
    assert req.headers["authorization"] == "Key test-key"
    assert req.json == {"prompt": "a red apple", "image_size": {"width": 1024, "height": 768}, "num_images": 2,
                        "seed": 7, "num_inference_steps": 4, "output_format": "png"}
    assert req.headers["x-fal-request-timeout"] == "60"
    assert len(out.images) == 2 and all(i.ext == "png" for i in out.images)
    with Image.open(io.BytesIO(out.images[0].data)) as img:
        assert img.size == (1024, 768)
    # the CDN download carries no key
    downloads = [r for r in fake.requests if r.path.startswith("/files/")]
    assert len(downloads) == 2 and all("authorization" not in r.headers for r in downloads)


def test_status_result_and_urls_drop_the_model_sub_path(h, fake):
    h.generate()
    job = fake.job()
    assert job.model == "fal-ai/flux/schnell" and job.app == "fal-ai/flux"
    polled = fake.requests_to(f"/fal-ai/flux/requests/{job.id}/status")
    assert len(polled) == 2 and job.status_logs == ["0", "0"]  # IN_PROGRESS (202), then COMPLETED (200)
    assert [r.status for r in polled] == [202, 200]
    assert fake.requests_to(f"/fal-ai/flux/requests/{job.id}", method="GET")[-1].status == 200
    assert h.clock.slept[0] == pytest.approx(0.1)  # the SDK's poll interval


@pytest.mark.parametrize(("kw", "sent"), [
    ({}, "square_hd"),
    ({"size": "1024x1024"}, "square_hd"),
    ({"size": "512x512"}, "square"),
    ({"aspect_ratio": "16:9"}, {"width": 1024, "height": 576}),
    ({"aspect_ratio": "3:4"}, {"width": 768, "height": 1024}),
    ({"aspect_ratio": "21:9"}, {"width": 1024, "height": 432}),
])
def test_sizes_and_ratios_become_image_size(h, fake, kw, sent):
    h.generate(**kw)
    assert submits(fake)[-1].json["image_size"] == sent


def test_prepare_maps_the_vocabulary_with_a_warning_for_each_change(h):
    call, notes = h.provider(None).prepare_image(image_call(
        size="1000x1004", steps=20, guidance=3.0, format="webp", negative_prompt="blur", quality="high"))
    assert call.size == "1000x1008" and call.steps == 12 and call.format == "png"
    assert call.negative_prompt is None and call.quality is None
    text = "\n".join(notes)
    assert "size 1000x1004 is not a multiple of 8; using 1000x1008" in text
    assert "takes 1 to 12 steps; using 12" in text
    assert "ignores guidance" in text
    assert "not webp; using png" in text
    assert "fal-ai/flux/schnell does not take --negative-prompt; not sent" in text
    assert "does not take --quality; not sent" in text
    assert all(n.startswith("fal: ") for n in notes)
    # prepared once, the call maps with no further change (what generate sends is what was planned)
    _, again = h.provider(None).prepare_image(call.model_copy(update={"guidance": None}))
    assert again == []


def test_guidance_is_still_sent_to_schnell(h, fake):
    h.generate(guidance=2.5)
    assert submits(fake)[-1].json["guidance_scale"] == 2.5


def test_fast_sdxl_takes_format_and_negative_prompt(h, fake):
    h.generate(provider_model="fal-ai/fast-sdxl", format="jpeg", negative_prompt="blurry", steps=30, guidance=7.0,
               size="1152x896")
    body = submits(fake, "fal-ai/fast-sdxl")[-1].json
    assert body == {"prompt": "a red apple", "image_size": {"width": 1152, "height": 896}, "num_images": 1,
                    "num_inference_steps": 30, "guidance_scale": 7.0, "format": "jpeg", "negative_prompt": "blurry"}
    assert "output_format" not in body


def test_a_bad_model_id_is_a_usage_error_before_any_request(h, fake):
    with pytest.raises(errors.UsageError):
        h.provider(None).prepare_image(image_call(provider_model="schnell"))
    assert fake.count() == 0


# ---- the job record ----------------------------------------------------------------------------


def test_the_job_is_reported_before_the_first_poll_then_completed(h, fake):
    seen_at_first_poll: list[list[str]] = []
    fake.on_status = lambda rid: seen_at_first_poll.append(h.statuses()) if not seen_at_first_poll else None
    h.generate()
    rid = fake.job().id
    assert seen_at_first_poll == [["submitted"]]
    assert h.statuses() == ["submitted", "completed"]
    details = h.jobs[0][2]
    assert h.jobs[0][0] == rid and details["model"] == "fal-ai/flux/schnell"
    assert details["status_url"].endswith(f"/fal-ai/flux/requests/{rid}/status")
    assert details["cancel_url"].endswith(f"/fal-ai/flux/requests/{rid}/cancel")
    # the run log replaces a job's details on each update: the URLs go with every one of them
    assert h.jobs[-1][2]["cancel_url"] == details["cancel_url"]


def test_returned_urls_on_another_origin_are_kept_on_the_configured_one(h):
    provider = h.provider(None)
    urls = provider._job_urls({"status_url": "https://queue.fal.run/fal-ai/flux/requests/r1/status"},
                              "fal-ai/flux/dev", "r1")
    assert urls["status_url"] == f"{h.fake.url}/fal-ai/flux/requests/r1/status"
    assert urls["response_url"] == f"{h.fake.url}/fal-ai/flux/requests/r1"  # built like the SDK when absent
    assert urls["cancel_url"] == f"{h.fake.url}/fal-ai/flux/requests/r1/cancel"


# ---- failed, hung and interrupted jobs -----------------------------------------------------------


def test_a_runner_failure_is_retryable_and_reported_failed(h, fake):
    fake.fail_next_jobs(status=500, detail="Runner disconnected", error_type="runner_disconnected")
    with pytest.raises(errors.RetryableError) as info:
        h.generate()
    assert type(info.value) is errors.RetryableError
    assert "Runner disconnected" in info.value.message and info.value.status == 500
    assert h.statuses() == ["submitted", "failed"]
    assert fake.cancelled == []


def test_a_validation_failure_is_a_bad_request_naming_the_field(h, fake):
    with pytest.raises(errors.BadRequestError) as info:
        h.generate(provider_model="fal-ai/fast-sdxl", steps=80)  # fast-sdxl takes 1-50 in the fake
    assert info.value.status == 422 and "body.num_inference_steps" in info.value.message
    assert info.value.exit_code == 2
    assert h.statuses() == ["submitted", "failed"]


def test_a_completed_job_whose_result_still_answers_is_a_failure_when_it_carries_an_error(h, fake):
    fake.fail_next_jobs(status=200, detail="OOM", error_type="runner_error")
    # the fake answers the failure's status at response_url; 200 + error must not pass as a result
    with pytest.raises(errors.RetryableError, match="OOM"):
        h.generate()


def test_a_job_that_never_finishes_is_cancelled_at_the_timeout(h, fake):
    fake.hang_jobs = True
    with pytest.raises(errors.RetryableError, match="cancelled it"):
        h.generate(timeout=10.0)
    rid = fake.job().id
    assert fake.cancelled == [rid]
    assert len(fake.requests_to(f"/fal-ai/flux/requests/{rid}/cancel", method="PUT")) == 1
    assert h.statuses() == ["submitted", "cancelled"]
    assert max(h.clock.slept) <= 2.0  # polling backs off to 2 s at most


def test_an_interrupted_run_cancels_the_job(h, fake):
    fake.hang_jobs = True

    async def go() -> None:
        async with httpx.AsyncClient() as client:
            provider = h.provider(client)
            prepared, _ = provider.prepare_image(image_call())
            task = asyncio.create_task(provider.generate(prepared, timeout=1e9))
            while not fake.count("/status"):
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(go())
    assert fake.cancelled == [fake.job().id]
    assert h.statuses() == ["submitted", "cancelled"]


def test_transient_status_failures_are_tolerated(h, fake):
    fake.inject(Fault.http(503), route="/status", times=2)
    out = h.generate()
    assert len(out.images) == 1 and fake.count("/status") == 4


def test_a_vanished_job_gives_up_after_a_few_polls_and_cancels(h, fake):
    fake.inject(Fault(status=404, body={"detail": "Not Found"}), route="/status", times=None)
    with pytest.raises(errors.RetryableError, match="not found"):
        h.generate()
    assert fake.count("/status") == POLL_ERRORS_TOLERATED + 1
    assert fake.count("/cancel") == 1


def test_nsfw_flagged_images_are_a_refusal_and_not_downloaded(h, fake):
    fake.nsfw = True
    with pytest.raises(errors.ContentRefusedError, match="has_nsfw_concepts") as info:
        h.generate(n=2)
    assert info.value.exit_code == 5
    assert not [r for r in fake.requests if r.path.startswith("/files/")]


def test_an_empty_or_malformed_result_is_not_a_success(h, fake):
    fake.on_status = lambda rid: fake.inject(Fault(empty=True), route=f"/requests/{rid}") if not fake.pending_faults() else None
    with pytest.raises(errors.EmptyResultError, match="no images"):
        h.generate()
    fake.clear_faults()
    fake.on_status = lambda rid: fake.inject(Fault(malformed=True), route=f"/requests/{rid}", times=None) \
        if not fake.pending_faults() else None
    with pytest.raises(errors.RetryableError, match="malformed JSON"):
        h.generate()
    assert fake.count("/requests/" + fake.job().id) == fal_module.RESULT_TRIES  # fetched again, never resubmitted


def test_a_result_with_no_images_is_empty(h, fake):
    original = fake._images

    def no_images(*args: Any) -> dict[str, Any]:
        out = original(*args)
        return {**out, "images": [], "has_nsfw_concepts": []}

    fake._images = no_images  # type: ignore[method-assign]
    with pytest.raises(errors.EmptyResultError):
        h.generate()


# ---- HTTP errors ------------------------------------------------------------------------------


def test_a_wrong_key_is_an_auth_error_naming_fal_key(fake):
    h = Harness(fake, key="wrong")
    with pytest.raises(errors.AuthError) as info:
        h.generate()
    assert info.value.status == 401 and "FAL_KEY" in (info.value.hint or "")


def test_an_unknown_app_is_model_unavailable(h, fake):
    with pytest.raises(errors.ModelUnavailableError, match="not found"):
        h.generate(provider_model="fal-ai/nonexistent")


def test_a_locked_account_is_out_of_quota(h, fake):
    fake.inject(Fault(status=403, body={"detail": "User is locked. Reason: Exhausted balance. Top up your balance "
                                                  "at fal.ai/dashboard/billing"}), route="/fal-ai/flux/schnell")
    with pytest.raises(errors.QuotaExceededError, match="Exhausted balance"):
        h.generate()


def test_rate_limited_submit_carries_retry_after(h, fake):
    fake.inject(Fault.http(429, body={"detail": "Too many requests"}, retry_after="3"), route="/fal-ai/flux/schnell")
    with pytest.raises(errors.RateLimitedError) as info:
        h.generate()
    assert info.value.retry_after == 3.0


def test_a_content_policy_validation_item_is_a_refusal(h, fake):
    fake.fail_next_jobs(status=422, error_type="validation_error", detail=[
        {"loc": ["body", "prompt"], "msg": "The prompt was flagged", "type": "content_policy_violation"}])
    with pytest.raises(errors.ContentRefusedError, match="body.prompt: The prompt was flagged"):
        h.generate()


# ---- transcription -----------------------------------------------------------------------------


def test_a_small_file_goes_inline_to_wizper(h, fake, tmp_path):
    upload = make_wav(tmp_path / "talk.wav", 3.0)
    out = h.transcribe(upload, provider_model="fal-ai/wizper", format="json")
    body = submits(fake, "fal-ai/wizper")[-1].json
    assert body["audio_url"] == "data:audio/wav;base64," + base64.b64encode(upload.path.read_bytes()).decode()
    assert {k: v for k, v in body.items() if k != "audio_url"} == {"task": "transcribe", "language": None,
                                                                    "chunk_level": "segment"}
    assert out.text == fake.transcript and json.loads(out.body) == {"text": fake.transcript}
    assert out.language == "en" and out.duration_s == 3.0
    assert fake.uploads == {}


@pytest.mark.parametrize(("fmt", "check"), [
    ("srt", lambda b: b.startswith("1\n00:00:00,000 --> ") and "Every result is kept on disk." in b),
    ("vtt", lambda b: b.startswith("WEBVTT") and "00:00:00.000 -->" in b),
    ("verbose_json", lambda b: len(json.loads(b)["segments"]) == 2 and json.loads(b)["language"] == "english"),
    ("text", lambda b: b == "Welcome to the gateway. Every result is kept on disk."),
])
def test_subtitles_and_verbose_json_are_rendered_from_chunks(h, fake, tmp_path, fmt, check):
    out = h.transcribe(make_wav(tmp_path / "talk.wav", 4.0), provider_model="fal-ai/wizper", format=fmt)
    assert out.format == fmt and check(out.body), out.body


def test_wizper_warns_for_what_it_lacks(h, tmp_path):
    upload = make_wav(tmp_path / "talk.wav", 1.0)
    call, notes = h.provider(None).prepare_transcribe(TranscribeCall(
        provider_model="fal-ai/wizper", audio=upload, prompt="names", temperature=0.2, timestamps="word",
        language="en-US"))
    assert call.prompt is None and call.temperature is None and call.timestamps == "segment" and call.language == "en"
    text = "\n".join(notes)
    assert "fal-ai/wizper does not take --prompt; not sent" in text
    assert "does not take --temperature; not sent" in text and "segment timestamps only" in text
    assert "language en-US sent as en" in text


def test_translate_asks_for_the_translate_task(h, fake, tmp_path):
    out = h.transcribe(make_wav(tmp_path / "talk.wav", 2.0), provider_model="fal-ai/wizper", translate=True,
                       language="de", format="verbose_json")
    body = submits(fake, "fal-ai/wizper")[-1].json
    assert body["task"] == "translate" and body["language"] == "de"
    assert json.loads(out.body)["task"] == "translate"


def test_whisper_takes_prompt_and_word_chunks_and_reports_inferred_languages(h, fake, tmp_path):
    fake.whisper_null_last_end = True
    out = h.transcribe(make_wav(tmp_path / "talk.wav", 4.0), provider_model="fal-ai/whisper", prompt="gateway",
                       timestamps="word", format="verbose_json", language="fr")
    body = submits(fake, "fal-ai/whisper")[-1].json
    assert body["prompt"] == "gateway" and body["chunk_level"] == "word"
    doc = json.loads(out.body)
    assert out.language == "fr" and doc["language"] == "french"
    assert len(doc["words"]) == len(fake.transcript.split())
    assert doc["segments"][-1]["end"] == 4.0  # a null end is closed at the audio's end


def test_a_large_file_goes_through_fal_storage(h, fake, tmp_path):
    upload = make_wav(tmp_path / "long.wav", 40.0)  # 1.28 MB of 16 kHz mono PCM
    assert upload.size_bytes > DATA_URI_MAX_BYTES
    out = h.transcribe(upload, provider_model="fal-ai/wizper", format="text")
    assert out.text == fake.transcript
    initiate = fake.requests_to("/storage/upload/initiate")[-1]
    assert initiate.query == {"storage_type": "gcs"} and initiate.headers["authorization"] == "Key test-key"
    assert initiate.json == {"file_name": "long.wav", "content_type": "audio/wav"}
    (grant,) = fake.uploads.values()
    assert grant["size"] == upload.size_bytes and grant["chunked"] is False and grant["authorization"] is None
    assert submits(fake, "fal-ai/wizper")[-1].json["audio_url"] == fake.url + grant["path"]
    assert out.bytes_up >= upload.size_bytes


def test_a_failed_upload_is_retryable_and_submits_nothing(h, fake, tmp_path):
    fake.inject(Fault.http(503), route="/storage/upload/initiate")
    with pytest.raises(errors.RetryableError):
        h.transcribe(make_wav(tmp_path / "long.wav", 40.0), provider_model="fal-ai/wizper")
    assert not submits(fake, "fal-ai/wizper")


def test_an_empty_transcript_is_an_empty_result(h, fake, tmp_path):
    fake.transcript = "   "
    with pytest.raises(errors.EmptyResultError):
        h.transcribe(make_wav(tmp_path / "talk.wav", 1.0), provider_model="fal-ai/wizper")


# ---- check and hosts ---------------------------------------------------------------------------


def test_check_mints_a_cdn_token_and_nothing_else(h, fake):
    found = h.run(lambda p: p.check(timeout=5))
    assert found["reachable"] is True and found["key_accepted"] is True
    (req,) = fake.requests
    assert (req.method, req.path, req.query) == ("POST", "/storage/auth/token", {"storage_type": "fal-cdn-v3"})
    assert req.headers["authorization"] == "Key test-key"


def test_check_reports_a_rejected_key_and_an_unreachable_host(fake):
    assert Harness(fake, key="wrong").run(lambda p: p.check(timeout=5))["key_accepted"] is False
    url = fake.url
    fake.stop()

    async def go() -> dict[str, Any]:
        async with httpx.AsyncClient() as client:
            p = FalProvider("fal", ProviderSettings(api_key="k", base_url=url), client)
            return await p.check(timeout=2)

    found = asyncio.run(go())
    assert found["reachable"] is False and found["key_accepted"] is None


def test_rest_host_is_fal_rest_host_then_a_loopback_base_then_rest_fal_ai(monkeypatch):
    monkeypatch.delenv("FAL_REST_HOST", raising=False)
    assert fal_module.rest_url("https://queue.fal.run") == "https://rest.fal.ai"
    assert fal_module.rest_url("http://127.0.0.1:8123/queue") == "http://127.0.0.1:8123"
    monkeypatch.setenv("FAL_REST_HOST", "rest.example.com")
    assert fal_module.rest_url("http://127.0.0.1:8123") == "https://rest.example.com"
    monkeypatch.setenv("FAL_REST_HOST", "http://127.0.0.1:9/")
    assert fal_module.rest_url("https://queue.fal.run") == "http://127.0.0.1:9"


def test_queue_host_is_base_url_then_the_sdk_variables(monkeypatch):
    def base(url: str | None = None) -> str:
        return FalProvider("fal", ProviderSettings(api_key="k", base_url=url), None).base_url

    assert base() == "https://queue.fal.run"
    monkeypatch.setenv("FAL_RUN_HOST", "fal.example.com")
    assert base() == "https://queue.fal.example.com"
    monkeypatch.setenv("FAL_QUEUE_RUN_HOST", "q.example.com")
    assert base() == "https://q.example.com"
    assert base("http://127.0.0.1:9/") == "http://127.0.0.1:9"
