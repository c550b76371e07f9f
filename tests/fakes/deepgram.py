"""A fake of Deepgram's pre-recorded speech-to-text API (PROVIDERS.md §10 and §12.3).

Surface:

* ``POST /v1/listen?<options>`` in both body modes: raw audio bytes (any ``audio/*`` type or
  ``application/octet-stream``; undecodable bytes are a 400 "corrupt or unsupported data") and
  ``Content-Type: application/json`` with ``{"url": "..."}`` (a JSON body sent without the JSON type is
  treated as audio and fails the same way, as §10 warns). Options are query parameters: ``model`` (the
  SDK's model list), ``language``, booleans as ``true``/``false`` only (``punctuate``, ``smart_format``,
  ``detect_language``, ``utterances``, ``paragraphs``, ``diarize``, ...), ``callback`` (answers
  ``{"request_id"}`` at once);
* ``Authorization: Token <key>`` (``Bearer`` for temporary tokens); a missing or wrong key is a 401;
* the nested answer: ``metadata`` (request_id, created, duration, channels, models, model_info) and
  ``results.channels[0].alternatives[0]`` with transcript, confidence, words (``punctuated_word`` with
  punctuate/smart_format), ``paragraphs`` (with smart_format or paragraphs=true), ``detected_language``
  (with detect_language), and ``results.utterances`` (with utterances=true); with ``diarize=true`` a
  0-based ``speaker`` (and ``speaker_confidence``) on every word, and paragraphs and utterances cut at
  each change of speaker, each with its ``speaker`` (the fake's speakers alternate by sentence);
* ``GET /v1/projects`` (the free authenticated check);
* errors in both shapes Deepgram uses: ``{"err_code", "err_msg", "request_id"}`` (400 bad audio or
  options, 413, 429, 5xx) and ``{"category", "message", "details", "request_id"}`` (401 INVALID_AUTH,
  402, 403).

Sources: ``deepgram/deepgram-python-sdk`` (release 7.6.0, commit 7da415d) src/deepgram/environment.py,
core/client_wrapper.py (``Token`` auth), listen/v1/media/raw_client.py (path, query options, raw body),
listen/v1/media/types/media_transcribe_request_model.py (models), types/listen_v1response*.py (answer
shape), types/error_response_{legacy,modern}_error.py (error shapes), manage/v1/projects/raw_client.py.
⚠ Not confirmed from an official source and chosen here: which status uses which error shape, the
messages, the 402 for credits, the 2 GB body cap (configurable), and the word timings (shared out
evenly over the audio's duration).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from ._server import FakeServer, Fault, RecordedRequest, Response
from .openai import DEFAULT_TRANSCRIPT, _probe_duration

MAX_BODY_BYTES = 2 * 1024 ** 3
MODELS = (
    "nova-3", "nova-3-general", "nova-3-medical", "nova-2", "nova-2-general", "nova-2-meeting", "nova-2-finance",
    "nova-2-conversationalai", "nova-2-voicemail", "nova-2-video", "nova-2-medical", "nova-2-drivethru",
    "nova-2-automotive", "nova", "nova-general", "nova-phonecall", "nova-medical", "enhanced", "enhanced-general",
    "enhanced-meeting", "enhanced-phonecall", "enhanced-finance", "base", "meeting", "phonecall", "finance",
    "conversationalai", "voicemail", "video",
)
BOOLEAN_OPTIONS = {"punctuate", "smart_format", "detect_language", "utterances", "paragraphs", "diarize",
                   "numerals", "profanity_filter", "filler_words", "dictation", "measurements", "multichannel",
                   "sentiment", "topics", "intents", "detect_entities", "mip_opt_out"}
KNOWN_OPTIONS = BOOLEAN_OPTIONS | {"model", "language", "callback", "callback_method", "keyterm", "keywords",
                                   "tag", "extra", "version", "encoding", "redact", "replace", "search",
                                   "utt_split", "diarize_model", "summarize", "custom_topic", "custom_intent",
                                   "custom_topic_mode", "custom_intent_mode"}
# Containers the fake can recognise without decoding (RIFF/WAVE is also timed).
MAGIC = (b"RIFF", b"ID3", b"\xff\xfb", b"\xff\xf3", b"fLaC", b"OggS", b"\x1a\x45\xdf\xa3")


def legacy_error(status: int, code: str, message: str) -> Response:
    return Response.json({"err_code": code, "err_msg": message, "request_id": str(uuid.uuid4())}, status)


def modern_error(status: int, category: str, message: str, details: str = "") -> Response:
    return Response.json({"category": category, "message": message, "details": details,
                          "request_id": str(uuid.uuid4())}, status)


class FakeDeepgram(FakeServer):
    """Use ``fake.url`` as the base URL (``https://api.deepgram.com`` in production)."""

    server_header = "deepgram"

    def __init__(self, *, api_key: str | None = None, bad_keys: tuple[str, ...] = ("bad-key",),
                 transcript: str = DEFAULT_TRANSCRIPT, default_duration: float = 8.47,
                 max_body_bytes: int = MAX_BODY_BYTES, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.api_key = api_key
        self.bad_keys = set(bad_keys)
        self.transcript = transcript
        self.default_duration = default_duration
        self.max_body_bytes = max_body_bytes

    # -- FakeServer hooks ---------------------------------------------------------------------

    def body_limit(self, method: str, path: str) -> int | None:
        return self.max_body_bytes if path == "/v1/listen" else None

    def common_headers(self, req: RecordedRequest, resp: Response, started: float) -> None:
        resp.headers.setdefault("dg-request-id", str(uuid.uuid4()))

    def fault_body(self, req: RecordedRequest, status: int) -> Response:
        if status == 401:
            return modern_error(401, "INVALID_AUTH", "Invalid credentials.", "Invalid API key.")
        if status == 402:
            return modern_error(402, "INSUFFICIENT_PERMISSIONS", "Project does not have enough credits.")
        if status == 403:
            return modern_error(403, "INSUFFICIENT_PERMISSIONS", "You do not have access to this model.")
        if status == 429:
            return legacy_error(429, "TOO_MANY_REQUESTS", "Too many requests. Please try again later.")
        if status >= 500:
            return legacy_error(status, "INTERNAL_SERVER_ERROR", "Internal server error.")
        return legacy_error(status, "Bad Request", "Bad Request")

    def empty_response(self, req: RecordedRequest) -> Response:
        return Response.json(self._answer(req, "", self.default_duration))

    def malformed_body(self, req: RecordedRequest) -> bytes:
        return b'{"metadata": {"request_id": "x", "duration": 8.4'

    def route(self, req: RecordedRequest) -> Response:
        if req.method == "GET" and req.path == "/v1/projects":
            return self._authorised(req) or Response.json(
                {"projects": [{"project_id": "3f7d1c4e-0000-4000-8000-000000000001", "name": "fake project"}]})
        if req.method == "POST" and req.path == "/v1/listen":
            return self._listen(req)
        return legacy_error(404, "Not Found", f"{req.method} {req.path} is not a Deepgram route")

    # -- handlers -----------------------------------------------------------------------------

    def _authorised(self, req: RecordedRequest) -> Response | None:
        header = req.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() not in ("token", "bearer") or not key.strip():
            return modern_error(401, "INVALID_AUTH", "Invalid credentials.",
                                "Send your API key as 'Authorization: Token <key>'.")
        key = key.strip()
        if key in self.bad_keys or (self.api_key is not None and key != self.api_key):
            return modern_error(401, "INVALID_AUTH", "Invalid credentials.", "Invalid API key.")
        return None

    def _listen(self, req: RecordedRequest) -> Response:
        if req.too_large:
            return legacy_error(413, "PAYLOAD_TOO_LARGE", f"Payload too large ({req.body_size} bytes).")
        denied = self._authorised(req)
        if denied is not None:
            return denied
        for name, value in req.query_items:
            if name not in KNOWN_OPTIONS:
                return legacy_error(400, "Bad Request", f"Unknown query parameter: {name}")
            if name in BOOLEAN_OPTIONS and value not in ("true", "false"):
                return legacy_error(400, "Bad Request", f"Invalid value for {name}: expected true or false")
        model = req.query.get("model", "base")
        if model not in MODELS:
            return legacy_error(400, "Bad Request",
                                "No such model/language/tier combination found. Use the /v1/models endpoint.")
        if req.query.get("callback"):
            return Response.json({"request_id": str(uuid.uuid4())})
        if req.content_type.lower().startswith("application/json"):
            url = req.json.get("url") if isinstance(req.json, dict) else None
            if not isinstance(url, str) or not url:
                return modern_error(400, "INVALID_JSON", "Invalid JSON body.", "Expected {\"url\": \"https://...\"}.")
            duration = self.default_duration  # a remote file the fake does not fetch
        else:
            if not req.body or not req.body.startswith(MAGIC):
                return legacy_error(400, "Bad Request",
                                    "Bad Request: failed to process audio: corrupt or unsupported data")
            duration = _probe_duration(req.body) or self.default_duration
        return Response.json(self._answer(req, self.transcript, duration))

    def _answer(self, req: RecordedRequest, text: str, duration: float) -> dict[str, Any]:
        q = req.query
        formatted = q.get("punctuate") == "true" or q.get("smart_format") == "true"
        tokens = text.split()
        step = duration / max(1, len(tokens))
        words = []
        for i, token in enumerate(tokens):
            word: dict[str, Any] = {"word": token.strip(".,!?;:").lower(), "start": round(i * step, 3),
                                    "end": round((i + 1) * step, 3), "confidence": 0.98}
            if formatted:
                word["punctuated_word"] = token
            words.append(word)
        diarize = q.get("diarize") == "true"
        if diarize:  # the fake's speakers take turns, one sentence each (0-based, as Deepgram numbers them)
            for number, sentence in enumerate(_sentence_words(words)):
                for word in sentence:
                    word["speaker"] = number % 2
                    word["speaker_confidence"] = 0.9
        alternative: dict[str, Any] = {"transcript": text if formatted else " ".join(w["word"] for w in words),
                                       "confidence": 0.98 if text else 0.0, "words": words}
        if text and (q.get("smart_format") == "true" or q.get("paragraphs") == "true"):
            # With diarize a paragraph is one speaker's turn and carries its `speaker`.
            turns = _turns(words) if diarize else [words]
            alternative["paragraphs"] = {"transcript": "\n" + text, "paragraphs": [
                {"sentences": _sentences(turn), "num_words": len(turn), "start": turn[0]["start"],
                 "end": turn[-1]["end"], **({"speaker": turn[0]["speaker"]} if diarize else {})} for turn in turns]}
        channel: dict[str, Any] = {"alternatives": [alternative]}
        if q.get("detect_language") == "true":
            channel["detected_language"] = "en"
            channel["language_confidence"] = 0.99
        model_uuid = "1abfe86b-e047-4eed-858a-35e5625b41ee"
        results: dict[str, Any] = {"channels": [channel]}
        if q.get("utterances") == "true" and words:
            # One utterance per speaker turn with diarize (each with its `speaker`), else the whole.
            results["utterances"] = [
                {"start": turn[0]["start"], "end": turn[-1]["end"], "confidence": 0.98, "channel": 0,
                 "transcript": " ".join(str(w.get("punctuated_word", w["word"])) for w in turn) if formatted
                 else " ".join(w["word"] for w in turn), "words": turn, "id": str(uuid.uuid4()),
                 **({"speaker": turn[0]["speaker"]} if diarize else {})}
                for turn in (_turns(words) if diarize else [words])]
        return {
            "metadata": {
                "transaction_key": "deprecated", "request_id": str(uuid.uuid4()),
                "sha256": "0" * 64, "created": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                "duration": round(duration, 3), "channels": 1, "models": [model_uuid],
                "model_info": {model_uuid: {"name": f"general-{q.get('model', 'base')}", "version": "2026-01-01.0",
                                            "arch": q.get("model", "base")}},
            },
            "results": results,
        }


def _sentence_words(words: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    out: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    for word in words:
        current.append(word)
        if str(word.get("punctuated_word", word["word"])).endswith((".", "!", "?")):
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def _turns(words: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Runs of words by one speaker."""
    out: list[list[dict[str, Any]]] = []
    for word in words:
        if out and out[-1][-1].get("speaker") == word.get("speaker"):
            out[-1].append(word)
        else:
            out.append([word])
    return out


def _sentences(words: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"text": " ".join(str(w.get("punctuated_word", w["word"])) for w in s), "start": s[0]["start"],
             "end": s[-1]["end"]} for s in _sentence_words(words)]


def bad_audio() -> Fault:
    return Fault(status=400, body={"err_code": "Bad Request",
                                   "err_msg": "Bad Request: failed to process audio: corrupt or unsupported data",
                                   "request_id": str(uuid.uuid4())})


__all__ = ["FakeDeepgram", "MODELS", "bad_audio", "legacy_error", "modern_error"]
