"""Long recordings in the engine: a file over the candidates' limits is re-encoded (aigw/audio/fit.py)
and, when still too big, sent as chunks, requests of ONE run. Each chunk goes through its own
Failover (so it fails over on its own) over the run's candidates, with attempts numbered across the
run and tagged with the chunk; several chunks go at once. Each finished chunk is recorded
(ChunkDone: its row in the log at once, so `--resume` sends only the missing ones); the chunk
transcripts are merged onto one timeline (aigw.transcripts.merge) and kept as the run's one result,
committed like any run's (ResultSaved, AttemptFinished, RunFinished in one stretch).

The chunk's request is sent by engine/run.py's `_route`, the same attempt loop a single run uses;
this module is the fan-out, the resume and the merge."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import shutil
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aigw import errors, interrupts
from aigw.audio import guards
from aigw.audio.fit import Chunk, Fitted, Limits, fit
from aigw.audio.transcript import from_json, parse, to_json
from aigw.catalog import pricing
from aigw.engine.keeper import Keeper
from aigw.engine.kinds import shape_of
from aigw.engine.planning import Plan, Planned, RunOptions, estimate_line
from aigw.engine.recorder import CommitFailed
from aigw.events import AttemptFinished, ChunkDone, ChunkProgress, Notice, RunFinished, RunStarted
from aigw.router.run import Failover
from aigw.store import chunks as chunk_store
from aigw.store import owner
from aigw.store.recovery import SPOOL_DIR
from aigw.transcripts.merge import Chunk as MergeChunk
from aigw.transcripts.merge import merge
from aigw.transcripts.formats import render_user
from aigw.types import Attempt, AudioUpload, ProviderTranscript, RunResult, TranscribeCall

if TYPE_CHECKING:
    from aigw.engine.core import Engine
    from aigw.engine.run import Served

DEFAULT_CONCURRENCY = 4
LOCAL_CHUNK_S = 600.0  # the local model gets at most ten minutes at a time: its memory stays flat
EXTENSIONS = {"text": "txt", "json": "json", "verbose_json": "json", "srt": "srt", "vtt": "vtt"}


def limits_for(engine: Engine, plan: Plan[TranscribeCall], options: RunOptions) -> Limits:
    """What every candidate takes, so that any chunk can fail over to any of them: the smallest
    upload and duration caps (the model's, from the catalog, and a provider's own, e.g. Groq's
    25 MB) and the file types all accept."""
    uploads: list[int] = []
    seconds: list[float] = []
    accepted: frozenset[str] | None = None
    for item in plan.items:
        limits = item.candidate.model.limits
        provider = item.provider
        uploads += [b for b in (limits.upload_bytes, getattr(provider, "upload_limit_bytes", None)) if b]
        seconds += [limits.audio_seconds] if limits.audio_seconds else []
        formats = getattr(provider, "audio_input_formats", None)
        if formats is not None:
            accepted = formats if accepted is None else accepted & formats
    cap = options.chunking.chunk_seconds
    if cap is None and plan.items and plan.first.candidate.provider == "local":
        cap = LOCAL_CHUNK_S
    return Limits(upload_bytes=min(uploads) if uploads else None, audio_seconds=min(seconds) if seconds else None,
                  accepted=accepted, chunk_seconds=cap)


def over_limits(engine: Engine, plan: Plan[TranscribeCall], options: RunOptions) -> Limits | None:
    """The limits a planned transcription is over, or None when its file fits as it is."""
    upload: AudioUpload = plan.job.upload
    limits = limits_for(engine, plan, options)
    return None if limits.fits(upload.size_bytes, upload.duration_s) else limits


def fit_forecast(engine: Engine, plan: Plan[TranscribeCall], options: RunOptions) -> str | None:
    """For --dry-run: that the file is over what the candidates take, and what a run would do about
    it. Only what the probe knows; whether re-encoding alone makes it fit shows when it runs."""
    limits = over_limits(engine, plan, options)
    if limits is None:
        return None
    upload: AudioUpload = plan.job.upload
    caps = []
    if limits.upload_bytes:
        caps.append(f"{limits.upload_bytes:,} bytes")
    cap_s = min((c for c in (limits.audio_seconds, limits.chunk_seconds) if c is not None), default=None)
    if cap_s is not None:
        caps.append(f"{cap_s / 60:.1f} min")
    minutes = f", {upload.duration_s / 60:.1f} min" if upload.duration_s is not None else ""
    return (f"{plan.job.name}: {upload.size_bytes:,} bytes{minutes}, over the limit ({', '.join(caps)}): a run "
            "re-encodes it to 16 kHz mono and, if it is still over, cuts it at silences into chunks")


def workdir(cache_dir: Path) -> Path:
    """Private and named for this process, like spooled stdin, so that the next aigw removes what a
    killed one left (store/recovery.py)."""
    path = cache_dir / SPOOL_DIR / f"chunks-{owner.file_tag()}-{uuid.uuid4().hex}"
    path.mkdir(parents=True, mode=0o700)
    return path


async def run_long(engine: Engine, plan: Plan[TranscribeCall], options: RunOptions, limits: Limits, *,
                   output: str | None, started: float) -> Served:
    from aigw.engine.run import run_plan

    job = plan.job
    work = workdir(engine.cache_dir)
    try:
        fitted = await asyncio.to_thread(fit, job.upload.path, limits, work, name=job.name)
        engine.notice("info", _fitted_line(job.name, job.upload, fitted, limits))
        if fitted.how == "re-encoded":
            only = fitted.chunks[0]
            compact = AudioUpload(path=only.path, filename=f"{Path(job.upload.filename).stem or 'audio'}.{fitted.fmt.ext}",
                                  content_type=only.content_type, size_bytes=only.size_bytes,
                                  duration_s=fitted.duration_s)
            for item in plan.items:
                item.call = item.call.model_copy(update={"audio": compact})
            plan.job = replace(job, upload=compact)
            return await run_plan(engine, plan, options, output=output, started=started)
        return await ChunkedRun(engine, plan, options, fitted, started).run(output)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _fitted_line(name: str, upload: AudioUpload, fitted: Fitted, limits: Limits) -> str:
    what = f"{name}: {upload.size_bytes:,} bytes, {fitted.duration_s / 60:.1f} min, over the limit ({_limit_text(limits)})"
    if fitted.how == "re-encoded":
        size = fitted.chunks[0].size_bytes
        return f"{what}: re-encoded to 16 kHz mono {fitted.fmt.ext.upper()}, {size:,} bytes"
    longest = max(c.duration_s for c in fitted.chunks) / 60
    return (f"{what}: re-encoded to 16 kHz mono {fitted.fmt.ext.upper()} and cut at silences into "
            f"{len(fitted.chunks)} chunks of up to {longest:.1f} min")


def _limit_text(limits: Limits) -> str:
    parts = [f"{limits.upload_bytes:,} bytes"] if limits.upload_bytes else []
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


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


@dataclass
class ChunkJob:
    """What `ChunkKind.call` needs: the chunk, and where to say it is."""

    chunk: Chunk
    where: str
    row: chunk_store.ChunkRow | None = None


class ChunkKind:
    """The request kind of one chunk, for `_route`: send it, check its transcript (quality guards),
    and accept no words only from silence."""

    name = "audio"

    def announce(self, item: Planned[TranscribeCall], job: ChunkJob) -> str | None:
        return None

    async def call(self, item: Planned[TranscribeCall], job: ChunkJob, timeout: float) -> ProviderTranscript:
        c = job.chunk
        try:
            value: ProviderTranscript = await item.provider.transcribe(item.call, timeout=timeout)
        except errors.EmptyResultError:
            if not c.silent:  # no words from speech: the next candidate may hear them
                raise
            value = ProviderTranscript(text="", format=item.call.format, duration_s=c.duration_s,
                                       body=json.dumps({"text": "", "segments": []}))
        transcript = parse(item.call.format, value.body, text=value.text, duration=c.duration_s,
                           language=value.language)
        cost = pricing.actual_audio(item.candidate.offer, value.usage, item.estimate)
        try:
            guards.check([s.text for s in transcript.segments] or [transcript.text], provider=item.candidate.provider,
                         where=job.where, silent=c.silent)
        except errors.ProviderError as exc:
            exc.billed_usd = cost  # it answered: the audio was transcribed, and is charged, however badly
            raise
        job.row = chunk_store.ChunkRow(c.index, c.offset_s, c.own_start_s, c.end_s, c.size_bytes, c.sha256, "done",
                                       item.candidate.provider, item.candidate.model.id, cost, to_json(transcript))
        return value


class ChunkedRun:
    def __init__(self, engine: Engine, plan: Plan[TranscribeCall], options: RunOptions, fitted: Fitted,
                 started: float) -> None:
        self.engine, self.plan, self.options, self.fitted, self.started = engine, plan, options, fitted, started
        self.job = plan.job
        self.attempts: list[Attempt] = []
        self.hops = itertools.count(1)
        self.done: dict[int, chunk_store.ChunkRow] = {}
        self.run_id = engine.new_run_id()
        self.kind = ChunkKind()

    def emit(self, event: Any) -> None:
        self.engine.bus.emit(event)

    def options_key(self) -> str:
        """What must match for an earlier run's chunks to be reused: the request (not the output
        format: every format is rendered from the same merged transcript) and the chunking."""
        same = {**self.job.request.model_dump(mode="json", exclude={"file", "format"}),
                "providers": list(self.options.providers), "fallbacks": list(self.options.fallbacks),
                "chunks": [(c.offset_s, c.end_s, c.sha256) for c in self.fitted.chunks]}
        return hashlib.sha256(json.dumps(same, sort_keys=True).encode()).hexdigest()[:32]

    async def run(self, output: str | None) -> Served:
        engine, first, chunks = self.engine, self.plan.first, self.fitted.chunks
        audio_sha256 = await asyncio.to_thread(sha256_of, self.job.upload.path)
        key = self.options_key()
        resume = self.options.chunking.resume
        previous = chunk_store.resumable(engine.log, audio_sha256=audio_sha256, options_key=key) if resume else None
        if resume and previous is None:
            engine.notice("info", "no interrupted run of this audio with these options to resume; starting afresh")
        self.emit(Notice("cost", estimate_line(first.estimate, first.candidate), self.run_id))
        self.created = engine.clock.now()
        request = {**self.job.request.model_dump(mode="json"), "file": self.job.name,
                   "chunking": {"audio_sha256": audio_sha256, "options_key": key, "chunks": len(chunks),
                                "format": self.fitted.fmt.ext, "resumes": previous}}
        self.emit(RunStarted(self.run_id, "audio", self.plan.requested, request, first.estimate.usd, self.created))
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
        except BaseException as exc:
            self._ended(exc)
            raise
        if failures:
            failure = self._failed(failures)
            self._ended(failure)
            raise failure
        return self._finish(output)

    def _concurrency(self) -> int:
        provider = self.plan.first.candidate.provider
        if provider == "local":
            return 1  # one model on this machine's cores: chunks one at a time
        wanted = self.options.chunking.concurrency or DEFAULT_CONCURRENCY
        return max(1, min(wanted, self.engine.settings.provider(provider).max_concurrency or wanted))

    def _reuse(self, previous: str) -> None:
        by_index = {row.idx: row for row in chunk_store.of_run(self.engine.log, previous)}
        for c in self.fitted.chunks:
            row = by_index.get(c.index)
            if row is not None and row.sha256 == c.sha256:
                row = replace(row, status="reused")
                self.emit(ChunkDone(self.run_id, row, self.engine.clock.now()))
                self.done[c.index] = row
        n = len(self.fitted.chunks)
        self.engine.notice("info", f"resuming run {previous}: {len(self.done)} of {n} chunks already transcribed; "
                                   f"sending the other {n - len(self.done)}", self.run_id)

    async def _send(self, c: Chunk) -> None:
        from aigw.engine.run import _attach, _route

        n = len(self.fitted.chunks)
        job = ChunkJob(c, f"chunk {c.index + 1}/{n} ({_clock(c.offset_s)}-{_clock(c.end_s)})")
        audio = AudioUpload(path=c.path, filename=c.filename, content_type=c.content_type, size_bytes=c.size_bytes,
                            duration_s=c.duration_s)
        items: list[Planned[TranscribeCall]] = []
        for item in self.plan.items:
            fmt = chunk_format(item.candidate.model.formats)
            call = item.call.model_copy(update={
                "audio": audio, "format": fmt,
                "timestamps": (item.call.timestamps or "segment") if fmt == "verbose_json" else item.call.timestamps})
            items.append(replace(item, call=call, estimate=pricing.estimate_audio(item.candidate.offer,
                                                                                  duration_s=c.duration_s)))
        chunk_plan: Plan[TranscribeCall] = Plan(self.plan.requested, items, kind=self.kind, job=job)  # type: ignore[arg-type]
        by_candidate = {id(p.candidate): p for p in items}
        engine = self.engine
        failover = Failover([p.candidate for p in items], clock=engine.clock, rng=engine.rng,
                            policy=engine.policy(self.options, 600.0, self.started), gate=engine.gate,
                            events=engine.bus.emit, run_id=self.run_id, hops=self.hops)

        def shape(a: Attempt) -> Attempt:
            a = a.model_copy(update={"chunk": c.index, "error": f"{job.where}: {a.error}" if a.error else None})
            self.attempts.append(a)
            return a

        for item in items:
            _attach(engine, item.provider, self.run_id)
        try:
            item, value = await _route(engine, chunk_plan, failover, by_candidate, self.run_id, shape)
        except BaseException:
            self.attempts.extend(a for a in failover.attempts if a.hop not in {x.hop for x in self.attempts})
            raise
        assert job.row is not None
        up = value.bytes_up or c.size_bytes
        served = shape(failover.served(estimated_cost_usd=item.estimate.usd, actual_cost_usd=job.row.cost_usd,
                                       bytes_up=up, bytes_down=value.bytes_down, http_status=value.http_status))
        # The chunk's transcript and its served attempt go to the log together: paid, so kept at once.
        self.emit(ChunkDone(self.run_id, job.row, engine.clock.now()))
        self.emit(AttemptFinished(served, self.run_id))
        self.done[c.index] = job.row
        self._progress()

    def _paid(self, rows: list[chunk_store.ChunkRow]) -> float | None:
        """What this run paid: its transcribed chunks, and the answers it could not use (a transcript
        stuck in a loop is charged all the same); None when a price is unknown."""
        paid = [r.cost_usd for r in rows if r.status == "done"]
        paid += [a.actual_cost_usd for a in self.attempts if not a.served and a.actual_cost_usd is not None]
        return None if any(p is None for p in paid) else round(sum(p for p in paid if p is not None), 6)

    def _progress(self) -> None:
        rows = list(self.done.values())
        cost = self._paid(rows)
        self.emit(ChunkProgress(done=len(rows), total=len(self.fitted.chunks),
                                seconds_done=sum(r.end_s - r.own_start_s for r in rows),
                                seconds_total=self.fitted.duration_s, cost_usd=cost, run_id=self.run_id))

    def _kept_note(self) -> str | None:
        n, kept = len(self.fitted.chunks), len(self.done)
        if not kept or kept == n:
            return None
        return (f"{kept} of {n} chunks are kept in the run log; run the same command with --resume to send only "
                f"the {n - kept} left")

    def _failed(self, failures: list[errors.AigwError]) -> errors.AigwError:
        exc = failures[0]
        note = self._kept_note()
        if note and not isinstance(exc, errors.UsageError):
            exc.hint = note + (f" ({exc.hint})" if exc.hint else "")
        return exc

    def _ended(self, exc: BaseException) -> None:
        """The run stops before its last chunk: its end in the log, and on the error what --json names."""
        left = len(self.fitted.chunks) - len(self.done)
        if isinstance(exc, errors.AigwError):
            exc.run_id, exc.attempts = self.run_id, tuple(self.attempts)
            self.emit(RunFinished(self.run_id, error=f"{left} chunk(s) not transcribed; {exc.message}",
                                  exit_code=exc.exit_code))
        elif isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError)):
            note = self._kept_note()
            if note:
                self.engine.notice("info", note, self.run_id)
            self.emit(RunFinished(self.run_id, error=interrupts.describe(), exit_code=interrupts.exit_code(),
                                  interrupted=True))
        else:
            self.emit(RunFinished(self.run_id, error=repr(exc), exit_code=1))

    def _finish(self, output: str | None) -> Served:
        from aigw.engine.run import Served

        req, engine = self.job.request, self.engine
        rows = [self.done[c.index] for c in self.fitted.chunks]
        merged = merge([MergeChunk(from_json(r.result), offset=r.offset_s, overlap=r.own_start_s - r.offset_s)
                        for r in rows])
        language = merged.language or req.language
        merged = replace(merged, language=language, duration=self.fitted.duration_s)
        body = render_user(req.format, merged, translate=req.translate, shape=shape_of(req))
        last = ([r for r in rows if r.status == "done"] or rows)[-1]
        cand = next((p.candidate for p in self.plan.items
                     if p.candidate.provider == last.provider and p.candidate.model.id == last.model),
                    self.plan.first.candidate)
        first = self.plan.first
        keeper = Keeper(engine.cache_dir, self.run_id, self.created, emit=self.emit)
        try:
            keeper.stage([(body.encode("utf-8"), EXTENSIONS[req.format])])
            result = RunResult(
                id=self.run_id, kind="audio", requested_model=req.model, model=cand.model.id, provider=cand.provider,
                provider_model=cand.provider_model, paths=[str(p.final) for p in keeper.pending],
                cost_usd=self._paid(rows),
                estimated_cost_usd=first.estimate.usd, cost_as_of=first.estimate.as_of,
                cost_assumptions=first.estimate.assumptions,
                latency_ms=round((engine.clock.now() - self.created).total_seconds() * 1000, 1),
                created_at=self.created, attempts=self.attempts, warnings=cand.warnings,
                substituted=cand.substitution is not None, text=merged.text, format=req.format, language=language,
                duration_s=self.fitted.duration_s,
            )
            try:
                self.emit(keeper.saved())  # the group opens with the file rows
                keeper.recorded = keeper.cache_error is None
                self.emit(RunFinished(self.run_id, result=result))  # the run's end, and the commit
            except CommitFailed as exc:
                keeper.log_failed(exc.message)
            keeper.place()
        except BaseException as exc:
            self._ended(exc)
            keeper.salvage(output, add_suffix=False)
            raise
        keeper.settle(result, output, add_suffix=False)
        return Served(result, body)
