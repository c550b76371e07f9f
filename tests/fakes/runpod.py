"""A loopback fake of RunPod serverless (PROVIDERS.md §6 and §12.3), serving under ``/v2`` like
``https://api.runpod.ai/v2``.

Surface (§12.3: "/run, /runsync?wait=, /status/{id}, /cancel/{id}, states incl. TIMED_OUT/CANCELLED,
{"input"} wrapper, 429"):

* ``POST /v2/{endpoint}/runsync[?wait=ms]`` (body up to 20 MB; ``wait`` 1,000-300,000): a job whose
  plan has ``polls=0`` answers finished; otherwise the fake holds ``min(wait, max_hold)`` real seconds
  and answers ``{"id": "sync-…", "status": "IN_PROGRESS"}`` (or IN_QUEUE) as RunPod does when the wait
  runs out;
* ``POST /v2/{endpoint}/run`` (body up to 10 MB) -> ``{"id", "status": "IN_QUEUE"}``;
* ``GET /v2/{endpoint}/status/{id}``: IN_PROGRESS (or RUNNING) until the plan's ``polls``-th poll,
  which sees its final state (``never=True``: running until cancelled); 404 once a job has expired
  (its ttl, :meth:`expire` or ``JobPlan(expire=True)``);
* ``POST /v2/{endpoint}/cancel/{id}`` -> ``{"id", "status": "CANCELLED"}``; ``POST …/retry/{id}``;
  ``POST …/purge-queue``; ``GET …/health`` -> ``{"jobs": {…}, "workers": {…}}``;
* finished jobs carry ``delayTime``, ``executionTime`` (ms), ``workerId`` and ``output``; failed ones
  ``"status": "FAILED", "error": …``;
* ``Authorization: Bearer <key>`` or the bare key (RunPod's curl examples send that);
* workers: the public ``black-forest-labs-flux-1-schnell`` / ``-dev`` endpoints (docs
  public-endpoints/models/flux-*.mdx: width/height multiples of 64 in 256-1536, steps 1-8 / 1-50,
  guidance 0-10, image_format jpeg|png; bad input is HTTP 400 ``{"id", "status": "FAILED", "error":
  "Invalid parameter: …"}``; output ``{"image_url", "cost"}`` with cost = megapixels x rate), and user
  endpoints added with :meth:`add_endpoint` running ``worker-sdxl`` or ``worker-faster_whisper`` with
  their schemas checked the way runpod's ``rp_validator`` does (unknown keys, types, constraints: the
  job FAILS with the list of errors) and their outputs as their handlers build them;
* images are served by the fake itself under ``/image/`` (image.runpod.ai in reality), real PNG or
  JPEG at the requested size.

Confirmed in sources: runpod/runpod-python 07fc6e2 (2026-08-10) runpod/endpoint/runner.py (Bearer
auth, ``{"input"}`` wrapper, ``/run``, ``/runsync``, ``/status/{id}``, ``/cancel/{id}``, ``/health``,
1 s polls), runpod/endpoint/helpers.py (terminal states; ``FINAL_STATES`` lacks CANCELLED, ``is_completed``
has it), runpod/__init__.py (``RUNPOD_ENDPOINT_BASE_URL``, no key variable), runpod/serverless/modules/
rp_job.py (a handler's ``{"error": …}`` and exceptions become a FAILED job; exceptions as a JSON string
with ``error_type``/``error_message``), runpod/serverless/utils/rp_validator.py (error texts); runpod/docs
a900806 serverless/endpoints/operation-reference.mdx (payload limits, wait range, responses, health),
job-states.mdx (RUNNING), send-requests.mdx (ttl expiry -> 404), public-endpoints/models/flux-schnell.mdx
and flux-dev.mdx (inputs, output, the 400 body, cost); runpod-workers/worker-faster_whisper bd500dc
src/rp_schema.py, src/rp_handler.py, src/predict.py (inputs, ``turbo`` among the models, output, SRT/VTT
writers: the VTT has no WEBVTT header); runpod-workers/worker-sdxl src/rp_schemas.py and handler.py
(inputs, ``num_images`` 1-2, output ``images`` as data URIs without a bucket).
⚠ Unconfirmed, chosen for tests: the bodies of 401/404/413/429 (``{"error": "…"}``, §6.3), the status
for an over-size body (413), rejecting ``wait`` outside its range and unknown public-endpoint fields.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

from ._server import FakeServer, RecordedRequest, Response
from .openai import png_bytes, wav_duration

__all__ = ["DEFAULT_TRANSCRIPT", "FakeRunPod", "JobPlan", "SCHNELL", "DEV"]

SCHNELL, DEV = "black-forest-labs-flux-1-schnell", "black-forest-labs-flux-1-dev"
DEFAULT_TRANSCRIPT = "Welcome to the gateway. Every result is kept on disk."
RUNSYNC_MAX, RUN_MAX = 20_000_000, 10_000_000
TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"}
Worker = Literal["flux-schnell", "flux-dev", "sdxl", "faster-whisper"]
FLUX = {"flux-schnell": {"steps": (1, 8, 4), "rate": 0.0024}, "flux-dev": {"steps": (1, 50, 28), "rate": 0.02}}
WHISPER_MODELS = {"tiny", "base", "small", "medium", "large-v1", "large-v2", "large-v3", "turbo"}

# (type, default) per key, as the workers' rp_schema files declare them.
WHISPER_SCHEMA: dict[str, tuple[type, Any]] = {
    "audio": (str, None), "audio_base64": (str, None), "model": (str, "base"), "transcription": (str, "plain_text"),
    "translate": (bool, False), "translation": (str, "plain_text"), "language": (str, None),
    "temperature": (float, 0), "best_of": (int, 5), "beam_size": (int, 5), "patience": (float, 1.0),
    "length_penalty": (float, 0), "suppress_tokens": (str, "-1"), "initial_prompt": (str, None),
    "condition_on_previous_text": (bool, True), "temperature_increment_on_fallback": (float, 0.2),
    "compression_ratio_threshold": (float, 2.4), "logprob_threshold": (float, -1.0),
    "no_speech_threshold": (float, 0.6), "enable_vad": (bool, False), "word_timestamps": (bool, False),
}
SDXL_SCHEMA: dict[str, tuple[type, Any]] = {
    "prompt": (str, None), "negative_prompt": (str, None), "height": (int, 1024), "width": (int, 1024),
    "seed": (int, None), "scheduler": (str, "DDIM"), "num_inference_steps": (int, 25),
    "refiner_inference_steps": (int, 50), "guidance_scale": (float, 7.5), "strength": (float, 0.3),
    "image_url": (str, None), "num_images": (int, 1),
}


@dataclass
class JobPlan:
    """How the next submitted job behaves (queue several with :meth:`FakeRunPod.plan`)."""

    polls: int = 0  # the /status poll that sees the final state; 0: /runsync answers it finished
    sync_status: Literal["IN_QUEUE", "IN_PROGRESS"] = "IN_PROGRESS"  # an unfinished /runsync's answer
    progress: Literal["IN_PROGRESS", "RUNNING"] = "IN_PROGRESS"  # what /status says while it runs
    outcome: Literal["COMPLETED", "FAILED", "TIMED_OUT", "CANCELLED"] = "COMPLETED"
    error: Any = "worker crashed: CUDA out of memory"  # a FAILED job's `error`
    never: bool = False  # stays IN_PROGRESS until cancelled
    expire: bool = False  # /status answers 404 (the job's ttl ran out)
    cost: float | None = None  # override a public endpoint's reported cost
    execution_ms: int = 1234


@dataclass
class Job:
    id: str
    endpoint: str
    route: str
    input: dict[str, Any]
    plan: JobPlan
    status: str = "IN_QUEUE"
    output: Any = None
    error: Any = None
    seen: int = 0  # status polls answered
    gone: bool = False

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "status": self.status}
        if self.status in ("IN_PROGRESS", "RUNNING", "COMPLETED", "FAILED"):
            out.update(delayTime=17, workerId="fakeworker01")
        if self.status == "COMPLETED":
            out["executionTime"] = self.plan.execution_ms
            if self.output is not None:
                out["output"] = self.output
        if self.status == "FAILED":
            out["executionTime"] = self.plan.execution_ms
            out["error"] = self.error
        return out


class WorkerError(Exception):
    """The worker failed the job (a FAILED job, or HTTP 400 on a public endpoint)."""

    def __init__(self, error: Any) -> None:
        super().__init__(str(error))
        self.error = error


class FakeRunPod(FakeServer):
    server_header = "fake-runpod"

    def __init__(self, key: str = "test-key", *, max_hold: float = 0.2,
                 sdxl_output: Literal["base64", "url"] = "base64") -> None:
        super().__init__()
        self.key = key
        self.max_hold = max_hold  # longest real wait a /runsync holds for an unfinished job
        self.sdxl_output = sdxl_output
        self.transcript = DEFAULT_TRANSCRIPT
        self.translation_text = "Welcome to the gateway, translated. Every result is kept."
        self.endpoints: dict[str, Worker] = {SCHNELL: "flux-schnell", DEV: "flux-dev"}
        self.jobs: dict[str, Job] = {}
        self.plans: deque[JobPlan] = deque()
        self.default_plan = JobPlan()
        self.cancelled: list[str] = []
        self.submits = 0  # /run and /runsync requests received: a resumed job adds none
        self._images: dict[str, tuple[int, int, str]] = {}
        self._jobs_lock = threading.Lock()

    # ---- test controls ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.url + "/v2"

    def add_endpoint(self, endpoint_id: str, worker: Worker) -> None:
        self.endpoints[endpoint_id] = worker

    def plan(self, *plans: JobPlan) -> None:
        """Behaviours for the next submitted jobs, in order; later jobs use `default_plan`."""
        self.plans.extend(plans)

    def add_job(self, endpoint: str, data: dict[str, Any], plan: JobPlan | None = None) -> Job:
        """A job an earlier aigw process sent to /run (and then lost, killed): IN_QUEUE, reached only by
        its id, as runpod-python's `Job(endpoint_id, job_id, ...)` reaches it (endpoint/asyncio/
        asyncio_runner.py: `{base}/{endpoint}/status/{id}`, `{base}/{endpoint}/cancel/{id}`)."""
        job = Job(f"{uuid.uuid4()}-u1", endpoint, "run", data, plan or self.default_plan)
        job.output = self._work(self.endpoints[endpoint], job)
        with self._jobs_lock:
            self.jobs[job.id] = job
        return job

    def expire(self, job_id: str) -> None:
        """The job's ttl ran out: /status answers 404 from now on."""
        with self._jobs_lock:
            self.jobs[job_id].gone = True

    def inputs(self, route: str | None = None) -> list[dict[str, Any]]:
        """The `input` of every submit, in order (route "run" or "runsync" to filter)."""
        return [r.json["input"] for r in self.requests if r.method == "POST" and isinstance(r.json, dict)
                and r.path.rsplit("/", 1)[-1] in ((route,) if route else ("run", "runsync"))]

    # ---- FakeServer hooks ---------------------------------------------------------------------

    def body_limit(self, method: str, path: str) -> int | None:
        if path.endswith("/runsync"):
            return RUNSYNC_MAX
        if path.endswith("/run"):
            return RUN_MAX
        return None

    def fault_body(self, req: RecordedRequest, status: int) -> Response:
        phrases = {401: "Unauthorized", 404: "not found", 429: "Too Many Requests", 500: "Internal Server Error",
                   502: "Bad Gateway", 503: "Service Unavailable"}
        return Response.json({"error": phrases.get(status, "error")}, status)

    def empty_response(self, req: RecordedRequest) -> Response:
        return Response.json({"id": f"sync-{uuid.uuid4()}-u1", "status": "COMPLETED", "delayTime": 3,
                              "executionTime": 10, "output": {}})

    def malformed_body(self, req: RecordedRequest) -> bytes:
        return b'{"id": "sync-0965434e", "status": "COMPL'

    def route(self, req: RecordedRequest) -> Response:
        parts = req.path.strip("/").split("/")
        if parts and parts[0] == "image" and len(parts) == 3 and req.method == "GET":
            return self._image(parts[1] + "/" + parts[2])
        if len(parts) < 3 or parts[0] != "v2":
            return _err(404, "not found")
        if not self._authorized(req):
            return _err(401, "Unauthorized")
        endpoint, op, rest = parts[1], parts[2], parts[3:]
        if endpoint not in self.endpoints:
            return _err(404, f"endpoint {endpoint} not found")
        if req.method == "POST" and op in ("run", "runsync") and not rest:
            return self._submit(req, endpoint, op)
        if req.method == "GET" and op == "status" and len(rest) == 1:
            return self._status(endpoint, rest[0])
        if req.method == "POST" and op == "cancel" and len(rest) == 1:
            return self._cancel(endpoint, rest[0])
        if req.method == "POST" and op == "retry" and len(rest) == 1:
            return self._retry(endpoint, rest[0])
        if req.method == "POST" and op == "purge-queue" and not rest:
            return self._purge(endpoint)
        if req.method == "GET" and op == "health" and not rest:
            return self._health(endpoint)
        return _err(404, "not found")

    # ---- operations -----------------------------------------------------------------------------

    def _authorized(self, req: RecordedRequest) -> bool:
        value = req.headers.get("authorization", "")
        return value in (f"Bearer {self.key}", self.key)

    def _submit(self, req: RecordedRequest, endpoint: str, op: str) -> Response:
        with self._jobs_lock:
            self.submits += 1
        if req.too_large:
            limit = RUNSYNC_MAX if op == "runsync" else RUN_MAX
            return _err(413, f"request body of {req.body_size} bytes is over the {limit // 1_000_000} MB limit")
        if not isinstance(req.json, dict) or not isinstance(req.json.get("input"), dict):
            return _err(400, "request body must be a JSON object with an 'input' object")
        wait_ms = 90_000
        if op == "runsync" and "wait" in req.query:
            try:
                wait_ms = int(req.query["wait"])
            except ValueError:
                return _err(400, "wait must be an integer number of milliseconds")
            if not 1_000 <= wait_ms <= 300_000:
                return _err(400, "wait must be between 1000 and 300000 ms")
        with self._jobs_lock:
            plan = self.plans.popleft() if self.plans else self.default_plan
        job_id = (f"sync-{uuid.uuid4()}-u1" if op == "runsync" else f"{uuid.uuid4()}-u1")
        job = Job(job_id, endpoint, op, req.json["input"], plan)
        worker = self.endpoints[endpoint]
        try:
            job.output = self._work(worker, job)
        except WorkerError as exc:
            if worker in FLUX:  # the public endpoints reject bad input at once
                return Response.json({"id": job_id, "status": "FAILED", "error": exc.error}, 400)
            job.error = exc.error
            job.plan = JobPlan(**{**plan.__dict__, "outcome": "FAILED"})
        with self._jobs_lock:
            self.jobs[job_id] = job
            if op == "runsync" and plan.polls == 0 and not plan.never:
                self._finish(job)
                return Response.json(job.body())
        if op == "runsync":
            self._stopping.wait(min(wait_ms / 1000, self.max_hold))
        with self._jobs_lock:
            if op == "runsync" and job.status == "IN_QUEUE":
                job.status = plan.sync_status
            return Response.json({"id": job.id, "status": job.status})

    def _finish(self, job: Job) -> None:
        job.status = job.plan.outcome
        if job.status == "FAILED" and job.error is None:
            job.error = job.plan.error
        if job.status != "COMPLETED":
            job.output = None

    def _status(self, endpoint: str, job_id: str) -> Response:
        with self._jobs_lock:
            job = self.jobs.get(job_id)
            if job is None or job.endpoint != endpoint or job.gone or job.plan.expire:
                return _err(404, "job not found")
            job.seen += 1
            if job.status not in TERMINAL:
                if job.plan.never or job.seen < job.plan.polls:
                    job.status = job.plan.progress
                else:
                    self._finish(job)
            return Response.json(job.body())

    def _cancel(self, endpoint: str, job_id: str) -> Response:
        with self._jobs_lock:
            job = self.jobs.get(job_id)
            if job is None or job.endpoint != endpoint or job.gone:
                return _err(404, "job not found")
            if job.status not in TERMINAL:
                job.status, job.output = "CANCELLED", None
                self.cancelled.append(job_id)
            return Response.json({"id": job.id, "status": job.status})

    def _retry(self, endpoint: str, job_id: str) -> Response:
        with self._jobs_lock:
            job = self.jobs.get(job_id)
            if job is None or job.endpoint != endpoint or job.gone:
                return _err(404, "job not found")
            if job.status not in ("FAILED", "TIMED_OUT"):
                return _err(400, f"job {job_id} is {job.status}; only FAILED or TIMED_OUT jobs can be retried")
            job.status, job.error, job.plan, job.seen = "IN_QUEUE", None, JobPlan(polls=1), 0
            return Response.json({"id": job.id, "status": job.status})

    def _purge(self, endpoint: str) -> Response:
        with self._jobs_lock:
            queued = [j for j in self.jobs.values() if j.endpoint == endpoint and j.status == "IN_QUEUE"]
            for job in queued:
                job.gone = True
        return Response.json({"removed": len(queued), "status": "completed"})

    def _health(self, endpoint: str) -> Response:
        with self._jobs_lock:
            mine = [j for j in self.jobs.values() if j.endpoint == endpoint]
        count = lambda *states: sum(1 for j in mine if j.status in states)  # noqa: E731
        return Response.json({"jobs": {"completed": count("COMPLETED"), "failed": count("FAILED", "TIMED_OUT"),
                                       "inProgress": count("IN_PROGRESS"), "inQueue": count("IN_QUEUE"),
                                       "retried": 0},
                              "workers": {"idle": 1, "running": count("IN_PROGRESS")}})

    # ---- workers --------------------------------------------------------------------------------

    def _work(self, worker: str, job: Job) -> Any:
        if worker in FLUX:
            return self._flux(worker, job)
        if worker == "sdxl":
            return self._sdxl(job)
        return self._whisper(job)

    def _flux(self, worker: str, job: Job) -> dict[str, Any]:
        inp, spec = job.input, FLUX[worker]
        known = {"prompt", "negative_prompt", "width", "height", "num_inference_steps", "guidance", "seed",
                 "image_format"}
        for key in inp:
            if key not in known:
                raise WorkerError(f"Invalid parameter: unknown field {key}")
        if not isinstance(inp.get("prompt"), str) or not inp["prompt"].strip():
            raise WorkerError("Invalid parameter: prompt is required")
        width, height = inp.get("width", 1024), inp.get("height", 1024)
        for name, value in (("width", width), ("height", height)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise WorkerError(f"Invalid parameter: {name} must be an integer")
            if value % 64:
                raise WorkerError(f"Invalid parameter: {name} must be divisible by 64")
            if not 256 <= value <= 1536:
                raise WorkerError(f"Invalid parameter: {name} must be between 256 and 1536")
        low, high, _ = spec["steps"]
        steps = inp.get("num_inference_steps", spec["steps"][2])
        if not isinstance(steps, int) or not low <= steps <= high:
            raise WorkerError(f"Invalid parameter: num_inference_steps must be between {low} and {high}")
        guidance = inp.get("guidance", 7.5)
        if not isinstance(guidance, (int, float)) or not 0 <= guidance <= 10:
            raise WorkerError("Invalid parameter: guidance must be between 0 and 10")
        if not isinstance(inp.get("seed", -1), int):
            raise WorkerError("Invalid parameter: seed must be an integer")
        fmt = inp.get("image_format", "jpeg")
        if fmt not in ("jpeg", "png"):
            raise WorkerError("Invalid parameter: image_format must be one of jpeg, png")
        name = f"{job.id}/output.{'jpg' if fmt == 'jpeg' else 'png'}"
        self._images[name] = (width, height, fmt)
        cost = job.plan.cost if job.plan.cost is not None else round(width * height / 1_000_000 * spec["rate"], 8)
        return {"image_url": f"{self.url}/image/{name}", "cost": cost}

    def _sdxl(self, job: Job) -> dict[str, Any]:
        inp = _validate(job.input, SDXL_SCHEMA, constraints={"num_images": lambda n: 3 > n > 0})
        width, height = inp["width"], inp["height"]
        if width % 8 or height % 8:
            raise WorkerError(f"Unexpected error: `height` and `width` have to be divisible by 8 but are {height} "
                              f"and {width}.")
        images = []
        for i in range(inp["num_images"]):
            if self.sdxl_output == "url":
                name = f"{job.id}/{i}.png"
                self._images[name] = (width, height, "png")
                images.append(f"{self.url}/image/{name}")
            else:
                data = png_bytes(width, height, (40 + 50 * i, 90, 160))
                images.append("data:image/png;base64," + base64.b64encode(data).decode())
        return {"images": images, "image_url": images[0], "seed": inp["seed"] if inp["seed"] is not None else 4242}

    def _whisper(self, job: Job) -> dict[str, Any]:
        inp = _validate(job.input, WHISPER_SCHEMA)
        if not inp["audio"] and not inp["audio_base64"]:
            raise WorkerError("Must provide either audio or audio_base64")
        if inp["audio"] and inp["audio_base64"]:
            raise WorkerError("Must provide either audio or audio_base64, not both")
        duration = 6.0
        if inp["audio_base64"]:
            try:
                audio = base64.b64decode(inp["audio_base64"], validate=True)
            except (binascii.Error, ValueError):
                raise WorkerError(_handler_exception("Error", "Incorrect padding")) from None
            duration = wav_duration(audio) or duration
        if inp["model"] not in WHISPER_MODELS:
            raise WorkerError(_handler_exception(
                "ValueError", f"Invalid model name: {inp['model']}. Available models are: {WHISPER_MODELS}"))
        segments = _segments(self.transcript, duration)
        out: dict[str, Any] = {
            "segments": [{"id": i + 1, "seek": 0, "start": s, "end": e, "text": " " + t, "tokens": [50364, 1000 + i],
                          "temperature": 0.0, "avg_logprob": -0.21, "compression_ratio": 1.3, "no_speech_prob": 0.01}
                         for i, (s, e, t) in enumerate(segments)],
            "detected_language": inp["language"] or "en",
            "transcription": _format(inp["transcription"], segments),
            "translation": (_format(inp["translation"], _segments(self.translation_text, duration))
                            if inp["translate"] else None),
            "device": "cuda",
            "model": inp["model"],
        }
        if inp["word_timestamps"]:
            out["word_timestamps"] = [w for s, e, t in segments for w in _words(s, e, t)]
        return out

    def _image(self, name: str) -> Response:
        spec = self._images.get(name)
        if spec is None:
            return _err(404, "image not found")
        width, height, fmt = spec
        if fmt == "png":
            return Response.raw(png_bytes(width, height, (200, 120, 40)), "image/png")
        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", (width, height), (200, 120, 40)).save(buf, "JPEG", quality=80)
        return Response.raw(buf.getvalue(), "image/jpeg")


# ---- helpers ------------------------------------------------------------------------------------


def _err(status: int, message: str) -> Response:
    return Response.json({"error": message}, status)


def _validate(raw: dict[str, Any], schema: dict[str, tuple[type, Any]],
              constraints: dict[str, Any] | None = None) -> dict[str, Any]:
    """runpod's rp_validator: unexpected keys, types (ints taken as floats), defaults, constraints."""
    problems = [f"Unexpected input. {key} is not a valid input option." for key in raw if key not in schema]
    out = {key: default for key, (_, default) in schema.items()}
    for key, value in raw.items():
        if key not in schema:
            continue
        kind, default = schema[key]
        if kind is float and type(value) in (int, float):
            value = float(value)
        if (default is None and value is None) or (default is not None and isinstance(value, type(default))) \
                or isinstance(value, kind):
            if value is not None:
                out[key] = value
            continue
        problems.append(f"{key} should be {kind} type, not {type(value)}.")
    for key, check in (constraints or {}).items():
        if not check(out[key]):
            problems.append(f"{key} does not meet the constraints.")
    if problems:
        raise WorkerError(problems)
    return out


def _handler_exception(kind: str, message: str) -> str:
    """A handler exception as rp_job.run_job reports it: a JSON string."""
    return json.dumps({"error_type": f"<class '{kind}'>", "error_message": message,
                       "error_traceback": "Traceback (most recent call last): ...", "hostname": "fakeworker01",
                       "worker_id": "fakeworker01", "runpod_version": "1.12.0"})


def _segments(text: str, duration: float) -> list[tuple[float, float, str]]:
    sentences = [s.strip() + "." for s in text.split(".") if s.strip()]
    step = duration / max(len(sentences), 1)
    return [(round(i * step, 2), round((i + 1) * step, 2), s) for i, s in enumerate(sentences)]


def _words(start: float, end: float, text: str) -> list[dict[str, Any]]:
    words = text.split()
    step = (end - start) / max(len(words), 1)
    return [{"word": " " + w, "start": round(start + i * step, 2), "end": round(start + (i + 1) * step, 2)}
            for i, w in enumerate(words)]


def _stamp(seconds: float, marker: str) -> str:
    """faster_whisper.utils.format_timestamp(always_include_hours=True)."""
    ms = round(seconds * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{marker}{ms:03d}"


def _format(kind: str, segments: list[tuple[float, float, str]]) -> str:
    """predict.format_segments, with its SRT and (header-less) VTT writers."""
    if kind == "formatted_text":
        return "\n".join(t for _, _, t in segments)
    if kind == "srt":
        return "".join(f"{i}\n{_stamp(s, ',')} --> {_stamp(e, ',')}\n{t}\n\n" for i, (s, e, t) in enumerate(segments, 1))
    if kind == "vtt":
        return "".join(f"{_stamp(s, '.')} --> {_stamp(e, '.')}\n{t}\n\n" for s, e, t in segments)
    return " ".join(t for _, _, t in segments)
