"""Pure pricing: an estimate before a call, the actual cost after it. Unknown is None, never 0."""

from __future__ import annotations

from aigw.catalog.schema import WILDCARD, Model, Offer, Price
from aigw.types import CostEstimate, Usage

_REFERENCE_AREA = 1024 * 1024


def default_quality(model: Model) -> str | None:
    if not model.qualities:
        return None
    return "auto" if "auto" in model.qualities else model.qualities[0]


def _area(size: str) -> int | None:
    try:
        w, h = size.lower().split("x")
        return int(w) * int(h)
    except ValueError:
        return None


def _unknown(basis: str = "unpriced") -> CostEstimate:
    return CostEstimate(usd=None, basis=basis, assumptions=["no price is known for this model at this provider"])


def _est(price: Price, usd: float | None, basis: str, assumptions: list[str]) -> CostEstimate:
    return CostEstimate(usd=usd, basis=basis, as_of=price.as_of, source=price.source, assumptions=assumptions)


def estimate_image(model: Model, offer: Offer, *, size: str | None, quality: str | None, n: int, prompt: str) -> CostEstimate:
    price = offer.price
    if price is None:
        return _unknown()
    if price.free:
        return _est(price, 0.0, "free", [])
    notes: list[str] = []
    q = quality or default_quality(model)
    if price.per_image:
        table = price.per_image
        if size in table:
            by_quality = table[size]  # type: ignore[index]
        elif WILDCARD in table:
            by_quality = table[WILDCARD]
        else:
            # "auto" or no size: the provider picks, so assume the dearest it could pick.
            by_quality = max(table.values(), key=lambda qs: max(qs.values()))
            notes.append("size auto counted as the dearest standard size")
        if q in by_quality:
            each = by_quality[q]  # type: ignore[index]
        elif WILDCARD in by_quality:
            each = by_quality[WILDCARD]
        else:
            each = max(by_quality.values())
            if q:
                notes.append(f"quality {q} counted as the dearest quality")
        return _est(price, round(each * n, 6), "per image", _merge(notes, price))
    if price.per_gpu_second is not None and price.estimate_gpu_seconds is not None:
        usd = price.per_gpu_second * price.estimate_gpu_seconds * n
        return _est(price, round(usd, 6), "GPU time (estimated)", _merge(notes, price))
    if price.tokens and price.estimate_output_tokens and price.tokens.image_out:
        est = price.estimate_output_tokens
        if (q or "") not in est:
            notes.append(f"quality {q or 'auto'} counted as {max(est, key=lambda k: est[k])}")
        per_ref = est.get(q or "", max(est.values()))
        area = _area(size or "") or _REFERENCE_AREA
        out_tokens = per_ref * area / _REFERENCE_AREA
        in_tokens = max(len(prompt) / 4, 1)
        usd = (out_tokens * price.tokens.image_out + in_tokens * (price.tokens.text_in or 0)) / 1e6
        return _est(price, round(usd * n, 6), "tokens (estimated)", _merge(notes, price))
    if price.per_megapixel is not None:
        area = _area(size or "") or _REFERENCE_AREA
        if not _area(size or ""):
            notes.append("size not given: counted as 1024x1024")
        return _est(price, round(price.per_megapixel * area / 1e6 * n, 6), "per megapixel", _merge(notes, price))
    return _unknown("no image price rule")


def actual_image(offer: Offer, usage: Usage | None, estimate: CostEstimate) -> float | None:
    price = offer.price
    if usage is not None and usage.cost_usd is not None:
        return usage.cost_usd
    if price is not None and price.per_gpu_second is not None and usage is not None and usage.gpu_seconds is not None:
        return round(price.per_gpu_second * usage.gpu_seconds, 6)
    if price is not None and price.tokens and usage is not None and usage.output_image_tokens is not None:
        r = price.tokens
        usd = (
            (usage.input_text_tokens or 0) * (r.text_in or 0)
            + (usage.input_image_tokens or 0) * (r.image_in or 0)
            + (usage.output_image_tokens or 0) * (r.image_out or 0)
            + (usage.output_text_tokens or 0) * (r.text_out or r.text_in or 0)
        ) / 1e6
        return round(usd, 6)
    return estimate.usd


def estimate_audio(offer: Offer, *, duration_s: float | None) -> CostEstimate:
    price = offer.price
    if price is None:
        return _unknown()
    if price.free:
        return _est(price, 0.0, "free", [])
    if duration_s is None:
        return CostEstimate(usd=None, basis="per minute", as_of=price.as_of, source=price.source,
                            assumptions=["the audio's duration could not be read"])
    if price.per_minute is not None:
        return _est(price, round(price.per_minute * duration_s / 60, 6), "per audio minute", list(price.assumptions))
    if price.per_second is not None:
        return _est(price, round(price.per_second * duration_s, 6), "per second", list(price.assumptions))
    if price.per_gpu_second is not None and price.estimate_gpu_seconds is not None:
        usd = price.per_gpu_second * price.estimate_gpu_seconds * duration_s
        return _est(price, round(usd, 6), "GPU time (estimated)", list(price.assumptions))
    return _unknown("no audio price rule")


def actual_audio(offer: Offer, usage: Usage | None, estimate: CostEstimate) -> float | None:
    price = offer.price
    if price is None:
        return None
    if price.free:
        return 0.0
    if usage is not None:
        if usage.cost_usd is not None:
            return usage.cost_usd
        if price.per_gpu_second is not None and usage.gpu_seconds is not None:
            return round(price.per_gpu_second * usage.gpu_seconds, 6)
        if price.tokens and (usage.input_audio_tokens is not None or usage.output_text_tokens is not None):
            r = price.tokens
            usd = (
                (usage.input_audio_tokens or 0) * (r.audio_in or 0)
                + (usage.input_text_tokens or 0) * (r.text_in or 0)
                + (usage.output_text_tokens or 0) * (r.text_out or 0)
            ) / 1e6
            return round(usd, 6)
        if usage.seconds is not None and price.per_minute is not None:
            return round(price.per_minute * usage.seconds / 60, 6)
        if usage.seconds is not None and price.per_second is not None:
            return round(price.per_second * usage.seconds, 6)
    return estimate.usd


def _merge(notes: list[str], price: Price) -> list[str]:
    out = list(price.assumptions)
    for note in notes:
        if not any(note.split(" counted")[0] in a for a in out):
            out.append(note)
    return out


def format_usd(usd: float | None) -> str:
    if usd is None:
        return "unknown"
    if usd == 0:
        return "$0 (free)"
    return usd_text(usd)


def usd_text(usd: float) -> str:
    """Dollars with enough digits that a non-zero amount never reads as zero: $0.125, $0.0031,
    $0.00004 (two significant digits below a cent)."""
    import math

    if usd >= 0.01 or usd <= 0:
        return f"${usd:.3f}" if usd >= 0.01 else "$0"
    decimals = max(4, 1 - math.floor(math.log10(usd)))
    text = f"{usd:.{decimals}f}"
    return "$" + (text.rstrip("0") if decimals > 4 else text)
