"""A faithful loopback fake of Replicate's prediction API (PROVIDERS.md §5 and §12.3).

Surface (PROVIDERS.md §12.3 "model-route and version-route creates, Prefer: wait[=n] blocking up to n
seconds, status progression, cancel, data_removed after expiry, 429 with detail + Retry-After"):

* ``POST /v1/models/{owner}/{name}/predictions`` for official models only (black-forest-labs/flux-schnell);
  a community model or an unknown name there is a 404 ``{"detail": "The requested resource could not be
  found.", "status": 404}``;
* ``POST /v1/predictions`` with ``version`` (bare 64-hex, ``owner/name:hex``, or ``owner/name`` for an
  official model); an unknown version is 422 ``Invalid version or not permitted``;
* ``Prefer: wait`` / ``wait=N`` (answered with ``Preference-Applied``): by default the prediction finishes
  inside the wait; ``wait_outcome="processing"`` answers ``processing`` with ``output`` already set (the
  file-output quirk); ``"starting"`` (or ``never_finish``) holds ``min(N, hold)`` real seconds and answers
  ``starting`` as the server does when the wait runs out;
* ``GET /v1/predictions/{id}``: ``starting`` -> ``processing`` -> terminal after ``polls_to_finish`` polls;
  terminal predictions carry ``metrics.predict_time`` and ``completed_at``;
* ``POST /v1/predictions/{id}/cancel`` -> 200 with the prediction (``canceled``; a finished one unchanged);
* ``POST /v1/files`` (multipart field ``content``) -> 201 file object with ``urls.get``; ``GET /v1/files/{id}``;
* ``GET /v1/account``; outputs served by the fake itself under ``/delivery/`` (the replicate.delivery CDN:
  no auth), gone after :meth:`expire`, which also sets ``output: null, data_removed: true``;
* problem-details errors (``application/problem+json``) ``{"title", "detail", "status"}``; 401
  ``Unauthenticated``; 422 ``Input validation failed`` with ``invalid_fields``; 429 ``{"detail": "Request
  was throttled. …", "status": 429}`` (Retry-After comes from the injected fault);
* failed predictions: the models' own safety texts (prompts containing "nsfw"), diffusers' "divisible by
  8" for SDXL sizes, and any error queued with :meth:`fail_next`.

Confirmed in SDK/model sources (2025): `replicate/replicate-python` replicate/prediction.py
(`Prefer: wait=N` headers and N+0.5 s read timeout, create paths, body ``{"input", "version"}``),
replicate/run.py (only ``starting`` means the wait ran out), replicate/client.py (Bearer auth,
REPLICATE_BASE_URL, Retry-After seconds or ISO date, 0.5 s polls), replicate/file.py (``POST /v1/files``
with ``files={"content": (name, fh, type)}``; helpers.py passes ``urls["get"]``), replicate/exceptions.py
(problem details), replicate/account.py (``GET /v1/account``); cassettes in its tests/ (201 on create,
``Preference-Applied`` and ``ratelimit-*`` headers, 401 body, cancel answering 200 ``canceled`` with
``metrics``, the file object shape, the SDXL version's input schema); `replicate/cog-flux` predict.py
(aspect ratios and sizes, megapixels "0.25" halving each side, output_format webp|jpg|png, the
"All generated images contained NSFW content" failure); the openai/whisper 8099696… schema (language
"auto" or a code or name, transcription "plain text"|"srt"|"vtt") and `replicate/cog-whisper`
predict.py (output object, full-name ``detected_language``, VTT without a header, ``translation`` text).
⚠ Unconfirmed, chosen for tests: the 422 ``invalid_fields`` item shape, the 402 wording, rejecting
unknown input fields (strict, to catch typos), and the SDXL NSFW wording.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import re
import secrets
import string
import threading
import wave
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Literal

from ._server import FakeServer, RecordedRequest, Response

__all__ = ["FakeReplicate", "FLUX", "SDXL", "SDXL_VERSION", "WHISPER", "WHISPER_VERSION", "DEFAULT_TRANSCRIPT"]

FLUX = "black-forest-labs/flux-schnell"
SDXL, SDXL_VERSION = "stability-ai/sdxl", "7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc"
WHISPER, WHISPER_VERSION = "openai/whisper", "8099696689d249cf8b122d833c36ac3f75505c666a395ca40ef26f68e7d3d16e"
DEFAULT_TRANSCRIPT = "Welcome to the gateway. Every result is kept on disk."
PROBLEM = "application/problem+json"
TERMINAL = {"succeeded", "failed", "canceled"}
WaitOutcome = Literal["succeeded", "processing", "starting"]

FLUX_ASPECTS = {
    "1:1": (1024, 1024), "16:9": (1344, 768), "21:9": (1536, 640), "3:2": (1216, 832), "2:3": (832, 1216),
    "4:5": (896, 1088), "5:4": (1088, 896), "3:4": (896, 1152), "4:3": (1152, 896), "9:16": (768, 1344),
    "9:21": (640, 1536),
}
SDXL_SCHEDULERS = ["DDIM", "DPMSolverMultistep", "HeunDiscrete", "KarrasDPM", "K_EULER_ANCESTRAL", "K_EULER", "PNDM"]
WHISPER_CODES = (
    "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw he hi hr ht hu hy "
    "id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt my ne nl nn no oc pa pl ps pt ro ru sa "
    "sd si sk sl sn so sq sr su sv sw ta te tg th tk tl tr tt uk ur uz vi yi yo yue zh"
).split()
LANGUAGE_NAMES = {"en": "english", "de": "german", "fr": "french", "es": "spanish", "it": "italian", "ja": "japanese",
                  "nl": "dutch", "pt": "portuguese", "pl": "polish", "ru": "russian", "zh": "chinese", "ko": "korean"}
FLUX_NSFW = "All generated images contained NSFW content. Try running it again with a different prompt."
SDXL_NSFW = "NSFW content detected. Try running it again, or try a different prompt."

# ---- input schemas: field -> check(value) returning an error text or None ---------------------

Check = Callable[[Any], "str | None"]


def _int(lo: int | None = None, hi: int | None = None) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, int) or isinstance(v, bool):
            return "Invalid type. Expected: integer, given: " + type(v).__name__
        if lo is not None and v < lo:
            return f"Must be greater than or equal to {lo}"
        if hi is not None and v > hi:
            return f"Must be less than or equal to {hi}"
        return None
    return check


def _num(lo: float | None = None, hi: float | None = None) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            return "Invalid type. Expected: number, given: " + type(v).__name__
        if lo is not None and v < lo:
            return f"Must be greater than or equal to {lo:g}"
        if hi is not None and v > hi:
            return f"Must be less than or equal to {hi:g}"
        return None
    return check


def _enum(*choices: str) -> Check:
    def check(v: Any) -> str | None:
        return None if v in choices else f"{v!r} is not one of {list(choices)}"
    return check


def _str(v: Any) -> str | None:
    return None if isinstance(v, str) else "Invalid type. Expected: string, given: " + type(v).__name__


def _bool(v: Any) -> str | None:
    return None if isinstance(v, bool) else "Invalid type. Expected: boolean, given: " + type(v).__name__


SCHEMAS: dict[str, tuple[set[str], dict[str, Check]]] = {
    FLUX: ({"prompt"}, {
        "prompt": _str, "aspect_ratio": _enum(*FLUX_ASPECTS), "num_outputs": _int(1, 4),
        "num_inference_steps": _int(1, 4), "seed": _int(), "output_format": _enum("webp", "jpg", "png"),
        "output_quality": _int(0, 100), "disable_safety_checker": _bool, "go_fast": _bool,
        "megapixels": _enum("1", "0.25"),
    }),
    SDXL: (set(), {
        "prompt": _str, "negative_prompt": _str, "image": _str, "mask": _str, "width": _int(), "height": _int(),
        "num_outputs": _int(1, 4), "scheduler": _enum(*SDXL_SCHEDULERS), "num_inference_steps": _int(1, 500),
        "guidance_scale": _num(1, 50), "prompt_strength": _num(0, 1), "seed": _int(),
        "refine": _enum("no_refiner", "expert_ensemble_refiner", "base_image_refiner"), "high_noise_frac": _num(0, 1),
        "refine_steps": _int(), "apply_watermark": _bool, "lora_scale": _num(0, 1), "replicate_weights": _str,
        "disable_safety_checker": _bool,
    }),
    WHISPER: ({"audio"}, {
        "audio": _str, "transcription": _enum("plain text", "srt", "vtt"), "translate": _bool,
        "language": _enum("auto", *WHISPER_CODES, *(n.title() for n in LANGUAGE_NAMES.values())),
        "temperature": _num(), "patience": _num(), "suppress_tokens": _str, "initial_prompt": _str,
        "condition_on_previous_text": _bool, "temperature_increment_on_fallback": _num(),
        "compression_ratio_threshold": _num(), "logprob_threshold": _num(), "no_speech_threshold": _num(),
    }),
}
OFFICIAL = {FLUX}
VERSIONS = {SDXL_VERSION: SDXL, WHISPER_VERSION: WHISPER}


class ReplicateError(Exception):
    def __init__(self, status: int, detail: str, title: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.body = status, {**({"title": title} if title else {}), "detail": detail, "status": status, **extra}

    def response(self) -> Response:
        return Response.json(self.body, self.status, headers={"content-type": PROBLEM})


def _not_found() -> ReplicateError:
    return ReplicateError(404, "The requested resource could not be found.")


@dataclass
class Prediction:
    id: str
    model: str
    version: str
    input: dict[str, Any]
    created_at: datetime
    status: str = "starting"
    output: Any = None
    error: str | None = None
    data_removed: bool = False
    started_at: datetime | None = None
    completed_at: datetime | None = None
    predict_time: float | None = None
    polls: int = 0
    result: tuple[str, Any] = ("succeeded", None)  # what finishing will produce: (status, output or error)
    files: list[str] = field(default_factory=list)


def _iso(when: datetime | None) -> str | None:
    return when.isoformat().replace("+00:00", "Z") if when else None


def _id() -> str:
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(26))


def _stamp(seconds: float, hours: bool, marker: str) -> str:
    """whisper.utils.format_timestamp."""
    ms = round(seconds * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return (f"{h:02d}:" if hours or h else "") + f"{m:02d}:{s:02d}{marker}{ms:03d}"


class FakeReplicate(FakeServer):
    """Fake api.replicate.com. Point REPLICATE_BASE_URL (or providers.replicate.base_url) at ``fake.url``."""

    server_header = "cloudflare"

    def __init__(self, *, token: str | None = None, bad_tokens: tuple[str, ...] = ("bad-token",),
                 wait_outcome: WaitOutcome = "succeeded", polls_to_finish: int = 1, never_finish: bool = False,
                 hold: float = 0.0, transcript: str = DEFAULT_TRANSCRIPT, translation: str | None = None,
                 detected_language: str = "english", predict_time: float = 1.25, image_color: tuple[int, int, int] = (90, 60, 200),
                 host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.token, self.bad_tokens = token, set(bad_tokens)
        self.wait_outcome: WaitOutcome = wait_outcome
        self.polls_to_finish, self.never_finish, self.hold = polls_to_finish, never_finish, hold
        self.transcript, self.detected_language = transcript, detected_language
        self.translation = translation or "Translated: " + transcript
        self.predict_time, self.image_color = predict_time, image_color
        self.predictions: dict[str, Prediction] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.file_data: dict[str, bytes] = {}
        self.delivery: dict[str, tuple[bytes, str]] = {}
        self.cancelled: list[str] = []
        self._failures: list[str] = []
        self._state = threading.Lock()
        self.creates = 0  # prediction creates received (either route): a resumed prediction adds none

    # -- knobs ------------------------------------------------------------------------------

    def fail_next(self, error: str) -> None:
        """The next prediction created fails with this `error` text when it finishes."""
        with self._state:
            self._failures.append(error)

    def expire(self) -> None:
        """What Replicate does about an hour after an API prediction: outputs and files are deleted."""
        with self._state:
            for pred in self.predictions.values():
                if pred.status in TERMINAL:
                    pred.output, pred.data_removed = None, True
                for path in pred.files:
                    self.delivery.pop(path, None)

    def add_prediction(self, model: str, values: dict[str, Any], version: str = "hidden") -> str:
        """A prediction an earlier aigw process created (and then lost, killed), `starting`, reached
        only by its id, as replicate-python's `predictions.get(id)` reaches it (`GET /v1/predictions/{id}`,
        replicate/prediction.py). Its outcome is decided as a create's would be."""
        pred = Prediction(_id(), model, version, dict(values), datetime.now(timezone.utc))
        with self._state:
            failure = self._failures.pop(0) if self._failures else None
        pred.result = ("failed", failure) if failure else self._outcome(pred)
        with self._state:
            self.predictions[pred.id] = pred
        return pred.id

    @property
    def job_ids(self) -> list[str]:
        with self._state:
            return list(self.predictions)

    # -- FakeServer hooks -------------------------------------------------------------------

    def common_headers(self, req: RecordedRequest, resp: Response, started: float) -> None:
        limit = 600 if req.method == "POST" and req.path.endswith("/predictions") else 3000
        resp.headers.setdefault("ratelimit-remaining", "0" if resp.status == 429 else str(max(limit - self.count(req.path), 0)))
        resp.headers.setdefault("ratelimit-reset", "1")
        resp.headers.setdefault("replicate-edge-cluster", "fake-127-0-0-1")

    def fault_body(self, req: RecordedRequest, status: int) -> Response:
        bodies = {
            401: ReplicateError(401, "You did not pass a valid authentication token", "Unauthenticated"),
            402: ReplicateError(402, "You have insufficient credit to run this model. Go to "
                                "https://replicate.com/account/billing#billing to purchase credit.", "Insufficient credit"),
            404: _not_found(),
            429: ReplicateError(429, "Request was throttled. Your rate limit resets in ~30s."),
            500: ReplicateError(500, "An internal server error occurred.", "Internal Server Error"),
            503: ReplicateError(503, "The service is temporarily unavailable.", "Service Unavailable"),
        }
        return bodies.get(status, ReplicateError(status, f"HTTP {status}")).response()

    def empty_response(self, req: RecordedRequest) -> Response:
        now = datetime.now(timezone.utc)
        pred = Prediction(_id(), FLUX, "hidden", {}, now, status="succeeded", output=[], completed_at=now,
                          predict_time=0.01)
        return Response.json(self._json(pred), 201)

    def malformed_body(self, req: RecordedRequest) -> bytes:
        return b'{"id": "ufawqhfynnddngldkgtslldrkq", "status": "succ'

    def route(self, req: RecordedRequest) -> Response:
        try:
            return self._route(req)
        except ReplicateError as exc:
            return exc.response()

    # -- routing ----------------------------------------------------------------------------

    def _route(self, req: RecordedRequest) -> Response:
        path, method = req.path.rstrip("/"), req.method
        if path.startswith("/delivery/") and method == "GET":
            return self._deliver(path)
        self._auth(req)
        if method == "GET" and path == "/v1/account":
            return Response.json({"type": "user", "username": "aigw-test", "name": "aigw test", "github_url": None})
        if method == "POST" and path == "/v1/predictions":
            return self._create_by_version(req)
        m = re.fullmatch(r"/v1/models/([^/]+)/([^/]+)/predictions", path)
        if m and method == "POST":
            name = f"{m[1]}/{m[2]}"
            if name not in OFFICIAL:
                raise _not_found()
            return self._create(req, name, "hidden")
        m = re.fullmatch(r"/v1/predictions/([a-z0-9]+)(/cancel)?", path)
        if m and method == ("POST" if m[2] else "GET"):
            return self._cancel(m[1]) if m[2] else self._get(m[1])
        if path == "/v1/files" and method == "POST":
            return self._upload(req)
        m = re.fullmatch(r"/v1/files/([A-Za-z0-9_-]+)", path)
        if m and method == "GET":
            with self._state:
                meta = self.files.get(m[1])
            if meta is None:
                raise _not_found()
            return Response.json(meta)
        raise _not_found()

    def _auth(self, req: RecordedRequest) -> None:
        header = req.headers.get("authorization", "")
        token = header[len("Bearer "):] if header.startswith("Bearer ") else None
        if not token or token in self.bad_tokens or (self.token is not None and token != self.token):
            raise ReplicateError(401, "You did not pass a valid authentication token", "Unauthenticated")

    # -- predictions ------------------------------------------------------------------------

    def _create_by_version(self, req: RecordedRequest) -> Response:
        body = req.json if isinstance(req.json, dict) else None
        if body is None:
            raise ReplicateError(400, "The request body must be a JSON object.", "Bad request")
        version = body.get("version")
        if not isinstance(version, str) or not version:
            raise ReplicateError(422, "- version: version is required", "Input validation failed")
        ref, _, vid = version.rpartition(":") if ":" in version else ("", "", version)
        if re.fullmatch(r"[0-9a-f]{64}", vid) and vid in VERSIONS and (not ref or ref == VERSIONS[vid]):
            return self._create(req, VERSIONS[vid], vid)
        if not ref and vid in OFFICIAL:  # `version` may name an official model as owner/name
            return self._create(req, vid, "hidden")
        raise ReplicateError(422, "The specified version does not exist (or perhaps you don't have permission to use it?)",
                             "Invalid version or not permitted")

    def _create(self, req: RecordedRequest, model: str, version: str) -> Response:
        with self._state:
            self.creates += 1
        body = req.json if isinstance(req.json, dict) else None
        if body is None or not isinstance(body.get("input"), dict):
            raise ReplicateError(422, "- input: input is required", "Input validation failed")
        self._validate(model, body["input"])
        now = datetime.now(timezone.utc)
        pred = Prediction(_id(), model, version, dict(body["input"]), now)
        with self._state:
            failure = self._failures.pop(0) if self._failures else None
        pred.result = ("failed", failure) if failure else self._outcome(pred)
        with self._state:
            self.predictions[pred.id] = pred
        headers: dict[str, str] = {}
        wait = self._prefer_wait(req.headers.get("prefer", ""))
        if wait is not None:
            headers["Preference-Applied"] = f"wait={wait}"
            if self.never_finish or self.wait_outcome == "starting":
                if self.hold and self._stopping.wait(min(wait, self.hold)):
                    raise ReplicateError(503, "shutting down")
            elif self.wait_outcome == "processing" and pred.result[0] == "succeeded":
                with self._state:
                    pred.status, pred.started_at, pred.output = "processing", now, pred.result[1]
            else:
                self._finish(pred)
        with self._state:
            return Response.json(self._json(pred), 201, headers=headers)

    @staticmethod
    def _prefer_wait(prefer: str) -> int | None:
        m = re.search(r"(?:^|[,;\s])wait(?:=(\d+))?(?=$|[,;\s])", prefer.strip())
        if not m:
            return None
        return max(1, min(int(m[1]), 60)) if m[1] else 60

    def _validate(self, model: str, values: dict[str, Any]) -> None:
        required, checks = SCHEMAS[model]
        invalid = [(f, "Does not match required field") for f in sorted(required - set(values))]
        for name, value in values.items():
            check = checks.get(name)
            problem = "Additional property is not allowed" if check is None else check(value)
            if problem:
                invalid.append((name, problem))
        if invalid:
            detail = "\n".join(f"- input.{f}: {p}" for f, p in invalid)
            raise ReplicateError(422, detail, "Input validation failed",
                                 invalid_fields=[{"type": "invalid", "field": f"input.{f}", "description": p}
                                                 for f, p in invalid])

    def _get(self, pid: str) -> Response:
        with self._state:
            pred = self.predictions.get(pid)
            if pred is None:
                raise _not_found()
            if pred.status not in TERMINAL:
                pred.polls += 1
                if pred.polls >= self.polls_to_finish and not self.never_finish:
                    self._finish(pred, locked=True)
                else:
                    pred.status, pred.started_at = "processing", pred.started_at or datetime.now(timezone.utc)
            return Response.json(self._json(pred))

    def _cancel(self, pid: str) -> Response:
        with self._state:
            pred = self.predictions.get(pid)
            if pred is None:
                raise _not_found()
            self.cancelled.append(pid)
            if pred.status not in TERMINAL:
                now = datetime.now(timezone.utc)
                pred.status, pred.output, pred.completed_at = "canceled", None, now
                pred.predict_time = round((now - (pred.started_at or pred.created_at)).total_seconds(), 6)
            return Response.json(self._json(pred))

    def _finish(self, pred: Prediction, locked: bool = False) -> None:
        def apply() -> None:
            now = datetime.now(timezone.utc)
            status, value = pred.result
            pred.status, pred.started_at, pred.completed_at = status, pred.started_at or pred.created_at, now
            pred.predict_time = self.predict_time
            if status == "succeeded":
                pred.output = value
            else:
                pred.error, pred.output = str(value), None

        if locked:
            apply()
        else:
            with self._state:
                apply()

    def _json(self, pred: Prediction) -> dict[str, Any]:
        base = f"{self.url}/v1/predictions/{pred.id}"
        out: dict[str, Any] = {
            "id": pred.id, "model": pred.model, "version": pred.version, "input": pred.input, "logs": "",
            "output": pred.output, "data_removed": pred.data_removed, "error": pred.error, "status": pred.status,
            "created_at": _iso(pred.created_at), "started_at": _iso(pred.started_at),
            "completed_at": _iso(pred.completed_at), "deadline": None, "deployment": None,
            "urls": {"get": base, "cancel": base + "/cancel", "web": f"https://replicate.com/p/{pred.id}"},
        }
        if pred.status in TERMINAL:
            out["metrics"] = {"predict_time": pred.predict_time, "total_time": (pred.predict_time or 0) + 0.05}
        return out

    # -- what each model produces -----------------------------------------------------------

    def _outcome(self, pred: Prediction) -> tuple[str, Any]:
        values = pred.input
        if pred.model == WHISPER:
            return self._whisper(values)
        prompt = str(values.get("prompt", "")).lower()
        if "nsfw" in prompt and not values.get("disable_safety_checker"):
            return "failed", FLUX_NSFW if pred.model == FLUX else SDXL_NSFW
        if pred.model == FLUX:
            w, h = FLUX_ASPECTS[values.get("aspect_ratio", "1:1")]
            if values.get("megapixels") == "0.25":
                w, h = w // 2, h // 2
            ext, n = values.get("output_format", "webp"), values.get("num_outputs", 1)
        else:
            w, h, ext, n = values.get("width", 1024), values.get("height", 1024), "png", values.get("num_outputs", 1)
            if w % 8 or h % 8:
                return "failed", f"`height` and `width` have to be divisible by 8 but are {h} and {w}."
        urls = []
        for i in range(n):
            path = f"/delivery/{pred.id}/out-{i}.{ext}"
            with self._state:
                self.delivery[path] = (self._render(w, h, ext), {"jpg": "image/jpeg"}.get(ext, f"image/{ext}"))
            pred.files.append(path)
            urls.append(self.url + path)
        return "succeeded", urls

    def _render(self, w: int, h: int, ext: str) -> bytes:
        return _render(w, h, ext, self.image_color)

    def _audio(self, url: str) -> bytes | None:
        m = re.fullmatch(r"data:([^;,]*)(;base64)?,(.*)", url, re.DOTALL)
        if m:
            return base64.b64decode(m[3]) if m[2] else m[3].encode()
        prefix = f"{self.url}/v1/files/"
        if url.startswith(prefix):
            with self._state:
                return self.file_data.get(url[len(prefix):])
        return None

    def _whisper(self, values: dict[str, Any]) -> tuple[str, Any]:
        audio = self._audio(values["audio"])
        if not audio:
            return "failed", f"Failed to download input audio from {values['audio'][:60]}"
        try:
            with wave.open(io.BytesIO(audio)) as w:
                duration = w.getnframes() / w.getframerate()
        except (wave.Error, EOFError):
            duration = 8.0
        sentences = [s.strip() + ("" if s.strip().endswith(".") else ".") for s in self.transcript.split(". ") if s.strip()]
        step = duration / max(len(sentences), 1)
        segments = [{"id": i, "seek": 0, "start": round(i * step, 2), "end": round((i + 1) * step, 2), "text": " " + s,
                     "tokens": [50364, 1], "temperature": values.get("temperature", 0.0), "avg_logprob": -0.21,
                     "compression_ratio": 1.1, "no_speech_prob": 0.01} for i, s in enumerate(sentences)]
        fmt = values.get("transcription", "plain text")
        if fmt == "srt":
            text = "".join(f"{i}\n{_stamp(s['start'], True, ',')} --> {_stamp(s['end'], True, ',')}\n{s['text'].strip()}\n\n"
                           for i, s in enumerate(segments, start=1))
        elif fmt == "vtt":
            text = "".join(f"{_stamp(s['start'], False, '.')} --> {_stamp(s['end'], False, '.')}\n{s['text'].strip()}\n\n"
                           for s in segments)
        else:
            text = "".join(s["text"] for s in segments)
        language = values.get("language", "auto")
        detected = self.detected_language if language == "auto" else LANGUAGE_NAMES.get(language, language.lower())
        return "succeeded", {"detected_language": detected, "transcription": text, "segments": segments,
                             "translation": self.translation if values.get("translate") else None,
                             "txt_file": None, "srt_file": None}

    # -- files ------------------------------------------------------------------------------

    def _upload(self, req: RecordedRequest) -> Response:
        if not req.content_type.lower().startswith("multipart/form-data") or "content" not in req.files:
            raise ReplicateError(400, "Missing required multipart field 'content'", "Bad request")
        upload = req.files["content"]
        fid = base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")
        now = datetime.now(timezone.utc)
        meta = {
            "id": fid, "name": upload.filename or "file", "content_type": upload.content_type or "application/octet-stream",
            "size": upload.size, "etag": hashlib.md5(upload.data).hexdigest(),
            "checksums": {"sha256": hashlib.sha256(upload.data).hexdigest(), "md5": hashlib.md5(upload.data).hexdigest()},
            "metadata": {}, "created_at": _iso(now), "expires_at": _iso(now + timedelta(days=1)),
            "urls": {"get": f"{self.url}/v1/files/{fid}"},
        }
        with self._state:
            self.files[fid], self.file_data[fid] = meta, upload.data
        return Response.json(meta, 201)

    def _deliver(self, path: str) -> Response:
        with self._state:
            item = self.delivery.get(path)
        if item is None:
            return Response.text("Not Found", 404)
        return Response.raw(item[0], item[1])


@functools.lru_cache(maxsize=32)
def _render(w: int, h: int, ext: str, color: tuple[int, int, int]) -> bytes:
    """A real, decodable image of the size the model would make (cached: tests ask for few sizes)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}[ext])
    return buf.getvalue()
