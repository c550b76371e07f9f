"""A faithful fake of OpenAI's image-generation and audio-transcription HTTP API.

Wire protocol per /work/shared/reference/PROVIDERS.md §2 (SDK 3.54.0, spec f85dbe2) and §12:

* ``POST {prefix}/images/generations`` (JSON) with per-model validation (sizes, qualities, n,
  prompt length, dall-e-only / GPT-image-only parameters), real decodable images, ``usage`` for
  GPT image models, dall-e ``url`` flow served by the fake itself under ``/files/``;
* ``POST {prefix}/audio/transcriptions`` and ``/audio/translations`` (multipart) with the 25 MiB
  whole-body cap (413), the per-model ``response_format`` matrix and json / verbose_json / text /
  srt / vtt / diarized_json bodies;
* ``GET {prefix}/models`` and ``GET {prefix}/models/{id}``;
* OpenAI error bodies ``{"error": {"message", "type", "param", "code"}}`` and the
  ``x-request-id`` / ``openai-processing-ms`` / ``x-ratelimit-*`` headers on every response.

Route paths, prefix and auth style are configurable so the same class can stand in for an
OpenAI-compatible gateway (Kong ``/ai/images``, LiteLLM, an old Azure deployment serving dall-e).
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import struct
import threading
import time
import uuid
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping

from ._server import FakeServer, Fault, RecordedRequest, Response
from ._speech import Hearing

__all__ = [
    "AUDIO_MODELS",
    "AudioModel",
    "DEFAULT_TRANSCRIPT",
    "FakeOpenAI",
    "IMAGE_MODELS",
    "ImageModel",
    "OPENAI_MAX_BODY_BYTES",
    "OpenAIError",
    "RETIRED_MODELS",
    "error_body",
    "insufficient_quota",
    "overloaded",
    "png_bytes",
    "rate_limited",
    "server_error",
    "wav_duration",
]

DEFAULT_TRANSCRIPT = "The quick brown fox jumps over the lazy dog."
OPENAI_MAX_BODY_BYTES = 26_214_400  # whole multipart body, §2.5
AuthMode = Literal["bearer", "api-key", "none"]

# --------------------------------------------------------------------------------------------
# Model tables (§2.2, §2.3, §2.5). Copied per instance so a test may tweak its own fake.
# --------------------------------------------------------------------------------------------

GPT_STANDARD_SIZES = frozenset({"1024x1024", "1536x1024", "1024x1536", "auto"})
GPT_QUALITIES = frozenset({"auto", "low", "medium", "high"})
# §2.3 gives xhigh/max for the 2.5 models only. The 2.6 models are not in the 2026-08 spec's tables;
# the fake treats them like 2.5 (newest family: flexible sizes, xhigh/max). ⚠ unconfirmed.
GPT_25_QUALITIES = GPT_QUALITIES | {"xhigh", "max"}


@dataclass(frozen=True)
class ImageModel:
    name: str
    kind: Literal["gpt", "dall-e-2", "dall-e-3"]
    sizes: frozenset[str]  # fixed sizes accepted (custom WxH handled by custom_sizes)
    qualities: frozenset[str]
    max_prompt: int
    max_n: int = 10
    custom_sizes: bool = False  # gpt-image-2 family: any WxH within the §2.3 rules
    complexity: bool = False  # `complexity` parameter accepted (newest models)


@dataclass(frozen=True)
class AudioModel:
    name: str
    formats: frozenset[str]  # response_format values accepted (§2.5 matrix)
    usage: Literal["duration", "tokens"]
    prompt: bool = True  # `prompt` field accepted
    logprobs: bool = False  # include[]=logprobs accepted (json only)
    languages: bool = False  # languages[] / keywords[] accepted; json returns `languages`
    max_duration: float | None = None  # seconds; gpt-4o family reports ~1400 s (§2.5 ⚠)
    translations: bool = False  # usable on /audio/translations (whisper-1 only, §2.6)
    stream: bool = True  # stream=true honoured (ignored for whisper-1)
    diarize: bool = False


def _gpt(name: str, *, custom: bool = False, newest: bool = False) -> ImageModel:
    return ImageModel(
        name,
        "gpt",
        GPT_STANDARD_SIZES,
        GPT_25_QUALITIES if newest else GPT_QUALITIES,
        max_prompt=32_000,
        custom_sizes=custom,
        complexity=newest,
    )


IMAGE_MODELS: dict[str, ImageModel] = {
    m.name: m
    for m in [
        ImageModel(
            "dall-e-2", "dall-e-2", frozenset({"256x256", "512x512", "1024x1024"}),
            frozenset({"standard", "auto"}), max_prompt=1_000,
        ),
        ImageModel(
            "dall-e-3", "dall-e-3", frozenset({"1024x1024", "1792x1024", "1024x1792"}),
            frozenset({"standard", "hd", "auto"}), max_prompt=4_000, max_n=1,
        ),
        _gpt("gpt-image-1"),
        _gpt("gpt-image-1-mini"),
        _gpt("gpt-image-1.5"),
        _gpt("chatgpt-image-latest"),
        _gpt("gpt-image-2", custom=True),
        _gpt("gpt-image-2-2026-04-21", custom=True),
        _gpt("gpt-image-2.5-sunburst", custom=True, newest=True),
        _gpt("gpt-image-2.5-flare", custom=True, newest=True),
        _gpt("gpt-image-2.5-sunburst-2026-09-08", custom=True, newest=True),
        _gpt("gpt-image-2.5-flare-2026-09-08", custom=True, newest=True),
        _gpt("gpt-image-2.6-sunburst", custom=True, newest=True),
        _gpt("gpt-image-2.6-flare", custom=True, newest=True),
    ]
}

_WHISPER_FORMATS = frozenset({"json", "text", "srt", "vtt", "verbose_json"})
_JSON_ONLY = frozenset({"json"})
AUDIO_MODELS: dict[str, AudioModel] = {
    m.name: m
    for m in [
        AudioModel("whisper-1", _WHISPER_FORMATS, "duration", translations=True, stream=False),
        AudioModel("gpt-4o-transcribe", _JSON_ONLY, "tokens", logprobs=True, max_duration=1400),
        AudioModel("gpt-4o-mini-transcribe", _JSON_ONLY, "tokens", logprobs=True, max_duration=1400),
        AudioModel(
            "gpt-4o-mini-transcribe-2025-12-15", _JSON_ONLY, "tokens", logprobs=True, max_duration=1400
        ),
        AudioModel(
            "gpt-4o-transcribe-diarize",
            frozenset({"json", "text", "diarized_json"}),
            "tokens",
            prompt=False,
            max_duration=1400,
            diarize=True,
        ),
        # json is confirmed; text/srt/vtt/verbose_json are "⚠ unconfirmed" in §2.5 — accepted here
        # so a client that sends them is not failed by the fake on a guess. Billed by duration (§2.8).
        AudioModel("gpt-transcribe", _WHISPER_FORMATS, "duration", languages=True),
    ]
}

RETIRED_MODELS = frozenset({"dall-e-2", "dall-e-3", "gpt-image-1"})

# Output tokens per image at 1024x1024 (gpt-image-1 figures from §2.8), scaled by area. `auto`
# resolves to medium. xhigh/max have no published figure: the fake extrapolates (1.5x, 2x high).
_OUTPUT_TOKENS_1024 = {"low": 272, "medium": 1056, "high": 4160, "xhigh": 6240, "max": 8320}

_AUDIO_EXTENSIONS = ("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm")
_ALL_AUDIO_FORMATS = ("json", "text", "srt", "verbose_json", "vtt", "diarized_json")
_LANGUAGE_NAMES = {
    "en": "english", "de": "german", "fr": "french", "es": "spanish", "it": "italian",
    "pt": "portuguese", "nl": "dutch", "sv": "swedish", "pl": "polish", "ru": "russian",
    "uk": "ukrainian", "ja": "japanese", "zh": "chinese", "ko": "korean", "ar": "arabic",
    "hi": "hindi", "tr": "turkish", "da": "danish", "fi": "finnish", "no": "norwegian",
}

# Body fields the images endpoint knows (§2.3); anything else is "Unknown parameter" like OpenAI.
_IMAGE_COMMON = {"prompt", "model", "n", "size", "quality", "user", "safety_identifier"}
_IMAGE_GPT_ONLY = {
    "output_format", "output_compression", "background", "moderation", "stream", "partial_images",
    "complexity", "frame_count", "frame_duration_ms", "svg",
}
_IMAGE_DALLE_ONLY = {"response_format"}
_IMAGE_DALLE3_ONLY = {"style"}
_IMAGE_KNOWN = _IMAGE_COMMON | _IMAGE_GPT_ONLY | _IMAGE_DALLE_ONLY | _IMAGE_DALLE3_ONLY


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


def error_body(
    message: str,
    type: str = "invalid_request_error",  # noqa: A002 - OpenAI's field name
    param: str | None = None,
    code: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """OpenAI's error envelope (§2.7). ``extra`` goes inside ``error`` (e.g. moderation_details)."""
    return {"error": {"message": message, "type": type, "param": param, "code": code, **extra}}


class OpenAIError(Exception):
    """Raised by handlers; turned into an OpenAI-shaped error response."""

    def __init__(
        self,
        status: int,
        message: str,
        type: str = "invalid_request_error",  # noqa: A002
        param: str | None = None,
        code: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(message, type, param, code, **extra)

    def response(self) -> Response:
        return Response.json(self.body, self.status)


def _bad(message: str, param: str | None, code: str | None = "invalid_value") -> OpenAIError:
    return OpenAIError(400, message, param=param, code=code)


def _invalid_value(param: str, value: Any, allowed: list[str] | None = None) -> OpenAIError:
    msg = f"Invalid value: {json.dumps(value)[:200]!s}."
    if allowed:
        quoted = [f"'{a}'" for a in allowed]
        listing = ", ".join(quoted[:-1]) + f", and {quoted[-1]}" if len(quoted) > 1 else quoted[0]
        msg += f" Supported values are: {listing}."
    return _bad(msg.replace('"', "'"), param)


def _type_name(value: Any) -> str:
    return {
        bool: "a boolean", int: "an integer", float: "a decimal", str: "a string",
        list: "an array", dict: "an object", type(None): "null",
    }.get(type(value), "an unknown type")


def _invalid_type(param: str, value: Any, expected: str) -> OpenAIError:
    return _bad(
        f"Invalid type for '{param}': expected {expected}, but got {_type_name(value)} instead.",
        param,
        "invalid_type",
    )


def _unknown_param(param: str) -> OpenAIError:
    return _bad(f"Unknown parameter: '{param}'.", param, "unknown_parameter")


# Fault helpers for the OpenAI-specific failure modes tests need most.
def rate_limited(
    retry_after: float | None = None,
    retry_after_ms: int | None = None,
    reset_requests: str | None = None,
) -> Fault:
    """429 ``rate_limit_exceeded`` with the retry headers the SDK honours (§2.1, §2.7)."""
    headers = {"x-ratelimit-remaining-requests": "0"}
    if retry_after is not None:
        headers["retry-after"] = f"{retry_after:g}"
    if retry_after_ms is not None:
        headers["retry-after-ms"] = str(retry_after_ms)
    if reset_requests is not None:
        headers["x-ratelimit-reset-requests"] = reset_requests
    return Fault(status=429, headers=headers)


def insufficient_quota() -> Fault:
    """429 that must not be retried (§12.2 item 4)."""
    return Fault(
        status=429,
        body=error_body(
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            None,
            "insufficient_quota",
        ),
    )


def server_error(status: int = 500) -> Fault:
    return Fault(status=status)


def overloaded() -> Fault:
    return Fault(status=503)


def _default_error(status: int, route_hint: str = "requests") -> dict[str, Any]:
    if status == 401:
        return error_body("Incorrect API key provided.", code="invalid_api_key")
    if status == 403:
        return error_body("You are not allowed to sample from this model", code="model_not_found")
    if status == 404:
        return error_body("The requested resource does not exist.", code="not_found")
    if status == 408:
        return error_body("Request timed out.", "timeout")
    if status == 409:
        return error_body("The request conflicted with another request.", code="conflict")
    if status == 413:
        return error_body("Maximum content size limit exceeded.")
    if status == 429:
        return error_body(
            f"Rate limit reached for {route_hint} in organization org-fake on requests per min (RPM): "
            "Limit 5, Used 5, Requested 1. Please try again in 12s.",
            "requests",
            None,
            "rate_limit_exceeded",
        )
    if status == 503:
        return error_body("The engine is currently overloaded, please try again later", "server_error")
    if status >= 500:
        return error_body(
            "The server had an error while processing your request. Sorry about that!", "server_error"
        )
    return error_body("Bad request.")


# --------------------------------------------------------------------------------------------
# Media helpers
# --------------------------------------------------------------------------------------------


def png_bytes(width: int, height: int, rgba: tuple[int, int, int, int] | tuple[int, int, int]) -> bytes:
    """A valid solid-colour PNG (RGB or RGBA) built with zlib + struct only.

    Solid colour compresses ~1000:1, so a 1024x1024 image is a few KB and takes a few ms.
    """

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    colour_type = 6 if len(rgba) == 4 else 2
    row = b"\x00" + bytes(rgba) * width  # filter type 0 (None) per scanline
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(row * height, 6))
        + chunk(b"IEND", b"")
    )


def wav_duration(data: bytes) -> float | None:
    """Duration of a RIFF/WAVE file from its header (None if not a parsable WAV)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    pos, byte_rate = 12, 0
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        start = pos + 8
        if chunk_id == b"fmt " and size >= 16 and start + 12 <= len(data):
            (byte_rate,) = struct.unpack("<I", data[start + 8 : start + 12])
        elif chunk_id == b"data":
            if not byte_rate:
                return None
            available = len(data) - start
            # 0xFFFFFFFF / 0 sizes come from streaming writers: trust the bytes present.
            n = available if size in (0, 0xFFFFFFFF) else min(size, available)
            return n / byte_rate
        pos = start + size + (size & 1)
    return None


def _probe_duration(data: bytes) -> float | None:
    duration = wav_duration(data)
    if duration is not None:
        return duration
    try:  # PyAV reads the container's header, as the real service's decoder would
        import av

        with av.open(io.BytesIO(data)) as probed:
            if probed.duration and probed.duration > 0:
                return float(probed.duration) / 1_000_000
    except Exception:  # noqa: BLE001 - any probe failure means "unknown", use the default
        return None
    return None


def _ts(seconds: float, sep: str) -> str:
    ms = int(round(seconds * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _segments(text: str, duration: float, temperature: float) -> list[dict[str, Any]]:
    """Whisper-style segments: one per sentence, time shared out by character count."""
    sentences = [s.strip() for s in re.findall(r"[^.!?]+[.!?]*", text) if s.strip()]
    total = sum(len(s) for s in sentences) or 1
    out, t = [], 0.0
    for i, sentence in enumerate(sentences):
        end = duration if i == len(sentences) - 1 else t + duration * len(sentence) / total
        out.append(
            {
                "id": i,
                "seek": int(t // 30) * 3000,  # whisper seeks in 10 ms frames per 30 s window
                "start": round(t, 3),
                "end": round(end, 3),
                "text": " " + sentence,
                "tokens": [50364 + i] + [400 + j for j in range(len(sentence.split()))],
                "temperature": temperature,
                "avg_logprob": -0.21,
                "compression_ratio": 1.18,
                "no_speech_prob": 0.004,
            }
        )
        t = end
    return out


def _words(segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    words = []
    for seg in segments:
        tokens = seg["text"].split()
        step = (seg["end"] - seg["start"]) / max(1, len(tokens))
        for j, token in enumerate(tokens):
            start = seg["start"] + j * step
            words.append({"word": token.strip(".,!?;:"), "start": round(start, 3), "end": round(start + step, 3)})
    return words


def _sse(events: list[tuple[str, dict[str, Any]]]) -> Response:
    body = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)
    return Response.text(body, content_type="text/event-stream; charset=utf-8")


# A function from the uploaded audio to what a model would hear in it (tests/fakes/_speech.py):
# with one, the fake answers with those words at those times instead of its fixed transcript.
Transcriber = Callable[[bytes], "Hearing"]

# --------------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------------


class FakeOpenAI(FakeServer):
    """Fake OpenAI API. Use ``fake.base_url`` (``http://127.0.0.1:PORT/v1``) as the client base URL."""

    server_header = "cloudflare"

    def __init__(
        self,
        *,
        prefix: str = "/v1",
        images_path: str = "/images/generations",
        transcriptions_path: str = "/audio/transcriptions",
        translations_path: str = "/audio/translations",
        models_path: str = "/models",
        auth: AuthMode = "bearer",
        api_key: str | None = None,
        api_key_header: str = "api-key",
        bad_keys: tuple[str, ...] = ("bad-key",),
        serve_retired: bool = False,
        retired_models: set[str] | frozenset[str] | None = None,
        transcript: str = DEFAULT_TRANSCRIPT,
        transcriber: Transcriber | None = None,
        default_duration: float = 8.47,
        max_body_bytes: int | None = OPENAI_MAX_BODY_BYTES,
        rate_limit_requests: int = 5000,
        image_color: tuple[int, int, int] = (64, 128, 192),
        extra_headers: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.images_path = self.prefix + _slash(images_path)
        self.transcriptions_path = self.prefix + _slash(transcriptions_path)
        self.translations_path = self.prefix + _slash(translations_path)
        self.models_path = self.prefix + _slash(models_path)
        self.auth: AuthMode = auth
        self.api_key = api_key  # when set, only this key is accepted
        self.api_key_header = api_key_header.lower()
        self.bad_keys = set(bad_keys)
        self.serve_retired = serve_retired
        self.retired_models = set(RETIRED_MODELS if retired_models is None else retired_models)
        self.transcript = transcript
        self.transcriber = transcriber
        self.default_duration = default_duration  # used when the upload is not a readable WAV
        self.max_body_bytes = max_body_bytes  # audio routes only; None disables the cap
        self.rate_limit_requests = rate_limit_requests
        self.image_color = image_color
        self.extra_headers = {k.lower(): v for k, v in (extra_headers or {}).items()}
        self.image_models = dict(IMAGE_MODELS)
        self.audio_models = dict(AUDIO_MODELS)
        self.files_expired = False
        self._files: dict[str, bytes] = {}
        self._image_cache: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._image_lock = threading.Lock()
        self._routes: dict[tuple[str, str], Callable[[RecordedRequest], Response]] = {
            ("POST", self.images_path): self._images,
            ("POST", self.transcriptions_path): lambda r: self._audio(r, "transcribe"),
            ("POST", self.translations_path): lambda r: self._audio(r, "translate"),
            ("GET", self.models_path): self._list_models,
        }

    # -- public helpers ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What a client uses as its base URL, e.g. ``http://127.0.0.1:PORT/v1``."""
        return self.url + self.prefix

    def current_models(self) -> list[str]:
        names = list(self.image_models) + list(self.audio_models)
        return [n for n in names if self.serve_retired or n not in self.retired_models]

    def expire_files(self) -> None:
        """Make previously issued dall-e URLs fail like an expired signed blob URL (403)."""
        self.files_expired = True

    # -- FakeServer hooks -------------------------------------------------------------------

    def body_limit(self, method: str, path: str) -> int | None:
        if path in (self.transcriptions_path, self.translations_path):
            return self.max_body_bytes
        return None

    def common_headers(self, req: RecordedRequest, resp: Response, started: float) -> None:
        h = resp.headers
        h.setdefault("x-request-id", "req_" + uuid.uuid4().hex)
        h.setdefault("openai-processing-ms", str(int((time.monotonic() - started) * 1000)))
        h.setdefault("openai-version", "2020-10-01")
        h.setdefault("openai-organization", "user-fake")
        remaining = 0 if resp.status == 429 else max(0, self.rate_limit_requests - self.count())
        h.setdefault("x-ratelimit-limit-requests", str(self.rate_limit_requests))
        h.setdefault("x-ratelimit-remaining-requests", str(remaining))
        h.setdefault("x-ratelimit-reset-requests", "1s" if resp.status == 429 else "12ms")
        for k, v in self.extra_headers.items():
            h.setdefault(k, v)

    def fault_body(self, req: RecordedRequest, status: int) -> Response:
        return Response.json(_default_error(status, self._model_hint(req)), status)

    def empty_response(self, req: RecordedRequest) -> Response:
        if req.path in (self.transcriptions_path, self.translations_path):
            task: Literal["transcribe", "translate"] = (
                "translate" if req.path == self.translations_path else "transcribe"
            )
            return self._guard(lambda: self._audio(req, task, text=""))
        if req.path == self.images_path:
            return Response.json({"created": int(time.time()), "data": []})
        return Response.json({"object": "list", "data": []})

    def malformed_body(self, req: RecordedRequest) -> bytes:
        if req.path in (self.transcriptions_path, self.translations_path):
            return b'{"text": "The quick brown fox", "usage": {"type": "dur'
        return super().malformed_body(req)

    def route(self, req: RecordedRequest) -> Response:
        return self._guard(lambda: self._route(req))

    # -- routing ----------------------------------------------------------------------------

    def _guard(self, fn: Callable[[], Response]) -> Response:
        try:
            return fn()
        except OpenAIError as exc:
            return exc.response()

    def _route(self, req: RecordedRequest) -> Response:
        if req.method == "GET" and req.path.startswith("/files/"):
            return self._serve_file(req)  # signed-URL style: no API key needed
        if req.too_large:
            # Checked before auth: the front end stops reading before the app sees the request.
            raise OpenAIError(
                413,
                f"Maximum content size limit ({self.max_body_bytes}) exceeded ({req.body_size} bytes read)",
            )
        self._check_auth(req)
        handler = self._routes.get((req.method, req.path.rstrip("/") or "/"))
        if handler is not None:
            return handler(req)
        models_prefix = self.models_path + "/"
        if req.method == "GET" and req.path.startswith(models_prefix):
            return self._get_model(req.path[len(models_prefix) :])
        raise OpenAIError(404, f"Invalid URL ({req.method} {req.path})")

    def _check_auth(self, req: RecordedRequest) -> None:
        if self.auth == "none":
            return
        if self.auth == "bearer":
            header = req.headers.get("authorization", "")
            key = header[7:].strip() if header[:7].lower() == "bearer " else ""
            missing = (
                "You didn't provide an API key. You need to provide your API key in an Authorization "
                "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password "
                "field (with blank username) if you're accessing the API from your browser and are "
                "prompted for a username and password. You can obtain an API key from "
                "https://platform.openai.com/account/api-keys."
            )
        else:
            key = req.headers.get(self.api_key_header, "").strip()
            missing = f"You didn't provide an API key. Send it in the '{self.api_key_header}' header."
        if not key:
            raise OpenAIError(401, missing, code="invalid_api_key")
        if key in self.bad_keys or (self.api_key is not None and key != self.api_key):
            shown = key if len(key) <= 8 else f"{key[:3]}{'*' * 8}{key[-4:]}"
            raise OpenAIError(
                401,
                f"Incorrect API key provided: {shown}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )

    def _model_hint(self, req: RecordedRequest) -> str:
        model = (req.json or {}).get("model") if isinstance(req.json, dict) else req.form.get("model")
        return str(model) if model else "requests"

    def _check_model_available(self, name: str) -> None:
        known = name in self.image_models or name in self.audio_models
        if not known or (name in self.retired_models and not self.serve_retired):
            raise OpenAIError(
                404,
                f"The model `{name}` does not exist or you do not have access to it.",
                code="model_not_found",
            )

    # -- models -----------------------------------------------------------------------------

    def _model_object(self, name: str) -> dict[str, Any]:
        return {"id": name, "object": "model", "created": 1_700_000_000, "owned_by": "system"}

    def _list_models(self, req: RecordedRequest) -> Response:
        return Response.json({"object": "list", "data": [self._model_object(n) for n in self.current_models()]})

    def _get_model(self, name: str) -> Response:
        self._check_model_available(name)
        return Response.json(self._model_object(name))

    # -- images -----------------------------------------------------------------------------

    def _images(self, req: RecordedRequest) -> Response:
        body = _json_object(req)
        for key in body:
            if key not in _IMAGE_KNOWN:
                raise _unknown_param(key)
        present = {k for k, v in body.items() if v is not None}  # SDKs omit unset fields; null = unset

        name = body.get("model")
        if name is None:
            # 2026-08 spec: default dall-e-2 unless a GPT-image-only parameter is used (then gpt-image-1).
            name = "gpt-image-1" if present & _IMAGE_GPT_ONLY else "dall-e-2"
        if not isinstance(name, str):
            raise _invalid_type("model", name, "a string")
        if name in self.audio_models:
            raise _bad(f"Invalid value: '{name}'. This model does not support image generation.", "model")
        self._check_model_available(name)
        model = self.image_models[name]

        prompt = body.get("prompt")
        if prompt is None:
            raise _bad("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter")
        if not isinstance(prompt, str):
            raise _invalid_type("prompt", prompt, "a string")
        if not prompt:
            raise _bad("Invalid 'prompt': empty string. Expected a string with minimum length 1, but got an empty string instead.", "prompt", "empty_string")
        if len(prompt) > model.max_prompt:
            raise _bad(
                f"Invalid 'prompt': string too long. Expected a string with maximum length "
                f"{model.max_prompt}, but got a string with length {len(prompt)} instead.",
                "prompt",
                "string_above_max_length",
            )

        # Parameters that exist but not for this model family.
        for key in sorted(present):
            gpt_only = key in _IMAGE_GPT_ONLY and model.kind != "gpt"
            dalle_only = key in _IMAGE_DALLE_ONLY and model.kind == "gpt"
            dalle3_only = key in _IMAGE_DALLE3_ONLY and model.kind != "dall-e-3"
            no_complexity = key == "complexity" and not model.complexity
            if gpt_only or dalle_only or dalle3_only or no_complexity:
                raise _unknown_param(key)

        n = _int_field(body, "n", 1, 1, 10)
        if n > model.max_n:
            raise _bad(f"Invalid 'n': this model only supports n={model.max_n}.", "n", "integer_above_max_value")

        default_size = "auto" if model.kind == "gpt" else "1024x1024"
        size = _str_field(body, "size", default_size)
        width, height = self._resolve_size(model, size)

        quality = _str_field(body, "quality", "auto")
        if quality not in model.qualities:
            raise _invalid_value("quality", quality, sorted(model.qualities))

        if model.kind == "gpt":
            return self._gpt_image(req, body, model, prompt, n, width, height, quality)
        return self._dalle_image(body, model, prompt, n, width, height, quality)

    def _resolve_size(self, model: ImageModel, size: str) -> tuple[int, int]:
        if size == "auto" and "auto" in model.sizes:
            return 1024, 1024  # what the real API picks for a neutral prompt
        if size in model.sizes:
            w, h = size.split("x")
            return int(w), int(h)
        if model.custom_sizes:
            m = re.fullmatch(r"(\d{1,5})x(\d{1,5})", size)
            if m:
                w, h = int(m.group(1)), int(m.group(2))
                if w <= 0 or h <= 0 or w % 16 or h % 16:
                    raise _bad(f"Invalid size '{size}'. Width and height must both be multiples of 16.", "size")
                if max(w, h) > 3 * min(w, h):
                    raise _bad(f"Invalid size '{size}'. Aspect ratio must be between 1:3 and 3:1.", "size")
                if max(w, h) > 3840 or min(w, h) > 2160:
                    raise _bad(f"Invalid size '{size}'. Maximum size is 3840x2160.", "size")
                return w, h
        allowed = sorted(model.sizes - {"auto"}) + (["auto"] if "auto" in model.sizes else [])
        raise _invalid_value("size", size, allowed)

    def _gpt_image(
        self,
        req: RecordedRequest,
        body: dict[str, Any],
        model: ImageModel,
        prompt: str,
        n: int,
        width: int,
        height: int,
        quality: str,
    ) -> Response:
        output_format = _str_field(body, "output_format", "png")
        if output_format in ("gif", "svg"):
            raise _bad(
                f"output_format '{output_format}' is in limited preview and not enabled for this organization.",
                "output_format",
                "unsupported_value",
            )
        if output_format not in ("png", "jpeg", "webp"):
            raise _invalid_value("output_format", output_format, ["png", "jpeg", "webp"])
        for key in ("frame_count", "frame_duration_ms", "svg"):
            if body.get(key) is not None:
                raise _bad(f"'{key}' requires output_format 'gif' or 'svg'.", key, "unsupported_parameter")
        compression = _int_field(body, "output_compression", 100, 0, 100)
        if compression < 100 and output_format == "png":
            raise _bad("Compression less than 100 is not supported for PNG output format.", "output_compression", "unsupported_value")
        background = _str_field(body, "background", "auto")
        if background not in ("transparent", "opaque", "auto"):
            raise _invalid_value("background", background, ["transparent", "opaque", "auto"])
        if background == "transparent" and output_format == "jpeg":
            raise _bad("Transparent background is not supported for output_format 'jpeg'. Use 'png' or 'webp'.", "background", "unsupported_value")
        moderation = _str_field(body, "moderation", "auto")
        if moderation not in ("low", "auto"):
            raise _invalid_value("moderation", moderation, ["low", "auto"])
        complexity = _str_field(body, "complexity", "medium")
        if complexity not in ("low", "medium", "high"):
            raise _invalid_value("complexity", complexity, ["low", "medium", "high"])
        stream = _bool_field(body, "stream", False)
        partial_images = _int_field(body, "partial_images", 0, 0, 3)

        if _is_forbidden(prompt):
            request_id = "req_" + uuid.uuid4().hex
            err = OpenAIError(
                400,
                "Your request was rejected by the safety system. If you believe this is an error, "
                f"contact us at help.openai.com and include the request ID {request_id}.",
                "image_generation_user_error",
                None,
                "moderation_blocked",
                moderation_details={"moderation_stage": "input", "categories": ["harmful_content"]},
            )
            resp = err.response()
            resp.headers["x-request-id"] = request_id
            return resp

        resolved_quality = "medium" if quality == "auto" else quality
        transparent = background == "transparent"
        image = self._render(width, height, output_format, transparent, compression)
        b64 = base64.b64encode(image).decode("ascii")
        per_image = round(_OUTPUT_TOKENS_1024[resolved_quality] * width * height / (1024 * 1024))
        text_tokens = max(1, math.ceil(len(prompt) / 4))
        usage = {
            "input_tokens": text_tokens,
            "output_tokens": per_image * n,
            "total_tokens": text_tokens + per_image * n,
            "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": 0},
            "output_tokens_details": {"image_tokens": per_image * n, "text_tokens": 0},
        }
        meta: dict[str, Any] = {
            "background": "transparent" if transparent else "opaque",
            "output_format": output_format,
            "quality": resolved_quality,
            "size": f"{width}x{height}",
        }
        created = int(time.time())
        if stream:
            events: list[tuple[str, dict[str, Any]]] = []
            for i in range(n):
                for p in range(partial_images):
                    events.append(("image_generation.partial_image", {
                        "type": "image_generation.partial_image", "b64_json": b64,
                        "partial_image_index": p, "created_at": created, **meta,
                    }))
                events.append(("image_generation.completed", {
                    "type": "image_generation.completed", "b64_json": b64, "created_at": created,
                    **meta, "usage": usage,
                }))
            return _sse(events)
        payload: dict[str, Any] = {"created": created, "data": [{"b64_json": b64} for _ in range(n)], **meta}
        if body.get("safety_identifier") is not None:
            payload["safety_identifier"] = body["safety_identifier"]
        payload["usage"] = usage
        return Response.json(payload)

    def _dalle_image(
        self,
        body: dict[str, Any],
        model: ImageModel,
        prompt: str,
        n: int,
        width: int,
        height: int,
        quality: str,
    ) -> Response:
        response_format = _str_field(body, "response_format", "url")
        if response_format not in ("url", "b64_json"):
            raise _invalid_value("response_format", response_format, ["url", "b64_json"])
        style = _str_field(body, "style", "vivid")
        if style not in ("vivid", "natural"):
            raise _invalid_value("style", style, ["vivid", "natural"])
        if _is_forbidden(prompt):
            raise OpenAIError(
                400,
                "Your request was rejected as a result of our safety system. Your prompt may contain "
                "text that is not allowed by our safety system.",
                param=None,
                code="content_policy_violation",
            )
        image = self._render(width, height, "png", False, 100)
        data = []
        for _ in range(n):
            item: dict[str, Any] = {}
            if response_format == "url":
                file_id = "img-" + uuid.uuid4().hex[:24]
                with self._image_lock:
                    self._files[file_id] = image
                # Shaped like the signed blob URLs dall-e returned (valid 60 min in reality).
                item["url"] = f"{self.url}/files/{file_id}.png?st=2026-11-22T00%3A00%3A00Z&se=2026-11-22T01%3A00%3A00Z&sp=r&sig=fake"
            else:
                item["b64_json"] = base64.b64encode(image).decode("ascii")
            if model.kind == "dall-e-3":
                item["revised_prompt"] = f"A detailed, high-quality rendering of: {prompt}"
            data.append(item)
        return Response.json({"created": int(time.time()), "data": data})

    def _render(self, width: int, height: int, fmt: str, transparent: bool, compression: int) -> bytes:
        # Cached: tests ask for the same few sizes over and over; big custom sizes cost ~50 ms once.
        key = (width, height, fmt, transparent, compression, self.image_color)
        with self._image_lock:
            cached = self._image_cache.get(key)
            if cached is not None:
                self._image_cache.move_to_end(key)
                return cached
        colour = (*self.image_color, 0) if transparent else self.image_color
        if fmt == "png":
            data = png_bytes(width, height, colour)
        else:
            try:
                from PIL import Image
            except ImportError as exc:  # Pillow is a test extra; without it only PNG can be served
                raise _bad(f"output_format '{fmt}' is not available in this fake (Pillow missing).", "output_format", "unsupported_value") from exc
            buf = io.BytesIO()
            mode = "RGBA" if transparent else "RGB"
            Image.new(mode, (width, height), colour).save(buf, "JPEG" if fmt == "jpeg" else "WEBP", quality=max(1, compression))
            data = buf.getvalue()
        with self._image_lock:
            self._image_cache[key] = data
            while len(self._image_cache) > 16:
                self._image_cache.popitem(last=False)
        return data

    def _serve_file(self, req: RecordedRequest) -> Response:
        file_id = req.path[len("/files/") :].removesuffix(".png")
        if self.files_expired:
            xml = (
                '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code>'
                "<Message>Server failed to authenticate the request. Signed expiry time has passed."
                "</Message></Error>"
            )
            return Response.text(xml, 403, content_type="application/xml")
        with self._image_lock:
            data = self._files.get(file_id)
        if data is None:
            return Response.text("<Error><Code>BlobNotFound</Code></Error>", 404, content_type="application/xml")
        return Response.raw(data, "image/png")

    # -- audio ------------------------------------------------------------------------------

    def _audio(self, req: RecordedRequest, task: Literal["transcribe", "translate"], text: str | None = None) -> Response:
        if not req.content_type.lower().startswith("multipart/form-data"):
            raise _bad(
                f"Invalid Content-Type header ({req.content_type or 'none'}), expected multipart/form-data.",
                None,
                None,
            )
        if req.form_error:
            raise _bad(f"Could not parse multipart form: {req.form_error}", None, None)
        form = req.form

        name = form.get("model")
        if not name:
            raise _bad("Missing required parameter: 'model'.", "model", "missing_required_parameter")
        if name in self.image_models:
            raise _bad(f"Invalid value: '{name}'. This model does not support audio transcription.", "model")
        self._check_model_available(name)
        model = self.audio_models[name]
        if task == "translate" and not model.translations:
            raise _bad(f"Invalid value: '{name}'. Translations are only supported by 'whisper-1'.", "model")

        upload = req.files.get("file")
        if upload is None:
            raise _bad("Missing required parameter: 'file'.", "file", "missing_required_parameter")
        ext = (upload.filename or "").rsplit(".", 1)[-1].lower() if "." in (upload.filename or "") else ""
        if ext not in _AUDIO_EXTENSIONS:
            raise _bad(
                f"Invalid file format. Supported formats: {list(_AUDIO_EXTENSIONS)}",
                "file",
                "invalid_value",
            )

        response_format = form.get("response_format") or "json"
        if response_format not in _ALL_AUDIO_FORMATS:
            raise _invalid_value("response_format", response_format, list(_ALL_AUDIO_FORMATS))
        if response_format not in model.formats:
            allowed = " or ".join(f"'{f}'" for f in sorted(model.formats))
            raise _bad(
                f"response_format '{response_format}' is not compatible with model '{name}'. Use {allowed} instead.",
                "response_format",
                "unsupported_value",
            )

        granularities = req.form_list("timestamp_granularities[]") + req.form_list("timestamp_granularities")
        for g in granularities:
            if g not in ("word", "segment"):
                raise _invalid_value("timestamp_granularities", g, ["word", "segment"])
        if granularities and response_format != "verbose_json":
            raise _bad(
                "timestamp_granularities requires response_format=verbose_json.",
                "timestamp_granularities",
                "unsupported_parameter",
            )

        temperature = 0.0
        if form.get("temperature"):
            try:
                temperature = float(form["temperature"])
            except ValueError:
                raise _invalid_type("temperature", form["temperature"], "a number") from None
            if not 0.0 <= temperature <= 1.0:
                raise _bad(f"Invalid 'temperature': expected a value between 0 and 1, got {temperature}.", "temperature", "invalid_value")

        language = form.get("language")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad(
                f"Invalid language '{language}'. Language parameter must be specified in ISO-639-1 format.",
                "language",
                "invalid_value",
            )
        if form.get("prompt") and not model.prompt:
            raise _bad(f"'prompt' is not supported with model '{name}'.", "prompt", "unsupported_parameter")
        for key in ("languages[]", "keywords[]"):
            if req.form_list(key) and not model.languages:
                raise _bad(f"'{key[:-2]}' is only supported with model 'gpt-transcribe'.", key[:-2], "unsupported_parameter")
        include = req.form_list("include[]")
        for item in include:
            if item != "logprobs":
                raise _invalid_value("include", item, ["logprobs"])
            if not model.logprobs or response_format != "json":
                raise _bad("logprobs are only supported with response_format 'json' and gpt-4o(-mini)-transcribe models.", "include", "unsupported_parameter")

        heard = self.transcriber(upload.data) if self.transcriber is not None and text is None else None
        duration = heard.duration if heard is not None else _probe_duration(upload.data)
        if duration is None:
            duration = self.default_duration if upload.size else 0.0
        if duration < 0.1:
            raise _bad("Audio file is too short. Minimum audio length is 0.1 seconds.", "file", "audio_too_short")
        if model.max_duration is not None and duration > model.max_duration:
            raise _bad(
                f"audio duration {duration:g} seconds is longer than {model.max_duration:g} seconds which is "
                "the maximum for this model",
                "file",
                "invalid_value",
            )
        if model.diarize and duration > 30 and not form.get("chunking_strategy"):
            raise _bad("chunking_strategy is required for audio longer than 30 seconds with this model.", "chunking_strategy", "missing_required_parameter")

        if heard is not None:
            text = heard.text
        text = self.transcript if text is None else text
        usage = self._audio_usage(model, duration, text, form.get("prompt") or "")
        if form.get("stream", "").lower() == "true" and model.stream:
            events = [("transcript.text.delta", {"type": "transcript.text.delta", "delta": w + " "}) for w in text.split()]
            events.append(("transcript.text.done", {"type": "transcript.text.done", "text": text, "usage": usage}))
            return _sse(events)

        segments = _segments(text, duration, temperature) if heard is None else heard.segments(temperature)
        if response_format == "text":
            return Response.text(text + "\n" if text else "")
        if response_format == "srt":
            blocks = [f"{i + 1}\n{_ts(s['start'], ',')} --> {_ts(s['end'], ',')}\n{s['text'].strip()}\n" for i, s in enumerate(segments)]
            return Response.text("\n".join(blocks) + ("\n" if blocks else ""))
        if response_format == "vtt":
            cues = [f"{_ts(s['start'], '.')} --> {_ts(s['end'], '.')}\n{s['text'].strip()}\n" for s in segments]
            return Response.text("WEBVTT\n\n" + "\n".join(cues) + ("\n" if cues else ""))
        if response_format == "verbose_json":
            payload: dict[str, Any] = {
                "task": task,
                # Full English name, not ISO (§2.5); translations are always English.
                "language": "english" if task == "translate" else _LANGUAGE_NAMES.get(language or "en", language or "english"),
                "duration": duration,
                "text": text,
            }
            want = set(granularities) or {"segment"}
            if task == "translate" or "segment" in want:
                payload["segments"] = segments
            if task == "transcribe" and "word" in want:
                payload["words"] = _words(segments)
            payload["usage"] = usage
            return Response.json(payload)
        if response_format == "diarized_json":
            diarized = [
                {"type": "transcript.text.segment", "id": f"seg_{i:03d}", "start": s["start"], "end": s["end"], "text": s["text"].strip(), "speaker": "AB"[i % 2]}
                for i, s in enumerate(segments)
            ]
            return Response.json({"task": "transcribe", "duration": duration, "text": text, "segments": diarized, "usage": usage})
        payload = {"text": text, "usage": usage}
        if "logprobs" in include:
            payload["logprobs"] = [{"token": w, "logprob": -0.01, "bytes": list(w.encode())} for w in text.split()]
        if model.languages:
            payload["languages"] = req.form_list("languages[]")[:1] or [language or "en"]  # ⚠ shape unconfirmed
        return Response.json(payload)

    def _audio_usage(self, model: AudioModel, duration: float, text: str, prompt: str) -> dict[str, Any]:
        if model.usage == "duration":
            return {"type": "duration", "seconds": math.ceil(duration)}
        audio_tokens = math.ceil(duration * 10)  # order of magnitude of the gpt-4o audio tokeniser
        text_tokens = math.ceil(len(prompt) / 4)
        output_tokens = math.ceil(len(text) / 4)
        return {
            "type": "tokens",
            "input_tokens": audio_tokens + text_tokens,
            "input_token_details": {"text_tokens": text_tokens, "audio_tokens": audio_tokens},
            "output_tokens": output_tokens,
            "total_tokens": audio_tokens + text_tokens + output_tokens,
        }


# --------------------------------------------------------------------------------------------
# Small validation helpers
# --------------------------------------------------------------------------------------------


def _slash(path: str) -> str:
    return "/" + path.strip("/")


def _is_forbidden(prompt: str) -> bool:
    return re.search(r"\bforbidden\b", prompt, re.IGNORECASE) is not None


def _json_object(req: RecordedRequest) -> dict[str, Any]:
    if req.json_error is not None or not req.body:
        raise _bad(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
            "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not "
            "valid JSON. If you have trouble figuring out how to fix this, please contact us through our "
            "help center at help.openai.com.)",
            None,
            None,
        )
    if not isinstance(req.json, dict):
        if "json" not in req.content_type.lower():
            raise _bad(
                f"Invalid Content-Type header ({req.content_type or 'none'}), expected application/json.", None, None
            )
        raise _invalid_type("body", req.json, "an object")
    return req.json


def _str_field(body: Mapping[str, Any], name: str, default: str) -> str:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _invalid_type(name, value, "a string")
    return value


def _int_field(body: Mapping[str, Any], name: str, default: int, lo: int, hi: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid_type(name, value, "an integer")
    if value < lo:
        raise _bad(
            f"Invalid '{name}': integer below minimum value. Expected a value >= {lo}, but got {value} instead.",
            name,
            "integer_below_min_value",
        )
    if value > hi:
        raise _bad(
            f"Invalid '{name}': integer above maximum value. Expected a value <= {hi}, but got {value} instead.",
            name,
            "integer_above_max_value",
        )
    return value


def _bool_field(body: Mapping[str, Any], name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _invalid_type(name, value, "a boolean")
    return value
