"""A chunk's answer as the canonical transcript (aigw.transcripts.model): segments from the
verbose_json a chunk is asked for, else the plain text as one untimed segment; and back to JSON
for the run log's chunk rows, so `--resume` can merge a chunk finished in an earlier run."""

from __future__ import annotations

import json
from typing import Any

from aigw.transcripts.model import Segment, Transcript, Word, group_words, untimed


def parse(fmt: str, body: str, *, text: str, duration: float | None, language: str | None) -> Transcript:
    if fmt != "verbose_json":
        return untimed(text, duration=duration, language=language)
    doc = json.loads(body)
    words = [Word(float(w["start"]), float(w["end"]), str(w["word"]).strip()) for w in doc.get("words") or []]
    raw = doc.get("segments") or []
    segments = [Segment(float(s["start"]), float(s["end"]), str(s["text"]).strip(),
                        tuple(w for w in words if float(s["start"]) <= (w.start + w.end) / 2 < float(s["end"])))
                for s in raw]
    if not segments and words:
        segments = group_words(words)
    if not segments:
        return untimed(str(doc.get("text", text)), duration=duration, language=language)
    return Transcript(text=" ".join(s.text for s in segments), segments=tuple(segments), language=language,
                      duration=duration)


def to_json(t: Transcript) -> dict[str, Any]:
    return {"text": t.text, "language": t.language, "duration": t.duration, "timed": t.timed,
            "segments": [{"start": s.start, "end": s.end, "text": s.text,
                          "words": [[w.start, w.end, w.word] for w in s.words]} for s in t.segments]}


def from_json(doc: dict[str, Any]) -> Transcript:
    segments = tuple(Segment(s["start"], s["end"], s["text"], tuple(Word(a, b, w) for a, b, w in s["words"]))
                     for s in doc["segments"])
    return Transcript(text=doc["text"], segments=segments, language=doc.get("language"),
                      duration=doc.get("duration"), timed=doc.get("timed", True))
