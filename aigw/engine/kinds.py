"""Request kinds, as strategies of the engine: what differs between an image and a transcription.

A kind builds one model's planned candidates (the request mapped by each candidate's provider,
its estimate), calls the provider, and turns what came back into the artefacts to keep, the actual
cost and sizes, and the RunResult. The run itself (failover, recording, keeping the paid result)
is the same for every kind: aigw/engine/run.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from aigw import errors
from aigw.catalog import pricing
from aigw.catalog.schema import Model
from aigw.engine.planning import NoCandidateCanTakeIt, Plan, Planned, RunOptions, candidates_for, models_to_try, \
    prepared, settle_refusals
from aigw.providers._options import transcribe_preparer
from aigw.services import image_params, model_ref, presets
from aigw.services.audio_input import is_silent, probe
from aigw.services.image_params import default_size
from aigw.store import inputs, provenance
from aigw.transcripts import formats, render
from aigw.types import (
    Attempt,
    AudioUpload,
    ImageCall,
    ImageParams,
    ImageRequest,
    ProviderImages,
    ProviderTranscript,
    RecordedJob,
    RunResult,
    TranscribeCall,
    TranscribeParams,
    TranscribeRequest,
)

if TYPE_CHECKING:
    from aigw.engine.core import Engine

J = TypeVar("J", contravariant=True)  # the request as the kind prepared it
C = TypeVar("C")  # the provider call
T = TypeVar("T")  # what the provider returns

_IMAGE_PARAMS: set[str] = set(ImageParams.model_fields)  # what an ImageCall takes from the request (never changed)
DEFAULT_IMAGE_TIMEOUT_S = 300.0
DEFAULT_AUDIO_TIMEOUT_S = 600.0
EXTENSIONS = {"text": "txt", "json": "json", "verbose_json": "json", "srt": "srt", "vtt": "vtt", "tsv": "tsv"}


class Kind(Protocol, Generic[J, C, T]):
    name: str  # "image" or "audio": the run log's `kind`
    default_timeout: float
    add_suffix: bool  # -o FILE for several results: numbered names (images) or the name as given

    def requested(self, job: J) -> str: ...
    def log_request(self, job: J) -> dict[str, Any]: ...
    def group(self, engine: Engine, job: J, options: RunOptions, model_id: str, primary: bool) -> list[Planned[C]]: ...
    def announce(self, item: Planned[C], job: J) -> str | None: ...
    async def call(self, item: Planned[C], job: J, timeout: float, recorded: RecordedJob | None = None) -> T: ...
    def warnings(self, value: T) -> list[str]: ...
    def artefacts(self, job: J, value: T) -> list[tuple[bytes, str]]: ...
    def actual_cost(self, item: Planned[C], value: T) -> float | None: ...
    def sizes(self, item: Planned[C], value: T) -> tuple[int, int, int | None]: ...
    def result(self, job: J, item: Planned[C], value: T, base: dict[str, Any]) -> RunResult: ...
    def body(self, job: J, value: T) -> str | None: ...
    def provenance(self, job: J, item: Planned[C], value: T, run_id: str) -> dict[str, Any]: ...


# ---- images --------------------------------------------------------------------------------------

def split_style(model: Model, style: str | None) -> tuple[str | None, str | None]:
    """(a style the model offers, a preset to append to the prompt)."""
    if style is None or style in model.styles or model.open_params:
        return style, None
    if style in presets.STYLE_PRESETS:
        return None, style
    offered = [*model.styles, *presets.STYLE_PRESETS]
    raise errors.UsageError(f"{model.id} does not offer style {style}", hint="allowed: " + ", ".join(offered))


def _fixed_default(model: Model) -> str | None:
    quality = pricing.default_quality(model)
    return None if quality == "auto" else quality


def _image_preparer(provider: Any, model: Model) -> Callable[[ImageCall], tuple[ImageCall, list[str]]]:
    """The provider's own mapping; for one that takes sizes only, --aspect-ratio first becomes the
    model's nearest size (the catalog knows the model's sizes, the provider does not)."""
    def prepare(call: ImageCall) -> tuple[ImageCall, list[str]]:
        notes: list[str] = []
        if getattr(provider, "ratio_as_size", False):
            call, notes = image_params.ratio_to_size(model, call)
            notes = [f"{provider.name}: {note}" for note in notes]
        call, more = provider.prepare_image(call)
        return call, [*notes, *more]
    return prepare


def substitution_notice(p: Planned[ImageCall], req: ImageRequest) -> str:
    sub = p.candidate.substitution
    assert sub is not None
    original = p.candidate.requested
    offer = original.providers.get(sub.provider)
    before = pricing.estimate_image(original, offer, size=req.size or default_size(original), quality=req.quality,
                                    n=req.n, prompt=req.prompt) if offer else None
    diff = ""
    if before and before.usd is not None and p.estimate.usd is not None:
        delta = p.estimate.usd - before.usd
        diff = (f"; price {pricing.format_usd(before.usd)} -> {pricing.format_usd(p.estimate.usd)}"
                f" ({'+' if delta >= 0 else '-'}${abs(delta):.4f})")
    elif p.estimate.usd is None:
        diff = "; the substitute's price is unknown"
    via = " -> ".join(sub.chain)
    return (f"{sub.requested} was retired by {sub.provider} on {sub.retired:%Y-%m-%d}; "
            f"{sub.served} serves instead ({via}){diff}")


class ImageKind:
    name = "image"
    default_timeout = DEFAULT_IMAGE_TIMEOUT_S
    add_suffix = True

    def requested(self, job: ImageRequest) -> str:
        return job.model

    def log_request(self, job: ImageRequest) -> dict[str, Any]:
        return job.model_dump(mode="json")

    def group(self, engine: Engine, req: ImageRequest, options: RunOptions, model_id: str,
              primary: bool) -> list[Planned[ImageCall]]:
        model = model_ref.resolve(engine, model_id, "image")
        model_style, preset = split_style(model, req.style)
        if primary:
            image_params.validate(model, prompt=req.prompt, size=req.size, quality=req.quality,
                                  style=model_style, n=req.n, fmt=req.format)
        prompt = presets.apply(req.prompt, preset=preset, enhancers=req.enhancers)
        planned: list[Planned[ImageCall]] = []
        refusals: list[errors.UsageError] = []
        asked = {**req.model_dump(include=_IMAGE_PARAMS), "style": model_style}  # once, not per candidate
        for cand, configured in candidates_for(engine, model, options):
            params: dict[str, Any] = dict(asked)
            if cand.substitution is not None or not primary:
                # Carry what the requested model would have used, defaults included: a DALL-E 3 request
                # with no size or quality means 1024x1024 standard, not the successor's "auto".
                # A ratio with no size is mapped onto the successor's own sizes, not the old default's shape.
                size = req.size or (None if req.aspect_ratio else default_size(model))
                carried, warnings = image_params.carry_over(
                    model, cand.model, size=size, quality=req.quality or _fixed_default(model),
                    style=model_style, n=req.n, fmt=req.format)
                # A value the user did not give is the requested model's default: say so.
                cand.warnings = [f"{model.id}'s default {w}" if (w.startswith("quality ") and req.quality is None)
                                 or (w.startswith("size ") and req.size is None) else w for w in warnings]
                params.update(carried)
            call = ImageCall(provider_model=cand.provider_model, prompt=prompt, **params)
            provider = engine.provider(cand.provider)
            mapped = prepared(cand, _image_preparer(provider, cand.model), call, refusals)
            if mapped is None:
                continue
            estimate = pricing.estimate_image(cand.model, cand.offer, size=mapped.size or default_size(cand.model),
                                              quality=mapped.quality, n=mapped.n, prompt=prompt)
            planned.append(Planned(cand, mapped, estimate, configured=configured, provider=provider))
        settle_refusals(engine, planned, refusals)
        return planned

    def announce(self, item: Planned[ImageCall], job: ImageRequest) -> str | None:
        return substitution_notice(item, job) if item.candidate.substitution else None

    async def call(self, item: Planned[ImageCall], job: ImageRequest, timeout: float,
                   recorded: RecordedJob | None = None) -> ProviderImages:
        if recorded is not None:  # a job an earlier run submitted: polled and fetched, not paid again
            return await item.provider.resume_image(item.call, recorded, timeout=timeout)  # type: ignore[no-any-return]
        return await item.provider.generate(item.call, timeout=timeout)  # type: ignore[no-any-return]

    def warnings(self, value: ProviderImages) -> list[str]:
        return list(value.warnings)

    def artefacts(self, job: ImageRequest, value: ProviderImages) -> list[tuple[bytes, str]]:
        return [(image.data, image.ext) for image in value.images]

    def actual_cost(self, item: Planned[ImageCall], value: ProviderImages) -> float | None:
        return pricing.actual_image(item.candidate.offer, value.usage, item.estimate)

    def sizes(self, item: Planned[ImageCall], value: ProviderImages) -> tuple[int, int, int | None]:
        return value.bytes_up, value.bytes_down, value.http_status

    def result(self, job: ImageRequest, item: Planned[ImageCall], value: ProviderImages,
               base: dict[str, Any]) -> RunResult:
        return RunResult(**base, prompt=job.prompt, size=item.call.size, quality=item.call.quality,
                         revised_prompt=next((i.revised_prompt for i in value.images if i.revised_prompt), None))

    def body(self, job: ImageRequest, value: ProviderImages) -> str | None:
        return None

    def provenance(self, job: ImageRequest, item: Planned[ImageCall], value: ProviderImages,
                   run_id: str) -> dict[str, Any]:
        """What each image carries in its own metadata (README 'Provenance in every result')."""
        return provenance.image_fields(run_id=run_id, model=item.candidate.model.id, provider=item.candidate.provider,
                                       call=item.call, cost_usd=self.actual_cost(item, value))


# ---- transcription -------------------------------------------------------------------------------

@dataclass(frozen=True)
class AudioJob:
    """A transcription request with its probed upload and the name the user knows it by."""

    request: TranscribeRequest
    upload: AudioUpload
    name: str


def wire_format(engine: Engine, req: TranscribeRequest, model: Model) -> str:
    """What to ask the provider for (aigw.transcripts.formats); a model that cannot give the format
    (no timestamps for subtitles) is left out of the plan, naming models that can."""
    try:
        return formats.wire_format(model.id, model.formats, req.format, shape_of(req),
                                   alternatives=formats.timed_models(_by_default_order(engine)))
    except formats.FormatUnavailable as exc:
        raise NoCandidateCanTakeIt(exc.message, hint=exc.hint) from exc


def _by_default_order(engine: Engine) -> list[Model]:
    """Audio models, those of the default list first (the ones a hint should name)."""
    order = engine.catalog.default_order.get("audio", [])
    return sorted(engine.catalog.of_kind("audio"), key=lambda m: order.index(m.id) if m.id in order else len(order))


def shape_of(req: TranscribeRequest) -> formats.Shape:
    return formats.Shape(max_line_width=req.max_line_width, max_line_count=req.max_line_count, diarize=req.diarize)


def user_body(req: TranscribeRequest, value: ProviderTranscript) -> str:
    """The body in the user's format: the provider's as it came, or rebuilt from its segments."""
    return formats.user_body(req.format, value.format, value.body, language=value.language, duration=value.duration_s,
                             translate=req.translate, shape=shape_of(req))


def silent_transcript(call: TranscribeCall) -> ProviderTranscript:
    """The transcript of silent audio: no text, in the asked format."""
    duration = call.audio.duration_s
    return ProviderTranscript(text="", format=call.format, duration_s=duration,
                              body=render(call.format, text="", segments=[], language=call.language,
                                          duration=duration, extra={}))


def audio_job(req: TranscribeRequest, display_name: str | None = None) -> AudioJob:
    name = display_name or str(req.file)
    return AudioJob(req, probe(Path(req.file), display_name=name), name)


class AudioKind:
    name = "audio"
    default_timeout = DEFAULT_AUDIO_TIMEOUT_S
    add_suffix = False

    def __init__(self) -> None:
        self._silent: dict[Path, bool | None] = {}  # the silence check, once per file

    def requested(self, job: AudioJob) -> str:
        return job.request.model

    def log_request(self, job: AudioJob) -> dict[str, Any]:
        # The input as an absolute path with its size and sha256: `aigw logs` finds runs by it.
        return {**job.request.model_dump(mode="json"), **inputs.describe(Path(job.request.file), job.name)}

    def group(self, engine: Engine, job: AudioJob, options: RunOptions, model_id: str,
              primary: bool) -> list[Planned[TranscribeCall]]:
        req, upload = job.request, job.upload
        model = model_ref.resolve(engine, model_id, "audio")
        try:
            wire_format(engine, req, model)
        except NoCandidateCanTakeIt as exc:
            if primary and len(models_to_try(engine, req.model, options)) > 1:  # plan_groups says it for fallbacks
                engine.notice("warning", f"{model.id} left out: {exc.message.removeprefix(model.id + ' ')}")
            raise
        # A file over the model's limits is not refused: it is fitted when run (engine/chunks.py).
        planned: list[Planned[TranscribeCall]] = []
        refusals: list[errors.UsageError] = []
        for cand, configured in candidates_for(engine, model, options):
            params = {**req.model_dump(include=set(TranscribeParams.model_fields)),
                      "format": wire_format(engine, req, cand.model)}
            call = TranscribeCall(provider_model=cand.provider_model, audio=upload, **params)
            provider = engine.provider(cand.provider)
            mapped = prepared(cand, transcribe_preparer(provider), call, refusals)
            if mapped is not None:
                planned.append(Planned(cand, mapped, pricing.estimate_audio(cand.offer, duration_s=upload.duration_s),
                                       configured=configured, provider=provider))
        settle_refusals(engine, planned, refusals)
        return planned

    def announce(self, item: Planned[TranscribeCall], job: AudioJob) -> str | None:
        return None

    async def call(self, item: Planned[TranscribeCall], job: AudioJob, timeout: float,
                   recorded: RecordedJob | None = None) -> ProviderTranscript:
        try:
            if recorded is not None:  # a job an earlier run submitted: polled and fetched, not paid again
                return await item.provider.resume_transcribe(item.call, recorded,  # type: ignore[no-any-return]
                                                             timeout=timeout)
            return await item.provider.transcribe(item.call, timeout=timeout)  # type: ignore[no-any-return]
        except errors.EmptyResultError:
            # No words: the right answer for silence, an empty result (next provider) for speech.
            path = item.call.audio.path
            if path not in self._silent:
                self._silent[path] = is_silent(path)
            if self._silent[path] is not True:
                raise
            return silent_transcript(item.call)

    def warnings(self, value: ProviderTranscript) -> list[str]:
        return list(value.warnings)

    def artefacts(self, job: AudioJob, value: ProviderTranscript) -> list[tuple[bytes, str]]:
        return [(user_body(job.request, value).encode("utf-8"), EXTENSIONS[job.request.format])]

    def actual_cost(self, item: Planned[TranscribeCall], value: ProviderTranscript) -> float | None:
        return pricing.actual_audio(item.candidate.offer, value.usage, item.estimate)

    def sizes(self, item: Planned[TranscribeCall], value: ProviderTranscript) -> tuple[int, int, int | None]:
        # Bytes sent when a provider could not count them itself: the upload's size.
        return value.bytes_up or item.call.audio.size_bytes, value.bytes_down, value.http_status

    def result(self, job: AudioJob, item: Planned[TranscribeCall], value: ProviderTranscript,
               base: dict[str, Any]) -> RunResult:
        return RunResult(**base, text=value.text, format=job.request.format, language=value.language,
                         duration_s=value.duration_s)

    def body(self, job: AudioJob, value: ProviderTranscript) -> str | None:
        return user_body(job.request, value)

    def provenance(self, job: AudioJob, item: Planned[TranscribeCall], value: ProviderTranscript,
                   run_id: str) -> dict[str, Any]:
        """What a JSON transcript carries under `aigw` (README 'Provenance in every result')."""
        return provenance.transcript_fields(run_id=run_id, model=item.candidate.model.id,
                                            provider=item.candidate.provider, call=item.call,
                                            cost_usd=self.actual_cost(item, value),
                                            file=inputs.describe_name(Path(job.request.file), job.name))


def base_fields(run_id: str, kind: str, requested: str, item: Planned[Any], attempts: list[Attempt],
                paths: list[str], created: datetime, now: datetime) -> dict[str, Any]:
    """The RunResult fields every kind shares."""
    cand = item.candidate
    return dict(
        id=run_id, kind=kind, requested_model=requested, model=cand.model.id, provider=cand.provider,
        provider_model=cand.provider_model, paths=paths, cost_usd=attempts[-1].actual_cost_usd,
        estimated_cost_usd=item.estimate.usd, cost_as_of=item.estimate.as_of,
        cost_assumptions=item.estimate.assumptions,
        latency_ms=round((now - created).total_seconds() * 1000, 1), created_at=created,
        attempts=attempts, warnings=cand.warnings, substituted=cand.substitution is not None,
    )


def plan_of(kind: Kind[Any, Any, Any], job: Any, plan: Plan[Any]) -> Plan[Any]:
    plan.kind, plan.job = kind, job
    return plan
