"""Which format to ask a provider for, and the user's format built from what came back.

A model's catalog `formats` are what its providers deliver in a body (natively or rendered by the
provider module). Every other format is built here from segments: `text` and `json` from any
answer; the timed formats (`verbose_json`, `srt`, `vtt`, `tsv`) only from an answer with
timestamps, so a model whose formats hold none of `verbose_json`, `srt`, `vtt` cannot give them
and planning leaves it out (`FormatUnavailable`). Shaped cues (`--max-line-width`) and speakers
(`--diarize`) need segments, so those runs ask for `verbose_json`, aigw's lossless interchange
(segments, words and speakers).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from aigw import errors
from aigw.transcripts.model import Transcript
from aigw.transcripts.parse import from_body
from aigw.transcripts.render import TIMED_FORMATS, render_transcript

TIMED_WIRE = ("verbose_json", "srt", "vtt")  # formats a provider can answer with timestamps in them


class FormatUnavailable(errors.UsageError):
    """The model cannot give the format asked (no timestamps, no speakers)."""


@dataclass(frozen=True)
class Shape:
    """How the user's body is built: cue shaping, and whether speakers were asked for."""

    max_line_width: int | None = None
    max_line_count: int | None = None
    diarize: bool = False

    @property
    def shaped(self) -> bool:
        return self.max_line_width is not None


def gives_timestamps(formats: Collection[str]) -> bool:
    return any(f in formats for f in TIMED_WIRE)


def deliverable(formats: Collection[str]) -> list[str]:
    """Every format aigw can give from a model with these answers (what `aigw models` lists)."""
    if not formats:
        return []
    return ["text", "json", *(["verbose_json", "srt", "vtt", "tsv"] if gives_timestamps(formats) else [])]


def wire_format(model_id: str, formats: Collection[str], wanted: str, shape: Shape = Shape(),
                alternatives: Iterable[str] = ()) -> str:
    """What to ask the provider for so that `wanted` can be delivered; FormatUnavailable when the
    model cannot give it. `alternatives` are models that can, named in the hint."""
    native = set(formats)
    timed = gives_timestamps(native)
    if wanted in TIMED_FORMATS and not timed:
        raise FormatUnavailable(
            f"{model_id} returns no timestamps, so it cannot give {wanted}",
            hint=_hint("models with timestamps", alternatives))
    if shape.diarize or (shape.shaped and wanted in ("srt", "vtt")) or wanted == "tsv":
        if "verbose_json" in native:
            return "verbose_json"
        if wanted == "tsv" or shape.shaped:
            return next(f for f in TIMED_WIRE if f in native)
    if wanted == "text" and "json" in native:
        return "json"  # JSON carries the usage the actual cost is computed from
    if wanted in native:
        return wanted
    if wanted in ("text", "json"):
        for candidate in ("json", "verbose_json", "text"):
            if candidate in native:
                return candidate
    if wanted in TIMED_FORMATS:
        return next(f for f in TIMED_WIRE if f in native)
    raise FormatUnavailable(f"{model_id} does not produce {wanted}",
                            hint="allowed: " + ", ".join(sorted(native | {"text"})))


def _hint(what: str, alternatives: Iterable[str]) -> str:
    names = list(dict.fromkeys(alternatives))
    return f"{what}: {', '.join(names)}" if names else f"use one of the {what} (aigw models --kind audio)"


def user_body(wanted: str, wire: str, body: str, *, language: str | None, duration: float | None,
              translate: bool = False, shape: Shape = Shape()) -> str:
    """The body in the user's format from the provider's `body` in `wire`: as it came when they
    are the same and nothing reshapes it, else rebuilt from its segments."""
    if wire == wanted and not (shape.shaped and wanted in ("srt", "vtt")):
        return body
    return render_user(wanted, from_body(wire, body, duration=duration, language=language), translate=translate,
                       shape=shape)


def render_user(wanted: str, transcript: Transcript, *, translate: bool = False, shape: Shape = Shape()) -> str:
    """A canonical transcript (one provider's, or chunks merged by `merge`) in the user's format and shape."""
    return render_transcript(wanted, transcript, task="translate" if translate else "transcribe",
                             max_line_width=shape.max_line_width, max_line_count=shape.max_line_count)


def timed_models(models: Iterable[object]) -> list[str]:
    """Ids of the audio models that give timestamps (for a hint), in the order given, at most five."""
    return [str(getattr(m, "id")) for m in models if gives_timestamps(getattr(m, "formats", ()))][:5]


def shape_notes(fmt: str, max_line_width: int | None, max_line_count: int | None) -> list[str]:
    """Line options that shape nothing here, said once (as Whisper warns for them)."""
    given = [flag for flag, value in (("--max-line-width", max_line_width), ("--max-line-count", max_line_count))
             if value is not None]
    if given and fmt not in ("srt", "vtt"):
        return [f"{' and '.join(given)} shape srt and vtt cues only; not used for {fmt}"]
    if max_line_count is not None and max_line_width is None:
        return ["--max-line-count needs --max-line-width (without it each segment is one line); not used"]
    return []
