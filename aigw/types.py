"""Pydantic models at the boundaries: what the CLI asks for, what providers return, what is logged."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ImageFormat = Literal["png", "jpeg", "webp"]
TranscriptFormat = Literal["text", "json", "verbose_json", "srt", "vtt", "tsv"]
Kind = Literal["image", "audio"]


class Frozen(BaseModel):
    # defer_build: a model's validator is built when it is first used, so a process pays only for
    # the models its command needs (an image run never builds the transcription ones).
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


# ---- requests, as the user asked ---------------------------------------------------------------


class ImageParams(Frozen):
    """What shapes an image, in aigw's vocabulary: the same in a request and in a provider call."""

    size: str | None = None  # exact WIDTHxHEIGHT, or "auto"
    aspect_ratio: str | None = None  # "16:9"; used where a provider speaks ratios, or to derive a size
    quality: str | None = None
    style: str | None = None
    n: int = 1
    format: ImageFormat | None = None
    seed: int | None = None
    negative_prompt: str | None = None
    steps: int | None = None
    guidance: float | None = None


class ImageRequest(ImageParams):
    """As the user asked. `style` may be a model style (DALL-E 3 vivid/natural) or a preset."""

    prompt: str
    model: str
    enhancers: tuple[str, ...] = ()


Timestamps = Literal["segment", "word"]


class TranscribeParams(Frozen):
    language: str | None = None
    prompt: str | None = None
    format: TranscriptFormat = "text"
    temperature: float | None = None
    timestamps: Timestamps | None = None
    translate: bool = False
    diarize: bool = False  # speaker labels, where the provider offers them


class TranscribeRequest(TranscribeParams):
    file: Path
    model: str
    # How subtitle cues are shaped (aigw renders them; never sent to a provider).
    max_line_width: int | None = None
    max_line_count: int | None = None


# ---- what one provider is asked to do (model id and parameters already mapped) -----------------


class ImageCall(ImageParams):
    """One request to one provider; the provider maps it onto its wire. `prompt` has presets and
    enhancers appended; `style` is only a style the model itself offers."""

    provider_model: str
    prompt: str


class AudioUpload(Frozen):
    path: Path
    filename: str
    content_type: str
    size_bytes: int
    duration_s: float | None = None


class TranscribeCall(TranscribeParams):
    """`format` is what `body` must hold; providers render it when their wire lacks it."""

    provider_model: str
    audio: AudioUpload


class ImageBlob(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    data: bytes
    ext: str
    revised_prompt: str | None = None


class Usage(Frozen):
    """What the provider reported it billed for; any field may be missing."""

    input_text_tokens: int | None = None
    input_image_tokens: int | None = None
    input_audio_tokens: int | None = None
    output_image_tokens: int | None = None
    output_text_tokens: int | None = None
    seconds: float | None = None  # of audio
    gpu_seconds: float | None = None  # billed compute time (Replicate predict_time, RunPod executionTime)
    cost_usd: float | None = None  # some providers report the charge itself


class ProviderImages(Frozen):
    images: list[ImageBlob]
    usage: Usage | None = None
    warnings: list[str] = Field(default_factory=list)  # e.g. images dropped by a safety checker
    bytes_up: int = 0
    bytes_down: int = 0
    http_status: int | None = None


class ProviderTranscript(Frozen):
    text: str
    warnings: list[str] = Field(default_factory=list)
    body: str  # exactly what the user asked for in `format` (plain text, JSON, SRT, VTT)
    format: TranscriptFormat
    language: str | None = None
    duration_s: float | None = None
    usage: Usage | None = None
    bytes_up: int = 0
    bytes_down: int = 0
    http_status: int | None = None


# ---- cost -----------------------------------------------------------------------------------


class CostEstimate(Frozen):
    usd: float | None  # None means unknown, never zero by default
    basis: str
    as_of: date | None = None
    source: str | None = None
    assumptions: list[str] = Field(default_factory=list)

    @property
    def known(self) -> bool:
        return self.usd is not None


# ---- the record of a run ----------------------------------------------------------------------


class Attempt(Frozen):
    hop: int
    provider: str
    provider_model: str
    model: str
    started_at: datetime
    latency_ms: float
    http_status: int | None = None
    failure_class: str | None = None  # None when it served the result
    error: str | None = None
    retry_after_s: float | None = None
    waited_s: float = 0.0
    bytes_up: int = 0
    bytes_down: int = 0
    estimated_cost_usd: float | None = None
    actual_cost_usd: float | None = None
    served: bool = False
    possibly_billed: bool = False  # timed out after the request went out: the provider may charge for it
    chunk: int | None = None  # a long recording's chunk (0-based) this attempt sent, else None


class RecordedJob(Frozen):
    """A provider's queue job as the run log recorded it (the `jobs` table): `details` holds what the
    provider reported with it (status and cancel URLs, the model or endpoint, results' URLs, reasons),
    enough for the provider's `resume_image` / `resume_transcribe` to find it again."""

    run_id: str
    provider: str
    job_id: str
    status: str  # the last one reported: submitted, completed, failed, cancelled, expired, ...
    details: dict[str, Any] = Field(default_factory=dict)
    updated_at: datetime


class RunResult(Frozen):
    """Everything `--json` prints and the run log keeps, for either kind of run."""

    id: str
    kind: Kind
    requested_model: str
    model: str
    provider: str
    provider_model: str
    paths: list[str]
    cost_usd: float | None
    estimated_cost_usd: float | None
    cost_as_of: date | None = None
    cost_assumptions: list[str] = Field(default_factory=list)
    latency_ms: float
    created_at: datetime
    attempts: list[Attempt]
    warnings: list[str] = Field(default_factory=list)
    substituted: bool = False
    # answered from the result cache: no request sent, cost 0, `cache_of` the paid run it came from
    cache_hit: bool = False
    cache_of: str | None = None
    cache_saved_usd: float | None = Field(default=None, exclude=True)  # that run's cost, for stderr
    # image runs
    prompt: str | None = None
    size: str | None = None
    quality: str | None = None
    revised_prompt: str | None = None
    # audio runs
    text: str | None = None
    format: str | None = None
    language: str | None = None
    duration_s: float | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
