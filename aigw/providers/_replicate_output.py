"""Replicate whisper outputs onto a ProviderTranscript in the format the user asked for.

openai/whisper (cog-whisper predict.py) answers `{"detected_language": "english", "transcription": …,
"segments": [{"start", "end", "text", …}], "translation": …|null, "txt_file", "srt_file"}`: the language
is a full name, `transcription` is plain text, SRT or VTT as asked (its VTT has no WEBVTT header),
and `translation` is the English text alone. aigw renders json/verbose_json/srt/vtt from the segments
so every provider's files look alike.
"""

from __future__ import annotations

from typing import Any

from aigw import errors
from aigw.providers._replicate_inputs import WHISPER_TRANSCRIPTION
from aigw.transcripts import Segment, plain_text, render
from aigw.transcripts.native import whisper_segments
from aigw.types import ProviderTranscript, TranscribeCall, Usage


def _wire_text(wire: str, body: str) -> str:
    """Plain words from the model's own `transcription` in the format it was asked for."""
    if wire == "plain text":
        return body.strip()
    if wire == "vtt" and not body.lstrip().startswith("WEBVTT"):
        body = "WEBVTT\n\n" + body
    try:
        return plain_text(wire, body)
    except Exception:  # a body the subtitle parsers reject still holds the words, timestamps and all
        return body.strip()


def parse_transcript(output: Any, call: TranscribeCall, *, provider: str, usage: Usage | None,
                     bytes_up: int, bytes_down: int, http_status: int) -> ProviderTranscript:
    if isinstance(output, str):
        output = {"transcription": output}
    if not isinstance(output, dict):
        raise errors.EmptyResultError(f"{provider}: prediction output is not a transcript", provider=provider)
    wire = WHISPER_TRANSCRIPTION.get(call.format, "plain text")
    segments = whisper_segments(output.get("segments"))
    transcription = output.get("transcription") or output.get("text")
    if call.translate:
        text = str(output.get("translation") or "").strip()
    elif isinstance(transcription, str) and wire == "plain text":
        text = transcription.strip()
    elif segments:
        text = " ".join(s.text for s in segments if s.text).strip()
    else:
        text = _wire_text(wire, transcription) if isinstance(transcription, str) else ""
    if not text:
        raise errors.EmptyResultError(f"{provider}: empty transcript", provider=provider)
    detected = output.get("detected_language") or output.get("language")
    language = str(detected).lower() if detected else None
    duration = call.audio.duration_s or (segments[-1].end if segments else None)
    if not segments:
        segments = [Segment(start=0.0, end=float(duration or 0.0), text=text)]
    body = render(call.format, text=text, segments=segments, language=language, duration=duration,
                  extra={"language": language, "duration": duration})
    return ProviderTranscript(text=text, body=body, format=call.format, language=language, duration_s=duration,
                              usage=usage, bytes_up=bytes_up, bytes_down=bytes_down, http_status=http_status)
