"""A chunk's answer as the canonical transcript (aigw.transcripts.model): segments from the
verbose_json a chunk is asked for, else the plain text as one untimed segment; and to and from JSON
for the run log's chunk rows, so `--resume` can merge a chunk finished in an earlier run."""

from __future__ import annotations

from typing import Any

from aigw.transcripts.model import Segment, Transcript, Word, untimed
from aigw.transcripts.parse import from_body


def parse(fmt: str, body: str, *, text: str, duration: float | None, language: str | None) -> Transcript:
    """The provider's body in `fmt` (aigw.transcripts.parse reads every provider's shapes); plain text
    as one untimed segment when the body holds nothing more."""
    if fmt in ("verbose_json", "json", "srt", "vtt"):
        found = from_body(fmt, body, duration=duration, language=language)
        if found.segments or not text.strip():
            return found
    return untimed(text, duration=duration, language=language)


def to_json(t: Transcript) -> dict[str, Any]:
    return {"text": t.text, "language": t.language, "duration": t.duration, "timed": t.timed,
            "segments": [{"start": s.start, "end": s.end, "text": s.text, "speaker": s.speaker,
                          "words": [[w.start, w.end, w.word, w.speaker] for w in s.words]} for s in t.segments]}


def from_json(doc: dict[str, Any]) -> Transcript:
    segments = tuple(Segment(s["start"], s["end"], s["text"], tuple(Word(*w) for w in s["words"]), s.get("speaker"))
                     for s in doc["segments"])
    return Transcript(text=doc["text"], segments=segments, language=doc.get("language"),
                      duration=doc.get("duration"), timed=doc.get("timed", True))
