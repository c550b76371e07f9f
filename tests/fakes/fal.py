"""A faithful fake of fal.ai: the queue API, the sync route, storage uploads and the CDN, on loopback.

Wire protocol per /work/shared/reference/PROVIDERS.md §4 and §12.3, with the ⚠ points checked in the
official clients:

* `fal-ai/fal` projects/fal_client/src/fal_client/client.py (commit c6f0afa): submit answers
  request_id + response_url/status_url/cancel_url (AsyncClient.submit); status 200 only when COMPLETED,
  which may carry `error` and `error_type` (`_BaseRequestHandle._parse_status` reads `queue_position`
  for IN_QUEUE and `logs` for IN_PROGRESS/COMPLETED, `metrics` optional); the result is fetched from
  response_url and a failed job answers its error status there; cancel is `PUT cancel_url`; errors
  are `{"detail": …}` plus optional `error_type` (`_raise_for_status`), and `X-Fal-Error-Type`;
  storage upload is `POST {rest}/storage/upload/initiate?storage_type=gcs` -> {upload_url, file_url},
  then `PUT upload_url` with Content-Type only (`_async_upload_via_storage`); the CDN token is
  `POST {rest}/storage/auth/token?storage_type=fal-cdn-v3` -> {token, token_type, base_url,
  expires_at} (AsyncCDNTokenManager); auth is `Authorization: Key <key>` (auth.py).
* `fal-ai/fal-js` libs/client/src/types/endpoints.ts (commit 381105e): FluxDevInput (= schnell's),
  FastSdxlInput (`format`, not `output_format`), unoOutput (images, has_nsfw_concepts, seed, prompt,
  timings), wizperInput/wizperOutput (`languages`), WhisperChunk {timestamp, text}.

Still unconfirmed (⚠ in PROVIDERS.md) and chosen here: the cancel replies' exact codes (202
CANCELLATION_REQUESTED, 400 ALREADY_COMPLETED, 404 NOT_FOUND), the 401 body `{"detail":
"Unauthorized"}`, the 404 body for an unknown app, the step/num_images ranges of flux-dev and
fast-sdxl (1-50, 1-4 / 1-8), the enum sizes of the ratio presets, a cancelled job's status (COMPLETED
with error "Request cancelled") and a result fetched before completion (400 "Request is still in progress").

Like fal, submit validates nothing: bad input surfaces when the job runs, as COMPLETED + `error` and a
422 FastAPI-style `detail` list at response_url. Unknown input fields are ignored (pydantic's default).
Jobs advance one state per status poll: `queued_polls` IN_QUEUE replies, then `running_polls`
IN_PROGRESS replies (202), then COMPLETED (200); `hang_jobs` keeps them IN_PROGRESS until cancelled.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from ._server import FakeServer, RecordedRequest, Response
from .openai import png_bytes, wav_duration

DEFAULT_TRANSCRIPT = "Welcome to the gateway. Every result is kept on disk."
IMAGE_APPS = {"fal-ai/flux/schnell": "flux", "fal-ai/flux/dev": "flux", "fal-ai/fast-sdxl": "sdxl"}
AUDIO_APPS = {"fal-ai/wizper": "wizper", "fal-ai/whisper": "whisper"}
ENUM_SIZES = {
    "square_hd": (1024, 1024), "square": (512, 512), "portrait_4_3": (768, 1024), "portrait_16_9": (576, 1024),
    "landscape_4_3": (1024, 768), "landscape_16_9": (1024, 576),
}
STEPS = {"fal-ai/flux/schnell": (1, 12), "fal-ai/flux/dev": (1, 50), "fal-ai/fast-sdxl": (1, 50)}
NUM_IMAGES = {"fal-ai/flux/schnell": 4, "fal-ai/flux/dev": 4, "fal-ai/fast-sdxl": 8}
LANGUAGES = frozenset(
    "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw he hi hr ht hu "
    "hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt my ne nl nn no oc pa pl ps pt "
    "ro ru sa sd si sk sl sn so sq sr su sv sw ta te tg th tk tl tr tt uk ur uz vi yi yo zh".split())
LOG_VALUES = {"0", "1", "true", "false", "True", "False"}


@dataclass(frozen=True)
class JobFailure:
    """How an injected failure shows: the status's `error`/`error_type` and the result's status/body."""

    status: int = 500
    detail: Any = "Runner disconnected"
    error_type: str = "runner_disconnected"


@dataclass
class Job:
    id: str
    model: str  # the full id submitted to, sub-path included
    app: str  # owner/app (with namespace): what status/result/cancel URLs name
    input: Any
    queued_polls: int
    running_polls: int
    hang: bool
    polls: int = 0
    cancelled: bool = False
    done: bool = False
    failure: JobFailure | None = None
    output: Any = None
    status_logs: list[str] = field(default_factory=list)  # the `logs` query value of each poll


class FalInputError(Exception):
    def __init__(self, items: list[dict[str, Any]]) -> None:
        super().__init__(items)
        self.items = items


def _item(field_name: str, msg: str, kind: str = "value_error") -> dict[str, Any]:
    return {"loc": ["body", field_name], "msg": msg, "type": kind}


class FakeFal(FakeServer):
    server_header = "fake-fal"

    def __init__(self, *, key: str | None = "test-key", transcript: str = DEFAULT_TRANSCRIPT,
                 queued_polls: int = 0, running_polls: int = 1, whisper_available: bool = True) -> None:
        super().__init__()
        self.key = key  # None accepts any `Key …`
        self.transcript = transcript
        self.queued_polls = queued_polls
        self.running_polls = running_polls
        self.hang_jobs = False
        self.nsfw = False  # every image flagged (also any prompt containing "nsfw")
        self.whisper_available = whisper_available
        self.whisper_null_last_end = False  # Whisper sometimes leaves the last chunk's end null
        self.on_status: Callable[[str], None] | None = None  # called on each status poll, before answering
        self.jobs: dict[str, Job] = {}
        self.files: dict[str, tuple[bytes, str]] = {}  # CDN path -> (bytes, content type)
        self.uploads: dict[str, dict[str, Any]] = {}  # signed-upload token -> grant
        self._failures: list[JobFailure] = []
        self._jobs_lock = threading.Lock()
        self.submits = 0  # submit requests received (POST {queue}/{model id}): a resumed job adds none
        self._renders: dict[tuple[int, int, str, bool], bytes] = {}

    # ---- test controls -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What `queue.fal.run` is: submit, status, result, cancel (and, here, storage and the CDN)."""
        return self.url

    @property
    def run_url(self) -> str:
        """What `fal.run` is: the sync route."""
        return self.url + "/_run"

    def fail_next_jobs(self, times: int = 1, **failure: Any) -> None:
        """The next `times` jobs end COMPLETED with an error; the result answers `status` + `detail`."""
        with self._jobs_lock:
            self._failures.extend([JobFailure(**failure)] * times)

    @property
    def cancelled(self) -> list[str]:
        return [j.id for j in self.jobs.values() if j.cancelled]

    def add_job(self, model: str, data: dict[str, Any]) -> Job:
        """A job an earlier aigw process submitted (and then lost, killed): in the queue, reached only by
        its request id, as fal_client's `AsyncRequestHandle.from_request_id(app, request_id)` reaches it
        (client.py: the status/response/cancel URLs are `{queue}/{owner/app}/requests/{id}[/status|/cancel]`)."""
        return self._new_job(model, data)

    def drop(self, rid: str) -> None:
        """fal no longer knows the request (its results' retention ran out): every URL of it is a 404."""
        with self._jobs_lock:
            del self.jobs[rid]

    def job(self, rid: str | None = None) -> Job:
        if rid is None:
            return list(self.jobs.values())[-1]
        return self.jobs[rid]

    # ---- hooks -------------------------------------------------------------------------------

    def common_headers(self, req: RecordedRequest, resp: Response, started: float) -> None:
        if not req.path.startswith(("/files/", "/_gcs/")):
            resp.headers.setdefault("x-fal-request-id", str(uuid.uuid4()))

    def fault_body(self, req: RecordedRequest, status: int) -> Response:
        from http import HTTPStatus

        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return Response.json({"detail": phrase}, status)

    def empty_response(self, req: RecordedRequest) -> Response:
        job = self.jobs.get(req.path.rstrip("/").rsplit("/", 1)[-1])
        if job is not None and job.model in AUDIO_APPS:
            return Response.json({"text": "", "chunks": [], "languages": []})
        return Response.json({"images": [], "seed": 1, "prompt": "", "has_nsfw_concepts": [], "timings": {}})

    def malformed_body(self, req: RecordedRequest) -> bytes:
        return b'{"images": [{"url": "http://127.0.0.1/files/x.jpg", "width": 10'

    # ---- routing -----------------------------------------------------------------------------

    def route(self, req: RecordedRequest) -> Response:
        path = req.path
        if path.startswith("/files/") and req.method == "GET":
            return self._serve_file(path)
        if path.startswith("/_gcs/") and req.method == "PUT":
            return self._signed_upload(req)
        denied = self._auth(req)
        if denied is not None:
            return denied
        if path == "/storage/upload/initiate" and req.method == "POST":
            return self._initiate(req)
        if path == "/storage/auth/token" and req.method == "POST":
            return self._cdn_token(req)
        if path.startswith("/_run/") and req.method == "POST":
            return self._sync(req, path[len("/_run/"):])
        if "/requests/" in path:
            return self._request_route(req)
        if req.method == "POST":
            return self._submit(req, path.strip("/"))
        return Response.json({"detail": "Method Not Allowed"}, 405)

    def _auth(self, req: RecordedRequest) -> Response | None:
        value = req.headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        if scheme != "Key" or not token or (self.key is not None and token != self.key):
            return Response.json({"detail": "Unauthorized"}, 401)
        return None

    # ---- queue -------------------------------------------------------------------------------

    def _known(self, model: str) -> bool:
        if model == "fal-ai/whisper":
            return self.whisper_available
        return model in IMAGE_APPS or model in AUDIO_APPS

    def _submit(self, req: RecordedRequest, model: str) -> Response:
        with self._jobs_lock:
            self.submits += 1
        if not self._known(model):
            return Response.json({"detail": f"Application '{model}' not found"}, 404)
        job = self._new_job(model, req.json)
        rid = job.id
        return Response.json({"status": "IN_QUEUE", **self._urls(job), "queue_position": 0},
                             headers={"x-fal-request-id": rid})

    def _new_job(self, model: str, data: Any) -> Job:
        parts = model.split("/")
        app = "/".join(parts[:3] if parts[0] in ("workflows", "comfy") else parts[:2])
        job = Job(str(uuid.uuid4()), model, app, data, self.queued_polls, self.running_polls, self.hang_jobs)
        with self._jobs_lock:
            if self._failures:
                job.failure = self._failures.pop(0)
            self.jobs[job.id] = job
        return job

    def _urls(self, job: Job) -> dict[str, str]:
        base = f"{self.url}/{job.app}/requests/{job.id}"
        return {"request_id": job.id, "response_url": base, "status_url": base + "/status",
                "cancel_url": base + "/cancel"}

    def _request_route(self, req: RecordedRequest) -> Response:
        app, _, rest = req.path.strip("/").partition("/requests/")
        rid, _, tail = rest.partition("/")
        job = self.jobs.get(rid)
        if job is None or job.app != app:  # e.g. the model sub-path kept in the URL
            if tail == "cancel" and req.method == "PUT":
                return Response.json({"status": "NOT_FOUND"}, 404)
            return Response.json({"detail": "Not Found"}, 404)
        if tail == "status" and req.method == "GET":
            return self._status(req, job)
        if tail == "cancel" and req.method == "PUT":
            return self._cancel(job)
        if tail == "" and req.method == "GET":
            return self._result(job)
        return Response.json({"detail": "Method Not Allowed"}, 405)

    def _status(self, req: RecordedRequest, job: Job) -> Response:
        logs_value = req.query.get("logs", "0")
        if logs_value not in LOG_VALUES:
            return Response.json({"detail": [_item("logs", "value could not be parsed to a boolean", "type_error.bool")]}, 422)
        if self.on_status is not None:
            self.on_status(job.id)
        with self._jobs_lock:
            job.polls += 1
            job.status_logs.append(logs_value)
            if not job.done and not job.cancelled and not job.hang and job.polls > job.queued_polls + job.running_polls:
                self._finish(job)
            polls = job.polls
        logs: list[Any] | None = [] if logs_value in ("1", "true", "True") else None
        urls = self._urls(job)
        if job.cancelled and not job.done:
            return Response.json({"status": "COMPLETED", **urls, "logs": logs, "metrics": {},
                                  "error": "Request cancelled", "error_type": "request_cancelled"})
        if not job.done:
            if polls <= job.queued_polls:
                return Response.json({"status": "IN_QUEUE", **urls, "queue_position": job.queued_polls - polls}, 202)
            return Response.json({"status": "IN_PROGRESS", **urls, "logs": logs}, 202)
        body: dict[str, Any] = {"status": "COMPLETED", **urls, "logs": logs, "metrics": {"inference_time": 0.42}}
        if job.failure is not None:
            body["error"] = job.failure.detail if isinstance(job.failure.detail, str) else "Unprocessable Entity"
            body["error_type"] = job.failure.error_type
        return Response.json(body)

    def _cancel(self, job: Job) -> Response:
        with self._jobs_lock:
            if job.done:
                return Response.json({"status": "ALREADY_COMPLETED"}, 400)
            job.cancelled = True
        return Response.json({"status": "CANCELLATION_REQUESTED"}, 202)

    def _result(self, job: Job) -> Response:
        if job.cancelled and not job.done:
            return Response.json({"detail": "Request cancelled"}, 400)
        if not job.done:
            return Response.json({"detail": "Request is still in progress"}, 400)
        if job.failure is not None:
            return Response.json({"detail": job.failure.detail, "error_type": job.failure.error_type},
                                 job.failure.status, headers={"x-fal-error-type": job.failure.error_type})
        return Response.json(job.output)

    def _finish(self, job: Job) -> None:
        job.done = True
        if job.failure is not None:
            return
        try:
            job.output = self._run_model(job.model, job.input, job.id)
        except FalInputError as exc:
            job.failure = JobFailure(422, exc.items, "validation_error")

    def _sync(self, req: RecordedRequest, model: str) -> Response:
        if not self._known(model):
            return Response.json({"detail": f"Application '{model}' not found"}, 404)
        try:
            return Response.json(self._run_model(model, req.json, str(uuid.uuid4())))
        except FalInputError as exc:
            return Response.json({"detail": exc.items}, 422)

    # ---- models ------------------------------------------------------------------------------

    def _run_model(self, model: str, data: Any, rid: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise FalInputError([{"loc": ["body"], "msg": "value is not a valid dict", "type": "type_error.dict"}])
        if model in IMAGE_APPS:
            return self._images(model, data, rid)
        return self._transcribe(model, data)

    def _images(self, model: str, data: dict[str, Any], rid: str) -> dict[str, Any]:
        problems: list[dict[str, Any]] = []
        prompt = data.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            problems.append(_item("prompt", "field required", "value_error.missing"))
        default = "square_hd" if IMAGE_APPS[model] == "sdxl" else "landscape_4_3"
        size = data.get("image_size", default)
        if isinstance(size, str) and size in ENUM_SIZES:
            width, height = ENUM_SIZES[size]
        elif isinstance(size, dict) and all(isinstance(size.get(k, 512), int) and size.get(k, 512) > 0 for k in ("width", "height")):
            width, height = size.get("width", 512), size.get("height", 512)
        else:
            problems.append(_item("image_size", "value is not a valid ImageSize or enumeration member"))
            width, height = 1, 1
        low, high = STEPS[model]
        steps = data.get("num_inference_steps", low)
        if not isinstance(steps, int) or not low <= steps <= high:
            problems.append(_item("num_inference_steps", f"ensure this value is between {low} and {high}"))
        n = data.get("num_images", 1)
        if not isinstance(n, int) or not 1 <= n <= NUM_IMAGES[model]:
            problems.append(_item("num_images", f"ensure this value is between 1 and {NUM_IMAGES[model]}"))
        fmt_field = "format" if IMAGE_APPS[model] == "sdxl" else "output_format"
        fmt = data.get(fmt_field, "jpeg")
        if fmt not in ("jpeg", "png"):
            problems.append(_item(fmt_field, "unexpected value; permitted: 'jpeg', 'png'", "value_error.const"))
        guidance = data.get("guidance_scale", 3.5)
        if not isinstance(guidance, (int, float)) or isinstance(guidance, bool):
            problems.append(_item("guidance_scale", "value is not a valid float", "type_error.float"))
        if problems:
            raise FalInputError(problems)
        flagged = self.nsfw or "nsfw" in prompt.lower()
        images = []
        for i in range(n):
            blob = self._render(width, height, fmt, flagged)
            ext = "jpg" if fmt == "jpeg" else "png"
            path = f"/files/{rid}/{i}.{ext}"
            self.files[path] = (blob, f"image/{fmt}")
            images.append({"url": self.url + path, "width": width, "height": height, "content_type": f"image/{fmt}",
                           "file_name": f"{i}.{ext}", "file_size": len(blob)})
        seed = data.get("seed")
        return {"images": images, "seed": seed if isinstance(seed, int) else 424242, "prompt": prompt,
                "has_nsfw_concepts": [flagged] * n, "timings": {"inference": 0.31}}

    def _render(self, width: int, height: int, fmt: str, black: bool) -> bytes:
        key = (width, height, fmt, black)
        if key not in self._renders:
            colour = (0, 0, 0) if black else (200, 60, 40)
            if fmt == "png":
                self._renders[key] = png_bytes(width, height, colour)
            else:
                from PIL import Image

                buf = io.BytesIO()
                Image.new("RGB", (width, height), colour).save(buf, "JPEG", quality=80)
                self._renders[key] = buf.getvalue()
        return self._renders[key]

    def _transcribe(self, model: str, data: dict[str, Any]) -> dict[str, Any]:
        problems: list[dict[str, Any]] = []
        audio = self._audio_bytes(data.get("audio_url"), problems)
        task = data.get("task", "transcribe")
        if task not in ("transcribe", "translate"):
            problems.append(_item("task", "unexpected value; permitted: 'transcribe', 'translate'", "value_error.const"))
        language = data.get("language", "en" if AUDIO_APPS[model] == "wizper" else None)
        if language is not None and language not in LANGUAGES:
            problems.append(_item("language", "unexpected value; permitted: 'af', 'am', …", "value_error.const"))
        level = data.get("chunk_level", "segment")
        if AUDIO_APPS[model] == "whisper" and level not in ("none", "segment", "word"):
            problems.append(_item("chunk_level", "unexpected value; permitted: 'none', 'segment', 'word'", "value_error.const"))
        if problems:
            raise FalInputError(problems)
        duration = wav_duration(audio) or _probe(audio) or 5.0
        chunks = [] if level == "none" else _chunks(self.transcript, duration, words=level == "word"
                                                     and AUDIO_APPS[model] == "whisper")
        if chunks and AUDIO_APPS[model] == "whisper" and self.whisper_null_last_end:
            chunks[-1]["timestamp"][1] = None
        detected = language or "en"
        if AUDIO_APPS[model] == "wizper":
            return {"text": self.transcript, "chunks": chunks, "languages": [detected]}
        return {"text": self.transcript, "chunks": chunks, "inferred_languages": [detected], "diarization_segments": []}

    def _audio_bytes(self, url: Any, problems: list[dict[str, Any]]) -> bytes:
        if not isinstance(url, str) or not url:
            problems.append(_item("audio_url", "field required", "value_error.missing"))
            return b""
        if url.startswith("data:"):
            try:
                return base64.b64decode(url.split(",", 1)[1], validate=True)
            except (IndexError, binascii.Error, ValueError):
                problems.append(_item("audio_url", "invalid data URI"))
                return b""
        path = url[len(self.url):] if url.startswith(self.url) else None
        if path is None or path not in self.files:
            problems.append(_item("audio_url", "Failed to download the file. Please check if the URL is accessible."))
            return b""
        return self.files[path][0]

    # ---- storage and CDN ---------------------------------------------------------------------

    def _initiate(self, req: RecordedRequest) -> Response:
        if req.query.get("storage_type") != "gcs":
            return Response.json({"detail": "storage_type must be gcs"}, 400)
        body = req.json if isinstance(req.json, dict) else {}
        name, ctype = body.get("file_name"), body.get("content_type")
        if not isinstance(name, str) or not isinstance(ctype, str):
            return Response.json({"detail": [_item("file_name", "field required", "value_error.missing")]}, 422)
        token = uuid.uuid4().hex
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
        self.uploads[token] = {"file_name": name, "content_type": ctype, "path": f"/files/storage/{token}/{safe}",
                               "size": None, "chunked": None}
        return Response.json({"upload_url": f"{self.url}/_gcs/{token}", "file_url": f"{self.url}/files/storage/{token}/{safe}"})

    def _signed_upload(self, req: RecordedRequest) -> Response:
        grant = self.uploads.get(req.path[len("/_gcs/"):])
        if grant is None:
            return Response.text("<Error><Code>NoSuchUpload</Code></Error>", 404, content_type="application/xml")
        if req.content_type.split(";")[0].strip() != grant["content_type"]:
            return Response.text("<Error><Code>SignatureDoesNotMatch</Code></Error>", 403, content_type="application/xml")
        grant.update(size=req.body_size, chunked=req.chunked, authorization=req.headers.get("authorization"))
        self.files[grant["path"]] = (req.body, grant["content_type"])
        return Response(200, b"", {})

    def _cdn_token(self, req: RecordedRequest) -> Response:
        if req.query.get("storage_type") != "fal-cdn-v3":
            return Response.json({"detail": "unknown storage_type"}, 400)
        expires = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
        return Response.json({"token": "cdn-" + uuid.uuid4().hex, "token_type": "Bearer", "base_url": self.url,
                              "expires_at": expires})

    def _serve_file(self, path: str) -> Response:
        found = self.files.get(path)
        if found is None:
            return Response.text("Not Found", 404)
        return Response.raw(found[0], found[1])


def _probe(data: bytes) -> float | None:
    try:
        import av

        with av.open(io.BytesIO(data)) as probed:
            return float(probed.duration) / 1_000_000 if probed.duration and probed.duration > 0 else None
    except Exception:  # noqa: BLE001 - unknown duration: the fake uses a default
        return None


def _chunks(text: str, duration: float, *, words: bool) -> list[dict[str, Any]]:
    """Whisper chunks: one per sentence (or word), time shared out by character count."""
    pieces = text.split() if words else [s.strip() for s in re.findall(r"[^.!?]+[.!?]*", text) if s.strip()]
    total = sum(len(p) for p in pieces) or 1
    out, t = [], 0.0
    for i, piece in enumerate(pieces):
        end = duration if i == len(pieces) - 1 else t + duration * len(piece) / total
        out.append({"timestamp": [round(t, 2), round(end, 2)], "text": " " + piece})
        t = end
    return out
