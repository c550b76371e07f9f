"""Long recordings: a file over the candidates' limits is re-encoded (aigw/audio/fit.py) and, when
still too big, sent as chunks, requests of one run. Each chunk goes through the router on its own
(so it fails over on its own), several at once; each finished chunk is kept in the run log (so
`--resume` sends only the missing ones); the chunk transcripts are merged onto one timeline
(aigw.transcripts.merge) and saved as the run's one result.

This module is the fan-out only: the failover loop is the router's (context.route), the result
keeping is Keeper's. When the engine lands, `send_chunk` becomes an engine request of the run."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import shutil
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aigw import errors
from aigw.audio import guards
from aigw.audio.fit import Chunk, Fitted, Limits, fit
from aigw.audio.transcript import from_json, parse, to_json
from aigw.catalog import pricing
from aigw.events import ChunkProgress
from aigw.services.context import Context, RunOptions, route
from aigw.services.planning import Plan, Planned, estimate_line
from aigw.services.results import Keeper
from aigw.store import RunLog, owner
from aigw.store import chunks as chunk_store
from aigw.store.recovery import SPOOL_DIR
from aigw.transcripts.merge import Chunk as MergeChunk
from aigw.transcripts.merge import merge
from aigw.transcripts.render import render
from aigw.types import Attempt, AudioUpload, ProviderTranscript, RunResult, TranscribeCall, TranscribeRequest

DEFAULT_CONCURRENCY = 4
LOCAL_CHUNK_S = 600.0  # the local model gets at most ten minutes at a time: its memory stays flat
EXTENSIONS = {"text": "txt", "json": "json", "verbose_json": "json", "srt": "srt", "vtt": "vtt"}

Single = Callable[[Plan[TranscribeCall]], Awaitable[tuple[RunResult, str]]]


@dataclass(frozen=True)
class ChunkOptions:
    concurrency: int | None = None    # --concurrency: chunks in flight at once
    resume: bool = False              # --resume: reuse the finished chunks of an interrupted run
    chunk_seconds: float | None = None  # --chunk-seconds: at most this much audio per request


def limits_for(ctx: Context, plan: Plan[TranscribeCall], chunk: ChunkOptions) -> Limits:
    """What every candidate takes, so that any chunk can fail over to any of them: the smallest
    upload and duration caps (the model's, from the catalog, and a provider's own, e.g. Groq's
    25 MB) and the file types all accept."""
    uploads: list[int] = []
    seconds: list[float] = []
    accepted: frozenset[str] | None = None
    for item in plan.items:
        limits = item.candidate.model.limits
        provider = ctx.planning_provider(item.candidate.provider)
        uploads += [b for b in (limits.upload_bytes, getattr(provider, "upload_limit_bytes", None)) if b]
        seconds += [limits.audio_seconds] if limits.audio_seconds else []
        formats = getattr(provider, "audio_input_formats", None)
        if formats is not None:
            accepted = formats if accepted is None else accepted & formats
    cap = chunk.chunk_seconds
    if cap is None and plan.items and plan.first.candidate.provider == "local":
        cap = LOCAL_CHUNK_S
    return Limits(upload_bytes=min(uploads) if uploads else None, audio_seconds=min(seconds) if seconds else None,
                  accepted=accepted, chunk_seconds=cap)


def workdir(cache_dir: Path) -> Path:
    """Private and named for this process, like spooled stdin, so that the next aigw removes what a
    killed one left (store/recovery.py)."""
    path = cache_dir / SPOOL_DIR / f"chunks-{owner.file_tag()}-{uuid.uuid4().hex}"
    path.mkdir(parents=True, mode=0o700)
    return path


async def transcribe_long(ctx: Context, req: TranscribeRequest, options: RunOptions, chunk: ChunkOptions,
                          plan: Plan[TranscribeCall], upload: AudioUpload, limits: Limits, log: RunLog, *,
                          name: str, output: str | None, kept: list[Keeper], single: Single) -> tuple[RunResult, str]:
    work = workdir(ctx.cache_dir)
    try:
        fitted = await asyncio.to_thread(fit, upload.path, limits, work, name=name)
        ctx.notify(_fitted_line(name, upload, fitted, limits))
        if fitted.how == "re-encoded":
            only = fitted.chunks[0]
            compact = AudioUpload(path=only.path, filename=f"{Path(upload.filename).stem or 'audio'}.{fitted.fmt.ext}",
                                  content_type=only.content_type, size_bytes=only.size_bytes,
                                  duration_s=fitted.duration_s)
            for item in plan.items:
                item.call = item.call.model_copy(update={"audio": compact})
            return await single(plan)
        return await ChunkedRun(ctx, req, options, chunk, plan, upload, fitted, log, name=name).run(output, kept)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _fitted_line(name: str, upload: AudioUpload, fitted: Fitted, limits: Limits) -> str:
    minutes = fitted.duration_s / 60
    what = f"{name}: {upload.size_bytes:,} bytes, {minutes:.1f} min, over the limit ({_limit_text(limits)})"
    size = sum(c.size_bytes for c in fitted.chunks)
    if fitted.how == "re-encoded":
        return f"{what}: re-encoded to 16 kHz mono {fitted.fmt.ext.upper()}, {size:,} bytes"
    longest = max(c.duration_s for c in fitted.chunks) / 60
    return (f"{what}: re-encoded to 16 kHz mono {fitted.fmt.ext.upper()} and cut at silences into "
            f"{len(fitted.chunks)} chunks of up to {longest:.1f} min")


def _limit_text(limits: Limits) -> str:
    parts = []
    if limits.upload_bytes:
        parts.append(f"{limits.upload_bytes:,} bytes")
    caps = [c for c in (limits.audio_seconds, limits.chunk_seconds) if c]
    if caps:
        parts.append(f"{min(caps):.0f} s")
    return " / ".join(parts) or "none"


def chunk_format(model_formats: list[str]) -> str:
    """Ask each chunk for timestamps where the model gives them: they place its words on the timeline."""
    return "verbose_json" if "verbose_json" in model_formats else "json"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ChunkedRun:
    def __init__(self, ctx: Context, req: TranscribeRequest, options: RunOptions, chunk: ChunkOptions,
                 plan: Plan[TranscribeCall], upload: AudioUpload, fitted: Fitted, log: RunLog, *, name: str) -> None:
        self.ctx, self.req, self.options, self.chunk_options = ctx, req, options, chunk
        self.plan, self.upload, self.fitted, self.log, self.name = plan, upload, fitted, log, name
        self.attempts: list[Attempt] = []
        self.hops = itertools.count(1)
        self.done: dict[int, chunk_store.ChunkRow] = {}
        self.cost: float | None = 0.0

    def options_key(self) -> str:
        """What must match for an earlier run's chunks to be reused: the request (not the output
        format: every format is rendered from the same merged transcript) and the chunking."""
        same = {**self.req.model_dump(mode="json", exclude={"file", "format"}),
                "providers": list(self.options.providers), "fallbacks": list(self.options.fallbacks),
                "chunks": [(c.offset_s, c.end_s, c.sha256) for c in self.fitted.chunks]}
        return hashlib.sha256(json.dumps(same, sort_keys=True).encode()).hexdigest()[:32]

    async def run(self, output: str | None, kept: list[Keeper]) -> tuple[RunResult, str]:
        ctx, log, first = self.ctx, self.log, self.plan.first
        audio_sha256 = await asyncio.to_thread(sha256_of, self.upload.path)
        key = self.options_key()
        previous = chunk_store.resumable(log, audio_sha256=audio_sha256, options_key=key) \
            if self.chunk_options.resume else None
        if self.chunk_options.resume and previous is None:
            ctx.notify("notice: no interrupted run of this audio with these options to resume; starting afresh")
        ctx.notify(estimate_line(first.estimate, first.candidate))
        self.run_id, self.created = ctx.new_run_id(), ctx.clock.now()
        chunks = self.fitted.chunks
        request = {**self.req.model_dump(mode="json"), "file": self.name,
                   "chunking": {"audio_sha256": audio_sha256, "options_key": key, "chunks": len(chunks),
                                "format": self.fitted.fmt.ext, "resumes": previous}}
        log.start_run(self.run_id, kind="audio", created_at=self.created, requested_model=self.plan.requested,
                      request=request, estimated_cost_usd=first.estimate.usd)
        if previous is not None:
            self._reuse(previous)
        todo = [c for c in chunks if c.index not in self.done]
        self._progress()
        limit = asyncio.Semaphore(self._concurrency())
        failures: list[errors.AigwError] = []

        async def one(c: Chunk) -> None:
            async with limit:
                if failures:
                    return  # every candidate failed a chunk: the rest waits for --resume
                try:
                    await self._send(c)
                except errors.AigwError as exc:
                    failures.append(exc)

        try:
            await asyncio.gather(*(one(c) for c in todo))
        except BaseException:
            self._stopped("interrupted")
            raise
        if failures:
            raise self._failed(failures)
        return self._finish(output, kept)

    def _concurrency(self) -> int:
        settings = self.ctx.settings.provider(self.plan.first.candidate.provider)
        wanted = self.chunk_options.concurrency or (1 if self.plan.first.candidate.provider == "local"
                                                   else DEFAULT_CONCURRENCY)
        return max(1, min(wanted, settings.max_concurrency or wanted))

    def _reuse(self, previous: str) -> None:
        by_index = {row.idx: row for row in chunk_store.of_run(self.log, previous)}
        reused = 0
        for c in self.fitted.chunks:
            row = by_index.get(c.index)
            if row is not None and row.sha256 == c.sha256:
                row = chunk_store.ChunkRow(**{**row.__dict__, "status": "reused"})
                chunk_store.record(self.log, self.run_id, row, self.ctx.clock.now())
                self.done[c.index] = row
                reused += 1
        self.ctx.notify(f"resuming run {previous}: {reused} of {len(self.fitted.chunks)} chunks already "
                        f"transcribed; sending the other {len(self.fitted.chunks) - reused}")

    async def _send(self, c: Chunk) -> None:
        ctx, n = self.ctx, len(self.fitted.chunks)
        where = f"chunk {c.index + 1}/{n} ({_clock(c.offset_s)}-{_clock(c.end_s)})"
        audio = AudioUpload(path=c.path, filename=c.filename, content_type=c.content_type, size_bytes=c.size_bytes,
                            duration_s=c.duration_s)
        by_candidate: dict[int, Planned[TranscribeCall]] = {}
        for item in self.plan.items:
            fmt = chunk_format(item.candidate.model.formats)
            item_call = item.call.model_copy(update={
                "audio": audio, "format": fmt,
                "timestamps": (item.call.timestamps or "segment") if fmt == "verbose_json" else item.call.timestamps})
            estimate = pricing.estimate_audio(item.candidate.offer, duration_s=c.duration_s)
            by_candidate[id(item.candidate)] = Planned(item.candidate, item_call, estimate, configured=True)
        got: dict[str, Any] = {}

        async with ctx.http() as client:
            async def call(cand: Any, timeout: float) -> ProviderTranscript:
                item = by_candidate[id(cand)]
                provider = ctx.live_provider(cand.provider, client, self.log, self.run_id)
                try:
                    value: ProviderTranscript = await provider.transcribe(item.call, timeout=timeout)
                except errors.EmptyResultError:
                    if not c.silent:  # no words from speech: the next candidate may hear them
                        raise
                    value = ProviderTranscript(text="", format=item.call.format, duration_s=c.duration_s,
                                               body=json.dumps({"text": "", "segments": []}))
                transcript = parse(item.call.format, value.body, text=value.text, duration=c.duration_s,
                                   language=value.language)
                guards.check([s.text for s in transcript.segments] or [transcript.text], provider=cand.provider,
                             where=where, silent=c.silent)
                cost = pricing.actual_audio(item.candidate.offer, value.usage, item.estimate)
                row = chunk_store.ChunkRow(c.index, c.offset_s, c.own_start_s, c.end_s, c.size_bytes, c.sha256,
                                           "done", cand.provider, cand.model.id, cost, to_json(transcript))
                chunk_store.record(self.log, self.run_id, row, ctx.clock.now())  # paid: on record at once
                got["row"] = row
                return value

            def cost_of(cand: Any, value: ProviderTranscript | None) -> tuple[float | None, float | None]:
                item = by_candidate[id(cand)]
                return item.estimate.usd, (None if value is None else got["row"].cost_usd)

            def shape(a: Attempt) -> Attempt:
                a = a.model_copy(update={"hop": next(self.hops), "error": f"{where}: {a.error}" if a.error else None})
                self.attempts.append(a)
                return a

            def placed(a: Attempt) -> None:
                chunk_store.mark_attempt(self.log, self.run_id, a.hop, c.index)

            await route(ctx, self.log, self.run_id, [p.candidate for p in self.plan.items], self.options,
                        default_timeout=600.0, call=call, cost_of=cost_of,
                        sizes_of=lambda v: (v.bytes_up or c.size_bytes, v.bytes_down, v.http_status),
                        shape=shape, placed=placed)
        self.done[c.index] = got["row"]
        self._progress()

    def _progress(self) -> None:
        rows = [r for r in self.done.values()]
        paid = [r.cost_usd for r in rows if r.status == "done"]
        cost = None if any(p is None for p in paid) else sum(p for p in paid if p is not None)
        self.ctx.events(ChunkProgress(done=len(rows), total=len(self.fitted.chunks),
                                      seconds_done=sum(r.end_s - r.own_start_s for r in rows),
                                      seconds_total=self.fitted.duration_s, cost_usd=cost))

    def _stopped(self, why: str) -> None:
        left = len(self.fitted.chunks) - len(self.done)
        if self.done and left:
            self.ctx.notify(f"{len(self.done)} of {len(self.fitted.chunks)} chunks are kept in the run log; "
                            f"'aigw transcribe {self.name} --resume' sends only the {left} left")

    def _failed(self, failures: list[errors.AigwError]) -> errors.AigwError:
        first = failures[0]
        left = len(self.fitted.chunks) - len(self.done)
        exc = first
        if self.done and not isinstance(first, errors.UsageError):
            exc.hint = (f"{len(self.done)} of {len(self.fitted.chunks)} chunks are kept; run the same command with "
                        f"--resume to send only the {left} left" + (f" ({first.hint})" if first.hint else ""))
        self.log.fail_run(self.run_id, exit_code=exc.exit_code, error=f"{left} chunk(s) not transcribed; {exc.message}")
        exc.run_id, exc.attempts = self.run_id, tuple(self.attempts)
        return exc

    def _finish(self, output: str | None, kept: list[Keeper]) -> tuple[RunResult, str]:
        rows = [self.done[c.index] for c in self.fitted.chunks]
        merged = merge([MergeChunk(from_json(r.result), offset=r.offset_s, overlap=r.own_start_s - r.offset_s)
                        for r in rows])
        language = merged.language or self.req.language
        body = render(self.req.format, text=merged.text, segments=list(merged.segments), language=language,
                      duration=self.fitted.duration_s, extra={"language": language, "duration": self.fitted.duration_s})
        keeper = Keeper(self.ctx, self.log, self.run_id, self.created)
        kept.append(keeper)
        keeper.stage([(body.encode("utf-8"), EXTENSIONS[self.req.format])])
        paid = [r.cost_usd for r in rows if r.status == "done"]
        served = [r for r in rows if r.status == "done"] or rows
        last = served[-1]
        cand = next((p.candidate for p in self.plan.items
                     if p.candidate.provider == last.provider and p.candidate.model.id == last.model),
                    self.plan.first.candidate)
        first = self.plan.first
        result = RunResult(
            id=self.run_id, kind="audio", requested_model=self.req.model, model=cand.model.id, provider=cand.provider,
            provider_model=cand.provider_model, paths=[str(keeper.pending[0].final)],
            cost_usd=None if any(p is None for p in paid) else round(sum(p for p in paid if p is not None), 6),
            estimated_cost_usd=first.estimate.usd, cost_as_of=first.estimate.as_of,
            cost_assumptions=first.estimate.assumptions,
            latency_ms=round((self.ctx.clock.now() - self.created).total_seconds() * 1000, 1),
            created_at=self.created, attempts=self.attempts, warnings=cand.warnings,
            substituted=cand.substitution is not None, text=merged.text, format=self.req.format, language=language,
            duration_s=self.fitted.duration_s,
        )
        keeper.finish(result, output, add_suffix=False)
        return result, body


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


