"""Transcript formats: render segments as text, JSON, verbose JSON, SRT (srt) or WebVTT (webvtt-py),
and recover plain text from a subtitle body a provider returned."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

from aigw.transcripts.model import Segment

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


def render(fmt: str, *, text: str, segments: list[Segment], language: str | None,
           duration: float | None, extra: dict[str, Any] | None = None, task: str = "transcribe") -> str:
    if fmt == "text":
        return text
    if fmt == "json":
        return json.dumps({"text": text, **(extra or {})}, ensure_ascii=False)
    if fmt == "verbose_json":
        doc: dict[str, Any] = {
            "task": task,
            "language": LANGUAGE_NAMES.get(language or "", language),
            "duration": duration,
            "text": text,
            "segments": [{"id": i, "start": s.start, "end": s.end, "text": s.text} for i, s in enumerate(segments)],
        }
        words = [{"word": w.word, "start": w.start, "end": w.end} for s in segments for w in s.words]
        if words:
            doc["words"] = words
        return json.dumps(doc, ensure_ascii=False)
    if fmt == "srt":
        import srt

        subs = [srt.Subtitle(i + 1, timedelta(seconds=s.start), timedelta(seconds=s.end), s.text.strip())
                for i, s in enumerate(segments)]
        return srt.compose(subs)
    if fmt == "vtt":
        import webvtt

        vtt = webvtt.WebVTT(captions=[webvtt.Caption(_stamp(s.start), _stamp(s.end), s.text.strip()) for s in segments])
        return str(vtt.content)
    raise ValueError(f"unknown transcript format {fmt}")


def plain_text(fmt: str, body: str) -> str:
    """The words alone, from a body in any format (gateways and providers return all of them)."""
    if fmt == "srt":
        import srt

        return " ".join(sub.content.replace("\n", " ").strip() for sub in srt.parse(body))
    if fmt == "vtt":
        import webvtt

        return " ".join(c.text.replace("\n", " ").strip() for c in webvtt.from_buffer(io.StringIO(body)).captions)
    if fmt in ("json", "verbose_json"):
        return str(json.loads(body).get("text", ""))
    return body.strip()
