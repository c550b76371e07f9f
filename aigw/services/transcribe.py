"""Transcribe audio: check the file, plan candidates, estimate from the duration, route, save, log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from aigw import errors
from aigw.catalog import pricing
from aigw.catalog.schema import Model
from aigw.services import model_ref
from aigw.services.audio_input import is_silent, probe
from aigw.services.chunked import ChunkOptions, limits_for, transcribe_long
from aigw.services.context import Context, RunOptions
from aigw.services.planning import Plan, Planned, candidates_for, enforce_costs, execute, plan_groups, prepared, \
    settle_refusals
from aigw.services.results import Keeper
from aigw.store import RunLog
from aigw.transcripts import render
from aigw.types import AudioUpload, ProviderTranscript, RunResult, TranscribeCall, TranscribeParams, TranscribeRequest

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
                            "for subtitles use a model with timestamps, e.g. whisper-1 or whisper-large-v3")


def _group(ctx: Context, req: TranscribeRequest, options: RunOptions, upload: AudioUpload, display_name: str,
           model_id: str) -> list[Planned[TranscribeCall]]:
    model = model_ref.resolve(ctx, model_id, "audio")
    wire_format(model, req.format)  # a file over the model's limits is fitted later (services/chunked.py)
    cands = candidates_for(ctx, model, options)
    planned: list[Planned[TranscribeCall]] = []
    refusals: list[errors.UsageError] = []
    for cand, configured in cands:
        params = {**req.model_dump(include=set(TranscribeParams.model_fields)), "format": wire_format(cand.model, req.format)}
        call = TranscribeCall(provider_model=cand.provider_model, audio=upload, **params)
        mapped = prepared(ctx, cand, ctx.planning_provider(cand.provider).prepare_transcribe, call, refusals)
        if mapped is not None:
            planned.append(Planned(cand, mapped, pricing.estimate_audio(cand.offer, duration_s=upload.duration_s),
                                   configured=configured))
    settle_refusals(ctx, planned, refusals)
    return planned


def plan_audio(ctx: Context, req: TranscribeRequest, options: RunOptions, upload: AudioUpload, display_name: str,
               log: RunLog | None = None) -> Plan[TranscribeCall]:
    return plan_groups(ctx, req.model, options, log,
                       lambda model_id, primary: _group(ctx, req, options, upload, display_name, model_id))


def user_body(req: TranscribeRequest, value: ProviderTranscript) -> str:
    if value.format == req.format:
        return value.body
    return render(req.format, text=value.text, segments=[], language=value.language, duration=value.duration_s)


async def transcribe(ctx: Context, req: TranscribeRequest, options: RunOptions, *, display_name: str | None = None,
                     output: str | None = None, chunking: ChunkOptions = ChunkOptions()
                     ) -> tuple[RunResult, str] | Plan[TranscribeCall]:
    """The run record and the transcript in the format asked for; with --dry-run, the plan.
    `output` (-o) is the first fallback place when the cache cannot take the transcript. A file
    over the candidates' limits is re-encoded, and if need be sent in chunks (services/chunked.py)."""
    name = display_name or str(req.file)
    upload = probe(Path(req.file), display_name=name)
    log = ctx.open_log()
    kept: list[Keeper] = []
    try:
        plan = enforce_costs(ctx, plan_audio(ctx, req, options, upload, name, log), options, log)
        limits = limits_for(ctx, plan, chunking)
        if options.dry_run:
            if not limits.fits(upload.size_bytes, upload.duration_s):
                ctx.notify(f"{name} is over the limit ({upload.size_bytes:,} bytes): it will be re-encoded to "
                           "16 kHz mono, and cut into chunks at silences if still too big")
            return plan
        if not limits.fits(upload.size_bytes, upload.duration_s):
            return await transcribe_long(
                ctx, req, options, chunking, plan, upload, limits, log, name=name, output=output, kept=kept,
                single=lambda fitted: _run(ctx, req, options, fitted, log, name, output, kept))
        return await _run(ctx, req, options, plan, log, name, output, kept)
    except BaseException:
        for keeper in kept:  # paid for before something else failed: still kept
            keeper.salvage(output, add_suffix=False)
        raise
    finally:
        log.close()


async def _run(ctx: Context, req: TranscribeRequest, options: RunOptions, plan: Plan[TranscribeCall], log: RunLog,
               name: str, output: str | None, kept: list[Keeper]) -> tuple[RunResult, str]:
    saved: dict[str, str] = {}
    silence: dict[str, bool | None] = {}

    async def invoke(item: Planned[TranscribeCall], client: httpx.AsyncClient, timeout: float, run_id: str,
                     created: Any) -> ProviderTranscript:
        provider = ctx.live_provider(item.candidate.provider, client, log, run_id)
        try:
            value = await provider.transcribe(item.call, timeout=timeout)
        except errors.EmptyResultError:
            # No words: the right answer for silence, an empty result (next provider) for speech.
            if "silent" not in silence:
                silence["silent"] = is_silent(item.call.audio.path)
            if silence["silent"] is not True:
                raise
            value = silent_transcript(item.call)
        saved["body"] = user_body(req, value)
        # Paid for: see generate.py and services/results.py.
        kept.append(Keeper(ctx, log, run_id, created))
        kept[-1].stage([(saved["body"].encode("utf-8"), EXTENSIONS[req.format])])
        for warning in value.warnings:
            ctx.notify("warning: " + warning)
        return value

    outcome, run_id, created = await execute(
        ctx, log, plan, options, kind="audio", request={**req.model_dump(mode="json"), "file": name},
        default_timeout=DEFAULT_AUDIO_TIMEOUT_S, invoke=invoke,
        actual_cost=lambda item, value: pricing.actual_audio(item.candidate.offer, value.usage, item.estimate),
        sizes_of=lambda v: (v.bytes_up or _upload_size(plan), v.bytes_down, v.http_status))
    cand = outcome.candidate
    item = next(p for p in plan.items if p.candidate is cand)
    value = outcome.value
    result = RunResult(
        id=run_id, kind="audio", requested_model=req.model, model=cand.model.id, provider=cand.provider,
        provider_model=cand.provider_model, paths=[str(kept[-1].pending[0].final)],
        cost_usd=outcome.attempts[-1].actual_cost_usd,
        estimated_cost_usd=item.estimate.usd, cost_as_of=item.estimate.as_of,
        cost_assumptions=item.estimate.assumptions,
        latency_ms=round((ctx.clock.now() - created).total_seconds() * 1000, 1), created_at=created,
        attempts=outcome.attempts, warnings=cand.warnings, substituted=cand.substitution is not None,
        text=value.text, format=req.format, language=value.language, duration_s=value.duration_s,
    )
    kept[-1].finish(result, output, add_suffix=False)
    return result, saved["body"]


def silent_transcript(call: TranscribeCall) -> ProviderTranscript:
    """The transcript of silent audio: no text, in the asked format."""
    duration = call.audio.duration_s
    return ProviderTranscript(text="", format=call.format, duration_s=duration,
                              body=render(call.format, text="", segments=[], language=call.language,
                                          duration=duration, extra={}))


def _upload_size(plan: Plan[TranscribeCall]) -> int:
    """Bytes sent when a provider could not count them itself: the upload's size."""
    return plan.first.call.audio.size_bytes
