"""RunPodProvider against the loopback fake: request shapes, the job flow, and error mapping."""

from __future__ import annotations

import asyncio
import base64
import json
import wave
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from aigw import errors
from aigw.clock import FakeClock
from aigw.providers.runpod import RunPodProvider, body_estimate, sync_wait_ms
from aigw.settings.model import ProviderSettings
from aigw.types import AudioUpload, ImageCall, TranscribeCall
from tests.fakes._server import Fault
from tests.fakes.runpod import DEFAULT_TRANSCRIPT, DEV, SCHNELL, FakeRunPod, JobPlan

EP_WHISPER, EP_SDXL = "ep123", "def456"


@pytest.fixture
def fake():
    with FakeRunPod(max_hold=0.05) as server:
        server.add_endpoint(EP_WHISPER, "faster-whisper")
        server.add_endpoint(EP_SDXL, "sdxl")
        yield server
        assert server.errors == []


class Harness:
    """A provider wired to the fake, collecting the jobs it reports."""

    def __init__(self, fake: FakeRunPod, *, key: str = "test-key", clock: Any = None,
                 models: dict[str, str] | None = None) -> None:
        self.settings = ProviderSettings(api_key=SecretStr(key), base_url=fake.base_url,
                                         models=models or {"whisper-large-v3": EP_WHISPER, "sdxl": EP_SDXL})
        self.clock = clock
        self.jobs: list[tuple[str, str, dict[str, Any]]] = []

    def provider(self, client: httpx.AsyncClient | None) -> RunPodProvider:
        p = RunPodProvider("runpod", self.settings, client, clock=self.clock)
        p.on_job = lambda job_id, status, details: self.jobs.append((job_id, status, details))
        return p

    def statuses(self) -> list[tuple[str, str]]:
        return [(j, s) for j, s, _ in self.jobs]

    async def generate(self, call: ImageCall, timeout: float = 10.0):
        async with httpx.AsyncClient() as client:
            provider = self.provider(client)
            call, _ = provider.prepare_image(call)
            return await provider.generate(call, timeout=timeout)

    async def transcribe(self, call: TranscribeCall, timeout: float = 10.0):
        async with httpx.AsyncClient() as client:
            provider = self.provider(client)
            call, _ = provider.prepare_transcribe(call)
            return await provider.transcribe(call, timeout=timeout)


def flux(**kw: Any) -> ImageCall:
    return ImageCall(provider_model=kw.pop("provider_model", SCHNELL), prompt=kw.pop("prompt", "a red apple"), **kw)


def audio_call(path: Path, endpoint: str = EP_WHISPER, **kw: Any) -> TranscribeCall:
    upload = AudioUpload(path=path, filename=path.name, content_type="audio/wav", size_bytes=path.stat().st_size,
                         duration_s=4.86)
    return TranscribeCall(provider_model=endpoint, audio=upload, **kw)


def polls(fake: FakeRunPod) -> int:
    return sum(1 for r in fake.requests if "/status/" in r.path)


def cancels(fake: FakeRunPod) -> list[str]:
    return [r.method + " " + r.path for r in fake.requests if "/cancel/" in r.path]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# ---- parameter mapping (prepare_image / prepare_transcribe) -------------------------------------


@pytest.mark.parametrize(("kw", "size", "warning"), [
    ({"size": "1000x1000"}, "1024x1024", "not a multiple of 64"),
    ({"size": "2048x2048"}, "1536x1536", "using 1536x1536"),
    ({"size": "128x1024"}, "256x1024", "using 256x1024"),
    ({"aspect_ratio": "16:9"}, "1344x768", "16:9 sent as 1344x768"),
    ({}, "1024x1024", None),
    ({"size": "512x768"}, "512x768", None),
])
def test_flux_sizes_move_to_the_64_grid_with_a_warning(fake, kw, size, warning):
    provider = Harness(fake).provider(None)
    call, notes = provider.prepare_image(flux(**kw))
    assert call.size == size
    if warning:
        assert len(notes) == 1 and warning in notes[0] and notes[0].startswith("runpod:")
    else:
        assert notes == []


def test_flux_steps_guidance_and_format_are_clamped_with_warnings(fake):
    provider = Harness(fake).provider(None)
    call, notes = provider.prepare_image(flux(steps=20, guidance=12.0, format="webp", quality="high"))
    assert (call.steps, call.guidance, call.format, call.quality) == (8, 10.0, "png", None)
    text = " | ".join(notes)
    for needle in ("1-8 steps; using 8", "guidance 12 is outside 0-10", "not webp; using png",
                   "does not take --quality; not sent"):
        assert needle in text
    dev, notes = provider.prepare_image(flux(provider_model=DEV, steps=20))
    assert dev.steps == 20 and notes == []


def test_sync_wait_is_bounded_by_the_attempt_time():
    assert sync_wait_ms(0.5) == 1_000
    assert sync_wait_ms(10) == 7_500
    assert sync_wait_ms(60) == 55_000
    assert sync_wait_ms(10_000) == 300_000


def test_audio_over_the_runsync_limit_is_a_usage_error_before_sending(fake, tmp_path):
    provider = Harness(fake).provider(None)
    big = AudioUpload(path=tmp_path / "big.wav", filename="big.wav", content_type="audio/wav", size_bytes=16_000_000)
    with pytest.raises(errors.UsageError, match="20 MB"):
        provider.prepare_transcribe(TranscribeCall(provider_model=EP_WHISPER, audio=big))
    assert body_estimate(14_000_000) < 20_000_000  # ~15 MB of audio still fits
    assert fake.count() == 0


# ---- public FLUX endpoints ----------------------------------------------------------------------


def test_flux_request_shape_and_a_finished_runsync(fake):
    h = Harness(fake, clock=FakeClock())  # time stands still, so the wait is exactly 10 s less the margin
    result = run(h.generate(flux(size="1024x768", seed=7, steps=4, guidance=3.5, negative_prompt="blur",
                                 format="png")))
    req = fake.requests_to("/runsync")[0]
    assert req.path == f"/v2/{SCHNELL}/runsync" and req.query["wait"] == "7500"
    assert req.headers["authorization"] == "Bearer test-key"
    assert req.json == {"input": {"prompt": "a red apple", "width": 1024, "height": 768, "negative_prompt": "blur",
                                  "num_inference_steps": 4, "guidance": 3.5, "seed": 7, "image_format": "png"}}
    assert polls(fake) == 0  # finished inside the wait: no polling
    [image] = result.images
    assert image.ext == "png" and image.data.startswith(b"\x89PNG")
    [job] = fake.jobs.values()
    assert job.output["cost"] == round(1024 * 768 / 1e6 * 0.0024, 8)
    assert result.usage.cost_usd == job.output["cost"]  # the actual charge, as reported
    assert result.usage.gpu_seconds == pytest.approx(1.234)
    job_id = next(iter(fake.jobs))
    assert h.statuses() == [(job_id, "submitted"), (job_id, "completed")]
    assert h.jobs[0][2]["cancel_url"].endswith(f"/{SCHNELL}/cancel/{job_id}")


def test_runsync_that_returns_in_progress_falls_back_to_status_polling(fake):
    fake.plan(JobPlan(polls=2, sync_status="IN_PROGRESS"))
    clock = FakeClock()
    h = Harness(fake, clock=clock)
    result = run(h.generate(flux()))
    assert fake.count("/runsync") == 1
    statuses = [r.path for r in fake.requests if "/status/" in r.path]
    job_id = next(iter(fake.jobs))
    assert statuses == [f"/v2/{SCHNELL}/status/{job_id}"] * 2
    assert result.images[0].ext == "jpeg"  # RunPod's default image_format
    assert h.statuses()[-1] == (job_id, "completed")
    assert clock.slept == [0.5]  # one pause between the two polls


def test_in_queue_and_running_answers_are_polled_too(fake):
    fake.plan(JobPlan(polls=2, sync_status="IN_QUEUE", progress="RUNNING"))
    result = run(Harness(fake, clock=FakeClock()).generate(flux()))
    assert len(result.images) == 1 and polls(fake) == 2


def test_n_images_are_n_concurrent_jobs_and_costs_add_up(fake):
    fake.plan(JobPlan(cost=0.001), JobPlan(polls=1, cost=0.002), JobPlan(cost=0.004))
    h = Harness(fake)
    result = run(h.generate(flux(n=3)))
    assert len(result.images) == 3 and len(fake.jobs) == 3
    assert fake.count("/run") == 3 and fake.count("/runsync") == 0  # a batch is queued: every id known at once
    assert result.usage.cost_usd == pytest.approx(0.007)
    assert sorted(s for _, s in h.statuses()) == ["completed"] * 3 + ["submitted"] * 3


def test_a_job_that_never_finishes_is_cancelled_at_the_timeout(fake):
    fake.plan(JobPlan(never=True))
    clock = FakeClock()
    h = Harness(fake, clock=clock)
    with pytest.raises(errors.RetryableError, match="did not finish within 30 s"):
        run(h.generate(flux(), timeout=30))
    job_id = next(iter(fake.jobs))
    assert fake.cancelled == [job_id]
    assert cancels(fake) == [f"POST /v2/{SCHNELL}/cancel/{job_id}"]
    assert h.statuses()[-1] == (job_id, "cancelled")
    assert sum(clock.slept) == pytest.approx(30, abs=0.01)  # waited on the fake clock, not for real


def test_interrupting_a_poll_cancels_the_job_at_runpod(fake):
    fake.plan(JobPlan(never=True))
    h = Harness(fake)

    async def scenario() -> None:
        task = asyncio.ensure_future(h.generate(flux(), timeout=60))
        for _ in range(200):
            if polls(fake):
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(scenario())
    assert len(fake.cancelled) == 1
    assert h.statuses()[-1][1] == "cancelled" and h.jobs[-1][2]["reason"] == "interrupted"


def test_interrupting_a_submit_still_cancels_the_job_once_its_id_arrives(fake):
    fake.plan(JobPlan(never=True))
    h = Harness(fake)

    async def scenario() -> None:
        task = asyncio.ensure_future(h.generate(flux(), timeout=60))
        for _ in range(200):
            if fake.count("/runsync"):
                break  # the fake is holding the /runsync answer now
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(scenario())
    assert fake.cancelled == list(fake.jobs) and polls(fake) == 0
    assert h.statuses() == [(fake.cancelled[0], "cancelled")]


def test_when_one_of_n_jobs_fails_the_others_are_cancelled(fake):
    fake.plan(JobPlan(polls=1, outcome="FAILED"), JobPlan(never=True))
    h = Harness(fake)
    with pytest.raises(errors.RetryableError, match="CUDA out of memory"):
        run(h.generate(flux(n=2)))
    assert len(fake.cancelled) == 1
    assert sorted(s for _, s in h.statuses() if s != "submitted") == ["cancelled", "failed"]


@pytest.mark.parametrize(("plan", "exc", "needle", "recorded"), [
    (JobPlan(polls=1, outcome="FAILED"), errors.RetryableError, "failed: worker crashed", "failed"),
    (JobPlan(outcome="TIMED_OUT"), errors.RetryableError, "timed out at RunPod", "failed"),
    (JobPlan(polls=1, outcome="CANCELLED"), errors.RetryableError, "was cancelled at RunPod", "cancelled"),
    (JobPlan(outcome="FAILED", error=["prompt should be <class 'str'> type, not <class 'int'>."]),
     errors.BadRequestError, "should be", "failed"),
    (JobPlan(outcome="FAILED", error="NSFW content detected by the safety checker"), errors.ContentRefusedError,
     "NSFW", "failed"),
])
def test_terminal_states_map_to_aigw_errors(fake, plan, exc, needle, recorded):
    fake.plan(plan)
    h = Harness(fake)
    with pytest.raises(exc, match=needle) as info:
        run(h.generate(flux()))
    assert type(info.value) is exc
    assert h.statuses()[-1][1] == recorded


def test_invalid_parameter_400_is_a_bad_request_and_the_job_is_logged(fake):
    h = Harness(fake)
    with pytest.raises(errors.BadRequestError, match="Invalid parameter: prompt is required") as info:
        run(h.generate(flux(prompt="   ")))
    assert info.value.status == 400
    [(job_id, status, details)] = h.jobs
    assert job_id.startswith("sync-") and status == "failed" and "prompt is required" in details["error"]


def test_an_expired_job_is_retryable(fake):
    fake.plan(JobPlan(polls=2, expire=True))
    h = Harness(fake)
    with pytest.raises(errors.RetryableError, match="404 from /status") as info:
        run(h.generate(flux()))
    assert info.value.status == 404
    assert polls(fake) == 1  # not polled again: the job is gone
    assert h.statuses()[-1][1] == "expired" and fake.cancelled == []


def test_status_errors_between_polls_do_not_lose_the_job(fake):
    fake.plan(JobPlan(polls=2))
    h = Harness(fake, clock=FakeClock())

    class Once(httpx.AsyncBaseTransport):
        """Fails the first /status request at the transport level, then passes everything on."""

        def __init__(self) -> None:
            self.inner, self.failed = httpx.AsyncHTTPTransport(), False

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if "/status/" in request.url.path and not self.failed:
                self.failed = True
                raise httpx.ReadError("connection reset", request=request)
            return await self.inner.handle_async_request(request)

    async def go():
        async with httpx.AsyncClient(transport=Once()) as client:
            return await h.provider(client).generate(flux(size="1024x1024"), timeout=10)

    result = run(go())
    assert len(result.images) == 1 and polls(fake) == 2


def test_rate_limit_on_submit_carries_retry_after(fake):
    fake.inject(Fault.http(429, retry_after="3"), route="/runsync")
    with pytest.raises(errors.RateLimitedError) as info:
        run(Harness(fake).generate(flux()))
    assert info.value.retry_after == 3.0 and "Too Many Requests" in info.value.message


def test_bad_key_is_an_auth_error_naming_the_variable(fake):
    with pytest.raises(errors.AuthError) as info:
        run(Harness(fake, key="wrong").generate(flux()))
    assert info.value.status == 401 and "RUNPOD_API_KEY" in (info.value.hint or "")


def test_fake_accepts_the_bare_key_as_runpods_curl_examples_send_it(fake):
    resp = httpx.get(f"{fake.base_url}/{SCHNELL}/health", headers={"Authorization": "test-key"})
    assert resp.status_code == 200 and "workers" in resp.json()
    assert httpx.get(f"{fake.base_url}/{SCHNELL}/health", headers={"Authorization": "nope"}).status_code == 401


def test_unknown_endpoint_is_model_unavailable_with_a_mapping_hint(fake):
    with pytest.raises(errors.ModelUnavailableError) as info:
        run(Harness(fake).generate(ImageCall(provider_model="nosuch", prompt="x")))
    assert "providers.runpod.models" in (info.value.hint or "")


def test_a_completed_job_without_an_image_is_an_empty_result(fake):
    fake.inject(Fault(empty=True), route="/runsync")
    with pytest.raises(errors.EmptyResultError, match="no image"):
        run(Harness(fake).generate(flux()))


def test_malformed_json_is_retryable(fake):
    fake.inject(Fault(malformed=True), route="/runsync")
    with pytest.raises(errors.RetryableError, match="malformed JSON"):
        run(Harness(fake).generate(flux()))


# ---- a user's SDXL endpoint -----------------------------------------------------------------------


@pytest.mark.parametrize("output", ["base64", "url"])
def test_sdxl_worker_schema_batches_and_both_output_shapes(fake, output):
    fake.sdxl_output = output
    h = Harness(fake)
    result = run(h.generate(ImageCall(provider_model=EP_SDXL, prompt="a fox", size="1152x896", n=3, steps=30,
                                      guidance=6.0, seed=3, negative_prompt="blurry")))
    inputs = sorted(fake.inputs(), key=lambda i: -i["num_images"])  # the two jobs run at once
    assert [i["num_images"] for i in inputs] == [2, 1]  # worker-sdxl takes 1-2 per job
    assert inputs[0] == {"prompt": "a fox", "width": 1152, "height": 896, "negative_prompt": "blurry",
                         "num_inference_steps": 30, "guidance_scale": 6.0, "seed": 3, "num_images": 2}
    assert len(result.images) == 3 and all(i.ext == "png" for i in result.images)
    assert result.usage.cost_usd is None and result.usage.gpu_seconds == pytest.approx(2.468)  # GPU time, unpriced


def test_sdxl_format_other_than_png_is_a_warning(fake):
    call, notes = Harness(fake).provider(None).prepare_image(ImageCall(provider_model=EP_SDXL, prompt="x",
                                                                       format="jpeg"))
    assert call.format == "png" and "returns png; format jpeg not sent" in notes[0]


def test_a_workers_validation_errors_are_a_bad_request(fake):
    h = Harness(fake)
    with pytest.raises(errors.BadRequestError, match="Unexpected input. cfg is not a valid input option") as info:
        run(_raw_job(h, EP_SDXL, {"prompt": "x", "cfg": 7}))
    assert "another schema" in (info.value.hint or "")
    assert h.statuses()[-1][1] == "failed"


async def _raw_job(h: Harness, endpoint: str, inp: dict[str, Any]) -> Any:
    async with httpx.AsyncClient() as client:
        provider = h.provider(client)
        return await provider._job(endpoint, inp, timeout=10, started=provider.clock.monotonic())


# ---- a user's faster-whisper endpoint -----------------------------------------------------------------


def test_whisper_request_shape(fake, speech_wav):
    h = Harness(fake)
    result = run(h.transcribe(audio_call(speech_wav, language="en", prompt="gateway", temperature=0,
                                         timestamps="word", format="json")))
    [inp] = fake.inputs("runsync")  # a small file goes through /runsync
    assert base64.b64decode(inp.pop("audio_base64")) == speech_wav.read_bytes()
    assert inp == {"transcription": "plain_text", "model": "large-v3", "language": "en", "temperature": 0.0,
                   "initial_prompt": "gateway", "word_timestamps": True}
    assert json.loads(result.body) == {"text": DEFAULT_TRANSCRIPT}
    assert result.text == DEFAULT_TRANSCRIPT and result.language == "en"
    assert result.usage.gpu_seconds == pytest.approx(1.234) and result.usage.cost_usd is None
    assert [s for _, s in h.statuses()] == ["submitted", "completed"]


def test_the_worker_model_comes_from_the_catalog_id_mapped_to_the_endpoint(fake, speech_wav):
    h = Harness(fake, models={"whisper-large-v3-turbo": "ep123"})
    run(h.transcribe(audio_call(speech_wav)))
    assert fake.inputs()[0]["model"] == "turbo"


def test_an_unmapped_endpoint_uses_the_workers_default_model_with_a_warning(fake, speech_wav):
    provider = Harness(fake, models={"sdxl": EP_SDXL}).provider(None)
    _, notes = provider.prepare_transcribe(audio_call(speech_wav))
    assert "worker's default model" in notes[0]


@pytest.mark.parametrize(("fmt", "check"), [
    ("text", lambda body: body == DEFAULT_TRANSCRIPT),
    ("srt", lambda body: body.startswith("1\n00:00:00,000 --> 00:00:02,430\nWelcome to the gateway.")),
    ("vtt", lambda body: body.startswith("WEBVTT") and "00:00:02.430 --> 00:00:04.860" in body),
    ("verbose_json", lambda body: json.loads(body)["language"] == "english"
     # The worker's words carry Whisper's leading space; aigw's verbose_json has OpenAI's bare words.
     and [w["word"] for w in json.loads(body)["words"]][:2] == ["Welcome", "to"]),
])
def test_each_format_is_rendered_from_the_segments(fake, speech_wav, fmt, check):
    result = run(Harness(fake).transcribe(audio_call(speech_wav, format=fmt, timestamps="word")))
    assert check(result.body), result.body
    assert result.text == DEFAULT_TRANSCRIPT
    assert fake.inputs()[0]["transcription"] == "plain_text"


def test_translation_comes_from_the_workers_translation_field(fake, speech_wav):
    result = run(Harness(fake).transcribe(audio_call(speech_wav, translate=True, format="srt")))
    inp = fake.inputs()[0]
    assert inp["translate"] is True and inp["translation"] == "srt"
    assert result.text == fake.translation_text and result.language == "en"
    assert "translated." in result.body and result.body.startswith("1\n")


def test_a_large_file_goes_through_run_and_polling(fake, tmp_path):
    path = tmp_path / "long.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(b"\x00\x00" * 16000 * 40)  # 40 s: 1.28 MB, 1.7 MB as base64
    h = Harness(fake)
    result = run(h.transcribe(audio_call(path)))
    assert fake.count("/run") == 1 and fake.count("/runsync") == 0 and polls(fake) == 1
    assert h.jobs[0][1] == "submitted" and h.jobs[0][2]["route"] == "run"
    assert result.text == DEFAULT_TRANSCRIPT


def test_a_model_the_worker_lacks_fails_the_job_with_the_handlers_message(fake, speech_wav):
    with pytest.raises(errors.RetryableError, match="Invalid model name: huge") as info:
        run(_raw_job(Harness(fake), EP_WHISPER, {"audio_base64": "AAAA", "model": "huge"}))
    assert "Traceback" not in info.value.message  # the SDK's JSON error is unpacked


# ---- check ---------------------------------------------------------------------------------------------


def test_check_hits_health_on_the_public_endpoint(fake):
    async def go(key: str) -> dict[str, Any]:
        async with httpx.AsyncClient() as client:
            return await Harness(fake, key=key).provider(client).check(timeout=5)

    ok = run(go("test-key"))
    assert ok["reachable"] and ok["key_accepted"] is True and "health" in ok["detail"]
    assert fake.requests[-1].path == f"/v2/{SCHNELL}/health"
    bad = run(go("wrong"))
    assert bad["reachable"] and bad["key_accepted"] is False
    assert fake.count("/run") == fake.count("/runsync") == 0  # nothing paid


def test_check_when_nothing_listens_is_unreachable():
    settings = ProviderSettings(api_key=SecretStr("k"), base_url="http://127.0.0.1:9/v2")

    async def go() -> dict[str, Any]:
        async with httpx.AsyncClient() as client:
            return await RunPodProvider("runpod", settings, client).check(timeout=2)

    found = run(go())
    assert found["reachable"] is False and found["key_accepted"] is None
