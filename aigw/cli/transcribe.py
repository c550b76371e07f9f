"""`aigw transcribe FILE`: the transcript on stdout, also saved under results/."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional, cast

import typer

from aigw.cli import options as o
from aigw.cli.output import STATE

if TYPE_CHECKING:
    from aigw.types import Timestamps, TranscriptFormat

HELP = """Transcribe an audio file and print the transcript (several files: a batch, one path per line).

FILE '-' reads the audio from stdin. With no key configured and the `local` extra installed, the
transcription runs on this machine (faster-whisper). Examples:

  aigw transcribe talk.mp3
  aigw transcribe talk.mp3 -m whisper-1 --format srt -o talk.srt
  cat talk.wav | aigw transcribe - --json
  aigw transcribe 'talks/*.mp3' -m whisper-1 -f srt -o subs/
"""

FORMATS = ("text", "json", "verbose_json", "srt", "vtt", "tsv")
SUFFIX_FORMATS = {".txt": "text", ".json": "json", ".srt": "srt", ".vtt": "vtt", ".tsv": "tsv"}


def command(
    files: Optional[List[str]] = typer.Argument(None, metavar="FILE...", help="Audio or video file (wav, mp3, m4a, mp4, "
                                                "flac, ogg, webm, ...); '-' reads stdin. Several files or a pattern: a batch."),
    model: o.Model = None,
    language: Optional[str] = typer.Option(None, "--language", "-l", help="ISO-639-1 code of the speech, e.g. en."),
    prompt: Optional[str] = typer.Option(None, "--prompt", help="Context or spellings to guide the model."),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help="text, json, verbose_json, srt, vtt or tsv."),
    temperature: Optional[float] = typer.Option(None, "--temperature", min=0.0, max=1.0, help="Sampling temperature."),
    timestamps: Optional[str] = typer.Option(None, "--timestamps", help="segment or word (in verbose_json)."),
    translate: bool = typer.Option(False, "--translate", help="Translate the speech into English."),
    diarize: bool = typer.Option(False, "--diarize", help="Label speakers (gpt-4o-transcribe-diarize, Deepgram)."),
    max_line_width: Optional[int] = typer.Option(None, "--max-line-width", min=1,
                                                 help="srt/vtt: wrap cue lines at this many characters."),
    max_line_count: Optional[int] = typer.Option(None, "--max-line-count", min=1,
                                                 help="srt/vtt: at most this many lines per cue (with --max-line-width)."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="A file (a .txt/.json/.srt/.vtt/.tsv suffix "
                                         "sets the format), a directory, or '-' for stdout."),
    as_json: o.AsJson = False,
    provider: o.Providers = None,
    fallback: o.Fallbacks = None,
    no_substitute: o.NoSubstitute = False,
    deadline: o.Deadline = None,
    timeout: o.Timeout = None,
    dry_run: o.DryRun = False,
    max_cost: o.MaxCost = None,
    allow_unpriced: o.AllowUnpriced = False,
    cache: o.Cache = None,
    refresh: o.Refresh = False,
    chunk_seconds: Optional[float] = typer.Option(None, "--chunk-seconds", min=10.0, help="At most this much audio "
                                                  "per request: a longer file is sent in chunks."),
    batch: o.BatchFile = None,
    concurrency: o.Concurrency = 4,
    progress: o.ShowProgress = False,
    resume: o.Resume = None,
    new: o.NewBatch = False,
) -> None:
    from aigw.cli import batch as batches
    from aigw.errors import UsageError

    paths, patterned = batches.expand_files(files or [])
    # One plain FILE with a bare --resume ("latest") finishes that long recording's chunked run;
    # --resume BATCH_ID, several files, a pattern or --batch are a batch.
    chunks_resume = resume == "latest" and batch is None and len(paths) == 1 and not patterned
    if batch is not None or len(paths) > 1 or patterned or (resume is not None and not chunks_resume):
        if batch is not None and paths:
            raise UsageError("--batch FILE lists the audio files; give no FILE as well")
        if "-" in paths:
            raise UsageError("a batch cannot read audio from stdin ('-')", hint="give the files, or --batch LIST")
        if batch is not None:
            content, items = batches.read_input(batch, "audio")
        elif paths:
            from aigw.batch.items import from_paths

            content, items = "\n".join(os.path.abspath(p) for p in paths).encode(), from_paths(paths)
        else:
            raise UsageError("--resume needs the batch's files or --batch FILE")
        defaults = dict(model=model, format=fmt, language=language, prompt=prompt, output=output,
                        provider=provider, temperature=temperature, timestamps=timestamps, translate=translate,
                        diarize=diarize, max_line_width=max_line_width, max_line_count=max_line_count)
        opts = o.run_options(no_substitute=no_substitute, fallback_on_refusal=False, deadline=deadline,
                             timeout=timeout, providers=None, fallbacks=fallback, dry_run=dry_run, max_cost=None,
                             allow_unpriced=allow_unpriced, cache=cache, refresh=refresh)
        batches.run("audio", content, items, defaults, opts, as_json=as_json, concurrency=concurrency,
                    progress=progress, resume=resume, new=new, max_cost=max_cost, allow_unpriced=allow_unpriced)
        return
    if not paths:
        raise UsageError("no FILE given", hint="aigw transcribe talk.mp3, or several files, or --batch LIST")
    file = paths[0]
    from aigw.cli.common import make_engine, with_engine
    from aigw.cli.output import cost_line, print_json, render_plan, run_json, stdout_is_tty
    from aigw.cli.save import deliver_text, format_from_output, stdout_data
    from aigw.redact import neutralise
    from aigw.services.audio_input import spool_stdin
    from aigw.engine.planning import ChunkOptions
    from aigw.services.defaults import default_model
    from aigw.transcripts.formats import shape_notes
    from aigw.types import TranscribeRequest

    STATE.json = as_json
    STATE.progress = progress
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt}", hint="allowed: " + ", ".join(FORMATS))
    if timestamps not in (None, "segment", "word"):
        raise UsageError(f"unknown timestamps {timestamps}", hint="allowed: segment, word")
    fmt = format_from_output(output, fmt, SUFFIX_FORMATS)  # -o talk.srt asks for subtitles
    engine = make_engine()
    spooled = None
    if file == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("FILE is '-' but nothing is piped in", hint="aigw transcribe - < talk.mp3")
        spooled = spool_stdin(engine.cache_dir)
    path = spooled or Path(file).expanduser()
    try:
        chosen = model or default_model(engine, "audio", providers=provider or (), dry_run=dry_run)
        req = TranscribeRequest(file=path, model=chosen, language=language,
                                prompt=prompt, format=cast("TranscriptFormat", fmt or engine.settings.defaults.transcript_format),
                                temperature=temperature, timestamps=cast("Timestamps | None", timestamps), translate=translate,
                                diarize=diarize, max_line_width=max_line_width, max_line_count=max_line_count)
        for note in shape_notes(req.format, max_line_width, max_line_count):
            engine.notice("warning", note)
        opts = o.run_options(no_substitute=no_substitute, fallback_on_refusal=False, deadline=deadline,
                             timeout=timeout, providers=provider, fallbacks=fallback, dry_run=dry_run,
                             max_cost=max_cost, allow_unpriced=allow_unpriced, cache=cache, refresh=refresh)
        opts = replace(opts, chunking=ChunkOptions(concurrency=concurrency, resume=chunks_resume,
                                                   chunk_seconds=chunk_seconds))
        name = "<stdin>" if spooled else file
        if dry_run:
            render_plan(with_engine(engine, lambda e: _plan(e, req, opts, name)), as_json)
            return
        served = with_engine(engine, lambda e: e.run(req, opts, output=output, display_name=name))
    finally:
        if spooled is not None:
            spooled.unlink(missing_ok=True)
    result, body = served.result, served.body or ""
    written = deliver_text(engine, result, body, output)
    STATE.info(cost_line(result))
    with stdout_data(engine, result):
        if as_json:
            print_json(run_json(result, paths=[written] if written else result.paths, cache_paths=result.paths,
                                body=body))
        elif output not in (None, "-"):
            if written:  # None: written to stdout itself (-o /dev/stdout)
                print(written)
        else:
            if stdout_is_tty():
                # Upstream text must not drive the terminal (a title change, a cleared screen); a pipe or
                # file gets the transcript unchanged.
                body = neutralise(body, keep_lines=True)
            sys.stdout.write(body if body.endswith("\n") else body + "\n")
            sys.stdout.flush()


async def _plan(engine, req, opts, name):  # type: ignore[no-untyped-def]
    return engine.plan(req, opts, display_name=name)
