"""Replicate's wire protocol: create a prediction (holding with `Prefer: wait`), poll, cancel.

PROVIDERS.md §5, checked against `replicate/replicate-python` (2025-06-02):
- official models: `POST /v1/models/{owner}/{name}/predictions`; community models: `POST /v1/predictions`
  with the 64-hex `version` (replicate/prediction.py, model.py);
- `Prefer: wait=N` (N ≤ 60) holds the create; anything but `starting` counts as the end of the wait,
  and file-output models may answer `processing` with `output` already set (replicate/run.py);
- poll every 0.5 s (`REPLICATE_POLL_INTERVAL`), cancel with `POST …/cancel` (replicate/client.py,
  prediction.py);
- local files go up with `POST /v1/files` (multipart field `content`) and the answer's `urls.get` is
  passed as the input (replicate/file.py, helpers.py); small files go as data URLs;
- errors are problem details `{"title", "detail", "status"}` (replicate/exceptions.py); `Retry-After`
  is whole seconds or an ISO date (RetryTransport._calculate_sleep, dates capped at 60 s);
- `GET /v1/account` is the cheap authenticated check (replicate/account.py).

The prediction id goes to the run log (`report_job`, through the JobMachine) as soon as the create answers, before any polling.
"""

from __future__ import annotations

import base64
import functools
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from aigw import errors
from aigw.providers import _replicate_inputs as inputs
from aigw.providers._http import MAX_IMAGE_BYTES_DEFAULT, classify, download_image, json_body, sniff_image, translated
from aigw.providers._jobs import JobMachine, QueueAPI, QueuedJob, Submitted
from aigw.providers._options import BY_MODEL, MAPPED, NOT_SENT, REFUSED, SENT, Support
from aigw.providers._replicate_output import parse_transcript
from aigw.providers.base import ProviderBase
from aigw.types import ImageBlob, ImageCall, ProviderImages, ProviderTranscript, RecordedJob, TranscribeCall, Usage

TERMINAL = {"succeeded", "failed", "canceled"}
MAX_WAIT_S = 60  # the longest `Prefer: wait` Replicate honours
DATA_URL_MAX_BYTES = 256 * 1024  # larger inputs are uploaded (PROVIDERS.md §5.1)
RETRY_AFTER_DATE_CAP_S = 60.0  # as the SDK caps ISO-date Retry-After values
# The models' safety checkers ("NSFW content detected", cog-flux's "All generated images contained NSFW
# content") and Replicate's own "flagged as sensitive" (E005).
REFUSAL = re.compile(r"nsfw|safety|flagged as sensitive|content (?:policy|filter)|inappropriate", re.IGNORECASE)
AUTH_HINT = "check the token: set REPLICATE_API_TOKEN or run 'aigw config keys set replicate'"


@dataclass
class Ran:
    """A finished prediction and what it took on the wire."""

    prediction: dict[str, Any]
    sent: int
    received: int
    status: int  # of the create: 201 Created


class ReplicateQueue(QueueAPI):
    """Replicate's predictions for the JobMachine: `GET urls.get` until succeeded / failed / canceled
    (or, for file-output models, `processing` with the output there), `POST urls.cancel`
    (replicate-python prediction.py: Prediction.reload/cancel; run.py; client.py's 0.5 s poll)."""

    def __init__(self, provider: ReplicateProvider) -> None:
        self.p = provider
        self.poll_interval = self.max_poll_interval = provider.poll_interval  # the SDK's fixed interval

    def headers(self) -> dict[str, str]:
        return self.p._headers()

    def poll_url(self, job: QueuedJob) -> str:
        return self.p.with_base_query(job.status_url)

    def cancel_url(self, job: QueuedJob) -> str:
        return self.p.with_base_query(job.cancel_url)

    def missing(self, job: QueuedJob) -> str:
        return f"prediction {job.id} not found"

    def error(self, resp: httpx.Response, job: QueuedJob) -> errors.ProviderError:
        return self.p._error(resp)

    def state(self, resp: httpx.Response, job: QueuedJob) -> dict[str, Any]:
        return self.p._prediction(resp)

    def done(self, state: dict[str, Any], job: QueuedJob) -> bool:
        return self.p._finished(state, str(job.details.get("model", "")).partition(":")[0])

    async def result(self, job: QueuedJob, state: dict[str, Any], *, timeout: float) -> tuple[Any, int]:
        return self.p._ended(job, state), 0  # the prediction carries its output (URLs or text)

    def recorded(self, job_id: str, details: dict[str, Any]) -> QueuedJob:
        model = details.get("model")
        if not isinstance(model, str) or not model:
            raise errors.JobGoneError(f"{self.p.name}: prediction {job_id}'s record names no model",
                                      provider=self.p.name, code="job_gone")
        get_url, cancel_url = self.p._job_urls(
            {"id": job_id, "urls": {"get": details.get("status_url"), "cancel": details.get("cancel_url")}})
        return QueuedJob(job_id, get_url, cancel_url, {"model": model})


class ReplicateProvider(ProviderBase):
    kinds: ClassVar[frozenset[str]] = frozenset({"image", "audio"})
    default_base_url: ClassVar[str] = "https://api.replicate.com"
    image_options: ClassVar[dict[str, Support]] = {
        "size": MAPPED, "aspect_ratio": MAPPED, "quality": NOT_SENT, "style": NOT_SENT, "n": MAPPED, "format": MAPPED,
        "seed": SENT, "negative_prompt": BY_MODEL, "steps": MAPPED, "guidance": BY_MODEL,
    }
    audio_options: ClassVar[dict[str, Support]] = {
        "language": SENT, "prompt": SENT, "temperature": SENT, "timestamps": MAPPED, "translate": SENT,
        "diarize": REFUSED,
    }
    path_versions: ClassVar[tuple[str, ...]] = ("/v1",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.poll_interval = _poll_interval()

    # ---- hooks: aigw's vocabulary onto each model's inputs ---------------------------------

    def prepare_image(self, call: ImageCall) -> tuple[ImageCall, list[str]]:
        _, notes, call = inputs.image_input(call)
        return call, notes

    def prepare_transcribe(self, call: TranscribeCall) -> tuple[TranscribeCall, list[str]]:
        _, notes, call = inputs.audio_input(call)
        return call, notes

    # ---- images ------------------------------------------------------------------------------

    async def generate(self, call: ImageCall, *, timeout: float) -> ProviderImages:
        body, _, call = inputs.image_input(call)
        started = self.clock.monotonic()
        ran = await self._run(call.provider_model, body, timeout=timeout)
        return await self._images(ran, call, timeout=timeout, started=started)

    async def _images(self, ran: Ran, call: ImageCall, *, timeout: float, started: float) -> ProviderImages:
        urls = _output_urls(ran.prediction.get("output"))
        if not urls:
            raise self._empty(ran.prediction)
        # Outputs expire (about an hour for API predictions): fetch them now, even past the attempt's time.
        left = timeout - (self.clock.monotonic() - started)
        images = []
        for url in urls:
            data = await download_image(self.http, url, provider=self.name, max_bytes=MAX_IMAGE_BYTES_DEFAULT, origin=self.base_url,
                                        timeout=min(120.0, max(left, 30.0)))
            ran.received += len(data)
            images.append(ImageBlob(data=data, ext=sniff_image(data) or call.format or "png"))
        return ProviderImages(images=images, usage=_usage(ran.prediction), bytes_up=ran.sent,
                              bytes_down=ran.received, http_status=ran.status)

    # ---- transcription -----------------------------------------------------------------------

    async def transcribe(self, call: TranscribeCall, *, timeout: float) -> ProviderTranscript:
        body, _, call = inputs.audio_input(call)
        started = self.clock.monotonic()
        audio_url, uploaded = await self._audio_url(call, timeout=timeout)
        left = timeout - (self.clock.monotonic() - started)
        ran = await self._run(call.provider_model, {"audio": audio_url, **body}, timeout=left)
        return self._transcript(ran, call, uploaded=uploaded)

    def _transcript(self, ran: Ran, call: TranscribeCall, *, uploaded: int) -> ProviderTranscript:
        output = ran.prediction.get("output")
        if output is None:
            raise self._empty(ran.prediction)
        return parse_transcript(output, call, provider=self.name, usage=_usage(ran.prediction),
                                bytes_up=ran.sent + uploaded, bytes_down=ran.received, http_status=ran.status)

    async def _audio_url(self, call: TranscribeCall, *, timeout: float) -> tuple[str, int]:
        """A data URL for small files; larger ones go up with POST /v1/files (multipart `content`)."""
        audio = call.audio
        if audio.size_bytes <= DATA_URL_MAX_BYTES:
            with open(audio.path, "rb") as fh:
                encoded = base64.b64encode(fh.read()).decode("ascii")
            return f"data:{audio.content_type};base64,{encoded}", 0
        with open(audio.path, "rb") as fh, translated(self.name):
            resp = await self.http.post(self.endpoint("/v1/files"), headers=self._headers(),
                                        files={"content": (audio.filename, fh, audio.content_type)}, timeout=timeout)
        if resp.status_code >= 400:
            raise self._error(resp)
        payload = json_body(resp, self.name)
        url = (payload.get("urls") or {}).get("get") if isinstance(payload, dict) else None
        if not isinstance(url, str) or not url:
            raise errors.RetryableError(f"{self.name}: file upload answered without urls.get", provider=self.name,
                                        status=resp.status_code)
        return url, audio.size_bytes

    # ---- the prediction flow (aigw.providers._jobs.JobMachine; Replicate's specifics in ReplicateQueue) --

    @functools.cached_property
    def jobs(self) -> JobMachine:
        return JobMachine(self, ReplicateQueue(self))

    async def _run(self, provider_model: str, body: dict[str, Any], *, timeout: float) -> Ran:
        """Create, wait, poll, cancel on timeout or interrupt; the prediction id is recorded before polling."""
        if timeout <= 0:
            raise errors.RetryableError(f"{self.name}: no time left to create a prediction", provider=self.name)

        async def create() -> Submitted:
            name, _, version = provider_model.partition(":")
            if version:
                url, payload = self.endpoint("/v1/predictions"), {"version": version, "input": body}
            else:
                url, payload = self.endpoint(f"/v1/models/{name}/predictions"), {"input": body}
            headers = self._headers()
            wait = min(MAX_WAIT_S, int(timeout) - 1)
            if wait >= 1:
                headers["Prefer"] = f"wait={wait}"
            # The server answers after at most `wait` s; give it a margin so we learn the prediction id.
            read = min(timeout, wait + 5.0) if wait >= 1 else min(timeout, 30.0)
            with translated(self.name):
                resp = await self.http.post(url, json=payload, headers=headers, timeout=read)
            if resp.status_code >= 400:
                raise self._error(resp, model=provider_model)
            pred = self._prediction(resp)
            get_url, cancel_url = self._job_urls(pred)
            return Submitted(QueuedJob(str(pred["id"]), get_url, cancel_url, {"model": provider_model}), pred,
                             len(resp.request.content) if resp.request else 0, len(resp.content), resp.status_code)

        done = await self.jobs.run(create, timeout=timeout)
        return Ran(done.state, done.sent, done.received, done.http_status)

    async def resume_image(self, call: ImageCall, job: RecordedJob, *, timeout: float) -> ProviderImages:
        started = self.clock.monotonic()
        ran = await self._resume(job, timeout=timeout)
        return await self._images(ran, call, timeout=timeout, started=started)

    async def resume_transcribe(self, call: TranscribeCall, job: RecordedJob, *,
                                timeout: float) -> ProviderTranscript:
        return self._transcript(await self._resume(job, timeout=timeout), call, uploaded=0)

    async def _resume(self, job: RecordedJob, *, timeout: float) -> Ran:
        done = await self.jobs.resume(job, timeout=timeout)
        if done.state.get("data_removed"):  # succeeded, but too long ago: nothing left to fetch
            raise errors.JobGoneError(f"{self.name}: prediction {job.job_id}'s output was removed (data_removed)",
                                      provider=self.name, code="job_expired",
                                      hint="Replicate deletes API predictions' outputs about an hour after they finish")
        return Ran(done.state, 0, done.received, 200)

    def _ended(self, job: QueuedJob, pred: dict[str, Any]) -> dict[str, Any]:
        """A prediction at its end, recorded; its failure (or cancellation) raised."""
        status = pred.get("status")
        if status == "failed":
            self.jobs.report(job, "failed", error=pred.get("error"))
            raise self._failed(pred)
        if status == "canceled":
            self.jobs.report(job, "cancelled", reason="canceled at Replicate")
            raise errors.RetryableError(f"{self.name}: prediction {job.id} was canceled", provider=self.name)
        self.jobs.report(job, "completed", predict_time=(pred.get("metrics") or {}).get("predict_time"))
        return pred

    def _finished(self, pred: dict[str, Any], name: str) -> bool:
        if pred.get("status") in TERMINAL:
            return True
        # File-output models often come back `processing` with the output already in place (§5.2).
        return name in inputs.FILE_OUTPUT_MODELS and pred.get("status") == "processing" and bool(pred.get("output"))

    def _prediction(self, resp: httpx.Response) -> dict[str, Any]:
        pred = json_body(resp, self.name)
        if not isinstance(pred, dict) or not pred.get("id"):
            raise errors.RetryableError(f"{self.name}: HTTP {resp.status_code} without a prediction", provider=self.name,
                                        status=resp.status_code)
        return pred

    def _job_urls(self, pred: dict[str, Any]) -> tuple[str, str]:
        """`urls.get` / `urls.cancel` when they are on the configured host; the token never goes elsewhere."""
        pid, urls = pred["id"], pred.get("urls") or {}
        own = f"{self.base_url}/v1/predictions/{pid}"
        get_url, cancel_url = urls.get("get"), urls.get("cancel")
        if not (isinstance(get_url, str) and _same_origin(get_url, self.base_url)):
            get_url = own
        if not (isinstance(cancel_url, str) and _same_origin(cancel_url, self.base_url)):
            cancel_url = own + "/cancel"
        return get_url, cancel_url

    # ---- errors ------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = dict(self.settings.headers or {})
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _error(self, resp: httpx.Response, *, model: str | None = None) -> errors.ProviderError:
        """Problem details `{"title","detail","status"}` onto aigw's classes (§5.4)."""
        exc = classify(resp, self.name, now=self.clock.now().timestamp())
        title, detail = _problem(resp)
        status = resp.status_code
        if title and detail and title.lower() not in detail.lower():
            exc.message = f"{self.name}: HTTP {status}: {title}: {detail}"
            exc.args = (exc.message,)
        if isinstance(exc, errors.RateLimitedError) and exc.retry_after is None:
            exc.retry_after = _iso_retry_after(resp.headers.get("retry-after"), self.clock.now())
        if isinstance(exc, errors.AuthError) and status == 401:
            exc.hint = AUTH_HINT
        where = f"{title} {detail}".lower()
        if model and (status == 404 or (status == 422 and "version" in where)):
            hint = ("a community model needs its version: map it as OWNER/NAME:VERSION in providers.replicate.models"
                    if ":" not in model else "check the model version in providers.replicate.models")
            return errors.ModelUnavailableError(f"{exc.message} ({model})", hint=hint, provider=self.name,
                                                status=status)
        return exc

    def _failed(self, pred: dict[str, Any]) -> errors.ProviderError:
        reason = str(pred.get("error") or "no error message")
        text = f"{self.name}: prediction {pred.get('id')} failed: {reason}"
        if REFUSAL.search(reason):
            return errors.ContentRefusedError(text, provider=self.name, code="nsfw")
        return errors.RetryableError(text, provider=self.name)

    def _empty(self, pred: dict[str, Any]) -> errors.EmptyResultError:
        if pred.get("data_removed"):
            return errors.EmptyResultError(
                f"{self.name}: prediction {pred.get('id')}'s output was removed (data_removed)",
                hint="Replicate deletes API predictions' outputs about an hour after they finish", provider=self.name)
        return errors.EmptyResultError(f"{self.name}: prediction {pred.get('id')} finished with no output",
                                       provider=self.name)

    # ---- check -------------------------------------------------------------------------------

    async def check(self, *, timeout: float) -> dict[str, Any]:
        """`GET /v1/account`: authenticated, free, and names the account the token belongs to."""
        t0 = self.clock.monotonic()
        try:
            resp = await self.http.get(self.endpoint("/v1/account"), headers=self._headers(), timeout=timeout)
        except httpx.HTTPError as exc:
            return {"reachable": False, "key_accepted": None, "latency_ms": round((self.clock.monotonic() - t0) * 1000, 1),
                    "detail": f"{type(exc).__name__}: {exc}"}
        latency = round((self.clock.monotonic() - t0) * 1000, 1)
        if resp.status_code in (401, 403):
            return {"reachable": True, "key_accepted": False, "latency_ms": latency,
                    "detail": f"HTTP {resp.status_code}: {_problem(resp)[1] or resp.reason_phrase}"}
        if resp.status_code >= 400:
            return {"reachable": True, "key_accepted": None, "latency_ms": latency,
                    "detail": f"HTTP {resp.status_code}: {_problem(resp)[1] or resp.reason_phrase}"}
        try:
            account = resp.json()
        except ValueError:
            account = {}
        who = account.get("username") if isinstance(account, dict) else None
        kind = account.get("type") if isinstance(account, dict) else None
        return {"reachable": True, "key_accepted": True, "latency_ms": latency,
                "detail": f"account {who} ({kind})" if who else "account reachable"}


def _poll_interval() -> float:
    """The SDK's REPLICATE_POLL_INTERVAL (default 0.5 s)."""
    try:
        value = float(os.environ.get("REPLICATE_POLL_INTERVAL", "0.5"))
    except ValueError:
        return 0.5
    return value if value > 0 else 0.5


def _output_urls(output: Any) -> list[str]:
    if isinstance(output, str):
        return [output]
    if isinstance(output, list):
        return [u for u in output if isinstance(u, str) and u]
    return []


def _usage(pred: dict[str, Any]) -> Usage | None:
    """`metrics.predict_time`: the GPU seconds Replicate bills for time-priced models."""
    seconds = (pred.get("metrics") or {}).get("predict_time")
    return Usage(gpu_seconds=float(seconds)) if isinstance(seconds, (int, float)) else None


def _problem(resp: httpx.Response) -> tuple[str | None, str | None]:
    try:
        body = resp.json()
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    title, detail = body.get("title"), body.get("detail")
    return (str(title) if title else None), (str(detail) if detail else None)


def _iso_retry_after(value: str | None, now: datetime) -> float | None:
    """Replicate's Retry-After may be an ISO date; whole seconds and HTTP dates are read by _http."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return min(max((when - now).total_seconds(), 0.0), RETRY_AFTER_DATE_CAP_S)


def _same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)

