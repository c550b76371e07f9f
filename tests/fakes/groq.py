"""A fake of Groq's OpenAI-compatible speech-to-text API (PROVIDERS.md §7 and §12.3), built on FakeOpenAI.

Surface:

* ``POST /openai/v1/audio/transcriptions`` and ``/openai/v1/audio/translations`` (multipart), with the
  models ``whisper-large-v3`` and ``whisper-large-v3-turbo``; ``response_format`` json | text |
  verbose_json only (srt / vtt are a 400, as at Groq); ``timestamp_granularities[]`` only with
  verbose_json; translations with whisper-large-v3 only (turbo is a 400);
* answers without OpenAI's ``usage``; json and verbose_json carry ``x_groq: {"id": "req_..."}``;
* the 25 MiB body cap (free tier) answered with 413 before auth, like OpenAI's front end;
* ``GET /openai/v1/models`` (the check), ``Authorization: Bearer`` with OpenAI-shaped errors;
* ``x-request-id``, ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}`` on every answer and
  ``retry-after`` on 429 (fault injection).

Sources: ``groq/groq-python`` src/groq/_client.py (host base URL, Bearer auth, status mapping),
src/groq/resources/audio/transcriptions.py (path ``/openai/v1/audio/transcriptions``, fields),
src/groq/types/audio/transcription_create_params.py and translation_create_params.py (formats json |
text | verbose_json, granularities), src/groq/types/audio/transcription.py (text, words, segments).
⚠ Not confirmed from an official source and chosen here: the exact error messages, the 400 for turbo on
translations (the SDK's type lists turbo; Groq's model docs say it does not translate), the 25 MiB cap
as a whole-body limit, and ``x_groq`` on json answers.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

from ._server import Fault, RecordedRequest, Response
from .openai import AudioModel, FakeOpenAI, OpenAIError, _bad

GROQ_MAX_BODY_BYTES = 25 * 1024 * 1024
_GROQ_FORMATS = frozenset({"json", "text", "verbose_json"})
GROQ_AUDIO_MODELS = {
    "whisper-large-v3": AudioModel("whisper-large-v3", _GROQ_FORMATS, "duration", translations=True, stream=False),
    "whisper-large-v3-turbo": AudioModel("whisper-large-v3-turbo", _GROQ_FORMATS, "duration", stream=False),
}


class FakeGroq(FakeOpenAI):
    """Use ``fake.url`` (the host) as GROQ_BASE_URL; ``fake.base_url`` is the OpenAI-SDK style root."""

    server_header = "cloudflare"

    def __init__(self, *, max_body_bytes: int | None = GROQ_MAX_BODY_BYTES, **kwargs: Any) -> None:
        super().__init__(prefix="/openai/v1", max_body_bytes=max_body_bytes, **kwargs)
        self.image_models = {}
        self.audio_models = dict(GROQ_AUDIO_MODELS)
        self.retired_models = set()
        self._routes.pop(("POST", self.images_path), None)

    def common_headers(self, req: RecordedRequest, resp: Response, started: float) -> None:
        h = resp.headers
        h.setdefault("x-request-id", "req_" + uuid.uuid4().hex[:26])
        limited = resp.status == 429
        h.setdefault("x-ratelimit-limit-requests", str(self.rate_limit_requests))
        h.setdefault("x-ratelimit-remaining-requests", "0" if limited else str(max(0, self.rate_limit_requests - self.count())))
        h.setdefault("x-ratelimit-reset-requests", "2s" if limited else "86.4ms")
        h.setdefault("x-ratelimit-limit-tokens", "7200")
        h.setdefault("x-ratelimit-remaining-tokens", "7200")
        h.setdefault("x-ratelimit-reset-tokens", "0s")
        if limited:
            h.setdefault("retry-after", "2")

    def _audio(self, req: RecordedRequest, task: Literal["transcribe", "translate"], text: str | None = None) -> Response:
        name = req.form.get("model", "")
        if task == "translate" and name in self.audio_models and not self.audio_models[name].translations:
            raise _bad(f"`{name}` does not support translations; use `whisper-large-v3`.", "model", "model_not_supported")
        fmt = req.form.get("response_format") or "json"
        if fmt not in _GROQ_FORMATS:
            raise _bad("response_format must be one of [json text verbose_json]", "response_format")
        resp = super()._audio(req, task, text)
        if resp.status != 200 or "json" not in resp.headers.get("content-type", ""):
            return resp
        payload = json.loads(resp.body)
        payload.pop("usage", None)  # Groq does not report usage on audio
        payload["x_groq"] = {"id": "req_" + uuid.uuid4().hex[:26]}
        return Response.json(payload)


def unavailable() -> Fault:
    """503 as Groq answers when over capacity."""
    return Fault(status=503, body={"error": {"message": "Service Unavailable", "type": "internal_server_error"}})


__all__ = ["FakeGroq", "GROQ_AUDIO_MODELS", "GROQ_MAX_BODY_BYTES", "OpenAIError", "unavailable"]
