"""Checking image parameters against a model, and carrying them to a successor's nearest values."""

from __future__ import annotations

import math

from aigw import errors
from aigw.catalog.schema import Model
from aigw.providers._sizes import parse_ratio, parse_size, ratio_size
from aigw.types import ImageCall


def default_size(model: Model) -> str | None:
    """The size a model uses when none is sent (None where the model picks: "auto")."""
    return None if not model.sizes or "auto" in model.sizes else model.sizes[0]




def size_allowed(model: Model, size: str) -> bool:
    if size in model.sizes:
        return True
    rule, wh = model.custom_sizes, parse_size(size)
    if rule is None or wh is None:
        return False
    w, h = wh
    return (
        w > 0 and h > 0
        and w % rule.multiple_of == 0 and h % rule.multiple_of == 0
        and w <= rule.max_width and h <= rule.max_height and w * h <= rule.max_pixels
        and rule.min_ratio <= w / h <= rule.max_ratio
    )


def _ratio(value: float) -> str:
    """0.3334 -> "1:3", 4.0 -> "4:1"."""
    return f"1:{round(1 / value)}" if value < 1 else f"{round(value)}:1"


def _allowed_sizes_text(model: Model) -> str:
    text = ", ".join(model.sizes)
    if model.custom_sizes:
        r = model.custom_sizes
        text += (f", or any WxH in steps of {r.multiple_of} up to {r.max_width}x{r.max_height}, "
                 f"aspect {_ratio(r.min_ratio)} to {_ratio(r.max_ratio)}")
    return text


def validate(model: Model, *, prompt: str, size: str | None, quality: str | None, style: str | None,
             n: int, fmt: str | None) -> None:
    """Raise UsageError (exit 2) before any request for anything the model cannot take."""
    if not prompt.strip():
        raise errors.UsageError("the prompt is empty", hint='give a prompt: aigw generate "a red apple"')
    if model.open_params:
        return  # a provider's own model id: its provider is the judge of the rest
    limit = model.limits.prompt_chars
    if limit and len(prompt) > limit:
        raise errors.UsageError(f"the prompt has {len(prompt)} characters; {model.id} takes at most {limit}",
                                hint=f"shorten it to {limit} characters, or use a model that takes longer prompts")
    if size is not None and not size_allowed(model, size):
        raise errors.UsageError(f"{model.id} does not offer size {size}", hint=f"allowed: {_allowed_sizes_text(model)}")
    # A model with no qualities (a diffusion model) is the providers' to warn about: "not sent".
    if quality is not None and model.qualities and quality not in model.qualities:
        raise errors.UsageError(f"{model.id} does not offer quality {quality}",
                                hint=f"allowed: {', '.join(model.qualities)}")
    if style is not None and style not in model.styles:
        raise errors.UsageError(f"{model.id} does not offer style {style}",
                                hint=f"allowed: {', '.join(model.styles) or 'none (this model has no styles)'}")
    if n < 1 or n > model.limits.n_max:
        raise errors.UsageError(f"{model.id} makes 1 to {model.limits.n_max} images per request, not {n}",
                                hint=f"allowed: -n 1..{model.limits.n_max}")
    if fmt is not None and model.formats and fmt not in model.formats:
        raise errors.UsageError(f"{model.id} does not return {fmt}", hint=f"allowed: {', '.join(model.formats)}")


def nearest_size(target: Model, size: str) -> str:
    wh = parse_size(size)
    options = [s for s in target.sizes if parse_size(s)]
    if wh is None or not options:
        return target.sizes[0]
    ratio, area = math.log(wh[0] / wh[1]), wh[0] * wh[1]

    def distance(option: str) -> tuple[float, float]:
        w, h = parse_size(option)  # type: ignore[misc]
        return abs(math.log(w / h) - ratio), abs(w * h - area)

    return min(options, key=distance)


def carry_over(source: Model, target: Model, *, size: str | None, quality: str | None, style: str | None,
               n: int, fmt: str | None) -> tuple[dict[str, object], list[str]]:
    """Parameters for `target` that keep what was asked of `source`, and a warning for each change."""
    warnings: list[str] = []
    out: dict[str, object] = {"size": size, "quality": quality, "style": style, "n": n, "format": fmt}
    if size is not None and not size_allowed(target, size):
        out["size"] = nearest_size(target, size)
        warnings.append(f"size {size} is not offered by {target.id}; using {out['size']}")
    if quality is not None and quality not in target.qualities:
        mapped = source.successor_map.get("quality", {}).get(quality)
        if mapped not in target.qualities:
            mapped = "auto" if "auto" in target.qualities else (target.qualities[0] if target.qualities else None)
        out["quality"] = mapped
        warnings.append(f"quality {quality} is not offered by {target.id}; using {mapped}")
    if style is not None and style not in target.styles:
        out["style"] = None
        warnings.append(f"style {style} is not offered by {target.id}, which has no styles; it is not sent")
    if n > target.limits.n_max:
        out["n"] = target.limits.n_max
        warnings.append(f"{target.id} makes at most {target.limits.n_max} images per request; asking for {target.limits.n_max}")
    if fmt is not None and target.formats and fmt not in target.formats:
        out["format"] = target.formats[0]
        warnings.append(f"{target.id} does not return {fmt}; using {target.formats[0]}")
    return out, warnings


def ratio_to_size(model: Model, call: ImageCall) -> tuple[ImageCall, list[str]]:
    """For a provider that takes sizes only: --aspect-ratio becomes a size the model offers (exact
    where its size rule allows, else the nearest listed size, with a warning), or gives way to an
    explicit --size with a warning. A model with no known sizes is left to the provider."""
    ratio = parse_ratio(call.aspect_ratio)
    if call.aspect_ratio is None or ratio is None:
        return call, []
    asked = call.aspect_ratio
    if call.size is not None:
        return call.model_copy(update={"aspect_ratio": None}), [
            f"{model.id} takes a size, not a ratio: --size {call.size} decides the shape; "
            f"--aspect-ratio {asked} not sent"]
    if not [s for s in model.sizes if parse_size(s)]:
        return call, []
    size = _ratio_size(model, asked)
    if size is None:
        wh = ratio_size(asked, long_side=1024, step=16)
        size = nearest_size(model, f"{wh[0]}x{wh[1]}" if wh else "1024x1024")
    w, h = parse_size(size)  # type: ignore[misc]
    notes: list[str] = []
    if abs(w / h - ratio) > 1e-3:
        notes.append(f"{model.id} has no {asked} size; --aspect-ratio {asked} sent as the nearest size, {size}")
    return call.model_copy(update={"size": size, "aspect_ratio": None}), notes


def _ratio_size(model: Model, ratio: str) -> str | None:
    """A listed size of exactly this ratio, else the size of (nearly) this ratio that the model's size
    rule allows, its long side that of the largest listed size; else None."""
    value = parse_ratio(ratio)
    listed = [(s, parse_size(s)) for s in model.sizes]
    for size, wh in listed:
        if wh and abs(wh[0] / wh[1] - (value or 0)) < 1e-3:
            return size
    rule = model.custom_sizes
    if rule is None or value is None:
        return None
    long_side = max((max(wh) for _, wh in listed if wh), default=1024)
    wh = ratio_size(ratio, long_side=long_side, step=rule.multiple_of)
    if wh is None or abs(wh[0] / wh[1] - value) > 0.01:
        return None
    size = f"{wh[0]}x{wh[1]}"
    return size if size_allowed(model, size) else None
