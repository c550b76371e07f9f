"""Resuming a queue job an earlier run recorded (issue 10: a job recorded before a crash is never paid
twice): the provider polls the recorded job at the loopback fake and reads its result, and the fake's
submit count stays 0. The jobs are put in the fakes the way an earlier, killed aigw left them
(`add_job` / `add_prediction`), and recorded with the details each provider reports for a submit; the run log
round trip itself is in tests/integration/test_job_resume.py."""

from __future__ import annotations

import asyncio
import base64
import wave
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from aigw import errors
from aigw.clock import FakeClock
from aigw.providers import _fal_models, _replicate_inputs
from aigw.providers.fal import FalProvider
from aigw.providers.replicate import ReplicateProvider
from aigw.providers.runpod import RunPodProvider
from aigw.settings.model import ProviderSettings
from aigw.types import AudioUpload, ImageCall, RecordedJob, TranscribeCall
from tests.fakes.fal import FakeFal
from tests.fakes.replicate import FLUX, FakeReplicate
from tests.fakes.runpod import SCHNELL, FakeRunPod, JobPlan

EP_WHISPER = "ep123"


class Reported:
    """What a provider reports through report_job (the run log's `jobs` rows)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(self, job_id: str, status: str, details: dict[str, Any]) -> None:
        self.rows.append((job_id, status, details))

    @property
    def statuses(self) -> list[str]:
        return [status for _, status, _ in self.rows]


def build(cls: type, name: str, base_url: str, key: str, reported: Reported, client: httpx.AsyncClient | None,
          **settings: Any) -> Any:
    provider = cls(name, ProviderSettings(api_key=key, base_url=base_url, **settings), client, clock=FakeClock())
    provider.on_job = reported
    return provider


def resume(cls: type, name: str, base_url: str, key: str, method: str, call: Any, job: RecordedJob,
           timeout: float = 30.0, **settings: Any) -> tuple[Any, Reported]:
    reported = Reported()

    async def go() -> Any:
        async with httpx.AsyncClient() as client:
            provider = build(cls, name, base_url, key, reported, client, **settings)
            return await getattr(provider, method)(call, job, timeout=timeout)

    return asyncio.run(go()), reported


def recorded(provider: str, job_id: str, details: dict[str, Any], status: str = "submitted") -> RecordedJob:
    return RecordedJob(run_id="r-earlier", provider=provider, job_id=job_id, status=status, details=details,
                       updated_at=datetime(2026, 12, 6, tzinfo=timezone.utc))


def wav(path: Path, seconds: float = 1.0, rate: int = 16000) -> AudioUpload:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x10\x00\xf0\xff" * int(seconds * rate / 2))
    return AudioUpload(path=path, filename=path.name, content_type="audio/wav", size_bytes=path.stat().st_size,
                       duration_s=seconds)


# ---- fal -------------------------------------------------------------------------------------------


@pytest.fixture
def fal(monkeypatch):
    monkeypatch.delenv("FAL_REST_HOST", raising=False)
    with FakeFal(queued_polls=1, running_polls=1) as server:
        yield server
    assert not server.errors, server.errors


def fal_recorded(fal: FakeFal, job_id: str, model: str, **over: Any) -> RecordedJob:
    """As FalProvider records a submit: the model and the three URLs fal answered."""
    urls = fal._urls(fal.job(job_id))
    return recorded("fal", job_id, {"model": model, "status_url": urls["status_url"],
                                    "cancel_url": urls["cancel_url"], "response_url": urls["response_url"], **over})


def fal_image_call() -> ImageCall:
    call = ImageCall(provider_model="fal-ai/flux/schnell", prompt="a red apple", size="512x512")
    return _fal_models.image_input(call, name="fal")[2]


def test_fal_resume_polls_the_recorded_job_and_returns_its_images_without_submitting(fal):
    call = fal_image_call()
    job = fal.add_job("fal-ai/flux/schnell", _fal_models.image_input(call, name="fal")[0])
    out, reported = resume(FalProvider, "fal", fal.url, "test-key", "resume_image", call,
                           fal_recorded(fal, job.id, "fal-ai/flux/schnell"))
    assert fal.submits == 0
    assert len(out.images) == 1 and out.images[0].data.startswith(b"\xff\xd8")  # fal's default jpeg
    assert job.polls == 3 and fal.cancelled == []  # IN_QUEUE, IN_PROGRESS, COMPLETED
    assert reported.statuses == ["resumed", "completed"] and {r[0] for r in reported.rows} == {job.id}
    assert reported.rows[-1][2]["response_url"].endswith(f"/requests/{job.id}")


def test_fal_resume_of_a_transcription(fal, tmp_path):
    upload = wav(tmp_path / "a.wav")
    call = TranscribeCall(provider_model="fal-ai/wizper", audio=upload, format="text")
    body, _, call = _fal_models.audio_input(call, name="fal")
    data = "data:audio/wav;base64," + base64.b64encode(upload.path.read_bytes()).decode()
    job = fal.add_job("fal-ai/wizper", {"audio_url": data, **body})
    out, _ = resume(FalProvider, "fal", fal.url, "test-key", "resume_transcribe", call,
                    fal_recorded(fal, job.id, "fal-ai/wizper"))
    assert fal.submits == 0 and out.body.strip() == fal.transcript


def test_fal_a_job_fal_no_longer_knows_is_gone_at_once_and_not_cancelled(fal):
    call = fal_image_call()
    job = fal.add_job("fal-ai/flux/schnell", {"prompt": "x"})
    rec = fal_recorded(fal, job.id, "fal-ai/flux/schnell")
    fal.drop(job.id)
    with pytest.raises(errors.JobGoneError, match="not found") as info:
        resume(FalProvider, "fal", fal.url, "test-key", "resume_image", call, rec)
    assert info.value.status == 404 and isinstance(info.value, errors.RetryableError)  # the caller may resubmit
    assert fal.count("/status") == 1 and fal.count("/cancel") == 0 and fal.submits == 0


def test_fal_recorded_urls_on_another_host_are_polled_on_the_configured_one(fal):
    """The key goes only to the configured origin, whatever a (hand-edited) run log says."""
    call = fal_image_call()
    job = fal.add_job("fal-ai/flux/schnell", _fal_models.image_input(call, name="fal")[0])
    path = f"/fal-ai/flux/requests/{job.id}"
    rec = recorded("fal", job.id, {"model": "fal-ai/flux/schnell", "status_url": f"https://evil.example{path}/status",
                                   "cancel_url": f"https://evil.example{path}/cancel",
                                   "response_url": f"https://evil.example{path}"})
    out, _ = resume(FalProvider, "fal", fal.url, "test-key", "resume_image", call, rec)
    assert len(out.images) == 1 and fal.submits == 0


def test_fal_a_resumed_job_that_does_not_finish_in_time_is_cancelled_once(fal):
    fal.hang_jobs = True
    call = fal_image_call()
    job = fal.add_job("fal-ai/flux/schnell", {"prompt": "x"})
    with pytest.raises(errors.RetryableError, match="did not finish within 3 s; cancelled it"):
        resume(FalProvider, "fal", fal.url, "test-key", "resume_image", call,
               fal_recorded(fal, job.id, "fal-ai/flux/schnell"), timeout=3)
    assert fal.cancelled == [job.id] and fal.count("/cancel") == 1 and fal.submits == 0


@pytest.mark.parametrize(("status", "code"), [("cancelled", "job_cancelled"), ("expired", "job_expired")])
def test_a_job_recorded_cancelled_or_expired_is_not_polled(fal, status, code):
    job = fal.add_job("fal-ai/flux/schnell", {"prompt": "x"})
    rec = fal_recorded(fal, job.id, "fal-ai/flux/schnell", reason="interrupted")
    rec = rec.model_copy(update={"status": status})
    with pytest.raises(errors.JobGoneError, match=f"was {status} \\(interrupted\\)") as info:
        resume(FalProvider, "fal", fal.url, "test-key", "resume_image", fal_image_call(), rec)
    assert info.value.code == code and fal.requests == []


def test_a_record_without_its_model_says_so(fal):
    rec = recorded("fal", "abc", {"status_url": fal.url + "/x/requests/abc/status"})
    with pytest.raises(errors.JobGoneError, match="record names no model"):
        resume(FalProvider, "fal", fal.url, "test-key", "resume_image", fal_image_call(), rec)
    assert fal.requests == []


def test_a_provider_without_queue_jobs_refuses_to_resume():
    from aigw.providers.openai import OpenAIProvider

    with pytest.raises(errors.UsageError, match="no queue jobs to resume"):
        resume(OpenAIProvider, "openai", "http://127.0.0.1:9", "k", "resume_image",
               ImageCall(provider_model="gpt-image-1", prompt="x"), recorded("openai", "j", {}))


# ---- Replicate -------------------------------------------------------------------------------------


@pytest.fixture
def replicate(monkeypatch):
    monkeypatch.delenv("REPLICATE_POLL_INTERVAL", raising=False)
    with FakeReplicate(polls_to_finish=2) as server:
        yield server
    assert not server.errors, server.errors


def replicate_recorded(fake: FakeReplicate, pid: str, model: str) -> RecordedJob:
    """As ReplicateProvider records a create: the model and the prediction's urls.get / urls.cancel."""
    base = f"{fake.url}/v1/predictions/{pid}"
    return recorded("replicate", pid, {"model": model, "status_url": base, "cancel_url": base + "/cancel"})


def test_replicate_resume_polls_the_prediction_and_returns_its_images_without_creating(replicate):
    call = ImageCall(provider_model=FLUX, prompt="a red fox", aspect_ratio="1:1", format="png")
    body, _, call = _replicate_inputs.image_input(call)
    pid = replicate.add_prediction(FLUX, body)
    out, reported = resume(ReplicateProvider, "replicate", replicate.url, "r8_test", "resume_image", call,
                           replicate_recorded(replicate, pid, FLUX))
    assert replicate.creates == 0 and replicate.cancelled == []
    assert len(out.images) == 1 and out.images[0].ext == "png"
    assert out.usage is not None and out.usage.gpu_seconds == replicate.predict_time
    assert reported.statuses == ["resumed", "completed"]


def test_replicate_a_failed_prediction_raises_its_failure(replicate):
    call = ImageCall(provider_model=FLUX, prompt="a red fox")
    body, _, call = _replicate_inputs.image_input(call)
    replicate.fail_next("CUDA out of memory")
    pid = replicate.add_prediction(FLUX, body)
    with pytest.raises(errors.RetryableError, match="CUDA out of memory"):
        resume(ReplicateProvider, "replicate", replicate.url, "r8_test", "resume_image", call,
               replicate_recorded(replicate, pid, FLUX))
    assert replicate.creates == 0


def test_replicate_an_unknown_prediction_is_gone(replicate):
    call = ImageCall(provider_model=FLUX, prompt="a red fox")
    with pytest.raises(errors.JobGoneError, match="prediction nosuchprediction not found"):
        resume(ReplicateProvider, "replicate", replicate.url, "r8_test", "resume_image", call,
               replicate_recorded(replicate, "nosuchprediction", FLUX))
    assert replicate.creates == 0 and replicate.cancelled == []


# ---- RunPod ----------------------------------------------------------------------------------------


@pytest.fixture
def runpod():
    with FakeRunPod(max_hold=0.05) as server:
        server.add_endpoint(EP_WHISPER, "faster-whisper")
        yield server
        assert server.errors == []


def runpod_recorded(fake: FakeRunPod, job_id: str, endpoint: str) -> RecordedJob:
    """As RunPodProvider records a submit: the endpoint, the route and the job's URLs."""
    return recorded("runpod", job_id, {"endpoint": endpoint, "route": "run",
                                       "status_url": f"{fake.base_url}/{endpoint}/status/{job_id}",
                                       "cancel_url": f"{fake.base_url}/{endpoint}/cancel/{job_id}"})


def test_runpod_resume_polls_the_job_and_returns_its_image_and_cost_without_submitting(runpod):
    planner = RunPodProvider("runpod", ProviderSettings(api_key="test-key", base_url=runpod.base_url), None)
    call, _ = planner.prepare_image(ImageCall(provider_model=SCHNELL, prompt="a red apple", size="512x512"))
    job = runpod.add_job(SCHNELL, planner._image_input(call)[0], JobPlan(polls=2, cost=0.0031))
    out, reported = resume(RunPodProvider, "runpod", runpod.base_url, "test-key", "resume_image", call,
                           runpod_recorded(runpod, job.id, SCHNELL))
    assert runpod.submits == 0 and runpod.cancelled == []
    assert len(out.images) == 1 and out.usage.cost_usd == pytest.approx(0.0031)
    assert job.seen == 2 and reported.statuses == ["resumed", "completed"]


def test_runpod_resume_of_a_transcription(runpod, tmp_path):
    settings = {"models": {"whisper-large-v3": EP_WHISPER}}
    planner = RunPodProvider("runpod", ProviderSettings(api_key="test-key", base_url=runpod.base_url, **settings), None)
    upload = wav(tmp_path / "a.wav")
    call, _ = planner.prepare_transcribe(TranscribeCall(provider_model=EP_WHISPER, audio=upload, format="text"))
    inp, _ = planner._audio_input(call)
    job = runpod.add_job(EP_WHISPER, {"audio_base64": base64.b64encode(upload.path.read_bytes()).decode(), **inp},
                         JobPlan(polls=1))
    out, _ = resume(RunPodProvider, "runpod", runpod.base_url, "test-key", "resume_transcribe", call,
                    runpod_recorded(runpod, job.id, EP_WHISPER), **settings)
    assert runpod.submits == 0 and out.body.strip().startswith(runpod.transcript.split()[0])


def test_runpod_an_expired_job_is_gone_and_recorded_expired(runpod):
    job = runpod.add_job(SCHNELL, {"prompt": "x"}, JobPlan(polls=2))
    runpod.expire(job.id)
    with pytest.raises(errors.JobGoneError, match="404 from /status") as info:
        resume(RunPodProvider, "runpod", runpod.base_url, "test-key", "resume_image",
               ImageCall(provider_model=SCHNELL, prompt="x"), runpod_recorded(runpod, job.id, SCHNELL))
    assert info.value.code == "job_expired" and runpod.cancelled == [] and runpod.submits == 0


def test_replicate_a_prediction_whose_output_was_removed_is_gone(replicate):
    call = ImageCall(provider_model=FLUX, prompt="a red fox")
    body, _, call = _replicate_inputs.image_input(call)
    pid = replicate.add_prediction(FLUX, body)
    replicate._finish(replicate.predictions[pid])
    replicate.expire()  # an hour later: outputs deleted
    with pytest.raises(errors.JobGoneError, match="data_removed") as info:
        resume(ReplicateProvider, "replicate", replicate.url, "r8_test", "resume_image", call,
               replicate_recorded(replicate, pid, FLUX))
    assert info.value.code == "job_expired" and replicate.creates == 0
