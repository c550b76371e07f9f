"""`aigw transcribe FILE`: the transcript on stdout, also saved under results/."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Optional, cast

import typer

from aigw.cli import options as o
from aigw.cli.output import STATE

if TYPE_CHECKING:
    from aigw.types import Timestamps, TranscriptFormat

HELP = """Transcribe an audio file and print the transcript.

FILE '-' reads the audio from stdin. With no key configured and the `local` extra installed, the
transcription runs on this machine (faster-whisper). Examples:

  aigw transcribe talk.mp3
  aigw transcribe talk.mp3 -m whisper-1 --format srt -o talk.srt
  cat talk.wav | aigw transcribe - --json
"""

FORMATS = ("text", "json", "verbose_json", "srt", "vtt", "tsv")
SUFFIX_FORMATS = {".txt": "text", ".json": "json", ".srt": "srt", ".vtt": "vtt", ".tsv": "tsv"}


def command(
    file: str = typer.Argument(..., help="Audio or video file (wav, mp3, m4a, mp4, flac, ogg, webm, ...); '-' reads stdin."),
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
    resume: bool = typer.Option(False, "--resume", help="Finish an interrupted long recording: send only the "
                                "chunks its last run did not transcribe."),
    concurrency: Optional[int] = typer.Option(None, "--concurrency", min=1, help="Chunks of a long recording "
                                              "sent at once (default 4, 1 for local; at most max_concurrency)."),
    chunk_seconds: Optional[float] = typer.Option(None, "--chunk-seconds", min=10.0, help="At most this much audio "
                                                  "per request: a longer file is sent in chunks."),
    progress: bool = typer.Option(False, "--progress", help="Progress of a long recording as plain lines on "
                                  "stderr when it is not a terminal (a terminal shows a live line anyway)."),
) -> None:
    from aigw.cli.common import make_engine, with_engine
    from aigw.cli.output import cost_line, print_json, render_plan, run_json, stdout_is_tty
    from aigw.cli.save import deliver_text, format_from_output, stdout_data
    from aigw.errors import UsageError
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
                             max_cost=max_cost, allow_unpriced=allow_unpriced)
        opts = replace(opts, chunking=ChunkOptions(concurrency=concurrency, resume=resume, chunk_seconds=chunk_seconds))
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
