"""Providers' answers into the canonical `Transcript`.

* OpenAI-shaped `json` and `verbose_json` (OpenAI, Azure, Groq, Together, gateways):
  `{"text", "language", "duration", "segments": [{start, end, text}], "words": [{word, start, end}]}`;
  words are attached to the segment they start in. aigw's own verbose_json adds `speaker` to
  segments and words, read back here (the format chunked runs merge from).
* OpenAI `diarized_json` (gpt-4o-transcribe-diarize): `segments[{type: "transcript.text.segment",
  id, start, end, text, speaker}]` with speaker labels such as "A", "B" (or the names given as
  known speakers), numbered 1, 2, ... in order of first appearance.
* SRT, WebVTT and Whisper's TSV bodies: one segment per cue or row.
* Deepgram's listen answer, faster-whisper's segments and the queue providers' outputs are parsed
  in their own provider modules, into the same model.
"""

from __future__ import annotations

import io
import json
from typing import Any

from aigw.transcripts.model import Segment, Transcript, Word, group_words, text_of, untimed


def speaker_numbers(labels: list[Any]) -> dict[Any, int]:
    """Provider speaker labels -> 1, 2, ... in order of first appearance."""
    out: dict[Any, int] = {}
    for label in labels:
        if label is not None and label not in out:
            out[label] = len(out) + 1
    return out


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _speaker(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def words_of(raw: Any) -> list[Word]:
    out = []
    for w in raw if isinstance(raw, list) else []:
        if not isinstance(w, dict) or not isinstance(w.get("word"), str):
            continue
        start, end = _num(w.get("start")), _num(w.get("end"))
        if start is not None and end is not None:
            out.append(Word(start, end, w["word"].strip(), _speaker(w.get("speaker"))))
    return out


def openai_payload(payload: Any, *, duration: float | None = None) -> Transcript:
    """OpenAI-shaped json, verbose_json or diarized_json (told apart by what they hold)."""
    if not isinstance(payload, dict):
        return untimed("", duration=duration)
    raw_text = payload.get("text")
    text = raw_text if isinstance(raw_text, str) else ""
    language = payload.get("language") if isinstance(payload.get("language"), str) else None
    length = _num(payload.get("duration"))
    length = length if length is not None else duration
    raw = payload.get("segments")
    extra = {key: payload[key] for key in ("usage",) if key in payload}
    if not isinstance(raw, list) or not raw:
        words = words_of(payload.get("words"))
        if words:  # word granularity alone: sentences of words
            return Transcript(text=text, segments=tuple(group_words(words)), language=language, duration=length,
                              extra=extra)
        found = untimed(text, duration=length, language=language)
        return Transcript(text=text, segments=found.segments, language=language, duration=length, timed=False,
                          extra=extra)
    diarized = any(isinstance(s, dict) and s.get("type") == "transcript.text.segment" for s in raw)
    numbers = speaker_numbers([s.get("speaker") for s in raw if isinstance(s, dict)]) if diarized else {}
    words = words_of(payload.get("words"))
    segments: list[Segment] = []
    for seg in raw:
        if not isinstance(seg, dict) or not isinstance(seg.get("text"), str):
            continue
        start, end = _num(seg.get("start")) or 0.0, _num(seg.get("end")) or 0.0
        speaker = numbers.get(seg.get("speaker")) if diarized else _speaker(seg.get("speaker"))
        mine = tuple(w for w in words if start <= w.start < end
                     or (not segments and w.start < start) or (seg is raw[-1] and w.start >= end))
        segments.append(Segment(start, end, seg["text"].strip(), mine, speaker))
    return Transcript(text=text or text_of(segments), segments=tuple(segments), language=language, duration=length,
                      extra=extra)


def subtitles(fmt: str, body: str, *, duration: float | None = None, language: str | None = None) -> Transcript:
    """An SRT, WebVTT or TSV body: a segment per cue."""
    segments: list[Segment] = []
    if fmt == "srt":
        import srt

        segments = [Segment(s.start.total_seconds(), s.end.total_seconds(), " ".join(s.content.split()))
                    for s in srt.parse(body)]
    elif fmt == "vtt":
        import webvtt

        segments = [Segment(_vtt_seconds(c.start), _vtt_seconds(c.end), " ".join(c.text.split()))
                    for c in webvtt.from_buffer(io.StringIO(body)).captions]
    elif fmt == "tsv":
        for line in body.splitlines()[1:]:
            start, end, text = (line.split("\t", 2) + ["", ""])[:3]
            if start.strip().isdigit() and end.strip().isdigit():
                segments.append(Segment(int(start) / 1000, int(end) / 1000, text.strip()))
    else:
        raise ValueError(f"{fmt} is not a subtitle format")
    return Transcript(text=text_of(segments), segments=tuple(segments), language=language, duration=duration)


def _vtt_seconds(stamp: str) -> float:
    parts = stamp.split(":")
    seconds = float(parts[-1])
    minutes = int(parts[-2]) if len(parts) > 1 else 0
    hours = int(parts[-3]) if len(parts) > 2 else 0
    return hours * 3600 + minutes * 60 + seconds


def from_body(fmt: str, body: str, *, duration: float | None = None, language: str | None = None) -> Transcript:
    """A provider's body in `fmt` (what `ProviderTranscript.body` holds) as a canonical transcript.
    Lossless for aigw's own verbose_json (segments, words, speakers): a chunked run asks chunks for it."""
    if fmt in ("json", "verbose_json"):
        found = openai_payload(json.loads(body), duration=duration)
        return found if found.language or language is None else _with_language(found, language)
    if fmt in ("srt", "vtt", "tsv"):
        return subtitles(fmt, body, duration=duration, language=language)
    return untimed(body.strip(), duration=duration, language=language)


def _with_language(found: Transcript, language: str) -> Transcript:
    return Transcript(text=found.text, segments=found.segments, language=language, duration=found.duration,
                      timed=found.timed, extra=found.extra)
