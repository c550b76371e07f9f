"""Replicate model inputs: aigw's request vocabulary mapped onto each model's own input schema.

PROVIDERS.md §5.5, checked against the models' Cog sources: `replicate/cog-flux` predict.py
(ASPECT_RATIOS, num_outputs 1-4, output_format webp|jpg|png, megapixels "1"|"0.25" halving each side),
the stability-ai/sdxl version schema recorded in `replicate/replicate-python` tests/cassettes
(width/height, num_outputs 1-4, num_inference_steps 1-500, guidance_scale 1-50; PNG output only),
and the openai/whisper 8099696… schema (language "auto" or a code or name; transcription
"plain text"|"srt"|"vtt"; `translation` holds the English text only, with no segments).

Each mapper is pure: (call) -> (input, warnings, call as adjusted). `prepare_*` returns the warnings;
`generate`/`transcribe` call the same mapper again to build the body, so both always agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from aigw.errors import UsageError
from aigw.types import ImageCall, TranscribeCall
from aigw.providers._options import not_sent
from aigw.providers._sizes import parse_ratio, parse_size

FLUX_ASPECTS: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024), "16:9": (1344, 768), "21:9": (1536, 640), "3:2": (1216, 832), "2:3": (832, 1216),
    "4:5": (896, 1088), "5:4": (1088, 896), "3:4": (896, 1152), "4:3": (1152, 896), "9:16": (768, 1344),
    "9:21": (640, 1536),
}
SDXL_SIZES = ["1024x1024", "1152x896", "896x1152", "1216x832", "832x1216", "1344x768", "768x1344", "1536x640", "640x1536"]
FLUX_FORMATS = {"png": "png", "jpeg": "jpg", "webp": "webp"}

ImageMapped = tuple[dict[str, Any], list[str], ImageCall]
AudioMapped = tuple[dict[str, Any], list[str], TranscribeCall]


def model_name(provider_model: str) -> str:
    """'owner/name' from 'owner/name' or 'owner/name:version'."""
    return provider_model.split(":", 1)[0]






def _clamp(value: int | float, low: int | float, high: int | float) -> int | float:
    return max(low, min(high, value))


# A diffusion model's inputs; quality and style have no Replicate input (a warning each, not sent).
DIFFUSION = {"size", "aspect_ratio", "n", "format", "seed", "negative_prompt", "steps", "guidance"}


def _nearest_aspect(ratio: float) -> str:
    return min(FLUX_ASPECTS, key=lambda a: abs(math.log(FLUX_ASPECTS[a][0] / FLUX_ASPECTS[a][1]) - math.log(ratio)))


def flux_schnell(call: ImageCall) -> ImageMapped:
    model = "black-forest-labs/flux-schnell"
    call, notes = not_sent(call, {"size", "aspect_ratio", "n", "format", "seed", "steps"}, name="replicate", model=model)
    body: dict[str, Any] = {"prompt": call.prompt}
    wh = parse_size(call.size)
    asked_ratio = parse_ratio(call.aspect_ratio)
    ratio = asked_ratio or (wh[0] / wh[1] if wh else None)
    if call.aspect_ratio and asked_ratio is None:
        notes.append(f"replicate: aspect ratio {call.aspect_ratio} is not W:H; not sent")
    aspect = _nearest_aspect(ratio) if ratio else None
    if call.aspect_ratio and asked_ratio and call.aspect_ratio not in FLUX_ASPECTS:
        notes.append(f"replicate: {model} does not offer aspect ratio {call.aspect_ratio}; using {aspect}")
    if aspect:
        body["aspect_ratio"] = aspect
    if wh:
        # Two sizes only: ~1 MP or a quarter of it; the split is their geometric middle (512x1024).
        mp = "0.25" if wh[0] * wh[1] <= 512 * 1024 else "1"
        body["megapixels"] = mp
        w, h = FLUX_ASPECTS[aspect or "1:1"]
        made = (w // 2, h // 2) if mp == "0.25" else (w, h)
        if made != wh:
            notes.append(f"replicate: {model} makes fixed aspect ratios, not sizes; {call.size} -> aspect_ratio "
                         f"{aspect}, megapixels {mp} ({made[0]}x{made[1]})")
    n = int(_clamp(call.n, 1, 4))
    if n != call.n:
        notes.append(f"replicate: {model} makes 1 to 4 images per request; asking for {n}")
    body["num_outputs"] = n
    if call.steps is not None:
        steps = int(_clamp(call.steps, 1, 4))
        if steps != call.steps:
            notes.append(f"replicate: {model} takes 1 to 4 steps; using {steps}")
        body["num_inference_steps"] = steps
    if call.seed is not None:
        body["seed"] = call.seed
        body["go_fast"] = False  # the fp8 fast path is not deterministic even with a seed
    body["output_format"] = FLUX_FORMATS[call.format or "png"]
    return body, notes, call.model_copy(update={"n": n})


def _sdxl_size(call: ImageCall, notes: list[str], model: str) -> tuple[int, int] | None:
    wh = parse_size(call.size)
    ratio = parse_ratio(call.aspect_ratio)
    if wh is None and ratio is None:
        return None
    if wh is None:
        assert ratio is not None
        best = min(SDXL_SIZES, key=lambda s: abs(math.log(parse_size(s)[0] / parse_size(s)[1]) - math.log(ratio)))  # type: ignore[index]
        bw, bh = parse_size(best)  # type: ignore[misc]
        if abs(bw / bh - ratio) > 1e-3:
            notes.append(f"replicate: {model} takes sizes, not ratios; aspect ratio {call.aspect_ratio} -> {best}")
        return bw, bh
    if ratio is not None and abs(wh[0] / wh[1] - ratio) > 1e-3:
        notes.append(f"replicate: {model} takes a size; aspect ratio {call.aspect_ratio} not sent, size {call.size} used")
    w, h = (max(8, round(v / 8) * 8) for v in wh)
    if (w, h) != wh:
        notes.append(f"replicate: {model} needs width and height in multiples of 8; {call.size} -> {w}x{h}")
    return w, h


def sdxl(call: ImageCall) -> ImageMapped:
    model = "stability-ai/sdxl"
    call, notes = not_sent(call, DIFFUSION, name="replicate", model=model)
    body: dict[str, Any] = {"prompt": call.prompt}
    wh = _sdxl_size(call, notes, model)
    if wh:
        body["width"], body["height"] = wh
    n = int(_clamp(call.n, 1, 4))
    if n != call.n:
        notes.append(f"replicate: {model} makes 1 to 4 images per request; asking for {n}")
    body["num_outputs"] = n
    if call.negative_prompt is not None:
        body["negative_prompt"] = call.negative_prompt
    if call.steps is not None:
        steps = int(_clamp(call.steps, 1, 500))
        if steps != call.steps:
            notes.append(f"replicate: {model} takes 1 to 500 steps; using {steps}")
        body["num_inference_steps"] = steps
    if call.guidance is not None:
        guidance = float(_clamp(call.guidance, 1, 50))
        if guidance != call.guidance:
            notes.append(f"replicate: {model} takes guidance 1 to 50; using {guidance:g}")
        body["guidance_scale"] = guidance
    if call.seed is not None:
        body["seed"] = call.seed
    fmt = call.format
    if fmt not in (None, "png"):
        notes.append(f"replicate: {model} returns PNG only; saving PNG, not {fmt}")
        fmt = "png"
    return body, notes, call.model_copy(update={"n": n, "format": fmt})


def generic_image(call: ImageCall) -> ImageMapped:
    """A model aigw has no table for (reached as replicate/OWNER/NAME): common Replicate input names."""
    name = model_name(call.provider_model)
    call, dropped = not_sent(call, DIFFUSION, name="replicate", model=name)
    notes = [f"replicate: {name} is not in aigw's table of Replicate models; parameters are sent under "
             "common Replicate input names (prompt, width/height, aspect_ratio, num_outputs, ...)"]
    body: dict[str, Any] = {"prompt": call.prompt}
    wh = parse_size(call.size)
    if wh:
        body["width"], body["height"] = wh
    if call.aspect_ratio:
        body["aspect_ratio"] = call.aspect_ratio
    if call.n != 1:
        body["num_outputs"] = call.n
    optional = {"num_inference_steps": call.steps, "guidance_scale": call.guidance,
                "negative_prompt": call.negative_prompt, "seed": call.seed}
    body.update({k: v for k, v in optional.items() if v is not None})
    if call.format:
        body["output_format"] = FLUX_FORMATS[call.format]
    return body, [*notes, *dropped], call


IMAGE_MAPPERS: dict[str, Callable[[ImageCall], ImageMapped]] = {
    "black-forest-labs/flux-schnell": flux_schnell,
    "stability-ai/sdxl": sdxl,
}
# Models whose output is a list of files, complete once present even while `processing` (§5.2).
FILE_OUTPUT_MODELS = frozenset(IMAGE_MAPPERS) | {"openai/whisper"}


def image_input(call: ImageCall) -> ImageMapped:
    return IMAGE_MAPPERS.get(model_name(call.provider_model), generic_image)(call)


# ---- transcription ---------------------------------------------------------------------------

WHISPER_TRANSCRIPTION = {"srt": "srt", "vtt": "vtt"}  # anything else: "plain text" (with a space)


def whisper(call: TranscribeCall) -> AudioMapped:
    """openai/whisper: the audio itself is added by the provider (data URL or uploaded file URL)."""
    model = model_name(call.provider_model)
    notes: list[str] = []
    if call.translate and call.format in ("srt", "vtt", "verbose_json"):
        raise UsageError(
            f"replicate: {model} returns a translation as plain text only, without timestamps; "
            f"{call.format} cannot be made from it",
            hint="use --format text or json with --translate, or another provider (-p)",
        )
    body: dict[str, Any] = {"transcription": WHISPER_TRANSCRIPTION.get(call.format, "plain text")}
    if call.translate:
        body["translate"] = True
    if call.language:
        body["language"] = call.language
    if call.prompt:
        body["initial_prompt"] = call.prompt
    if call.temperature is not None:
        body["temperature"] = call.temperature
    if call.timestamps == "word":
        notes.append(f"replicate: {model} gives segment timestamps only; word timestamps are not returned")
    return body, notes, call


def generic_audio(call: TranscribeCall) -> AudioMapped:
    body, notes, call = whisper(call)
    name = model_name(call.provider_model)
    notes.insert(0, f"replicate: {name} is not in aigw's table of Replicate models; inputs are sent as "
                    "openai/whisper names them")
    return body, notes, call


AUDIO_MAPPERS: dict[str, Callable[[TranscribeCall], AudioMapped]] = {"openai/whisper": whisper}


def audio_input(call: TranscribeCall) -> AudioMapped:
    return AUDIO_MAPPERS.get(model_name(call.provider_model), generic_audio)(call)
