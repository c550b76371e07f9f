"""Transcribe audio: check the file, plan candidates, estimate from the duration, route, save, log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aigw import errors
from aigw.catalog import pricing
from aigw.catalog.schema import Model
from aigw.router import candidates as plan
from aigw.router.candidates import Candidate
from aigw.services.audio_input import check_limits, probe
from aigw.services import model_ref
from aigw.services.context import Context, RunOptions, route
from aigw.services.generate import estimate_line
from aigw.services.results import save_text
from aigw.store import RunLog
from aigw.transcripts import render
from aigw.types import AudioUpload, CostEstimate, ProviderTranscript, RunResult, TranscribeCall, TranscribeRequest

DEFAULT_AUDIO_TIMEOUT_S = 600.0
EXTENSIONS = {"text": "txt", "json": "json", "verbose_json": "json", "srt": "srt", "vtt": "vtt"}


def wire_format(model: Model, wanted: str) -> str:
    """What to ask the provider for. Plain text comes from JSON where the model has it, since JSON
    carries the usage the actual cost is computed from."""
    if wanted == "text" and "json" in model.formats:
        return "json"
    if wanted in model.formats:
        return wanted
    allowed = sorted(set(model.formats) | ({"text"} if "json" in model.formats else set()))
    raise errors.UsageError(f"{model.id} does not produce {wanted}", hint=f"allowed: {', '.join(allowed)}; "
                            "srt, vtt and verbose_json need whisper-1 or a local model")


@dataclass
class PlannedAudio:
    candidate: Candidate
    call: TranscribeCall
    estimate: CostEstimate


def plan_audio(ctx: Context, req: TranscribeRequest, options: RunOptions, upload: AudioUpload,
               display_name: str) -> list[PlannedAudio]:
    requested = model_ref.resolve(ctx, req.model, "audio")
    wire_format(requested, req.format)
    check_limits(upload, model_id=requested.id, upload_bytes=requested.limits.upload_bytes,
                 audio_seconds=requested.limits.audio_seconds, name=display_name)
    cands = plan.build(ctx.catalog, ctx.settings, requested, substitute=ctx.substitute(options),
                       only=list(options.providers) or None)
    planned = []
    for cand in cands:
        call = TranscribeCall(provider_model=cand.provider_model, audio=upload, language=req.language,
                              prompt=req.prompt, format=wire_format(cand.model, req.format),
                              temperature=req.temperature, timestamps=req.timestamps, translate=req.translate)
        call, notes = ctx.planning_provider(cand.provider).prepare_transcribe(call)
        cand.warnings = [*cand.warnings, *notes]
        planned.append(PlannedAudio(cand, call, pricing.estimate_audio(cand.offer, duration_s=upload.duration_s)))
    return planned


async def transcribe(ctx: Context, req: TranscribeRequest, options: RunOptions, *,
                     display_name: str | None = None) -> tuple[RunResult, str]:
    """Returns the run record and the transcript body in the format asked for."""
    name = display_name or str(req.file)
    upload = probe(Path(req.file), display_name=name)
    planned = plan_audio(ctx, req, options, upload, name)
    first = planned[0]
    ctx.notify(estimate_line(first.estimate, first.candidate))
    log = ctx.open_log()
    run_id = ctx.new_run_id()
    created = ctx.clock.now()
    log.start_run(run_id, kind="audio", created_at=created, requested_model=req.model,
                  request={**req.model_dump(mode="json"), "file": name}, estimated_cost_usd=first.estimate.usd)
    try:
        return await _route_and_record(ctx, req, options, planned, log, run_id, created)
    finally:
        log.close()


def user_body(req: TranscribeRequest, value: ProviderTranscript) -> str:
    if value.format == req.format:
        return value.body
    return render(req.format, text=value.text, segments=[], language=value.language, duration=value.duration_s)


async def _route_and_record(ctx: Context, req: TranscribeRequest, options: RunOptions, planned: list[PlannedAudio],
                            log: RunLog, run_id: str, created: datetime) -> tuple[RunResult, str]:
    by_candidate = {id(p.candidate): p for p in planned}
    saved: dict[str, str] = {}
    announced: set[int] = set()

    async with ctx.http() as client:

        async def call(cand: Candidate, timeout: float) -> ProviderTranscript:
            p = by_candidate[id(cand)]
            if id(cand) not in announced:
                announced.add(id(cand))
                for warning in cand.warnings:
                    ctx.notify("warning: " + warning)
            provider = ctx.live_provider(cand.provider, client, log, run_id)
            value = await provider.transcribe(p.call, timeout=timeout)
            saved["body"] = user_body(req, value)
            saved["path"] = save_text(ctx, log, run_id, created, saved["body"], EXTENSIONS[req.format])
            return value

        def cost_of(cand: Candidate, value: ProviderTranscript | None) -> tuple[float | None, float | None]:
            est = by_candidate[id(cand)].estimate
            if value is None:
                return est.usd, None
            return est.usd, pricing.actual_audio(cand.offer, value.usage, est)

        outcome = await route(ctx, log, run_id, [p.candidate for p in planned], options,
                              default_timeout=DEFAULT_AUDIO_TIMEOUT_S, call=call, cost_of=cost_of,
                              sizes_of=lambda v: (v.bytes_up, v.bytes_down, v.http_status))
    cand = outcome.candidate
    p = by_candidate[id(cand)]
    value = outcome.value
    result = RunResult(
        id=run_id, kind="audio", requested_model=req.model, model=cand.model.id, provider=cand.provider,
        provider_model=cand.provider_model, paths=[saved["path"]], cost_usd=outcome.attempts[-1].actual_cost_usd,
        estimated_cost_usd=p.estimate.usd, cost_as_of=p.estimate.as_of, cost_assumptions=p.estimate.assumptions,
        latency_ms=round((ctx.clock.now() - created).total_seconds() * 1000, 1), created_at=created,
        attempts=outcome.attempts, warnings=cand.warnings, substituted=cand.substitution is not None,
        text=value.text, format=req.format, language=value.language, duration_s=value.duration_s,
    )
    log.finish_run(result)
    return result, saved["body"]
