"""Transcribe audio: check the file, plan candidates, estimate from the duration, route, save, log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from aigw import errors
from aigw.catalog import pricing
from aigw.catalog.schema import Model
from aigw.services import model_ref
from aigw.services.audio_input import check_limits, is_silent, probe
from aigw.services.context import Context, RunOptions
from aigw.providers._options import transcribe_preparer
from aigw.services.planning import NoCandidateCanTakeIt, Plan, Planned, candidates_for, enforce_costs, execute, \
    models_to_try, plan_groups, prepared, settle_refusals
from aigw.services.results import Keeper
from aigw.store import RunLog
from aigw.transcripts import formats, render
from aigw.types import AudioUpload, ProviderTranscript, RunResult, TranscribeCall, TranscribeParams, TranscribeRequest

DEFAULT_AUDIO_TIMEOUT_S = 600.0
EXTENSIONS = {"text": "txt", "json": "json", "verbose_json": "json", "srt": "srt", "vtt": "vtt", "tsv": "tsv"}


def wire_format(ctx: Context, req: TranscribeRequest, model: Model) -> str:
    """What to ask the provider for (aigw.transcripts.formats); a model that cannot give the format
    (no timestamps for subtitles) is left out of the plan, naming models that can."""
    try:
        return formats.wire_format(model.id, model.formats, req.format, shape_of(req),
                                   alternatives=formats.timed_models(_by_default_order(ctx)))
    except formats.FormatUnavailable as exc:
        raise NoCandidateCanTakeIt(exc.message, hint=exc.hint) from exc


def _by_default_order(ctx: Context) -> list[Model]:
    """Audio models, those of the default list first (the ones a hint should name)."""
    order = ctx.catalog.default_order.get("audio", [])
    return sorted(ctx.catalog.of_kind("audio"), key=lambda m: order.index(m.id) if m.id in order else len(order))


def shape_of(req: TranscribeRequest) -> formats.Shape:
    return formats.Shape(max_line_width=req.max_line_width, max_line_count=req.max_line_count, diarize=req.diarize)


def _group(ctx: Context, req: TranscribeRequest, options: RunOptions, upload: AudioUpload, display_name: str,
           model_id: str) -> list[Planned[TranscribeCall]]:
    model = model_ref.resolve(ctx, model_id, "audio")
    try:
        wire_format(ctx, req, model)
    except NoCandidateCanTakeIt as exc:
        if len(models_to_try(ctx, req.model, options)) > 1:  # a fallback may serve: say why this one does not
            ctx.notify(f"warning: {model.id} left out: {exc.message.removeprefix(model.id + ' ')}")
        raise
    check_limits(upload, model_id=model.id, upload_bytes=model.limits.upload_bytes,
                 audio_seconds=model.limits.audio_seconds, name=display_name)
    cands = candidates_for(ctx, model, options)
    planned: list[Planned[TranscribeCall]] = []
    refusals: list[errors.UsageError] = []
    for cand, configured in cands:
        params = {**req.model_dump(include=set(TranscribeParams.model_fields)), "format": wire_format(ctx, req, cand.model)}
        call = TranscribeCall(provider_model=cand.provider_model, audio=upload, **params)
        mapped = prepared(ctx, cand, transcribe_preparer(ctx.planning_provider(cand.provider)), call, refusals)
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
    return formats.user_body(req.format, value.format, value.body, language=value.language, duration=value.duration_s,
                             translate=req.translate, shape=shape_of(req))


async def transcribe(ctx: Context, req: TranscribeRequest, options: RunOptions, *, display_name: str | None = None,
                     output: str | None = None) -> tuple[RunResult, str] | Plan[TranscribeCall]:
    """The run record and the transcript in the format asked for; with --dry-run, the plan.
    `output` (-o) is the first fallback place when the cache cannot take the transcript."""
    name = display_name or str(req.file)
    upload = probe(Path(req.file), display_name=name)
    log = ctx.open_log()
    kept: list[Keeper] = []
    try:
        plan = enforce_costs(ctx, plan_audio(ctx, req, options, upload, name, log), options, log)
        if options.dry_run:
            return plan
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
