"""fal model inputs and outputs: aigw's vocabulary mapped onto each fal model's own schema.

PROVIDERS.md §4.6, checked against `fal-ai/fal-js` libs/client/src/types/endpoints.ts (commit 381105e):
`FluxSchnellInput = FluxDevInput` (prompt, image_size ImageSize|enum, num_inference_steps, guidance_scale,
num_images, seed, output_format jpeg|png, enable_safety_checker, acceleration, sync_mode); `FastSdxlInput`
names the format field `format` (jpeg|png) and has `negative_prompt`; all three answer `unoOutput`
(images[], seed, prompt, has_nsfw_concepts[], timings). `wizperInput` has audio_url, task, language
(ISO code, default "en", null detects), chunk_level (a plain string, default "segment"), max_segment_len,
merge_chunks, version, and no prompt; `wizperOutput` is {text, chunks[{timestamp, text}], languages}.
`fal-ai/whisper` (gone from the 2026-08 map, present through 2026-04) adds prompt, chunk_level
none|segment|word, diarize, and answers `inferred_languages` and `diarization_segments`.

Each mapper is pure: (call) -> (body, warnings, call as adjusted). `prepare_*` returns the warnings;
`generate`/`transcribe` run the same mapper again to build the body, so what was planned is what is sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aigw import errors
from aigw.providers._options import not_sent
from aigw.transcripts import render
from aigw.transcripts.native import fal_chunks
from aigw.types import ImageCall, ProviderTranscript, TranscribeCall
from aigw.providers._sizes import parse_size, ratio_size

SCHNELL = "fal-ai/flux/schnell"
DEV = "fal-ai/flux/dev"
SDXL = "fal-ai/fast-sdxl"
WIZPER = "fal-ai/wizper"
WHISPER = "fal-ai/whisper"

# Only these two enum values have confirmed dimensions; the four ratio presets are "commonly"
# 768x1024 etc. (⚠ in PROVIDERS.md §4.6), so other sizes go as an explicit {width, height}, which
# also keeps the cost estimate (per megapixel) exactly what fal renders.
SIZE_ENUMS = {(1024, 1024): "square_hd", (512, 512): "square"}
LONG_SIDE = 1024  # an aspect ratio becomes a size with this long side (4:3 -> 1024x768, like fal's presets)
SIZE_STEP = 16  # derived sizes are multiples of 16 (FLUX's latent grid; fine for SDXL too)
SIZE_MULTIPLE = 8  # explicit sizes that are not multiples of 8 are rounded to the nearest one


@dataclass(frozen=True)
class ImageModel:
    format_field: str = "output_format"
    negative_prompt: bool = True
    steps: tuple[int, int] | None = None  # accepted range, clamped with a warning
    ignores_guidance: bool = False


IMAGE_MODELS: dict[str, ImageModel] = {
    SCHNELL: ImageModel(negative_prompt=False, steps=(1, 12), ignores_guidance=True),
    "fal-ai/flux-1/schnell": ImageModel(negative_prompt=False, steps=(1, 12), ignores_guidance=True),
    DEV: ImageModel(negative_prompt=False),
    "fal-ai/flux-1/dev": ImageModel(negative_prompt=False),
    SDXL: ImageModel(format_field="format"),
}
# A fal model aigw knows nothing about (reached as fal/OWNER/APP): send what was asked, under the
# field names most fal image models use, and let fal judge.
OTHER_IMAGE = ImageModel()

# What every fal image model here takes (negative_prompt where its ImageModel says so); quality and
# style have no field at fal: a warning each, not sent.
IMAGE_HONOURED = {"size", "aspect_ratio", "n", "format", "seed", "steps", "guidance"}

Mapped = tuple[dict[str, Any], list[str], Any]


def check_model_id(model: str) -> None:
    """fal ids are owner/app[/path] (PROVIDERS.md §4.1); anything else cannot be submitted."""
    parts = [p for p in model.split("/") if p]
    if len(parts) < 2 or (parts[0] in ("workflows", "comfy") and len(parts) < 3):
        raise errors.UsageError(f"fal: '{model}' is not a fal model id",
                                hint="fal ids are OWNER/APP[/PATH], e.g. -m fal/fal-ai/flux/dev")





def _rounded(value: int) -> int:
    return max(SIZE_MULTIPLE, int(value / SIZE_MULTIPLE + 0.5) * SIZE_MULTIPLE)


def _size(call: ImageCall, notes: list[str], name: str) -> tuple[int, int] | None:
    """The size to send, from --size or --aspect-ratio; None leaves it to the model (size auto)."""
    if call.size == "auto":
        notes.append(f"{name}: fal has no size auto; the model's default size is used")
        return None
    wh = parse_size(call.size)
    from_ratio = ratio_size(call.aspect_ratio, long_side=LONG_SIDE, step=SIZE_STEP) if call.aspect_ratio else None
    if call.aspect_ratio and from_ratio is None:
        notes.append(f"{name}: aspect ratio {call.aspect_ratio} is not W:H; not sent")
    if wh is None and call.size:
        raise errors.UsageError(f"{name}: size {call.size} is not WIDTHxHEIGHT")
    if wh is not None:
        if from_ratio is not None and abs(wh[0] / wh[1] - from_ratio[0] / from_ratio[1]) > 0.02:
            notes.append(f"{name}: fal takes one image_size; --size {call.size} wins over "
                         f"--aspect-ratio {call.aspect_ratio}")
        rounded = (_rounded(wh[0]), _rounded(wh[1]))
        if rounded != wh:
            notes.append(f"{name}: size {call.size} is not a multiple of {SIZE_MULTIPLE}; "
                         f"using {rounded[0]}x{rounded[1]}")
        return rounded
    if from_ratio is None:
        # Nothing asked: 1024x1024, the catalog's first size (fal's own default differs per model:
        # landscape_4_3 for FLUX, square_hd for SDXL), so the estimate and the image agree.
        return (1024, 1024)
    return from_ratio


def image_input(call: ImageCall, *, name: str = "fal") -> Mapped:
    model = call.provider_model
    spec = IMAGE_MODELS.get(model, OTHER_IMAGE)
    honoured = IMAGE_HONOURED | ({"negative_prompt"} if spec.negative_prompt else set())
    call, notes = not_sent(call, honoured, name=name, model=model)
    body: dict[str, Any] = {"prompt": call.prompt}
    wh = _size(call, notes, name)
    if wh is not None:
        body["image_size"] = SIZE_ENUMS.get(wh) or {"width": wh[0], "height": wh[1]}
    update: dict[str, Any] = {"size": f"{wh[0]}x{wh[1]}" if wh else call.size, "aspect_ratio": None}
    body["num_images"] = call.n
    if call.seed is not None:
        body["seed"] = call.seed
    if call.steps is not None:
        steps = call.steps
        if spec.steps is not None:
            low, high = spec.steps
            steps = max(low, min(high, steps))
            if steps != call.steps:
                notes.append(f"{name}: {model} takes {low} to {high} steps; using {steps}")
        body["num_inference_steps"] = update["steps"] = steps
    if call.guidance is not None:
        body["guidance_scale"] = call.guidance
        if spec.ignores_guidance:
            notes.append(f"{name}: {model} ignores guidance (a distilled model); sent anyway")
    if call.format is not None:
        fmt = call.format
        if fmt == "webp":
            fmt = "png"
            notes.append(f"{name}: {model} returns jpeg or png, not webp; using png")
        body[spec.format_field] = update["format"] = fmt
    if call.negative_prompt is not None:
        body["negative_prompt"] = call.negative_prompt
    return body, notes, call.model_copy(update=update)


# ---- transcription -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AudioModel:
    prompt: bool
    word_chunks: bool


AUDIO_MODELS = {WIZPER: AudioModel(prompt=False, word_chunks=False), WHISPER: AudioModel(prompt=True, word_chunks=True)}
OTHER_AUDIO = AudioModel(prompt=True, word_chunks=True)  # whisper-shaped, as fal's other Whisper apps are


def audio_input(call: TranscribeCall, *, name: str = "fal") -> Mapped:
    """The input without `audio_url` (added once the audio is inline or uploaded)."""
    model = call.provider_model
    spec = AUDIO_MODELS.get(model, OTHER_AUDIO)
    honoured = {"language", "timestamps", "translate"} | ({"prompt"} if spec.prompt else set())
    call, notes = not_sent(call, honoured, name=name, model=model)  # no fal Whisper app takes a temperature
    update: dict[str, Any] = {}
    body: dict[str, Any] = {"task": "translate" if call.translate else "transcribe"}
    language = call.language
    if language:
        primary = language.replace("_", "-").split("-")[0].lower()
        if primary != language:
            notes.append(f"{name}: {model} takes ISO 639-1 codes; language {language} sent as {primary}")
            update["language"] = language = primary
    # wizper defaults to "en"; null asks for detection, which is what no --language means in aigw.
    body["language"] = language or None
    level = call.timestamps or "segment"
    if level == "word" and not spec.word_chunks:
        notes.append(f"{name}: {model} has segment timestamps only; using segment")
        level = update["timestamps"] = "segment"
    body["chunk_level"] = level
    if call.prompt is not None:
        body["prompt"] = call.prompt
    return body, notes, call.model_copy(update=update)


def parse_transcript(output: Any, call: TranscribeCall, *, name: str, bytes_up: int,
                     bytes_down: int) -> ProviderTranscript:
    if not isinstance(output, dict) or not isinstance(output.get("text"), str):
        raise errors.EmptyResultError(f"{name}: the result has no transcript text", provider=name)
    text = output["text"].strip()
    if not text:
        raise errors.EmptyResultError(f"{name}: empty transcript", provider=name)
    langs = output.get("languages") or output.get("inferred_languages") or []
    language = langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else call.language
    duration = call.audio.duration_s
    segments = fal_chunks(output.get("chunks"), duration, words=call.timestamps == "word")
    if duration is None and segments:
        duration = segments[-1].end
    body = render(call.format, text=text, segments=segments, language=language, duration=duration)
    if call.format == "verbose_json" and call.translate:
        doc = json.loads(body)
        doc["task"] = "translate"  # render() always writes "transcribe"
        body = json.dumps(doc, ensure_ascii=False)
    return ProviderTranscript(text=text, body=body, format=call.format, language=language, duration_s=duration,
                              bytes_up=bytes_up, bytes_down=bytes_down, http_status=200)
