"""A fake of Stability AI's v2beta Stable Image generation API (PROVIDERS.md §9 and §12.3).

Surface:

* ``POST /v2beta/stable-image/generate/{ultra,core,sd3}``: multipart/form-data only (JSON and
  urlencoded bodies are a 400), even with no file; per-endpoint field rules (``style_preset`` not on
  ultra, ``model``/``cfg_scale`` only on sd3, output_format png|jpeg on sd3, no negative_prompt on
  turbo models), prompt 1-10,000 characters, ``aspect_ratio`` enum, ``seed`` 0-4294967294;
* ``Accept`` negotiation: ``image/*`` (the default) answers the raw image with ``finish-reason`` and
  ``seed`` headers; ``application/json`` answers ``{"image": base64, "finish_reason", "seed"}``;
* a prompt with a ``filtered_words`` entry answers **200** with ``CONTENT_FILTERED`` and a blank grey
  image; one with a ``moderated_words`` entry answers 403 ``content_moderation``;
* ``GET /v1/user/account`` and ``GET /v1/user/balance`` (the free authenticated checks);
* errors ``{"id": "<32 hex>", "name": "...", "errors": ["..."]}``: 400 bad_request, 401 unauthorized,
  402 payment_required (credits run out: each image costs its model's credits), 403
  content_moderation, 404 not_found, 413 payload_too_large (> 10 MiB), 422 (fault injection), 429
  rate_limit_exceeded over 150 requests per 10 s (then a 60 s time-out), 500 internal_error.

Sources: Stability's Core reference as copied in ``gambithunt/imagen``
(.github/instructions/sd_core.instructions.md: multipart only, accept enum, field ranges and enums);
LiteLLM ``litellm/types/llms/stability.py`` (paths, sd3 ``model`` values, JSON answer fields);
Stability's v1 OpenAPI embedded in ``PipedreamHQ/pipedream``
(packages/component_code_gen/example-instructions/dream-studio-text-to-image.md: ``/v1/user/account``,
``/v1/user/balance``, ``Finish-Reason`` / ``Seed`` headers).
⚠ Not confirmed from an official source and chosen here: the exact error messages, the 401/402/413
``name`` values, the 60 s rate-limit time-out carried only in the message (no Retry-After header), that
a turbo model or ultra *rejects* negative_prompt / style_preset (the real API may ignore them), and
the output pixel sizes per ratio (the ~1 MP SD3 buckets).
"""

from __future__ import annotations

import base64
import io
import random
import re
import threading
import time
import uuid
from collections import deque
from typing import Any

from ._server import FakeServer, RecordedRequest, Response
from .openai import png_bytes

MAX_BODY_BYTES = 10 * 1024 * 1024
SEED_MAX = 4_294_967_294
ASPECTS = {
    "1:1": (1024, 1024), "16:9": (1344, 768), "9:16": (768, 1344), "21:9": (1536, 640), "9:21": (640, 1536),
    "3:2": (1216, 832), "2:3": (832, 1216), "5:4": (1088, 896), "4:5": (896, 1088),
}
PRESETS = (
    "3d-model", "analog-film", "anime", "cinematic", "comic-book", "digital-art", "enhance", "fantasy-art",
    "isometric", "line-art", "low-poly", "modeling-compound", "neon-punk", "origami", "photographic",
    "pixel-art", "tile-texture",
)
SD3_MODELS = ("sd3.5-large", "sd3.5-large-turbo", "sd3.5-medium", "sd3-large", "sd3-large-turbo", "sd3-medium")
# Credits per image (PROVIDERS.md §9: $0.01 per credit).
CREDITS = {"ultra": 8.0, "core": 3.0, "sd3.5-large": 6.5, "sd3.5-large-turbo": 4.0, "sd3.5-medium": 3.5,
           "sd3-large": 6.5, "sd3-large-turbo": 4.0, "sd3-medium": 3.5}
RATE_MESSAGE = ("You have exceeded the rate limit of {limit} requests within a {window:g} second period, "
                "and have been timed out for {timeout:g} seconds.")
_DEFAULT_ERRORS = {
    400: ("bad_request", "Bad request."),
    401: ("unauthorized", "authorization: invalid or missing API key"),
    402: ("payment_required", "You lack sufficient credits to make this request. Please purchase more credits "
                              "at https://platform.stability.ai/account/credits and try again."),
    403: ("content_moderation", "Your request was flagged by our content moderation system, as a result your "
                                "request was denied and you were not charged."),
    404: ("not_found", "Not found."),
    413: ("payload_too_large", "payloads cannot be larger than 10MiB in size"),
    422: ("invalid_language", "English is the only supported language for this service."),
    429: ("rate_limit_exceeded", RATE_MESSAGE.format(limit=150, window=10, timeout=60)),
    500: ("internal_error", "An unexpected server error has occurred, please try again later."),
}


def error_body(name: str, *messages: str) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "name": name, "errors": list(messages)}


class StabilityError(Exception):
    def __init__(self, status: int, name: str, *messages: str) -> None:
        super().__init__(messages[0] if messages else name)
        self.response = Response.json(error_body(name, *messages), status)


def _bad(*messages: str) -> StabilityError:
    return StabilityError(400, "bad_request", *messages)


class FakeStability(FakeServer):
    """Use ``fake.url`` as the base URL (``AIGW_PROVIDERS__STABILITY__BASE_URL``)."""

    server_header = "cloudflare"

    def __init__(self, *, api_key: str | None = None, bad_keys: tuple[str, ...] = ("bad-key",),
                 credits: float = 1000.0, filtered_words: tuple[str, ...] = ("nsfw",),
                 moderated_words: tuple[str, ...] = ("forbidden",), rate_limit: int = 150,
                 rate_window_s: float = 10.0, rate_timeout_s: float = 60.0,
                 image_color: tuple[int, int, int] = (200, 120, 40), host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.api_key = api_key
        self.bad_keys = set(bad_keys)
        self.credits = credits
        self.filtered_words = filtered_words
        self.moderated_words = moderated_words
        self.rate_limit = rate_limit
        self.rate_window_s = rate_window_s
        self.rate_timeout_s = rate_timeout_s
        self.image_color = image_color
        self._lock2 = threading.Lock()
        self._recent: deque[float] = deque()
        self._blocked_until = 0.0
        self._cache: dict[tuple[int, int, str, tuple[int, int, int]], bytes] = {}

    # -- FakeServer hooks -----------------------------------------------------------------------

    def body_limit(self, method: str, path: str) -> int | None:
        return MAX_BODY_BYTES

    def fault_body(self, req: RecordedRequest, status: int) -> Response:
        name, message = _DEFAULT_ERRORS.get(status, ("error", "Error."))
        return Response.json(error_body(name, message), status)

    def empty_response(self, req: RecordedRequest) -> Response:
        if _wants_json(req):
            return Response.json({"image": "", "finish_reason": "SUCCESS", "seed": 1})
        return Response(200, b"", {"content-type": "image/png", "finish-reason": "SUCCESS", "seed": "1"})

    def malformed_body(self, req: RecordedRequest) -> bytes:
        return b'{"image": "iVBORw0KGgoAAAANSUhEUgAA'

    def route(self, req: RecordedRequest) -> Response:
        try:
            return self._route(req)
        except StabilityError as exc:
            return exc.response

    # -- routing ------------------------------------------------------------------------------

    def _route(self, req: RecordedRequest) -> Response:
        if req.too_large:
            raise StabilityError(413, "payload_too_large", "payloads cannot be larger than 10MiB in size")
        self._check_auth(req)
        if req.method == "GET" and req.path == "/v1/user/account":
            return Response.json({"id": "user-fake", "email": "fake@example.com",
                                  "profile_picture": "https://api.stability.ai/example.png",
                                  "organizations": [{"id": "org-fake", "name": "fake", "role": "MEMBER",
                                                     "is_default": True}]})
        if req.method == "GET" and req.path == "/v1/user/balance":
            return Response.json({"credits": self.credits})
        match = re.fullmatch(r"/v2beta/stable-image/generate/(ultra|core|sd3)", req.path.rstrip("/"))
        if match and req.method == "POST":
            self._check_rate()
            return self._generate(req, match.group(1))
        raise StabilityError(404, "not_found", f"{req.method} {req.path}: no such route")

    def _check_auth(self, req: RecordedRequest) -> None:
        header = req.headers.get("authorization", "")
        key = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if not key or key in self.bad_keys or (self.api_key is not None and key != self.api_key):
            raise StabilityError(401, "unauthorized", "authorization: invalid or missing API key")

    def _check_rate(self) -> None:
        now = time.monotonic()
        with self._lock2:
            if now < self._blocked_until:
                raise StabilityError(429, "rate_limit_exceeded", self._rate_message())
            while self._recent and now - self._recent[0] > self.rate_window_s:
                self._recent.popleft()
            if len(self._recent) >= self.rate_limit:
                self._blocked_until = now + self.rate_timeout_s
                raise StabilityError(429, "rate_limit_exceeded", self._rate_message())
            self._recent.append(now)

    def _rate_message(self) -> str:
        return RATE_MESSAGE.format(limit=self.rate_limit, window=self.rate_window_s, timeout=self.rate_timeout_s)

    # -- generation ----------------------------------------------------------------------------

    def _generate(self, req: RecordedRequest, path: str) -> Response:
        accept = (req.headers.get("accept") or "image/*").split(",")[0].strip().lower()
        if accept not in ("image/*", "application/json", "*/*"):
            raise _bad(f"accept: must be one of image/*, application/json (got {accept})")
        if not req.content_type.lower().startswith("multipart/form-data"):
            raise _bad("content-type: must be multipart/form-data")
        if req.form_error:
            raise _bad(f"body: could not parse multipart form ({req.form_error})")
        form = req.form
        prompt = form.get("prompt", "")
        if not prompt:
            raise _bad("prompt: is required")
        if len(prompt) > 10_000:
            raise _bad("prompt: must be at most 10000 characters")
        model = path
        if path == "sd3":
            model = form.get("model", "sd3.5-large")
            if model not in SD3_MODELS:
                raise _bad(f"model: must be one of {', '.join(SD3_MODELS)}")
            mode = form.get("mode", "text-to-image")
            if mode not in ("text-to-image", "image-to-image"):
                raise _bad("mode: must be one of text-to-image, image-to-image")
            if mode == "image-to-image" and "image" not in req.files:
                raise _bad("image: is required when mode is image-to-image")
            if "cfg_scale" in form:
                cfg = _number(form["cfg_scale"], "cfg_scale")
                if not 1 <= cfg <= 10:
                    raise _bad("cfg_scale: must be between 1 and 10")
        else:
            for only_sd3 in ("model", "mode", "cfg_scale"):
                if only_sd3 in form:
                    raise _bad(f"{only_sd3}: is not a parameter of {path}")
        if "negative_prompt" in form:
            if "turbo" in model:
                raise _bad(f"negative_prompt: is not supported by {model}")
            if len(form["negative_prompt"]) > 10_000:
                raise _bad("negative_prompt: must be at most 10000 characters")
        if "style_preset" in form:
            if path == "ultra":
                raise _bad("style_preset: is not a parameter of ultra")
            if form["style_preset"] not in PRESETS:
                raise _bad(f"style_preset: must be one of {', '.join(PRESETS)}")
        aspect = form.get("aspect_ratio", "1:1")
        if aspect not in ASPECTS:
            raise _bad(f"aspect_ratio: must be one of {', '.join(ASPECTS)}")
        fmt = form.get("output_format", "png")
        formats = ("png", "jpeg") if path == "sd3" else ("png", "jpeg", "webp")
        if fmt not in formats:
            raise _bad(f"output_format: must be one of {', '.join(formats)}")
        seed = int(_number(form.get("seed", "0"), "seed"))
        if not 0 <= seed <= SEED_MAX:
            raise _bad(f"seed: must be between 0 and {SEED_MAX}")
        lowered = prompt.lower()
        if any(word in lowered for word in self.moderated_words):
            raise StabilityError(403, "content_moderation", _DEFAULT_ERRORS[403][1])
        cost = CREDITS[model]
        with self._lock2:
            if self.credits < cost:
                raise StabilityError(402, "payment_required", _DEFAULT_ERRORS[402][1])
            self.credits -= cost
        seed = seed or random.randint(1, SEED_MAX)
        filtered = any(word in lowered for word in self.filtered_words)
        width, height = ASPECTS[aspect]
        image = self._render(width, height, fmt, (128, 128, 128) if filtered else self.image_color)
        finish = "CONTENT_FILTERED" if filtered else "SUCCESS"
        if accept == "application/json":
            return Response.json({"image": base64.b64encode(image).decode("ascii"), "finish_reason": finish,
                                  "seed": seed})
        return Response(200, image, {"content-type": f"image/{fmt}", "finish-reason": finish, "seed": str(seed)})

    def _render(self, width: int, height: int, fmt: str, colour: tuple[int, int, int]) -> bytes:
        key = (width, height, fmt, colour)
        with self._lock2:
            if key in self._cache:
                return self._cache[key]
        if fmt == "png":
            data = png_bytes(width, height, colour)
        else:
            from PIL import Image

            buf = io.BytesIO()
            Image.new("RGB", (width, height), colour).save(buf, "JPEG" if fmt == "jpeg" else "WEBP")
            data = buf.getvalue()
        with self._lock2:
            self._cache[key] = data
        return data


def _wants_json(req: RecordedRequest) -> bool:
    return req.headers.get("accept", "").lower().startswith("application/json")


def _number(value: str, name: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise _bad(f"{name}: must be a number") from None
