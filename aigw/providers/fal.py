"""fal.ai's queue protocol: submit, poll the status, fetch the result, cancel what aigw gives up on.

PROVIDERS.md §4, checked against `fal-ai/fal` projects/fal_client/src/fal_client/client.py (commit c6f0afa):
- submit `POST {queue}/{model id}` with the model input as the JSON body and `Authorization: Key …`;
  the answer's `status_url`, `response_url` and `cancel_url` are used as given (they name owner/app
  only, `fal-ai/flux/requests/{id}`: AsyncRequestHandle.from_request_id builds the same when absent);
- status: 202 while IN_QUEUE / IN_PROGRESS, 200 once COMPLETED; a failed job is COMPLETED with `error`
  and `error_type` (`Completed`), and its result fetch answers the failure's status and body, which is
  what the error is mapped from (422 -> BadRequestError, 5xx runner failures -> RetryableError);
- poll every 0.1 s (DEFAULT_QUEUE_POLL_INTERVAL; here growing to 2 s), cancel with `PUT cancel_url`;
- errors are `{"detail": str | [FastAPI items]}` with an optional `error_type` (`_raise_for_status`);
- local files go up through storage: `POST {rest}/storage/upload/initiate?storage_type=gcs` with
  {file_name, content_type} -> {upload_url, file_url}, then `PUT upload_url` with the bytes and only
  a Content-Type (`_async_upload_via_storage`, the client's "fal" repository);
- `POST {rest}/storage/auth/token?storage_type=fal-cdn-v3` (AsyncCDNTokenManager) is the check: every
  upload by the official client calls it with an ordinary API key, it costs nothing and runs nothing.

The queue host is base_url (`providers.fal.base_url`), else the SDK's FAL_QUEUE_RUN_HOST / FAL_RUN_HOST
(auth.py; host names), else `https://queue.fal.run`. The REST host (storage, check) is `https://rest.fal.ai`;
`FAL_REST_HOST` (the fal CLI's variable, fal/flags.py; a host name or a full URL) overrides it, and a
loopback base_url (a test fake) serves it itself.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from aigw import errors
from aigw.providers import _fal_models as models
from aigw.providers._http import MAX_IMAGE_BYTES_DEFAULT, classify, download_image, json_body, sniff_image, translated
from aigw.providers._jobs import JobMachine, QueueAPI, QueuedJob, Submitted
from aigw.providers._options import BY_MODEL, MAPPED, NOT_SENT, REFUSED, SENT, Support
from aigw.providers.base import ProviderBase
from aigw.types import ImageBlob, ImageCall, ProviderImages, ProviderTranscript, RecordedJob, TranscribeCall

DEFAULT_REST_URL = "https://rest.fal.ai"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
STATES = {"IN_QUEUE", "IN_PROGRESS", "COMPLETED"}
# Audio up to 1 MiB goes inline as a data URI (~1.4 MB of JSON): a 30 s clip of 16 kHz mono WAV fits,
# and it saves the two extra round trips of an upload. Anything larger is uploaded once through
# storage and streamed from disk, so the submit body stays small and fal's request history does not
# keep a copy of a large file inline.
DATA_URI_MAX_BYTES = 1024 * 1024
RESULT_TRIES = 3  # a finished job is paid for: fetch its result again rather than resubmit it
AUTH_HINT = "check the key: set FAL_KEY (or FAL_KEY_ID and FAL_KEY_SECRET), or run 'aigw config keys set fal'"
LOCKED_WORDS = ("balance", "billing", "budget", "locked", "payment")


def sdk_queue_url() -> str | None:
    """fal_client's own override: FAL_QUEUE_RUN_HOST, else "queue." + FAL_RUN_HOST (host names, https)."""
    run_host = os.environ.get("FAL_RUN_HOST", "").strip()
    host = os.environ.get("FAL_QUEUE_RUN_HOST", "").strip() or (f"queue.{run_host}" if run_host else "")
    host = host.rstrip("/")
    if not host:
        return None
    return _with_scheme(host)


def _with_scheme(host: str) -> str:
    """Host names get https, as in fal_client, except a loopback host (a local fake or proxy)."""
    if "://" in host:
        return host
    name = urlsplit(f"//{host}").hostname
    return f"{'http' if name in LOOPBACK else 'https'}://{host}"


def rest_url(base_url: str) -> str:
    host = os.environ.get("FAL_REST_HOST", "").strip().rstrip("/")
    if host:
        return _with_scheme(host)
    parts = urlsplit(base_url)
    if parts.hostname in LOOPBACK:
        return f"{parts.scheme}://{parts.netloc}"
    return DEFAULT_REST_URL


class FalQueue(QueueAPI):
    """fal's queue for the JobMachine: GET status_url (202 while IN_QUEUE / IN_PROGRESS, 200 once
    COMPLETED), `PUT cancel_url`, the result from response_url (fal_client client.py: AsyncRequestHandle
    status/get/cancel, `_parse_status`)."""

    cancel_method = "PUT"
    poll_interval = 0.1  # fal_client's DEFAULT_QUEUE_POLL_INTERVAL
    max_poll_interval = 2.0

    def __init__(self, provider: FalProvider) -> None:
        self.p = provider

    def headers(self) -> dict[str, str]:
        return self.p.headers()

    def poll_url(self, job: QueuedJob) -> str:
        return self.p.with_base_query(job.status_url, {"logs": "0"})

    def cancel_url(self, job: QueuedJob) -> str:
        return self.p.with_base_query(job.cancel_url)

    def missing(self, job: QueuedJob) -> str:
        return f"job {job.id} not found"

    def error(self, resp: httpx.Response, job: QueuedJob) -> errors.ProviderError:
        return self.p._error(resp, during="status")

    def state(self, resp: httpx.Response, job: QueuedJob) -> dict[str, Any]:
        status = json_body(resp, self.p.name)
        if not isinstance(status, dict) or status.get("status") not in STATES:
            shown = status.get("status") if isinstance(status, dict) else status
            raise errors.RetryableError(f"{self.p.name}: job {job.id} has unknown status {shown!r}",
                                        provider=self.p.name)
        return status

    def done(self, state: dict[str, Any], job: QueuedJob) -> bool:
        return state.get("status") == "COMPLETED"

    async def result(self, job: QueuedJob, state: dict[str, Any], *, timeout: float) -> tuple[Any, int]:
        return await self.p._result(job, state, timeout=timeout)

    def recorded(self, job_id: str, details: dict[str, Any]) -> QueuedJob:
        model = details.get("model")
        if not isinstance(model, str) or not model.strip("/"):
            raise errors.JobGoneError(f"{self.p.name}: job {job_id}'s record names no model", provider=self.p.name,
                                      code="job_gone")
        urls = self.p._job_urls(details, model, job_id)
        return QueuedJob(job_id, urls["status_url"], urls["cancel_url"],
                         {"model": model, "response_url": urls["response_url"]})


class FalProvider(ProviderBase):
    kinds: ClassVar[frozenset[str]] = frozenset({"image", "audio"})
    default_base_url: ClassVar[str] = "https://queue.fal.run"
    # wizper's audio_url: mp3, mp4, mpeg, mpga, m4a, wav, webm (PROVIDERS.md, fal-ai/wizper): no FLAC.
    audio_input_formats: ClassVar[frozenset[str] | None] = frozenset({"mp3", "mp4", "mpeg", "mpga", "m4a", "wav", "webm"})
    image_options: ClassVar[dict[str, Support]] = {
        "size": MAPPED, "aspect_ratio": MAPPED, "quality": NOT_SENT, "style": NOT_SENT, "n": SENT, "format": MAPPED,
        "seed": SENT, "negative_prompt": BY_MODEL, "steps": MAPPED, "guidance": SENT,
    }
    audio_options: ClassVar[dict[str, Support]] = {
        "language": MAPPED, "prompt": BY_MODEL, "temperature": NOT_SENT, "timestamps": MAPPED, "translate": SENT,
        "diarize": REFUSED,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.settings.base_url:
            self.base_url = sdk_queue_url() or self.default_base_url

    @property
    def rest_url(self) -> str:
        return rest_url(self.base_url)

    def headers(self) -> dict[str, str]:
        out = dict(self.settings.headers or {})
        if self.api_key:
            out["Authorization"] = f"Key {self.api_key}"
        return out

    # ---- hooks -------------------------------------------------------------------------------

    def prepare_image(self, call: ImageCall) -> tuple[ImageCall, list[str]]:
        models.check_model_id(call.provider_model)
        _, notes, call = models.image_input(call, name=self.name)
        return call, notes

    def prepare_transcribe(self, call: TranscribeCall) -> tuple[TranscribeCall, list[str]]:
        models.check_model_id(call.provider_model)
        _, notes, call = models.audio_input(call, name=self.name)
        return call, notes

    # ---- images ------------------------------------------------------------------------------

    async def generate(self, call: ImageCall, *, timeout: float) -> ProviderImages:
        body, _, call = models.image_input(call, name=self.name)
        started = self.clock.monotonic()
        output, sent, received = await self._run(call.provider_model, body, timeout=timeout)
        return await self._images(output, call, timeout=timeout, started=started, received=received, sent=sent)

    async def _images(self, output: Any, call: ImageCall, *, timeout: float, started: float, received: int,
                      sent: int) -> ProviderImages:
        items = output.get("images") if isinstance(output, dict) else None
        if not isinstance(items, list) or not items:
            raise errors.EmptyResultError(f"{self.name}: the result has no images", provider=self.name)
        flags = output.get("has_nsfw_concepts") or []
        flagged = [i for i, f in enumerate(flags) if f is True and i < len(items)]
        if flagged:
            # ⚠ PROVIDERS.md §4.6: fal answers a flagged image as a black picture with
            # has_nsfw_concepts[i] = true rather than an error; aigw calls that a refusal (exit 5).
            raise errors.ContentRefusedError(
                f"{self.name}: the safety checker blanked {len(flagged)} of {len(items)} image(s) (has_nsfw_concepts)",
                provider=self.name, code="nsfw",
                hint="rephrase the prompt, or pass --fallback-on-refusal to try other providers")
        images = []
        for item in items:
            left = timeout - (self.clock.monotonic() - started)
            data = await self._image_bytes(item, timeout=min(120.0, max(left, 30.0)))
            received += len(data)
            images.append(ImageBlob(data=data, ext=sniff_image(data) or call.format or "jpeg"))
        return ProviderImages(images=images, bytes_up=sent, bytes_down=received, http_status=200)

    async def _image_bytes(self, item: Any, *, timeout: float) -> bytes:
        url = item.get("url") if isinstance(item, dict) else None
        if not isinstance(url, str) or not url:
            raise errors.EmptyResultError(f"{self.name}: an image entry has no url", provider=self.name)
        if url.startswith("data:"):  # sync_mode answers inline
            try:
                data = base64.b64decode(url.split(",", 1)[1], validate=False)
            except (IndexError, binascii.Error, ValueError) as exc:
                raise errors.EmptyResultError(f"{self.name}: bad data URI in the result", provider=self.name) from exc
            if sniff_image(data) is None:
                raise errors.EmptyResultError(f"{self.name}: the data URI is not an image", provider=self.name)
            return data
        # CDN URLs are public: no key goes with them.
        return await download_image(self.http, url, provider=self.name, max_bytes=MAX_IMAGE_BYTES_DEFAULT, origin=self.base_url,
                                    timeout=timeout)

    # ---- transcription -----------------------------------------------------------------------

    async def transcribe(self, call: TranscribeCall, *, timeout: float) -> ProviderTranscript:
        body, _, call = models.audio_input(call, name=self.name)
        started = self.clock.monotonic()
        audio_url, uploaded = await self._audio_url(call, timeout=timeout)
        left = timeout - (self.clock.monotonic() - started)
        output, sent, received = await self._run(call.provider_model, {"audio_url": audio_url, **body}, timeout=left)
        return models.parse_transcript(output, call, name=self.name, bytes_up=sent + uploaded, bytes_down=received)

    async def _audio_url(self, call: TranscribeCall, *, timeout: float) -> tuple[str, int]:
        """A data URI for small files; larger ones go through fal storage. Returns (url, bytes uploaded)."""
        audio = call.audio
        if audio.size_bytes <= DATA_URI_MAX_BYTES:
            with open(audio.path, "rb") as fh:
                encoded = base64.b64encode(fh.read()).decode("ascii")
            return f"data:{audio.content_type};base64,{encoded}", 0
        initiate = f"{self.rest_url}/storage/upload/initiate?storage_type=gcs"
        with translated(self.name):
            resp = await self.http.post(
                initiate, json={"file_name": audio.filename, "content_type": audio.content_type},
                headers={**self.headers(), "Accept": "application/json"}, timeout=min(timeout, 60.0))
        if resp.status_code >= 400:
            raise self._error(resp, during="upload")
        grant = json_body(resp, self.name)
        upload_url = grant.get("upload_url") if isinstance(grant, dict) else None
        file_url = grant.get("file_url") if isinstance(grant, dict) else None
        if not isinstance(upload_url, str) or not isinstance(file_url, str):
            raise errors.RetryableError(f"{self.name}: storage answered without upload_url/file_url",
                                        provider=self.name)

        async def chunks() -> Any:
            with open(audio.path, "rb") as fh:
                while block := fh.read(256 * 1024):
                    yield block

        # A signed URL: the bytes stream from disk with their length and type, and without the key.
        headers = {"Content-Type": audio.content_type, "Content-Length": str(audio.size_bytes)}
        with translated(self.name):
            put = await self.http.put(upload_url, content=chunks(), headers=headers, timeout=timeout)
        if put.status_code >= 400:
            raise errors.RetryableError(f"{self.name}: audio upload failed: HTTP {put.status_code}",
                                        provider=self.name, status=put.status_code)
        return file_url, audio.size_bytes

    # ---- the queue flow (aigw.providers._jobs.JobMachine; fal's specifics in FalQueue) -----------

    @functools.cached_property
    def jobs(self) -> JobMachine:
        return JobMachine(self, FalQueue(self))

    async def _run(self, model: str, body: dict[str, Any], *, timeout: float) -> tuple[Any, int, int]:
        """Submit, record, poll, fetch; cancel on timeout or interrupt. Returns (output, bytes up, bytes down)."""

        async def submit() -> Submitted:
            headers = self.headers()
            if timeout >= 2:
                # Server-side start timeout: if aigw is killed outright, fal still drops the job once
                # aigw would have given up on it, instead of running (and billing) it later.
                headers["X-Fal-Request-Timeout"] = str(int(timeout))
            with translated(self.name):
                resp = await self.http.post(self.endpoint(model), json=body, headers=headers,
                                            timeout=min(timeout, 60.0))
            if resp.status_code >= 400:
                raise self._error(resp, during="submit", model=model)
            submitted = json_body(resp, self.name)
            if not isinstance(submitted, dict) or not submitted.get("request_id"):
                raise errors.RetryableError(f"{self.name}: submit answered without a request_id", provider=self.name,
                                            status=resp.status_code)
            rid = str(submitted["request_id"])
            urls = self._job_urls(submitted, model, rid)
            job = QueuedJob(rid, urls["status_url"], urls["cancel_url"],
                            {"model": model, "response_url": urls["response_url"]})
            # fal's submit answers IN_QUEUE: the status comes from polling, never from the submit.
            return Submitted(job, {}, len(resp.request.content) if resp.request else 0, len(resp.content),
                             resp.status_code)

        done = await self.jobs.run(submit, timeout=timeout)
        return done.output, done.sent, done.received

    async def resume_image(self, call: ImageCall, job: RecordedJob, *, timeout: float) -> ProviderImages:
        started = self.clock.monotonic()
        done = await self.jobs.resume(job, timeout=timeout)
        return await self._images(done.output, call, timeout=timeout, started=started, received=done.received,
                                  sent=0)

    async def resume_transcribe(self, call: TranscribeCall, job: RecordedJob, *,
                                timeout: float) -> ProviderTranscript:
        done = await self.jobs.resume(job, timeout=timeout)
        return models.parse_transcript(done.output, call, name=self.name, bytes_up=0, bytes_down=done.received)

    def _job_urls(self, submitted: dict[str, Any], model: str, rid: str) -> dict[str, str]:
        """The URLs fal returned, kept on the configured origin: the key never goes elsewhere."""
        parts = [p for p in model.split("/") if p]
        app = parts[:3] if parts[0] in ("workflows", "comfy") else parts[:2]
        own = f"{self.base_url}/{'/'.join(app)}/requests/{rid}"
        defaults = {"response_url": own, "status_url": own + "/status", "cancel_url": own + "/cancel"}
        base = urlsplit(self.base_url)
        out = {}
        for key, fallback in defaults.items():
            given = submitted.get(key)
            if not isinstance(given, str) or not given:
                out[key] = fallback
                continue
            got = urlsplit(given)
            same = (got.scheme, got.netloc) == (base.scheme, base.netloc)
            out[key] = given if same else f"{base.scheme}://{base.netloc}{base.path.rstrip('/')}{got.path}"
        return out

    async def _result(self, job: QueuedJob, status: dict[str, Any], *, timeout: float) -> tuple[Any, int]:
        """GET response_url. A failed job (COMPLETED with `error`) answers its failure here."""
        failed = bool(status.get("error"))
        url = self.with_base_query(job.details["response_url"])
        for attempt in range(1, RESULT_TRIES + 1):
            try:
                with translated(self.name):
                    resp = await self.http.get(url, headers=self.headers(), timeout=min(120.0, max(timeout, 5.0)))
            except errors.RetryableError as exc:
                if not failed and attempt < RESULT_TRIES:
                    await self.clock.sleep(0.5 * attempt)
                    continue
                raise self._failed(job, status, exc) from exc
            if resp.status_code < 400 and failed:  # an error in the status, yet a result: still a failure
                raise self._failed(job, status, None)
            if resp.status_code < 400:
                try:
                    output = json_body(resp, self.name)
                except errors.RetryableError as exc:  # cut short: the job is paid for, so read it again
                    if attempt == RESULT_TRIES:
                        raise self._failed(job, status, exc) from exc
                    await self.clock.sleep(0.5 * attempt)
                    continue
                self.jobs.report(job, "completed", inference_time=(status.get("metrics") or {}).get("inference_time"))
                return output, len(resp.content)
            err = self._error(resp, during=f"job {job.id}")
            if not failed and isinstance(err, errors.RetryableError) and attempt < RESULT_TRIES:
                await self.clock.sleep(0.5 * attempt)
                continue
            raise self._failed(job, status, err)
        raise AssertionError("unreachable")

    def _failed(self, job: QueuedJob, status: dict[str, Any], exc: errors.ProviderError | None) -> errors.ProviderError:
        reason, etype = status.get("error"), status.get("error_type")
        if exc is None:
            exc = errors.RetryableError(f"{self.name}: job {job.id} failed: {reason}", provider=self.name,
                                        code=str(etype) if etype else None)
        elif reason and str(reason) not in exc.message:
            exc.message = f"{exc.message} ({reason})"
            exc.args = (exc.message,)
        self.jobs.report(job, "failed", error=str(reason or exc.message), error_type=etype, http_status=exc.status)
        return exc

    # ---- errors ------------------------------------------------------------------------------

    def _error(self, resp: httpx.Response, *, during: str, model: str | None = None) -> errors.ProviderError:
        """`{"detail": str | [items]}` (plus `error_type` / X-Fal-Error-Type) onto aigw's classes."""
        exc = classify(resp, self.name, now=self.clock.now().timestamp())
        status = resp.status_code
        detail, kinds = _detail(resp)
        etype = _error_type(resp)
        if detail:
            exc.message = f"{self.name}: {during}: HTTP {status}: {detail}"
            exc.args = (exc.message,)
        kw: dict[str, Any] = {"provider": self.name, "status": status, "code": etype or exc.code}
        if any("content_policy" in k or "nsfw" in k for k in kinds) or "content_policy" in (etype or ""):
            return errors.ContentRefusedError(exc.message, **kw)
        if status == 403 and any(w in detail.lower() for w in LOCKED_WORDS):
            return errors.QuotaExceededError(
                exc.message, hint="top up at fal.ai/dashboard/billing, or use another provider", **kw)
        if isinstance(exc, errors.AuthError):
            exc.hint = AUTH_HINT
        if status == 404 and model is not None:
            return errors.ModelUnavailableError(exc.message, hint=f"fal does not serve '{model}' (see fal.ai/models)",
                                                **kw)
        if etype and exc.code is None:
            exc.code = etype
        return exc

    # ---- check -------------------------------------------------------------------------------

    async def check(self, *, timeout: float) -> dict[str, Any]:
        """Mint a CDN upload token: authenticated, free, and what every fal_client upload does first."""
        url = f"{self.rest_url}/storage/auth/token?storage_type=fal-cdn-v3"
        t0 = self.clock.monotonic()
        try:
            with translated(self.name):
                resp = await self.http.post(url, json={}, headers={**self.headers(), "Accept": "application/json"},
                                            timeout=timeout)
        except errors.ProviderError as exc:
            return {"reachable": False, "key_accepted": None, "latency_ms": None, "detail": exc.message}
        latency = round((self.clock.monotonic() - t0) * 1000, 1)
        detail, _ = _detail(resp)
        shown = f"POST /storage/auth/token -> HTTP {resp.status_code}" + (f": {detail}" if detail else "")
        if resp.status_code in (401, 403):
            return {"reachable": True, "key_accepted": False, "latency_ms": latency, "detail": shown}
        return {"reachable": True, "key_accepted": True if resp.status_code < 400 else None, "latency_ms": latency,
                "detail": shown}


def _detail(resp: httpx.Response) -> tuple[str, list[str]]:
    """A readable `detail` (FastAPI items as 'body.prompt: field required') and the items' types."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text.strip()[:300], []
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):
        parts, kinds = [], []
        for item in detail:
            if isinstance(item, dict):
                loc = ".".join(str(p) for p in item.get("loc") or [])
                parts.append(f"{loc}: {item.get('msg', '')}" if loc else str(item.get("msg", "")))
                kinds.append(str(item.get("type", "")).lower())
            else:
                parts.append(str(item))
        return "; ".join(parts)[:300], kinds
    if isinstance(detail, (str, int, float)):
        return str(detail)[:300], []
    if isinstance(body, dict) and isinstance(body.get("status"), str):
        return body["status"], []
    return "", []


def _error_type(resp: httpx.Response) -> str | None:
    try:
        body = resp.json()
    except ValueError:
        body = None
    found = body.get("error_type") if isinstance(body, dict) else None
    return str(found) if found else resp.headers.get("x-fal-error-type")

