"""RunPod serverless: jobs on RunPod's public FLUX endpoints and on a user's own endpoints.

PROVIDERS.md §6, checked against runpod/runpod-python (commit 07fc6e2, 2026-08-10) and runpod/docs
(a900806, 2026-08-20):
- every body is `{"input": {...}}`; `POST /{endpoint}/runsync?wait=<ms>` (wait 1,000-300,000 ms, body up
  to 20 MB) answers with the finished job, or with its id and IN_QUEUE / IN_PROGRESS when the wait runs
  out; `POST /{endpoint}/run` (10 MB) answers at once with the id; `GET /{endpoint}/status/{id}` until a
  terminal state; `POST /{endpoint}/cancel/{id}` (runpod/endpoint/runner.py, asyncio_runner.py; docs
  serverless/endpoints/operation-reference.mdx);
- terminal states COMPLETED, FAILED, CANCELLED, TIMED_OUT (helpers.py `is_completed`; the older
  FINAL_STATES list omits CANCELLED); RUNNING is an in-progress state (docs job-states.mdx);
- `Authorization: Bearer <key>` (runner.py); `GET /{endpoint}/health` is free (operation-reference.mdx);
- `/status` answers 404 once a job's ttl has expired (docs send-requests.mdx).

Route: /runsync for one job, with the wait bounded by the attempt's time so the answer (and the job
id) arrives before aigw gives up; /run for a large input (over ASYNC_FROM_BYTES, within /run's 10 MB)
and for several jobs at once (`-n 2` on a public endpoint is two one-image jobs; RunPod advises /run
for batches), so every id is in the run log before the wait and a failure or an interrupt can cancel
them all. Each job is recorded (`report_job`, through the JobMachine) as soon as its id is known, polled, and cancelled on
timeout or Ctrl-C. One gap remains: a /runsync interrupted while RunPod holds its answer has no id to
cancel unless the answer arrives within CANCEL_GRACE_S.

Which schema an endpoint speaks: the two public endpoint ids speak FLUX's; any other id is a user's
endpoint, whose catalog model (found through `providers.runpod.models`) decides between the SDXL
worker's schema (image) and the faster-whisper worker's (audio). See _runpod_inputs.py.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import json
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from aigw import errors
from aigw.providers import _runpod_inputs as wire
from aigw.providers._http import MAX_IMAGE_BYTES_DEFAULT, classify, download_image, json_body, sniff_image, translated
from aigw.providers._jobs import CANCEL_GRACE_S, JobMachine, QueueAPI, QueuedJob, Submitted
from aigw.providers._options import BY_MODEL, MAPPED, NOT_SENT, REFUSED, SENT, Support
from aigw.providers.base import ProviderBase
from aigw.types import ImageBlob, ImageCall, ProviderImages, ProviderTranscript, RecordedJob, TranscribeCall, Usage

TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"}
RUNSYNC_MAX_BYTES = 20_000_000  # "20 MB" (operation-reference.mdx); read as decimal megabytes, the safer side
RUN_MAX_BYTES = 10_000_000  # "10 MB"
ASYNC_FROM_BYTES = 1_000_000  # inputs this large go through /run (about a minute of 16 kHz WAV)
WAIT_MIN_MS, WAIT_MAX_MS = 1_000, 300_000
SYNC_MARGIN_S = 5.0  # the answer to /runsync needs this long after the wait ends, at most
SUBMIT_TIMEOUT_S = 60.0
POLL_INTERVAL_S, POLL_MAX_INTERVAL_S = 0.5, 2.0  # the SDK polls every second
BAD_INPUT = ("invalid parameter", "unexpected input", "is a required input", "should be <class",
             "does not meet the constraints", "must provide either audio")
REFUSAL = ("nsfw", "safety checker", "content policy")
AUTH_HINT = "check the key: set RUNPOD_API_KEY or run 'aigw config keys set runpod'"


def body_estimate(audio_bytes: int) -> int:
    """Bytes of a JSON body carrying `audio_bytes` of audio as base64, with room for the other fields."""
    return 4 * ((audio_bytes + 2) // 3) + 2048


def sync_wait_ms(timeout: float) -> int:
    margin = min(SYNC_MARGIN_S, timeout / 4)
    return int(min(max((timeout - margin) * 1000, WAIT_MIN_MS), WAIT_MAX_MS))


class RunPodQueue(QueueAPI):
    """RunPod's jobs for the JobMachine: `GET /{endpoint}/status/{id}` until COMPLETED / FAILED /
    CANCELLED / TIMED_OUT, a 404 there meaning the job's ttl ran out, `POST /{endpoint}/cancel/{id}`
    (runpod-python endpoint/asyncio/asyncio_runner.py: Job.status/output/cancel)."""

    poll_interval, max_poll_interval = POLL_INTERVAL_S, POLL_MAX_INTERVAL_S
    gone_on_404 = True

    def __init__(self, provider: RunPodProvider) -> None:
        self.p = provider

    def headers(self) -> dict[str, str]:
        return self.p._headers()

    def poll_url(self, job: QueuedJob) -> str:
        return self.p._url(job.details["endpoint"], "status", job.id)

    def cancel_url(self, job: QueuedJob) -> str:
        return self.p._url(job.details["endpoint"], "cancel", job.id)

    def missing(self, job: QueuedJob) -> str:
        return f"job {job.id} is gone (404 from /status: its ttl ran out or RunPod dropped it)"

    def error(self, resp: httpx.Response, job: QueuedJob) -> errors.ProviderError:
        return self.p._error(resp, job.details["endpoint"])

    def state(self, resp: httpx.Response, job: QueuedJob) -> dict[str, Any]:
        return self.p._job_body(resp)

    def done(self, state: dict[str, Any], job: QueuedJob) -> bool:
        return state.get("status") in TERMINAL

    async def result(self, job: QueuedJob, state: dict[str, Any], *, timeout: float) -> tuple[Any, int]:
        return self.p._finished(job, state), 0  # /status carries the output

    def recorded(self, job_id: str, details: dict[str, Any]) -> QueuedJob:
        endpoint = details.get("endpoint")
        if not isinstance(endpoint, str) or not endpoint or "/" in endpoint:
            raise errors.JobGoneError(f"{self.p.name}: job {job_id}'s record names no endpoint",
                                      provider=self.p.name, code="job_gone")
        return QueuedJob(job_id, self.p._shown_url(endpoint, "status", job_id),
                         self.p._shown_url(endpoint, "cancel", job_id),
                         {"endpoint": endpoint, "route": details.get("route")})


class RunPodProvider(ProviderBase):
    kinds: ClassVar[frozenset[str]] = frozenset({"image", "audio"})
    default_base_url: ClassVar[str] = "https://api.runpod.ai/v2"
    image_options: ClassVar[dict[str, Support]] = {
        "size": MAPPED, "aspect_ratio": MAPPED, "quality": NOT_SENT, "style": NOT_SENT, "n": SENT, "format": MAPPED,
        "seed": SENT, "negative_prompt": SENT, "steps": MAPPED, "guidance": MAPPED,
    }
    audio_options: ClassVar[dict[str, Support]] = {
        "language": SENT, "prompt": SENT, "temperature": SENT, "timestamps": BY_MODEL, "translate": SENT,
        "diarize": REFUSED,
    }

    # ---- which schema an endpoint speaks -----------------------------------------------------

    def catalog_id(self, endpoint: str) -> str | None:
        """The catalog model the user mapped to this endpoint id (or a public endpoint's model)."""
        mapping = self.settings.models if isinstance(self.settings.models, dict) else {}
        for model_id, mapped in mapping.items():
            if mapped == endpoint:
                return model_id
        public = wire.PUBLIC.get(endpoint)
        return public.catalog_id if public else None

    def _image_input(self, call: ImageCall) -> tuple[dict[str, Any], list[str], ImageCall]:
        flux = wire.PUBLIC.get(call.provider_model)
        if flux is not None:
            return wire.flux_input(call, flux, self.name)
        return wire.sdxl_input(call, self.name)

    def _audio_input(self, call: TranscribeCall) -> tuple[dict[str, Any], list[str]]:
        model = wire.WHISPER_MODELS.get(self.catalog_id(call.provider_model) or "")
        return wire.whisper_input(call, model, self.name)

    # ---- hooks ---------------------------------------------------------------------------------

    def prepare_image(self, call: ImageCall) -> tuple[ImageCall, list[str]]:
        _, notes, call = self._image_input(call)
        return call, notes

    def prepare_transcribe(self, call: TranscribeCall) -> tuple[TranscribeCall, list[str]]:
        _, notes = self._audio_input(call)
        size = body_estimate(call.audio.size_bytes)
        if size > RUNSYNC_MAX_BYTES:
            raise errors.UsageError(
                f"{call.audio.filename} is {call.audio.size_bytes:,} bytes; RunPod takes at most "
                f"{RUNSYNC_MAX_BYTES // 1_000_000} MB per request, about "
                f"{RUNSYNC_MAX_BYTES * 3 // 4 // 1_000_000} MB of audio once base64-encoded",
                hint="compress it (e.g. ffmpeg -i in.wav -b:a 64k out.mp3) or split it")
        return call, notes

    # ---- images --------------------------------------------------------------------------------

    async def generate(self, call: ImageCall, *, timeout: float) -> ProviderImages:
        inp, _, call = self._image_input(call)
        endpoint = call.provider_model
        public = endpoint in wire.PUBLIC
        if public:
            inputs = [inp] * call.n  # one image per job
        else:
            inputs = [{**inp, "num_images": k} for k in wire.job_sizes(call.n, wire.SDXL_IMAGES_PER_JOB)]
        started = self.clock.monotonic()
        queue = len(inputs) > 1
        done: list[_Images] = await _all([self._image_job(endpoint, i, timeout=timeout, started=started, queue=queue)
                                          for i in inputs])
        costs = [d.cost for d in done if d.cost is not None]
        seconds = [d.seconds for d in done if d.seconds is not None]
        usage = Usage(
            # RunPod reports each public job's charge; a user's endpoint bills GPU time (executionTime),
            # priced only when the user's config gives a per_gpu_second rate.
            cost_usd=round(sum(costs), 8) if public and len(costs) == len(done) else None,
            gpu_seconds=round(sum(seconds), 3) if len(seconds) == len(done) else None,
        )
        return ProviderImages(images=[b for d in done for b in d.blobs], usage=usage,
                              bytes_up=sum(d.sent for d in done), bytes_down=sum(d.received for d in done),
                              http_status=200)

    async def _image_job(self, endpoint: str, inp: dict[str, Any], *, timeout: float, started: float,
                         queue: bool) -> _Images:
        job, sent, received = await self._job(endpoint, inp, timeout=timeout, started=started, queue=queue)
        return await self._job_images(job, sent, received, timeout=timeout, started=started)

    async def _job_images(self, job: dict[str, Any], sent: int, received: int, *, timeout: float,
                          started: float) -> _Images:
        output = job.get("output")
        refs = wire.image_refs(output)
        if not refs:
            raise errors.EmptyResultError(f"{self.name}: job {job.get('id')} finished with no image", provider=self.name)
        blobs = []
        for ref in refs:  # downloaded at once: RunPod's URLs expire after 7 days, a worker's may sooner
            data, down = await self._image_bytes(ref, timeout=max(timeout - (self.clock.monotonic() - started), 30.0))
            received += down
            blobs.append(ImageBlob(data=data, ext=sniff_image(data) or "png"))
        cost = output.get("cost") if isinstance(output, dict) else None
        return _Images(blobs, float(cost) if isinstance(cost, (int, float)) else None, _exec_seconds(job),
                       sent, received)

    async def _image_bytes(self, ref: str, *, timeout: float) -> tuple[bytes, int]:
        if ref.startswith(("http://", "https://")):
            data = await download_image(self.http, ref, provider=self.name, max_bytes=MAX_IMAGE_BYTES_DEFAULT, origin=self.base_url,
                                        timeout=min(timeout, 120.0))
            return data, len(data)
        encoded = ref.split(",", 1)[1] if ref.startswith("data:") else ref
        try:
            data = base64.b64decode(encoded, validate=False)
        except (binascii.Error, ValueError) as exc:
            raise errors.EmptyResultError(f"{self.name}: the worker's image is neither a URL nor base64",
                                          provider=self.name) from exc
        if sniff_image(data) is None:
            raise errors.EmptyResultError(f"{self.name}: the worker's image data is not an image", provider=self.name)
        return data, 0

    # ---- transcription -------------------------------------------------------------------------

    async def transcribe(self, call: TranscribeCall, *, timeout: float) -> ProviderTranscript:
        inp, _ = self._audio_input(call)
        with open(call.audio.path, "rb") as fh:
            audio = base64.b64encode(fh.read()).decode("ascii")
        job, sent, received = await self._job(call.provider_model, {"audio_base64": audio, **inp}, timeout=timeout,
                                              started=self.clock.monotonic())
        return self._transcript(job, call, inp, sent=sent, received=received)

    def _transcript(self, job: dict[str, Any], call: TranscribeCall, inp: dict[str, Any], *, sent: int,
                    received: int) -> ProviderTranscript:
        seconds = _exec_seconds(job)
        return wire.parse_whisper(job.get("output"), call, inp, provider=self.name,
                                  usage=Usage(gpu_seconds=seconds) if seconds is not None else None,
                                  bytes_up=sent, bytes_down=received)

    # ---- the job flow (aigw.providers._jobs.JobMachine; RunPod's specifics in RunPodQueue) ----

    @functools.cached_property
    def jobs(self) -> JobMachine:
        return JobMachine(self, RunPodQueue(self))

    async def resume_image(self, call: ImageCall, job: RecordedJob, *, timeout: float) -> ProviderImages:
        """One recorded job's images (an `-n 2` call on a public endpoint was two jobs: each resumes alone)."""
        started = self.clock.monotonic()
        done = await self.jobs.resume(job, timeout=timeout)
        images = await self._job_images(done.state, 0, done.received, timeout=timeout, started=started)
        public = call.provider_model in wire.PUBLIC
        return ProviderImages(images=images.blobs, usage=Usage(cost_usd=images.cost if public else None,
                                                                gpu_seconds=images.seconds),
                              bytes_up=0, bytes_down=images.received, http_status=200)

    async def resume_transcribe(self, call: TranscribeCall, job: RecordedJob, *,
                                timeout: float) -> ProviderTranscript:
        inp, _ = self._audio_input(call)
        done = await self.jobs.resume(job, timeout=timeout)
        return self._transcript(done.state, call, inp, sent=0, received=done.received)

    # ---- the job flow --------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = dict(self.settings.headers or {})
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _url(self, endpoint: str, op: str, job_id: str | None = None, query: dict[str, str] | None = None) -> str:
        return self.endpoint(f"/{endpoint}/{op}" + (f"/{job_id}" if job_id else ""), query)

    def _shown_url(self, endpoint: str, op: str, job_id: str) -> str:
        """A job's URL as the run log keeps it: without the base URL's query (it may hold a key)."""
        return f"{self.base_url}/{endpoint}/{op}/{job_id}"

    async def _job(self, endpoint: str, inp: dict[str, Any], *, timeout: float, started: float,
                   queue: bool = False) -> tuple[dict[str, Any], int, int]:
        """Submit, wait, poll, cancel on timeout or interrupt. Returns (finished job, bytes up, bytes down).
        `queue` asks for /run (one of several jobs at once: RunPod's advice for batches, and every id is
        known at once, so a sibling's failure can cancel them all)."""
        body = json.dumps({"input": inp}).encode()
        if len(body) > RUNSYNC_MAX_BYTES:
            raise errors.UsageError(f"{self.name}: the request is {len(body):,} bytes; RunPod takes at most "
                                    f"{RUNSYNC_MAX_BYTES:,}", hint="compress or split the input")
        left = timeout - (self.clock.monotonic() - started)
        if (queue or len(body) > ASYNC_FROM_BYTES) and len(body) <= RUN_MAX_BYTES:
            route, url, read = "run", self._url(endpoint, "run"), min(left, SUBMIT_TIMEOUT_S)
        else:
            wait = sync_wait_ms(left)
            route, url = "runsync", self._url(endpoint, "runsync", query={"wait": str(wait)})
            read = min(left, wait / 1000 + SYNC_MARGIN_S)

        async def submit() -> Submitted:
            resp = await self._submit(endpoint, url, body, timeout=max(read, 1.0))
            job = self._job_body(resp)
            job_id = str(job["id"])
            queued = QueuedJob(job_id, self._shown_url(endpoint, "status", job_id),
                               self._shown_url(endpoint, "cancel", job_id), {"endpoint": endpoint, "route": route})
            return Submitted(queued, job, len(body), len(resp.content), resp.status_code)

        done = await self.jobs.run(submit, timeout=timeout - (self.clock.monotonic() - started))
        return done.state, done.sent, done.received

    async def _submit(self, endpoint: str, url: str, body: bytes, *, timeout: float) -> httpx.Response:
        """POST the job. Interrupted meanwhile, the job may exist already: wait briefly for its id and
        cancel it, so nothing runs (and bills) unseen; a /runsync still holding its answer is lost."""
        headers = {**self._headers(), "Content-Type": "application/json"}

        async def post() -> httpx.Response:
            with translated(self.name):
                return await self.http.post(url, content=body, headers=headers, timeout=timeout)

        task = asyncio.ensure_future(post())
        try:
            resp = await asyncio.shield(task)
        except asyncio.CancelledError:
            await asyncio.shield(self._cancel_late(endpoint, task))
            raise
        if resp.status_code >= 400:
            raise self._error(resp, endpoint)
        return resp

    async def _cancel_late(self, endpoint: str, task: asyncio.Future[httpx.Response]) -> None:
        done, _ = await asyncio.wait({task}, timeout=CANCEL_GRACE_S)
        if not done:
            task.cancel()
            return
        try:
            job = task.result().json()
            job_id = str(job["id"])
            if job.get("status") in TERMINAL:
                return
            self.report_job(job_id, "cancelled", {"endpoint": endpoint, "reason": "interrupted while submitting"})
            with translated(self.name):
                await self.http.post(self._url(endpoint, "cancel", job_id), headers=self._headers(), timeout=5.0)
        except Exception:  # best effort: the answer may be an error, or the job gone
            pass

    def _finished(self, queued: QueuedJob, job: dict[str, Any]) -> dict[str, Any]:
        """A job at its end, recorded; its failure (or cancellation) raised."""
        status, job_id = job.get("status"), queued.id
        if status == "COMPLETED":
            output = job.get("output")
            cost = output.get("cost") if isinstance(output, dict) else None
            self.jobs.report(queued, "completed", execution_ms=job.get("executionTime"),
                             delay_ms=job.get("delayTime"), cost_usd=cost)
            return job
        if status == "FAILED":
            reason = wire.error_text(job.get("error"))
            self.jobs.report(queued, "failed", error=reason)
            raise self._failed(job_id, reason)
        if status == "CANCELLED":
            self.jobs.report(queued, "cancelled", reason="cancelled at RunPod")
            raise errors.RetryableError(f"{self.name}: job {job_id} was cancelled at RunPod", provider=self.name)
        self.jobs.report(queued, "failed", error=str(status))
        if status == "TIMED_OUT":
            raise errors.RetryableError(f"{self.name}: job {job_id} timed out at RunPod (it expired in the queue or "
                                        "ran past its execution timeout)", provider=self.name)
        raise errors.RetryableError(f"{self.name}: job {job_id} ended in unknown state {status!r}", provider=self.name)

    def _job_body(self, resp: httpx.Response) -> dict[str, Any]:
        job = json_body(resp, self.name)
        if not isinstance(job, dict) or not job.get("id") or not isinstance(job.get("status"), str):
            raise errors.RetryableError(f"{self.name}: HTTP {resp.status_code} without a job id and status",
                                        provider=self.name, status=resp.status_code)
        return job

    # ---- errors ----------------------------------------------------------------------------------

    def _error(self, resp: httpx.Response, endpoint: str) -> errors.ProviderError:
        """RunPod's error bodies: `{"error": "..."}`, or a FAILED job (`{"id", "status", "error"}`) for
        invalid input on a public endpoint (flux-schnell.mdx); both carry `error` as a string."""
        exc = classify(resp, self.name, now=self.clock.now().timestamp())
        rejected = _json_or_none(resp)
        if isinstance(rejected, dict) and rejected.get("id") and rejected.get("status") == "FAILED":
            self.report_job(str(rejected["id"]), "failed",
                            {"endpoint": endpoint, "error": wire.error_text(rejected.get("error"))})
        if isinstance(exc, errors.AuthError) and resp.status_code == 401:
            exc.hint = AUTH_HINT
        if resp.status_code == 404:
            mapped = endpoint not in wire.PUBLIC
            return errors.ModelUnavailableError(
                f"{exc.message} (endpoint {endpoint})", provider=self.name, status=404,
                hint=("check the endpoint id mapped in providers.runpod.models" if mapped
                      else "RunPod may have withdrawn this public endpoint"))
        return exc

    def _failed(self, job_id: str, reason: str) -> errors.ProviderError:
        text = f"{self.name}: job {job_id} failed: {reason}"
        lowered = reason.lower()
        if any(word in lowered for word in REFUSAL):
            return errors.ContentRefusedError(text, provider=self.name, code="nsfw")
        if any(word in lowered for word in BAD_INPUT):
            return errors.BadRequestError(text, provider=self.name, hint=(
                "the worker rejected aigw's input; a user's worker may use another schema than the "
                "runpod-workers template aigw speaks"))
        return errors.RetryableError(text, provider=self.name)

    # ---- check -------------------------------------------------------------------------------------

    async def check(self, *, timeout: float) -> dict[str, Any]:
        """`GET /{endpoint}/health` on the first public endpoint: authenticated and free."""
        endpoint = next(iter(wire.PUBLIC))
        t0 = self.clock.monotonic()
        try:
            with translated(self.name):
                resp = await self.http.get(self._url(endpoint, "health"), headers=self._headers(), timeout=timeout)
        except errors.ProviderError as exc:
            return {"reachable": False, "key_accepted": None,
                    "latency_ms": round((self.clock.monotonic() - t0) * 1000, 1), "detail": exc.message}
        latency = round((self.clock.monotonic() - t0) * 1000, 1)
        detail = f"GET /{endpoint}/health -> HTTP {resp.status_code}"
        if resp.status_code in (401, 403):
            return {"reachable": True, "key_accepted": False, "latency_ms": latency, "detail": detail}
        if resp.status_code >= 400:
            return {"reachable": True, "key_accepted": None, "latency_ms": latency, "detail": detail}
        try:
            workers = (resp.json().get("workers") or {})
            detail += f" (workers idle {workers.get('idle', '?')}, running {workers.get('running', '?')})"
        except (ValueError, AttributeError):
            pass
        return {"reachable": True, "key_accepted": True, "latency_ms": latency, "detail": detail}


@dataclass
class _Images:
    """One finished image job."""

    blobs: list[ImageBlob]
    cost: float | None  # USD, as RunPod reported it (public endpoints)
    seconds: float | None  # GPU execution time
    sent: int
    received: int


def _exec_seconds(job: dict[str, Any]) -> float | None:
    ms = job.get("executionTime")
    return ms / 1000 if isinstance(ms, (int, float)) else None


async def _all(coros: list[Any]) -> list[Any]:
    """Run the jobs at once; if one fails, cancel the others (their polls cancel them at RunPod)."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise



def _json_or_none(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None
