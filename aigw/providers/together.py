"""Together AI: FLUX images as JSON, Whisper transcription as OpenAI-shaped multipart, under `/v1`.

PROVIDERS.md §8, checked against `togethercomputer/together-py` (the current, Stainless-generated SDK):
- src/together/_client.py: `Authorization: Bearer <TOGETHER_API_KEY>`; `TOGETHER_BASE_URL`, default
  `https://api.together.ai/v1` there (PROVIDERS.md has the host alone for 3.1.1, and the legacy SDK
  `https://api.together.xyz/v1`): aigw takes either, adding `/v1` to a bare host.
- src/together/types/image_generate_params.py + resources/images.py: `POST /images/generations` with
  model, prompt, width, height, n, steps, seed, negative_prompt, guidance_scale, output_format
  jpeg | png, `response_format` base64 | url (**base64**, not b64_json), disable_safety_checker,
  image_url, image_loras. The model enum is FLUX.1-schnell, FLUX.1.1-pro and FLUX.1-schnell-Free;
  FLUX.1-dev is not in the SDK, so it has no catalog offer here (reach it as
  together/black-forest-labs/FLUX.1-dev). No size rule is given anywhere: sizes go as multiples of 16
  (FLUX's latent grid), the schnell step cap of 12 is ⚠ PROVIDERS.md's.
- Image items are `{"index", "type": "b64_json", "b64_json"}` with base64, or `{"type": "url", "url"}`
  (new SDK's `type`; legacy answers may omit it); both are handled by OpenAI's parser.
- src/together/resources/audio/transcriptions.py: `POST /audio/transcriptions` multipart with file,
  model (`openai/whisper-large-v3`), language (ISO-639-1 or `auto`), prompt, response_format json |
  verbose_json, temperature, timestamp_granularities (one value or a list; Stainless sends a list as
  `timestamp_granularities[]`), diarize; uploads capped at 80 MB (413). `/audio/translations` has the
  same fields, `language` being the *target* language there.
- Errors: `{"error": {"message", "type", "param", "code"}}` (together-python generated/docs/ErrorData*.md).
- `GET /models` lists models (the check).
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from aigw import errors
from aigw.providers._whisper_compat import LimitedFormatsProvider
from aigw.types import ImageCall, TranscribeCall
from aigw.providers._options import MAPPED, NOT_SENT, REFUSED, SENT, Support, not_sent
from aigw.providers._sizes import parse_size, ratio_size

UPLOAD_LIMIT_BYTES = 80 * 1024 * 1024  # "80 MB" (SDK docstring), taken as MiB
SIZE_STEP = 16
LONG_SIDE = 1024  # an aspect ratio becomes a size with this long side (16:9 -> 1024x576)
DEFAULT_SIZE = (1024, 1024)  # the legacy SDK's default width and height
FORMATS = {"jpeg", "png"}
HONOURED = {"size", "aspect_ratio", "n", "format", "seed", "negative_prompt", "steps", "guidance"}
# Step ranges aigw clamps to (⚠ PROVIDERS.md: schnell "typically <= 12"); other models are the server's call.
STEP_RANGES = {
    "black-forest-labs/FLUX.1-schnell": (1, 12),
    "black-forest-labs/FLUX.1-schnell-Free": (1, 12),
}


def api_root(base_url: str) -> str:
    base = base_url.rstrip("/")
    return base if urlsplit(base).path.rstrip("/").endswith("/v1") else base + "/v1"


def _step(value: int) -> int:
    return max(SIZE_STEP, int(value / SIZE_STEP + 0.5) * SIZE_STEP)


def _size(call: ImageCall, notes: list[str], name: str) -> tuple[int, int]:
    from_ratio = ratio_size(call.aspect_ratio, long_side=LONG_SIDE, step=SIZE_STEP) if call.aspect_ratio else None
    if call.aspect_ratio and from_ratio is None:
        notes.append(f"{name}: aspect ratio {call.aspect_ratio} is not W:H; not sent")
    if call.size == "auto":
        chosen = from_ratio or DEFAULT_SIZE
        notes.append(f"{name}: has no size auto; using {chosen[0]}x{chosen[1]}")
        return chosen
    if call.size is None:
        return from_ratio or DEFAULT_SIZE
    wh = parse_size(call.size)
    if wh is None:
        raise errors.UsageError(f"{name}: size {call.size} is not WIDTHxHEIGHT")
    if from_ratio is not None and abs(wh[0] / wh[1] - from_ratio[0] / from_ratio[1]) > 0.02:
        notes.append(f"{name}: takes width and height only; --size {call.size} wins over "
                     f"--aspect-ratio {call.aspect_ratio}")
    rounded = (_step(wh[0]), _step(wh[1]))
    if rounded != wh:
        notes.append(f"{name}: size {call.size} is not a multiple of {SIZE_STEP}; using {rounded[0]}x{rounded[1]}")
    return rounded


def image_request(call: ImageCall, *, name: str = "together") -> tuple[dict[str, Any], list[str], ImageCall]:
    """(JSON body, warnings, the call as adjusted). Pure: prepare_image and generate both run it."""
    call, notes = not_sent(call, HONOURED, name=name, model=call.provider_model)
    w, h = _size(call, notes, name)
    update: dict[str, Any] = {"size": f"{w}x{h}", "aspect_ratio": None}
    body: dict[str, Any] = {"model": call.provider_model, "prompt": call.prompt, "width": w, "height": h,
                            "n": call.n, "response_format": "base64"}
    if call.format is not None:
        fmt = call.format if call.format in FORMATS else "png"
        if fmt != call.format:
            notes.append(f"{name}: does not return {call.format}; using png")
            update["format"] = fmt
        body["output_format"] = fmt
    if call.steps is not None:
        low, high = STEP_RANGES.get(call.provider_model, (1, None))
        steps = max(call.steps, low) if high is None else min(max(call.steps, low), high)
        if steps != call.steps:
            allowed = f"{low} to {high} steps" if high is not None else f"at least {low} step"
            notes.append(f"{name}: {call.provider_model} takes {allowed}; using {steps}")
            update["steps"] = steps
        body["steps"] = steps
    if call.seed is not None:
        body["seed"] = call.seed
    if call.negative_prompt:
        body["negative_prompt"] = call.negative_prompt
    if call.guidance is not None:
        body["guidance_scale"] = call.guidance
    return body, notes, call.model_copy(update=update)


class TogetherProvider(LimitedFormatsProvider):
    kinds: ClassVar[frozenset[str]] = frozenset({"image", "audio"})
    default_base_url: ClassVar[str] = "https://api.together.xyz"
    wire_formats: ClassVar[frozenset[str]] = frozenset({"json", "verbose_json"})
    upload_limit_bytes: ClassVar[int | None] = UPLOAD_LIMIT_BYTES
    image_options: ClassVar[dict[str, Support]] = {
        "size": MAPPED, "aspect_ratio": MAPPED, "quality": NOT_SENT, "style": NOT_SENT, "n": SENT, "format": MAPPED,
        "seed": SENT, "negative_prompt": SENT, "steps": MAPPED, "guidance": SENT,
    }
    audio_options: ClassVar[dict[str, Support]] = {
        "language": SENT, "prompt": SENT, "temperature": SENT, "timestamps": SENT, "translate": SENT,
        "diarize": REFUSED,
    }
    ratio_as_size: ClassVar[bool] = False  # its own mapping: a ratio becomes an exact width and height

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base_url = api_root(self.base_url)

    # ---- images ----------------------------------------------------------------------------

    def prepare_image(self, call: ImageCall) -> tuple[ImageCall, list[str]]:
        _, notes, call = image_request(call, name=self.name)
        return call, notes

    def image_body(self, call: ImageCall) -> dict[str, Any]:
        return image_request(call, name=self.name)[0]

    # ---- transcription ---------------------------------------------------------------------

    def wire_call(self, call: TranscribeCall) -> TranscribeCall:
        wire = super().wire_call(call)
        if not wire.translate and wire.language is None:
            # Whisper elsewhere detects the language; Together does so only when asked (SDK: `auto`).
            wire = wire.model_copy(update={"language": "auto"})
        return wire

    async def check(self, *, timeout: float) -> dict[str, Any]:
        found = await super().check(timeout=timeout)
        found["detail"] = found["detail"].replace("GET /models", "GET /v1/models")
        return found
