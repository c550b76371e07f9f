"""Deepgram pre-recorded transcription: raw audio to `POST /v1/listen?<options>`, `Token` auth.

PROVIDERS.md §10, checked against `deepgram/deepgram-python-sdk` (release 7.6.0, commit 7da415d):
- src/deepgram/environment.py: REST base `https://api.deepgram.com`;
- src/deepgram/core/client_wrapper.py: `Authorization: Token <api key>` (`Bearer` only for temporary
  tokens);
- src/deepgram/listen/v1/media/raw_client.py (`transcribe_file`): `POST v1/listen`, the options as query
  parameters (model, language, detect_language, punctuate, smart_format, utterances, paragraphs, ...),
  the audio bytes as the body. The SDK labels them `application/octet-stream`; aigw sends the file's
  own audio type, which the API also takes, and streams it from disk with its length;
- src/deepgram/listen/v1/media/types/media_transcribe_request_model.py: model ids (nova-3, nova-3-medical,
  nova-2, nova-2-meeting, ..., base, enhanced); any of them is reachable as deepgram/<model>;
- src/deepgram/types/listen_v1response*.py: results.channels[].alternatives[] {transcript, words[{word,
  start, end, confidence}], paragraphs{paragraphs[{sentences[{text, start, end}]}]}}, results.utterances[],
  metadata.duration (what is billed);
- src/deepgram/types/error_response*.py: errors are a string, `{err_code, err_msg, request_id}` or
  `{category, message, details, request_id}` (both read by `_http.error_fields`);
- src/deepgram/manage/v1/projects/raw_client.py: `GET v1/projects`, free and authenticated (the check).

Segments for srt/vtt/tsv/verbose_json come from the paragraphs' sentences (smart_format turns paragraphs on),
else utterances, else the words grouped into sentences of at most ~10 s (aigw.transcripts.native). With
--diarize aigw sends `diarize=true` and `utterances=true`: every word gets a 0-based `speaker`, and the
utterances, cut at each change of speaker, become the segments (speakers 1-based in aigw's formats).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

from aigw import errors
from aigw.providers._http import classify, json_body, translated
from aigw.providers._options import NOT_SENT, REFUSED, SENT, Support, not_sent
from aigw.providers.base import ProviderBase
from aigw.transcripts import native
from aigw.transcripts.model import Segment, Transcript, Word
from aigw.transcripts.model import group_words as shared_group_words
from aigw.transcripts.render import render_transcript
from aigw.types import ProviderTranscript, TranscribeCall, Usage

CHUNK_BYTES = 256 * 1024
MAX_SEGMENT_S = native.MAX_SEGMENT_S


class DeepgramProvider(ProviderBase):
    kinds: ClassVar[frozenset[str]] = frozenset({"audio"})
    default_base_url: ClassVar[str] = "https://api.deepgram.com"
    audio_options: ClassVar[dict[str, Support]] = {
        "language": SENT, "prompt": NOT_SENT, "temperature": NOT_SENT, "timestamps": SENT, "translate": REFUSED,
        "diarize": SENT,
    }
    path_versions: ClassVar[tuple[str, ...]] = ("/v1",)

    def headers(self, content_type: str | None = None) -> dict[str, str]:
        out = dict(self.settings.headers or {})
        if self.api_key:
            out["Authorization"] = f"Token {self.api_key}"
        if content_type:
            out["Content-Type"] = content_type
        return out

    # ---- mapping ---------------------------------------------------------------------------

    def prepare_transcribe(self, call: TranscribeCall) -> tuple[TranscribeCall, list[str]]:
        if call.translate:
            raise errors.UsageError(f"{self.name}: Deepgram transcribes but does not translate",
                                    hint="use -m whisper-large-v3 or -m whisper-1 with --translate")
        call, notes = not_sent(call, {"language", "timestamps", "diarize"}, name=self.name, model=call.provider_model)
        update: dict[str, Any] = {}
        if call.timestamps and call.format != "verbose_json":
            notes.append(f"{self.name}: timestamps show only with --format verbose_json; not used")
            update["timestamps"] = None
        return (call.model_copy(update=update) if update else call), notes

    def params(self, call: TranscribeCall) -> dict[str, str]:
        out = {"model": call.provider_model, "smart_format": "true", "punctuate": "true"}
        if call.language:
            out["language"] = call.language
        else:
            out["detect_language"] = "true"  # Whisper-style: find the language rather than assume English
        if call.diarize:
            # A speaker on every word; utterances cut at each change of speaker become the segments.
            out["diarize"] = "true"
            out["utterances"] = "true"
        return out

    # ---- the request -----------------------------------------------------------------------

    async def transcribe(self, call: TranscribeCall, *, timeout: float) -> ProviderTranscript:
        audio = call.audio

        async def chunks() -> AsyncIterator[bytes]:
            with open(audio.path, "rb") as fh:
                while block := fh.read(CHUNK_BYTES):
                    yield block

        headers = {**self.headers(audio.content_type), "Content-Length": str(audio.size_bytes)}
        with translated(self.name):
            resp = await self.http.post(self.endpoint("/v1/listen", self.params(call)), content=chunks(),
                                        headers=headers, timeout=timeout)
        if resp.status_code >= 400:
            raise classify(resp, self.name)
        return parse_listen(json_body(resp, self.name), call, provider=self.name, bytes_up=audio.size_bytes,
                            bytes_down=len(resp.content), status=resp.status_code)

    async def check(self, *, timeout: float) -> dict[str, Any]:
        """GET /v1/projects: free, authenticated, runs nothing."""
        started = self.clock.monotonic()
        try:
            with translated(self.name):
                resp = await self.http.get(self.endpoint("/v1/projects"), headers=self.headers(), timeout=timeout)
        except errors.ProviderError as exc:
            return {"reachable": False, "key_accepted": None, "latency_ms": None, "detail": exc.message}
        latency = round((self.clock.monotonic() - started) * 1000, 1)
        accepted = False if resp.status_code in (401, 403) else (True if resp.status_code < 400 else None)
        return {"reachable": True, "key_accepted": accepted, "latency_ms": latency,
                "detail": f"GET /v1/projects -> HTTP {resp.status_code}"}


# ---- the answer ------------------------------------------------------------------------------


def parse_listen(payload: Any, call: TranscribeCall, *, provider: str, bytes_up: int, bytes_down: int,
                 status: int) -> ProviderTranscript:
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, dict):
        callback = isinstance(payload, dict) and "request_id" in payload
        what = "only a request_id (callback mode)" if callback else "no results"
        raise errors.EmptyResultError(f"{provider}: the answer has {what}", provider=provider, status=status)
    channels = results.get("channels") or [{}]
    channel = channels[0] if isinstance(channels[0], dict) else {}
    alternative = (channel.get("alternatives") or [{}])[0]
    text = alternative.get("transcript") if isinstance(alternative, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise errors.EmptyResultError(f"{provider}: empty transcript", provider=provider, status=status)
    metadata = payload.get("metadata") if isinstance(payload.get("metadata"), dict) else {}
    duration = metadata.get("duration")
    duration = float(duration) if isinstance(duration, (int, float)) else call.audio.duration_s
    language = channel.get("detected_language") or call.language
    with_words = call.format == "verbose_json" and call.timestamps == "word"
    segments = segments_of(alternative, results.get("utterances"), with_words=with_words, speakers=call.diarize)
    if not segments:
        segments = [Segment(0.0, duration or 0.0, text)]
    transcript = Transcript(text=text, segments=tuple(segments), language=language, duration=duration)
    body = render_transcript(call.format, transcript)
    return ProviderTranscript(
        text=text, body=body, format=call.format, language=language, duration_s=duration,
        usage=Usage(seconds=duration) if duration is not None else None,
        bytes_up=bytes_up, bytes_down=bytes_down, http_status=status,
    )


# Kept under their old names: the parsing lives in aigw.transcripts.native.
words_of = native.deepgram_words
segments_of = native.deepgram_segments


def group_words(words: list[Word], *, with_words: bool, max_s: float = MAX_SEGMENT_S) -> list[Segment]:
    """Sentences of words, cut at sentence ends, at a change of speaker, or before a segment would pass `max_s`."""
    return shared_group_words(words, max_s=max_s, keep_words=with_words)
