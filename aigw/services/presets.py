"""Style presets and quality enhancers: words appended to the prompt, the same at every provider."""

from __future__ import annotations

from aigw import errors

STYLE_PRESETS = {
    "watercolor": "in a watercolor painting style, soft washes of color, visible paper texture",
    "oil_painting": "as an oil painting, rich textured brushstrokes, classical composition",
    "digital_art": "as digital art, clean lines, vivid colors, highly detailed illustration",
    "cartoon": "in a cartoon style, bold outlines, flat bright colors",
    "realistic": "photorealistic, natural lighting, true-to-life detail",
    "sketch": "as a pencil sketch, graphite shading, hand-drawn lines on paper",
    "anime": "in an anime style, cel shading, expressive characters",
}

ENHANCERS = {
    "high_detail": "highly detailed, intricate detail",
    "professional_lighting": "professional studio lighting",
    "sharp_focus": "sharp focus",
    "vibrant_colors": "vibrant colors",
    "cinematic": "cinematic composition, dramatic lighting, film still",
}


def apply(prompt: str, *, preset: str | None, enhancers: tuple[str, ...]) -> str:
    unknown = [e for e in enhancers if e not in ENHANCERS]
    if unknown:
        raise errors.UsageError(f"unknown enhancer {unknown[0]}", hint="allowed: " + ", ".join(ENHANCERS))
    parts = [prompt.rstrip().rstrip(".")]
    if preset:
        parts.append(STYLE_PRESETS[preset])
    parts.extend(ENHANCERS[e] for e in enhancers)
    return ", ".join(parts) if len(parts) > 1 else prompt
