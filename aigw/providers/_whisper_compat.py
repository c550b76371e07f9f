"""OpenAI's multipart transcription on servers that answer fewer formats (Groq, Together).

Groq answers json / text / verbose_json and Together json / verbose_json (PROVIDERS.md §7, §8): what
they lack is asked for as `verbose_json` with segment timestamps and rendered by aigw
(`aigw.transcripts`), so `--format srt` still gets real subtitles. The upload limit is the
provider's, not the model's (whisper-large-v3 is 25 MB at Groq, 80 MB at Together): a file over it
is re-encoded, and if need be sent in chunks that fit (engine/chunks.py reads `upload_limit_bytes`).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import ClassVar

from aigw.providers.openai import OpenAIProvider
from aigw.transcripts.parse import openai_payload
from aigw.transcripts.render import render_transcript
from aigw.types import ProviderTranscript, TranscribeCall, Usage



class LimitedFormatsProvider(OpenAIProvider):
    """An OpenAI-shaped transcription wire with its own formats, upload cap and billing minimum."""

    wire_formats: ClassVar[frozenset[str]] = frozenset({"json", "verbose_json"})
    upload_limit_bytes: ClassVar[int | None] = None
    min_billed_seconds: ClassVar[float] = 0.0

    def wire_call(self, call: TranscribeCall) -> TranscribeCall:
        """What goes over the wire for the format asked."""
        if call.format in self.wire_formats:
            return call
        if call.format == "text":
            return call.model_copy(update={"format": "json"})
        return call.model_copy(update={"format": "verbose_json", "timestamps": "segment"})

    async def transcribe(self, call: TranscribeCall, *, timeout: float) -> ProviderTranscript:
        wire = self.wire_call(call)
        value = await super().transcribe(wire, timeout=timeout)
        if wire.format != call.format:
            value = value.model_copy(update={"body": self._rendered(call, value), "format": call.format})
        if value.usage is None and value.duration_s is not None:
            # No usage in the answer: the provider bills the audio's length (at least its minimum).
            value = value.model_copy(update={"usage": Usage(seconds=max(value.duration_s, self.min_billed_seconds))})
        return value

    def _rendered(self, call: TranscribeCall, value: ProviderTranscript) -> str:
        if call.format == "text":
            return value.text
        transcript = openai_payload(json.loads(value.body), duration=value.duration_s)
        if transcript.language is None and value.language:
            transcript = replace(transcript, language=value.language)
        return render_transcript(call.format, transcript, task="translate" if call.translate else "transcribe")
