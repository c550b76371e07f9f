"""`aigw transcribe FILE`: the transcript on stdout, also saved under results/."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from aigw.cli.output import STATE

HELP = """Transcribe an audio file and print the transcript.

FILE '-' reads the audio from stdin. With no key configured and the `local` extra installed, the
transcription runs on this machine (faster-whisper). Examples:

  aigw transcribe talk.mp3
  aigw transcribe talk.mp3 -m whisper-1 --format srt -o talk.srt
  cat talk.wav | aigw transcribe - --json
"""

FORMATS = ("text", "json", "verbose_json", "srt", "vtt")


def command(
    file: str = typer.Argument(..., help="Audio file (wav, mp3, m4a, flac, ogg, webm); '-' reads stdin."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model id (default: defaults.audio_model)."),
    language: Optional[str] = typer.Option(None, "--language", "-l", help="ISO-639-1 code of the speech, e.g. en."),
    prompt: Optional[str] = typer.Option(None, "--prompt", help="Context or spellings to guide the model."),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help="text, json, verbose_json, srt or vtt."),
    temperature: Optional[float] = typer.Option(None, "--temperature", min=0.0, max=1.0, help="Sampling temperature."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write the transcript to this file ('-': stdout)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object describing the run."),
    no_substitute: bool = typer.Option(False, "--no-substitute", help="Fail rather than serve a retired model's successor."),
    deadline: Optional[float] = typer.Option(None, "--deadline", min=0.001, help="Total seconds for the whole run."),
    timeout: Optional[float] = typer.Option(None, "--timeout", min=0.001, help="Seconds for each attempt."),
    provider: Optional[List[str]] = typer.Option(None, "--provider", "-p", help="Only these providers (repeatable)."),
) -> None:
    from aigw.cli.common import make_context, run_async, run_options
    from aigw.cli.save import deliver_text
    from aigw.errors import UsageError
    from aigw.services.audio_input import spool_stdin
    from aigw.services.defaults import default_model
    from aigw.services.transcribe import transcribe
    from aigw.types import TranscribeRequest

    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt}", hint="allowed: " + ", ".join(FORMATS))
    ctx = make_context()
    spooled = None
    if file == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("FILE is '-' but nothing is piped in", hint="aigw transcribe - < talk.mp3")
        spooled = spool_stdin(ctx.cache_dir)
    path = spooled or Path(file).expanduser()
    try:
        req = TranscribeRequest(file=path, model=model or default_model(ctx, "audio"), language=language,
                                prompt=prompt, format=fmt or ctx.settings.defaults.transcript_format,
                                temperature=temperature)
        opts = run_options(no_substitute=no_substitute, fallback_on_refusal=False, deadline=deadline,
                           timeout=timeout, providers=provider)
        result, body = run_async(transcribe(ctx, req, opts, display_name="<stdin>" if spooled else file))
    finally:
        if spooled is not None:
            spooled.unlink(missing_ok=True)
    written = deliver_text(body, output)
    from aigw.cli.generate import cost_line

    STATE.info(cost_line(result))
    if as_json:
        from aigw.cli.output import print_json

        data = result.model_dump(mode="json")
        if written:
            data.update(paths=[written], cache_paths=result.paths)
        if req.format != "text":
            data["body"] = body
        print_json(data)
    elif written:
        print(written)
    else:
        sys.stdout.write(body if body.endswith("\n") else body + "\n")
        sys.stdout.flush()
