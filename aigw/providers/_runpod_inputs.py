"""RunPod workers' `input` schemas: aigw's vocabulary onto each, and their outputs back.

Three schemas (PROVIDERS.md §6.4, §6.5):
- RunPod's public FLUX endpoints, `black-forest-labs-flux-1-schnell` / `-dev` (runpod/docs
  public-endpoints/models/flux-schnell.mdx, flux-dev.mdx): width/height multiples of 64 in 256-1536,
  steps 1-8 / 1-50, guidance 0-10, seed (-1 random), negative_prompt, image_format jpeg|png; one
  image per job; output `{"image_url", "cost"}`.
- A user's SDXL endpoint: the schema of `runpod-workers/worker-sdxl` (src/rp_schemas.py, handler.py):
  prompt, negative_prompt, width, height, num_inference_steps, guidance_scale, seed, num_images (1-2);
  output `{"images": [URL or data URI], "image_url", "seed"}`, PNG. User workers differ: one built
  from another template may name these differently or reject some of them.
- A user's faster-whisper endpoint, `runpod-workers/worker-faster_whisper` (src/rp_schema.py,
  src/predict.py): audio / audio_base64, model (tiny ... large-v3, turbo), transcription, translate,
  translation, language, temperature, initial_prompt, word_timestamps; output `segments`,
  `detected_language` (ISO code), `transcription`, `translation`, `word_timestamps`.

RunPod's validator (runpod-python runpod/serverless/utils/rp_validator.py) rejects a key that is not in
a worker's schema and a null where the default is not null, so only known keys with values are sent.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from aigw import errors
from aigw.providers._options import not_sent
from aigw.transcripts import Segment, render
from aigw.transcripts.native import whisper_segments, with_flat_words
from aigw.types import ImageCall, ProviderTranscript, TranscribeCall, Usage


@dataclass(frozen=True)
class Flux:
    catalog_id: str
    max_steps: int


PUBLIC: dict[str, Flux] = {
    "black-forest-labs-flux-1-schnell": Flux("flux-schnell", 8),
    "black-forest-labs-flux-1-dev": Flux("flux-dev", 50),
}
SIDE_STEP, SIDE_MIN, SIDE_MAX = 64, 256, 1536
GUIDANCE_MAX = 10.0
SDXL_IMAGES_PER_JOB = 2  # worker-sdxl: `3 > num_images > 0`
# Catalog id -> the faster-whisper worker's model name (predict.py AVAILABLE_MODELS).
WHISPER_MODELS = {
    "whisper-tiny": "tiny", "whisper-base": "base", "whisper-small": "small", "whisper-medium": "medium",
    "whisper-large-v2": "large-v2", "whisper-large-v3": "large-v3", "whisper-large-v3-turbo": "turbo",
}


# ---- images -------------------------------------------------------------------------------------


def _dims(size: str | None) -> tuple[int, int] | None:
    try:
        w, h = (size or "").lower().split("x")
        return int(w), int(h)
    except ValueError:
        return None


def _ratio_size(ratio: str) -> tuple[int, int]:
    """About one megapixel in the given W:H, on the 64-pixel grid."""
    a, b = (int(p) for p in ratio.split(":"))
    width = math.sqrt(1024 * 1024 * a / b)
    return _side(width), _side(width * b / a)


def _side(value: float) -> int:
    return min(max(int(round(value / SIDE_STEP)) * SIDE_STEP, SIDE_MIN), SIDE_MAX)


def _size(call: ImageCall, name: str, notes: list[str], *, grid: bool) -> tuple[int, int]:
    """The width and height to send; off-grid sizes move to the nearest allowed with a warning."""
    dims = _dims(call.size)
    if dims is None and call.size is not None:
        notes.append(f"{name}: size {call.size} is not WIDTHxHEIGHT; using 1024x1024")
    if dims is not None and call.aspect_ratio:
        notes.append(f"{name}: aspect ratio {call.aspect_ratio} not sent: size {call.size} decides the shape")
    if dims is None:
        dims = _ratio_size(call.aspect_ratio) if call.aspect_ratio else (1024, 1024)
        if call.aspect_ratio:
            a, b = (int(p) for p in call.aspect_ratio.split(":"))
            if dims[0] * b != dims[1] * a:
                notes.append(f"{name}: aspect ratio {call.aspect_ratio} sent as {dims[0]}x{dims[1]}")
        return dims
    if not grid:
        return dims
    fitted = (_side(dims[0]), _side(dims[1]))
    if fitted != dims:
        notes.append(f"{name}: size {dims[0]}x{dims[1]} is not a multiple of {SIDE_STEP} in {SIDE_MIN}-{SIDE_MAX};"
                     f" using {fitted[0]}x{fitted[1]}")
    return fitted


# What both image schemas take; quality and style have no field in either (a warning each, not sent).
HONOURED = {"size", "aspect_ratio", "n", "format", "seed", "negative_prompt", "steps", "guidance"}


def flux_input(call: ImageCall, flux: Flux, name: str) -> tuple[dict[str, Any], list[str], ImageCall]:
    """One job's input on a public FLUX endpoint (each job makes one image)."""
    call, notes = not_sent(call, HONOURED, name=name, model=flux.catalog_id)
    width, height = _size(call, name, notes, grid=True)
    inp: dict[str, Any] = {"prompt": call.prompt, "width": width, "height": height}
    update: dict[str, Any] = {"size": f"{width}x{height}", "aspect_ratio": None}
    if call.negative_prompt:
        inp["negative_prompt"] = call.negative_prompt
    if call.steps is not None:
        steps = min(max(call.steps, 1), flux.max_steps)
        if steps != call.steps:
            notes.append(f"{name}: {flux.catalog_id} takes 1-{flux.max_steps} steps; using {steps}")
        inp["num_inference_steps"] = update["steps"] = steps
    if call.guidance is not None:
        guidance = min(max(call.guidance, 0.0), GUIDANCE_MAX)
        if guidance != call.guidance:
            notes.append(f"{name}: guidance {call.guidance:g} is outside 0-{GUIDANCE_MAX:g}; using {guidance:g}")
        inp["guidance"] = update["guidance"] = guidance
    if call.seed is not None:
        inp["seed"] = call.seed
    if call.format == "webp":
        notes.append(f"{name}: {flux.catalog_id} returns jpeg or png, not webp; using png")
        update["format"] = "png"
    fmt = update.get("format", call.format)
    if fmt is not None:
        inp["image_format"] = fmt
    return inp, notes, call.model_copy(update=update)


def sdxl_input(call: ImageCall, name: str) -> tuple[dict[str, Any], list[str], ImageCall]:
    """A user's SDXL endpoint, in worker-sdxl's schema; `num_images` is set per job by the caller."""
    call, notes = not_sent(call, HONOURED, name=name, model="the SDXL worker")
    width, height = _size(call, name, notes, grid=False)
    inp: dict[str, Any] = {"prompt": call.prompt, "width": width, "height": height}
    update: dict[str, Any] = {"size": f"{width}x{height}", "aspect_ratio": None}
    if call.negative_prompt:
        inp["negative_prompt"] = call.negative_prompt
    if call.steps is not None:
        inp["num_inference_steps"] = call.steps
    if call.guidance is not None:
        inp["guidance_scale"] = float(call.guidance)
    if call.seed is not None:
        inp["seed"] = call.seed
    if call.format not in (None, "png"):
        notes.append(f"{name}: the SDXL worker returns png; format {call.format} not sent")
        update["format"] = "png"
    return inp, notes, call.model_copy(update=update)


def job_sizes(n: int, per_job: int) -> list[int]:
    """How many images each job makes: n split into jobs of at most `per_job`."""
    return [min(per_job, n - start) for start in range(0, n, per_job)]


def image_refs(output: Any) -> list[str]:
    """Every image a worker returned: URLs, data URIs or bare base64, in the shapes workers use
    (`image_url`, `images: [...]`, `image`, a list of those, or a bare string)."""
    if isinstance(output, str):
        return [output] if output else []
    if isinstance(output, list):
        return [ref for item in output for ref in image_refs(item)]
    if not isinstance(output, dict):
        return []
    if isinstance(output.get("images"), list) and output["images"]:
        return [ref for item in output["images"] for ref in image_refs(item)]
    for key in ("image_url", "image", "url", "image_base64"):
        if isinstance(output.get(key), str) and output[key]:
            return [output[key]]
    return []


# ---- transcription ------------------------------------------------------------------------------


def whisper_input(call: TranscribeCall, worker_model: str | None, name: str) -> tuple[dict[str, Any], list[str]]:
    """The input without the audio (added when sending); notes for what cannot be honoured."""
    notes: list[str] = []
    inp: dict[str, Any] = {"transcription": "plain_text"}
    if worker_model:
        inp["model"] = worker_model
    else:
        notes.append(f"{name}: endpoint {call.provider_model} is not mapped from a whisper model in "
                     "providers.runpod.models, so the worker's default model is used")
    if call.translate:
        inp["translate"] = True
        # Timed output (srt/vtt/verbose_json) is rendered from the translation's SRT.
        inp["translation"] = "srt" if call.format in ("srt", "vtt", "verbose_json") else "plain_text"
        if worker_model == "turbo":
            notes.append(f"{name}: whisper-large-v3-turbo was not trained to translate; expect a poor translation")
    if call.language:
        inp["language"] = call.language
    if call.temperature is not None:
        inp["temperature"] = float(call.temperature)
    if call.prompt:
        inp["initial_prompt"] = call.prompt
    if call.timestamps == "word":
        if call.translate:
            notes.append(f"{name}: word timestamps are not available for a translation; not sent")
        else:
            inp["word_timestamps"] = True
    return inp, notes


def _srt_segments(body: str) -> list[Segment]:
    import srt

    try:
        return [Segment(s.start.total_seconds(), s.end.total_seconds(), s.content.replace("\n", " "))
                for s in srt.parse(body)]
    except (srt.SRTParseError, ValueError):
        return []


def parse_whisper(output: Any, call: TranscribeCall, sent: dict[str, Any], *, provider: str, usage: Usage | None,
                  bytes_up: int, bytes_down: int) -> ProviderTranscript:
    """The worker's output rendered in `call.format`; `sent` is the input it was given."""
    if not isinstance(output, dict):
        raise errors.EmptyResultError(f"{provider}: the whisper worker returned no output object", provider=provider)
    language = output.get("detected_language") if isinstance(output.get("detected_language"), str) else None
    if sent.get("translate"):
        raw = output.get("translation")
        if not isinstance(raw, str) or not raw.strip():
            raise errors.EmptyResultError(f"{provider}: the worker returned no translation", provider=provider)
        segments = _srt_segments(raw) if sent.get("translation") == "srt" else []
        text = " ".join(s.text.strip() for s in segments) if segments else raw.strip()
        language = "en"
    else:
        segments = with_flat_words(whisper_segments(output.get("segments")), output.get("word_timestamps"))
        raw = output.get("transcription")
        text = raw.strip() if isinstance(raw, str) and raw.strip() else " ".join(s.text.strip() for s in segments)
    if not text.strip():
        raise errors.EmptyResultError(f"{provider}: empty transcript", provider=provider)
    duration = call.audio.duration_s or (segments[-1].end if segments else None)
    if not segments:
        segments = [Segment(0.0, duration or 0.0, text)]
    body = render(call.format, text=text, segments=segments, language=language, duration=duration)
    return ProviderTranscript(text=text, body=body, format=call.format, language=language, duration_s=duration,
                              usage=usage, bytes_up=bytes_up, bytes_down=bytes_down, http_status=200)


def error_text(raw: Any) -> str:
    """A FAILED job's `error`: a string, a list (validator errors), or the SDK's JSON-encoded
    `{"error_type", "error_message", "error_traceback", ...}` for a handler exception (rp_job.py)."""
    if isinstance(raw, list):
        return "; ".join(str(item) for item in raw) or "no error message"
    if isinstance(raw, dict):
        return str(raw.get("error_message") or raw.get("message") or raw)[:500]
    if isinstance(raw, str):
        try:
            decoded = json.loads(raw)
        except ValueError:
            return raw[:500] or "no error message"
        if isinstance(decoded, (dict, list)):
            return error_text(decoded)
        return raw[:500]
    return "no error message"
