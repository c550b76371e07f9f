"""OpenAI's wire protocol: POST /images/generations (JSON) and /audio/transcriptions (multipart).

PROVIDERS.md §2. GPT image models always answer with base64 and reject `response_format`; DALL-E
(still served by compatible servers) answers with URLs unless asked for base64.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from typing import Any, ClassVar

import httpx

from aigw import errors
from aigw.providers._http import MAX_IMAGE_BYTES_DEFAULT, classify, download_image, json_body, sniff_image, translated
from aigw.providers._options import BY_MODEL, MAPPED, NOT_SENT, SENT, Support, not_sent, speakers_refused
from aigw.providers._sizes import parse_ratio
from aigw.providers._text_answer import text_answer
from aigw.providers.base import ProviderBase
from aigw.transcripts import plain_text
from aigw.transcripts.model import without_speakers
from aigw.transcripts.parse import openai_payload
from aigw.transcripts.render import render_transcript
from aigw.types import ImageBlob, ImageCall, ProviderImages, ProviderTranscript, TranscribeCall, Usage

# Sizes by model family (PROVIDERS.md §2.3), for a ratio asked of a model the catalog does not know.
_GPT_SIZES = ((1024, 1024), (1536, 1024), (1024, 1536))
FAMILY_SIZES: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = (
    ("dall-e-2", ((256, 256), (512, 512), (1024, 1024))),
    ("dall-e-3", ((1024, 1024), (1792, 1024), (1024, 1792))),
    ("gpt-image", _GPT_SIZES), ("chatgpt-image", _GPT_SIZES),
)

# Formats the wire returns as plain text rather than JSON.
TEXT_FORMATS = {"text", "srt", "vtt"}


def is_dalle(model: str) -> bool:
    return model.startswith("dall-e")


class OpenAIProvider(ProviderBase):
    kinds: ClassVar[frozenset[str]] = frozenset({"image", "audio"})
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"
    image_path: ClassVar[str] = "/images/generations"
    transcription_path: ClassVar[str] = "/audio/transcriptions"
    image_options: ClassVar[dict[str, Support]] = {
        "size": SENT, "aspect_ratio": MAPPED, "quality": SENT, "style": BY_MODEL, "n": SENT, "format": BY_MODEL,
        "seed": NOT_SENT, "negative_prompt": NOT_SENT, "steps": NOT_SENT, "guidance": NOT_SENT,
    }
    audio_options: ClassVar[dict[str, Support]] = {
        "language": SENT, "prompt": BY_MODEL, "temperature": SENT, "timestamps": BY_MODEL, "translate": BY_MODEL,
        "diarize": BY_MODEL,
    }
    ratio_as_size: ClassVar[bool] = True

    def headers(self) -> dict[str, str]:
        """Bearer by default; `api-key` for Azure-style gateways; none where the gateway holds the key."""
        out = dict(self.settings.headers or {})
        key, auth = self.api_key, self.settings.auth or "bearer"
        if key and auth == "bearer":
            out["Authorization"] = f"Bearer {key}"
        elif key and auth == "api-key":
            out["api-key"] = key
        return out

    def url(self, path: str) -> str:
        """Configured `paths` (a gateway's routes) replace the standard ones under base_url."""
        routes = self.settings.paths or {}
        if path == self.image_path and "images" in routes:
            path = routes["images"]
        elif path == self.transcription_path and "transcriptions" in routes:
            path = routes["transcriptions"]
        elif path == self.translation_path and "translations" in routes:
            path = routes["translations"]
        elif path == "/models" and "models" in routes:
            path = routes["models"]
        path = "/" + path.lstrip("/")
        version = "/" + self.base_url.rsplit("/", 1)[-1]
        if re.fullmatch(r"/v\d+(beta|alpha)?\d*", version) and path.startswith(version + "/"):
            path = path[len(version):]  # base_url ".../v1" with a route "/v1/images/...": one /v1
        return self.endpoint(path)

    # ---- images ----------------------------------------------------------------------------

    def prepare_image(self, call: ImageCall) -> tuple[ImageCall, list[str]]:
        """Sizes, qualities, n and (GPT image) output_format or (DALL-E) style go on the wire; seeds,
        negative prompts, steps and guidance have no field at OpenAI: a warning each, not sent."""
        call, notes = self._ratio_as_family_size(call)
        honoured = {"size", "quality", "n"}
        if is_dalle(call.provider_model):
            honoured |= {"style"} | ({"format"} if call.format in (None, "png") else set())  # DALL-E makes PNG
        else:
            honoured.add("format")  # GPT image models reject `style` (PROVIDERS.md §12.1)
        call, more = not_sent(call, honoured, name=self.name, model=call.provider_model)
        return call, [*notes, *more]

    def _ratio_as_family_size(self, call: ImageCall) -> tuple[ImageCall, list[str]]:
        """A model reached by its own id has no catalog sizes for the service to map a ratio onto:
        its family's sizes (PROVIDERS.md §2.3) serve instead."""
        ratio = parse_ratio(call.aspect_ratio)
        sizes = next((s for prefix, s in FAMILY_SIZES if call.provider_model.startswith(prefix)), ())
        if ratio is None or call.size is not None or not sizes:
            return call, []
        size = min(sizes, key=lambda s: abs(math.log(s[0] / s[1]) - math.log(ratio)))
        text = f"{size[0]}x{size[1]}"
        notes = [] if abs(size[0] / size[1] - ratio) < 1e-3 else [
            f"{self.name}: {call.provider_model} has no {call.aspect_ratio} size; --aspect-ratio "
            f"{call.aspect_ratio} sent as the nearest size, {text}"]
        return call.model_copy(update={"size": text, "aspect_ratio": None}), notes

    def image_body(self, call: ImageCall) -> dict[str, Any]:
        body: dict[str, Any] = {"model": call.provider_model, "prompt": call.prompt, "n": call.n}
        if call.size:
            body["size"] = call.size
        if call.quality:
            body["quality"] = call.quality
        if is_dalle(call.provider_model):
            # One round trip and nothing that expires in 60 minutes.
            body["response_format"] = "b64_json"
            if call.style:
                body["style"] = call.style
        elif call.format:
            body["output_format"] = call.format
        return body

    async def generate(self, call: ImageCall, *, timeout: float) -> ProviderImages:
        body = self.image_body(call)
        with translated(self.name):
            resp = await self.http.post(self.url(self.image_path), json=body, headers=self.headers(), timeout=timeout)
        if resp.status_code >= 400:
            raise classify(resp, self.name)
        payload = json_body(resp, self.name)
        if not isinstance(payload, dict):  # README: a JSON list is a malformed reply (retryable)
            raise errors.MalformedReplyError(f"malformed reply from {self.name}: a JSON {type(payload).__name__}, "
                                             "not an object", provider=self.name, status=resp.status_code)
        items = payload.get("data")
        if not items:
            raise errors.EmptyResultError(f"{self.name}: 200 with no image in 'data'", provider=self.name, status=resp.status_code)
        bytes_down = len(resp.content)
        images = []
        for item in items:
            data = await self._image_bytes(item, timeout=timeout)
            bytes_down += 0 if item.get("b64_json") else len(data)
            images.append(ImageBlob(data=data, ext=sniff_image(data) or call.format or "png",
                                    revised_prompt=item.get("revised_prompt")))
        return ProviderImages(
            images=images,
            usage=image_usage(payload.get("usage")),
            bytes_up=len(resp.request.content) if resp.request else 0,
            bytes_down=bytes_down,
            http_status=resp.status_code,
        )

    async def _image_bytes(self, item: dict[str, Any], *, timeout: float) -> bytes:
        if item.get("b64_json"):
            try:
                data = base64.b64decode(item["b64_json"], validate=False)
            except (binascii.Error, ValueError) as exc:
                raise errors.EmptyResultError(f"{self.name}: b64_json is not base64", provider=self.name) from exc
            if sniff_image(data) is None:
                raise errors.EmptyResultError(f"{self.name}: b64_json is not an image", provider=self.name)
            return data
        if item.get("url"):
            return await download_image(self.http, item["url"], provider=self.name, origin=self.base_url,
                                        max_bytes=MAX_IMAGE_BYTES_DEFAULT, timeout=min(timeout, 120.0))
        raise errors.EmptyResultError(f"{self.name}: image entry has neither b64_json nor url", provider=self.name)

    # ---- check -----------------------------------------------------------------------------

    async def check(self, *, timeout: float) -> dict[str, Any]:
        """GET /models: free, authenticated. A gateway without that route still shows as reachable."""
        started = self.clock.monotonic()
        try:
            with translated(self.name):
                resp = await self.http.get(self.url("/models"), headers=self.headers(), timeout=timeout)
        except errors.ProviderError as exc:
            return {"reachable": False, "key_accepted": None, "latency_ms": None, "detail": exc.message}
        latency = round((self.clock.monotonic() - started) * 1000, 1)
        if resp.status_code in (401, 403) or (resp.status_code == 400 and isinstance(classify(resp, self.name), errors.AuthError)):
            # 400 too: a LiteLLM proxy without a database answers "No connected db." to a wrong key.
            accepted: bool | None = False
        elif resp.status_code < 400:
            accepted = True
        else:
            accepted = None  # no listing route here (a gateway), so the key is untested
        return {"reachable": True, "key_accepted": accepted, "latency_ms": latency,
                "detail": f"GET /models -> HTTP {resp.status_code}"}

    # ---- transcription ---------------------------------------------------------------------

    def upstream_model(self, provider_model: str) -> str:
        """The model behind the id sent (Azure: the model a deployment serves)."""
        return provider_model

    translation_path: ClassVar[str] = "/audio/translations"

    def prepare_transcribe(self, call: TranscribeCall) -> tuple[TranscribeCall, list[str]]:
        """Word/segment timestamps exist only in verbose_json; translation has no `language`; only
        Whisper translates (/audio/translations takes whisper-1 alone); only the diarizing model
        labels speakers, and it takes no prompt and gives segment times only (PROVIDERS.md §2.5)."""
        model = call.provider_model
        diarizer = is_diarizer(model)
        if call.translate and model.startswith(("gpt-", "chatgpt-")):
            raise errors.UsageError(f"{self.name}: {model} does not translate (only Whisper does)",
                                    hint="use -m whisper-1 with --translate")
        if call.diarize and not diarizer:
            raise speakers_refused(self.name, model)
        honoured = {"language", "temperature", "timestamps", "translate"} | ({"diarize"} if diarizer else {"prompt"})
        call, notes = not_sent(call, honoured, name=self.name, model=model)
        if diarizer and call.timestamps:
            if call.timestamps == "word":
                notes.append(f"{self.name}: {model} gives segment timestamps only; --timestamps word not sent")
            call = call.model_copy(update={"timestamps": None})  # diarized_json always has segments
        if call.timestamps and call.format != "verbose_json":
            notes.append(f"{self.name}: timestamps come only with --format verbose_json; not sent")
            call = call.model_copy(update={"timestamps": None})
        if call.translate and call.language:
            notes.append(f"{self.name}: translation is always into English; --language {call.language} not sent")
            call = call.model_copy(update={"language": None})
        return call, notes

    async def transcribe(self, call: TranscribeCall, *, timeout: float) -> ProviderTranscript:
        model = self.upstream_model(call.provider_model)
        diarized = uses_diarized_json(call, model)
        form: dict[str, str | list[str]] = {"model": call.provider_model,
                                            "response_format": "diarized_json" if diarized else call.format}
        if is_diarizer(model):
            # Required past 30 s of audio (openai-python resources/audio/transcriptions.py); "auto"
            # lets the server cut at silences, for short files too.
            form["chunking_strategy"] = "auto"
        if call.language:
            form["language"] = call.language
        if call.prompt:
            form["prompt"] = call.prompt
        if call.temperature is not None:
            form["temperature"] = str(call.temperature)
        if call.timestamps:
            # The SDK's list fields carry a [] suffix (httpx repeats a list value); word timing
            # needs segment timing beside it.
            form["timestamp_granularities[]"] = ["segment", "word"] if call.timestamps == "word" else ["segment"]
        audio = call.audio
        path = self.translation_path if call.translate else self.transcription_path
        with open(audio.path, "rb") as fh, translated(self.name):
            # httpx streams file objects in 64 KiB chunks: the upload is never read whole.
            resp = await self.http.post(
                self.url(path),
                data=form,
                files={"file": (audio.filename, fh, audio.content_type)},
                headers=self.headers(),
                timeout=timeout,
            )
        if resp.status_code >= 400:
            raise classify(resp, self.name)
        if diarized:
            return parse_diarized(resp, call, provider=self.name)
        return parse_transcription(resp, call, provider=self.name)


def is_diarizer(model: str) -> bool:
    return "transcribe-diarize" in model


def uses_diarized_json(call: TranscribeCall, model: str) -> bool:
    """The diarizing model answers timestamps and speakers only as diarized_json: asked for those,
    aigw asks for that and renders the format from it."""
    return is_diarizer(model) and (call.diarize or call.format in ("verbose_json", "srt", "vtt", "tsv"))


def parse_diarized(resp: httpx.Response, call: TranscribeCall, *, provider: str) -> ProviderTranscript:
    """diarized_json (openai-python types/audio/transcription_diarized.py: task, duration, text,
    segments[{type: "transcript.text.segment", id, start, end, text, speaker}], usage) in `call.format`;
    speakers shown only when --diarize asked for them."""
    payload = json_body(resp, provider)
    if not isinstance(payload, dict) or not isinstance(payload.get("text"), str) or not payload["text"].strip():
        raise errors.EmptyResultError(f"{provider}: empty transcript", provider=provider)
    transcript = openai_payload(payload, duration=call.audio.duration_s)
    if not call.diarize:
        transcript = without_speakers(transcript)
    body = render_transcript(call.format, transcript)
    return ProviderTranscript(
        text=transcript.text, body=body, format=call.format, language=transcript.language or call.language,
        duration_s=transcript.duration, usage=audio_usage(payload.get("usage"), None),
        bytes_up=int(resp.request.headers.get("content-length", 0) or 0) if resp.request else 0,
        bytes_down=len(resp.content), http_status=resp.status_code)


def image_usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    ind = raw.get("input_tokens_details") or {}
    outd = raw.get("output_tokens_details") or {}
    out_image = outd.get("image_tokens")
    if out_image is None:
        out_image = raw.get("output_tokens")
    return Usage(
        input_text_tokens=ind.get("text_tokens", raw.get("input_tokens")),
        input_image_tokens=ind.get("image_tokens"),
        output_image_tokens=out_image,
        output_text_tokens=outd.get("text_tokens"),
    )


def audio_usage(raw: Any, duration: float | None) -> Usage | None:
    if isinstance(raw, dict) and raw.get("type") == "tokens":
        details = raw.get("input_token_details") or {}
        return Usage(
            input_audio_tokens=details.get("audio_tokens"),
            input_text_tokens=details.get("text_tokens"),
            output_text_tokens=raw.get("output_tokens"),
        )
    if isinstance(raw, dict) and raw.get("type") == "duration":
        return Usage(seconds=raw.get("seconds"))
    if duration is not None:
        return Usage(seconds=duration)
    return None


def parse_transcription(resp: httpx.Response, call: TranscribeCall, *, provider: str) -> ProviderTranscript:
    """Parse any of the five formats; a text format wrapped in JSON by a gateway is unwrapped in
    `_text_answer` (LiteLLM, Portkey and the like)."""
    fmt = call.format
    common: dict[str, Any] = {"bytes_up": int(resp.request.headers.get("content-length", 0) or 0) if resp.request else 0,
              "bytes_down": len(resp.content), "http_status": resp.status_code, "format": fmt}
    if fmt in TEXT_FORMATS:
        body, wrapper = text_answer(resp, fmt, provider=provider)
        text = plain_text(fmt, body)
        if not text.strip():
            raise errors.EmptyResultError(f"{provider}: empty transcript", provider=provider)
        duration = wrapper.get("duration")
        duration = duration if isinstance(duration, (int, float)) else call.audio.duration_s
        language = wrapper.get("language")
        return ProviderTranscript(text=text, body=body, language=language if isinstance(language, str) else None,
                                  duration_s=duration, usage=audio_usage(wrapper.get("usage"), duration), **common)
    payload = json_body(resp, provider)
    if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
        raise errors.EmptyResultError(f"{provider}: response has no transcript text", provider=provider)
    text = payload["text"]
    if not text.strip():
        raise errors.EmptyResultError(f"{provider}: empty transcript", provider=provider)
    duration = payload.get("duration")
    return ProviderTranscript(
        text=text,
        body=resp.text,
        language=payload.get("language"),
        duration_s=duration if isinstance(duration, (int, float)) else call.audio.duration_s,
        usage=audio_usage(payload.get("usage"), None),
        **common,
    )
