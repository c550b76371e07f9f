"""Groq: OpenAI's multipart transcription under `/openai/v1`, whisper-large-v3(-turbo) only.

PROVIDERS.md §7, checked against `groq/groq-python`:
- src/groq/_client.py: base URL is the host (`GROQ_BASE_URL`, default `https://api.groq.com`), auth
  `Authorization: Bearer <GROQ_API_KEY>`; resources post to `/openai/v1/audio/transcriptions`,
  `/openai/v1/audio/translations` and list `/openai/v1/models` (the check). A base URL that already
  ends in `/openai/v1` (what an OpenAI SDK pointed at Groq uses) is taken as it is.
- src/groq/types/audio/transcription_create_params.py: file | url, model, language (ISO-639-1 plus yue,
  haw), prompt, `response_format` json | text | verbose_json (no srt/vtt: aigw renders them from
  verbose_json segments), temperature, `timestamp_granularities` (word, segment; verbose_json only),
  sent as `timestamp_granularities[]` (Stainless multipart arrays use brackets).
- src/groq/types/audio/translation_create_params.py lists whisper-large-v3-turbo as a model for
  translations, but Groq's model docs say turbo does not translate (⚠ PROVIDERS.md §7): aigw refuses
  `--translate` with turbo before sending, pointing at whisper-large-v3.
- Answers are OpenAI-shaped without `usage`; verbose_json adds `x_groq: {"id"}`. Groq bills the audio's
  length with a 10 s minimum per request (⚠ docs as widely quoted), which `Usage.seconds` reflects.
- Uploads: 25 MB on the free tier (⚠), checked before sending. Rate-limit headers and 429 `retry-after`
  as OpenAI's, read by `_http.retry_after`.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from aigw import errors
from aigw.providers._options import BY_MODEL, REFUSED, SENT, Support
from aigw.providers._whisper_compat import LimitedFormatsProvider
from aigw.types import ImageCall, ProviderImages, TranscribeCall

API_PREFIX = "/openai/v1"
UPLOAD_LIMIT_BYTES = 25 * 1024 * 1024  # "25 MB" on the free tier (⚠), taken as MiB like OpenAI's cap
MIN_BILLED_SECONDS = 10.0  # ⚠ Groq's documented minimum billed length
NO_TRANSLATION = {"whisper-large-v3-turbo"}


def api_root(base_url: str) -> str:
    """`https://api.groq.com` -> `https://api.groq.com/openai/v1`; a root already given stays."""
    base = base_url.rstrip("/")
    return base if urlsplit(base).path.rstrip("/").endswith(API_PREFIX) else base + API_PREFIX


class GroqProvider(LimitedFormatsProvider):
    kinds: ClassVar[frozenset[str]] = frozenset({"audio"})
    default_base_url: ClassVar[str] = "https://api.groq.com"
    wire_formats: ClassVar[frozenset[str]] = frozenset({"json", "text", "verbose_json"})
    upload_limit_bytes: ClassVar[int | None] = UPLOAD_LIMIT_BYTES
    min_billed_seconds: ClassVar[float] = MIN_BILLED_SECONDS
    audio_options: ClassVar[dict[str, Support]] = {
        "language": SENT, "prompt": SENT, "temperature": SENT, "timestamps": SENT, "translate": BY_MODEL,
        "diarize": REFUSED,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base_url = api_root(self.base_url)

    def prepare_transcribe(self, call: TranscribeCall) -> tuple[TranscribeCall, list[str]]:
        if call.translate and call.provider_model in NO_TRANSLATION:
            raise errors.UsageError(f"{self.name}: {call.provider_model} does not translate",
                                    hint="use -m whisper-large-v3 with --translate")
        return super().prepare_transcribe(call)

    async def generate(self, call: ImageCall, *, timeout: float) -> ProviderImages:
        raise errors.UsageError(f"{self.name} does not generate images")

    async def check(self, *, timeout: float) -> dict[str, Any]:
        found = await super().check(timeout=timeout)
        found["detail"] = found["detail"].replace("GET /models", f"GET {API_PREFIX}/models")
        return found
