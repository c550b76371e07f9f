"""A transcript in each format aigw offers, and plain text back from a body in any of them.

* `text`: the words; with speakers, one line per turn, `[SPEAKER 1] ...`.
* `json`: `{"text": ...}` plus what the provider said beside it; with speakers, `segments` with `speaker`.
* `verbose_json`: OpenAI's shape (`task`, `language` as an English name, `duration`, `text`,
  `segments[{id, start, end, text}]`, `words[{word, start, end}]` when word timings exist), plus
  `speaker` on segments and words when the provider labelled speakers.
* `srt` (composed by the `srt` library: `HH:MM:SS,mmm`, cues numbered from 1, hours past 99 kept)
  and `vtt` (`webvtt-py`: `WEBVTT` header, `HH:MM:SS.mmm`), cues shaped by `cues.cues`.
* `tsv`: Whisper's (openai/whisper whisper/utils.py, `WriteTSV`): a `start<TAB>end<TAB>text` header,
  then one line per segment with times in integer milliseconds (`round(1000 * seconds)`) and tabs in
  the text turned to spaces.
"""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from typing import Any

from aigw.transcripts.cues import Cue, cues, speaker_label
from aigw.transcripts.model import Segment, Transcript

FORMATS = ("text", "json", "verbose_json", "srt", "vtt", "tsv")
TIMED_FORMATS = frozenset({"verbose_json", "srt", "vtt", "tsv"})

# Whisper reports languages by ISO code; OpenAI's verbose_json uses the English name.
LANGUAGE_NAMES = {
    "en": "english", "de": "german", "fr": "french", "es": "spanish", "it": "italian", "pt": "portuguese",
    "nl": "dutch", "ja": "japanese", "zh": "chinese", "ko": "korean", "ru": "russian", "pl": "polish",
}


def _stamp(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def render_transcript(fmt: str, transcript: Transcript, *, task: str = "transcribe", max_line_width: int | None = None,
                      max_line_count: int | None = None) -> str:
    """`transcript` in `fmt`; the line options shape srt and vtt cues only."""
    if fmt == "text":
        return _text(transcript)
    if fmt == "json":
        doc: dict[str, Any] = {"text": transcript.text, **transcript.extra}
        if transcript.speakers:
            doc["segments"] = [_segment_doc(i, s) for i, s in enumerate(transcript.segments)]
        return json.dumps(doc, ensure_ascii=False)
    if fmt == "verbose_json":
        return json.dumps(_verbose(transcript, task), ensure_ascii=False)
    if fmt == "tsv":
        rows = ["start\tend\ttext"] + [
            f"{round(1000 * s.start)}\t{round(1000 * s.end)}\t{(speaker_label(s.speaker) + s.text.strip()).replace(chr(9), ' ')}"
            for s in transcript.segments if s.text.strip()]
        return "\n".join(rows) + "\n"
    shaped = cues(transcript.segments, max_line_width=max_line_width, max_line_count=max_line_count)
    if fmt == "srt":
        return _srt(shaped)
    if fmt == "vtt":
        return _vtt(shaped)
    raise ValueError(f"unknown transcript format {fmt}")


def _text(transcript: Transcript) -> str:
    if not transcript.speakers:
        return transcript.text
    turns: list[tuple[int | None, list[str]]] = []
    for seg in transcript.segments:
        if not seg.text.strip():
            continue
        if turns and turns[-1][0] == seg.speaker:
            turns[-1][1].append(seg.text.strip())
        else:
            turns.append((seg.speaker, [seg.text.strip()]))
    return "\n".join(speaker_label(who) + " ".join(parts) for who, parts in turns)


def _segment_doc(index: int, seg: Segment) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": index, "start": seg.start, "end": seg.end, "text": seg.text}
    if seg.speaker is not None:
        doc["speaker"] = seg.speaker
    return doc


def _verbose(transcript: Transcript, task: str) -> dict[str, Any]:
    language = transcript.language
    doc: dict[str, Any] = {
        "task": task, "language": LANGUAGE_NAMES.get(language or "", language), "duration": transcript.duration,
        "text": transcript.text,
        "segments": [_segment_doc(i, s) for i, s in enumerate(transcript.segments)],
    }
    words = []
    for w in transcript.words:
        word: dict[str, Any] = {"word": w.word, "start": w.start, "end": w.end}
        if w.speaker is not None:
            word["speaker"] = w.speaker
        words.append(word)
    if words:
        doc["words"] = words
    if "usage" in transcript.extra:
        doc["usage"] = transcript.extra["usage"]
    return doc


def no_arrow(text: str) -> str:
    """Cue text without the `-->` that separates a cue's times: any run of dashes before `>` becomes
    `->` (replacing `-->` alone would turn `--->` into `-->`)."""
    return re.sub(r"-{2,}>", "->", text) if "->" in text else text


def _srt(shaped: list[Cue]) -> str:
    import srt

    # Whole milliseconds, rounded as the VTT and TSV stamps are (srt truncates what is finer).
    subs = [srt.Subtitle(i, timedelta(milliseconds=round(c.start * 1000)), timedelta(milliseconds=round(c.end * 1000)),
                         no_arrow(c.text))
            for i, c in enumerate(shaped, start=1)]
    return str(srt.compose(subs, reindex=True, start_index=1))


def _vtt(shaped: list[Cue]) -> str:
    import webvtt

    captions = [webvtt.Caption(_stamp(c.start), _stamp(c.end), no_arrow(c.text)) for c in shaped]
    return str(webvtt.WebVTT(captions=captions).content)


def render(fmt: str, *, text: str, segments: list[Segment], language: str | None,
           duration: float | None, extra: dict[str, Any] | None = None, task: str = "transcribe") -> str:
    """The providers' entry point: segments they parsed, in `fmt` (see `render_transcript`)."""
    transcript = Transcript(text=text, segments=tuple(segments), language=language, duration=duration,
                            extra=dict(extra or {}))
    return render_transcript(fmt, transcript, task=task)


def plain_text(fmt: str, body: str) -> str:
    """The words alone, from a body in any format (gateways and providers return all of them)."""
    if fmt == "srt":
        import srt

        return " ".join(sub.content.replace("\n", " ").strip() for sub in srt.parse(body))
    if fmt == "vtt":
        import webvtt

        return " ".join(c.text.replace("\n", " ").strip() for c in webvtt.from_buffer(io.StringIO(body)).captions)
    if fmt == "tsv":
        return " ".join(line.split("\t", 2)[-1].strip() for line in body.splitlines()[1:] if line.strip())
    if fmt in ("json", "verbose_json"):
        return str(json.loads(body).get("text", ""))
    return body.strip()
