"""The catalog's shape, checked when it loads: a bad price or size is a bug we want to see at once."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    # defer_build: a validator is built when a model is first validated. A process that reads the
    # catalog kept in the cache (catalog/stored.py) validates none, unless the config adds models
    # or prices.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


WILDCARD = "*"  # a per_image key that matches any size or quality


class TokenRates(_Strict):
    """USD per million tokens."""

    text_in: float | None = None
    image_in: float | None = None
    cached_image_in: float | None = None
    audio_in: float | None = None
    image_out: float | None = None
    text_out: float | None = None


class Price(_Strict):
    as_of: date
    source: str
    per_image: dict[str, dict[str, float]] | None = None  # size -> quality -> USD
    per_megapixel: float | None = None
    tokens: TokenRates | None = None
    estimate_output_tokens: dict[str, int] | None = None  # quality -> image tokens at 1024x1024
    per_minute: float | None = None  # per minute of audio
    per_second: float | None = None  # per second of audio
    # Billed by GPU time (Replicate, RunPod workers): the rate, and the GPU-seconds an estimate
    # assumes per image, or per second of audio for transcription.
    per_gpu_second: float | None = None
    estimate_gpu_seconds: float | None = None
    free: bool = False
    assumptions: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_a_rule(self) -> Price:
        rules = [self.per_image, self.per_megapixel, self.tokens, self.per_minute, self.per_second,
                 self.per_gpu_second]
        if not self.free and all(r is None for r in rules):
            raise ValueError("a price needs at least one rule (or free = true)")
        if self.tokens and self.tokens.image_out and not (self.per_image or self.estimate_output_tokens):
            if self.per_minute is None:
                raise ValueError("token-priced image models need estimate_output_tokens or per_image")
        return self


class Offer(_Strict):
    """One provider serving one catalog model."""

    model: str
    price: Price | None = None
    retired: date | None = None
    successor: str | None = None
    shutdown_announced: date | None = None
    # Served only where the user's config names the provider's id for it (`models` table), e.g. a
    # RunPod endpoint id or an Azure deployment name.
    needs_mapping: bool = False
    typical_latency_s: float | None = None


class CustomSizes(_Strict):
    multiple_of: int = 16
    max_width: int
    max_height: int
    max_pixels: int
    min_ratio: float
    max_ratio: float


class Limits(_Strict):
    prompt_chars: int | None = None
    n_max: int = 1
    upload_bytes: int | None = None
    audio_seconds: float | None = None


class Model(_Strict):
    id: str
    kind: Literal["image", "audio"]
    description: str = ""
    sizes: list[str] = Field(default_factory=list)
    custom_sizes: CustomSizes | None = None
    qualities: list[str] = Field(default_factory=list)
    styles: list[str] = Field(default_factory=list)
    formats: list[str] = Field(default_factory=list)
    limits: Limits = Field(default_factory=Limits)
    typical_latency_s: float | None = None
    successor_map: dict[str, dict[str, str]] = Field(default_factory=dict)
    providers: dict[str, Offer]
    # A provider's own id reached as PROVIDER/MODEL: nothing known about it, so nothing is checked.
    open_params: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Model:
        if not self.providers:
            raise ValueError(f"{self.id}: no provider serves it")
        for name, offer in self.providers.items():
            if offer.retired and not offer.successor:
                raise ValueError(f"{self.id}: retired at {name} without a successor")
            if offer.price and offer.price.per_image:
                unknown = set(offer.price.per_image) - set(self.sizes) - {WILDCARD}
                if unknown:
                    raise ValueError(f"{self.id}: prices for sizes it does not offer: {sorted(unknown)}")
        return self

    def offer(self, provider: str) -> Offer | None:
        return self.providers.get(provider)
