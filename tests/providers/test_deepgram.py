"""DeepgramProvider against the loopback FakeDeepgram over real HTTP: raw audio with query options and
`Token` auth, the nested answer turned into every transcript format, and both error body shapes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import srt

from aigw import errors
from aigw.providers._http import error_fields
from aigw.providers.deepgram import DeepgramProvider, group_words, segments_of
from aigw.settings.model import ProviderSettings
from aigw.transcripts import Word
from aigw.types import AudioUpload, TranscribeCall
from tests.fakes._server import Fault
from tests.fakes.deepgram import FakeDeepgram, bad_audio

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hello.wav"
SENTENCES = "Welcome to the gateway. Every result is kept on disk."


@pytest.fixture
def fake():
    with FakeDeepgram(api_key="dg-test", transcript=SENTENCES) as server:
        yield server
    assert not server.errors, server.errors


def provider(client: httpx.AsyncClient | None, base_url: str = "http://127.0.0.1:9", key: str = "dg-test") -> DeepgramProvider:
    return DeepgramProvider("deepgram", ProviderSettings(api_key=key, base_url=base_url), client)


def upload(path: Path = EXAMPLE, content_type: str = "audio/wav") -> AudioUpload:
    return AudioUpload(path=path, filename=path.name, content_type=content_type, size_bytes=path.stat().st_size,
                       duration_s=4.864875)


def call(model: str = "nova-3", **kw: Any) -> TranscribeCall:
    return TranscribeCall(provider_model=model, audio=kw.pop("audio", None) or upload(), **kw)


def transcribe(base_url: str, c: TranscribeCall, key: str = "dg-test") -> Any:
    async def go() -> Any:
        async with httpx.AsyncClient() as client:
            p = provider(client, base_url, key)
            prepared, _ = p.prepare_transcribe(c)
            return await p.transcribe(prepared, timeout=30)
    return asyncio.run(go())


def check(base_url: str, key: str = "dg-test") -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        async with httpx.AsyncClient() as client:
            return await provider(client, base_url, key).check(timeout=5)
    return asyncio.run(go())


# ---- request shape ---------------------------------------------------------------------------


def test_raw_audio_with_query_options_and_token_auth(fake):
    out = transcribe(fake.url, call(language="en", format="json"))
    req = fake.last_request
    assert req.method == "POST" and req.path == "/v1/listen"
    assert req.headers["authorization"] == "Token dg-test" and req.content_type == "audio/wav"
    assert req.query == {"model": "nova-3", "smart_format": "true", "punctuate": "true", "language": "en"}
    assert req.body == EXAMPLE.read_bytes() and not req.chunked  # streamed from disk, with its length
    assert json.loads(out.body) == {"text": SENTENCES} and out.text == SENTENCES
    assert out.bytes_up == EXAMPLE.stat().st_size and out.http_status == 200


def test_without_a_language_deepgram_detects_it(fake):
    out = transcribe(fake.url, call(format="text"))
    assert fake.last_request.query.get("detect_language") == "true" and "language" not in fake.last_request.query
    assert out.language == "en" and out.body == SENTENCES


def test_duration_from_metadata_is_what_is_billed(fake):
    out = transcribe(fake.url, call(format="json"))
    assert out.duration_s == pytest.approx(4.865, abs=0.001) and out.usage.seconds == out.duration_s


# ---- formats -------------------------------------------------------------------------------


def test_srt_comes_from_the_paragraph_sentences(fake):
    out = transcribe(fake.url, call(format="srt"))
    subs = list(srt.parse(out.body))
    assert [s.content for s in subs] == ["Welcome to the gateway.", "Every result is kept on disk."]
    assert subs[0].start.total_seconds() == 0 and subs[1].end.total_seconds() == pytest.approx(4.865, abs=0.01)


def test_vtt_and_verbose_json_with_words(fake):
    vtt = transcribe(fake.url, call(format="vtt"))
    assert vtt.body.startswith("WEBVTT") and "Every result is kept on disk." in vtt.body
    verbose = json.loads(transcribe(fake.url, call(format="verbose_json", timestamps="word")).body)
    assert len(verbose["segments"]) == 2 and verbose["words"][0]["word"] == "Welcome"
    assert verbose["duration"] == pytest.approx(4.865, abs=0.001)


def test_segment_timestamps_leave_words_out_of_verbose_json(fake):
    doc = json.loads(transcribe(fake.url, call(format="verbose_json", timestamps="segment")).body)
    assert doc["segments"] and "words" not in doc


def test_utterances_are_used_when_there_are_no_paragraphs():
    words = [{"word": "hi", "punctuated_word": "Hi", "start": 0.0, "end": 0.5}]
    segs = segments_of({"words": words}, [{"start": 0.0, "end": 0.5, "transcript": "Hi"}], with_words=True)
    assert [(s.start, s.end, s.text, len(s.words)) for s in segs] == [(0.0, 0.5, "Hi", 1)]


def test_words_are_grouped_by_sentence_and_at_most_ten_seconds():
    words = [Word(float(i), i + 0.9, f"w{i}") for i in range(25)]
    words[2] = Word(2.0, 2.9, "end.")
    segs = group_words(words, with_words=False)
    assert segs[0].text == "w0 w1 end." and all(s.end - s.start <= 10 for s in segs)
    assert " ".join(s.text for s in segs).split() == [w.word for w in words]


# ---- mapping -------------------------------------------------------------------------------


def test_translation_is_refused_before_sending():
    with pytest.raises(errors.UsageError) as info:
        provider(None).prepare_transcribe(call(translate=True))
    assert "whisper" in info.value.hint


def test_prompt_and_temperature_are_not_sent_with_warnings(fake):
    c, notes = provider(None).prepare_transcribe(call(prompt="names", temperature=0.3, format="json"))
    assert c.prompt is None and c.temperature is None
    assert any("does not take --prompt; not sent" in n for n in notes) and any("--temperature" in n for n in notes)
    transcribe(fake.url, c)
    assert set(fake.last_request.query) == {"model", "smart_format", "punctuate", "detect_language"}


# ---- errors --------------------------------------------------------------------------------


def test_a_bad_key_is_an_auth_error_from_the_newer_error_shape(fake):
    with pytest.raises(errors.AuthError) as info:
        transcribe(fake.url, call(format="json"), key="bad-key")
    exc = info.value
    assert exc.status == 401 and exc.code == "INVALID_AUTH" and "DEEPGRAM_API_KEY" in exc.hint
    assert "Invalid credentials" in exc.message


def test_audio_deepgram_cannot_decode_is_a_bad_request_from_the_older_shape(fake, tmp_path):
    junk = tmp_path / "talk.webm"
    junk.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(errors.BadRequestError) as info:
        transcribe(fake.url, call(audio=upload(junk, "audio/webm"), format="json"))
    assert info.value.status == 400 and "corrupt or unsupported data" in info.value.message
    assert info.value.code == "Bad Request"


@pytest.mark.parametrize(("fault", "cls"), [
    (Fault(status=402), errors.QuotaExceededError),
    (Fault(status=429), errors.RateLimitedError),
    (Fault(status=503), errors.RetryableError),
    (bad_audio(), errors.BadRequestError),
    (Fault(empty=True), errors.EmptyResultError),
    (Fault(malformed=True), errors.RetryableError),
    (Fault(status=200, body={"request_id": "abc"}), errors.EmptyResultError),
])
def test_error_answers_map_to_aigw_errors(fake, fault, cls):
    fake.inject(fault, route="/v1/listen")
    with pytest.raises(cls):
        transcribe(fake.url, call(format="json"))


def test_an_unknown_model_is_a_bad_request(fake):
    with pytest.raises(errors.BadRequestError, match="model"):
        transcribe(fake.url, call("nova-99", format="json"))


def test_error_fields_read_both_deepgram_shapes():
    legacy = httpx.Response(400, json={"err_code": "Bad Request", "err_msg": "bad audio", "request_id": "r"})
    modern = httpx.Response(401, json={"category": "INVALID_AUTH", "message": "Invalid credentials.",
                                       "details": "Invalid API key.", "request_id": "r"})
    assert error_fields(legacy) == ("bad audio", "Bad Request", None)
    assert error_fields(modern) == ("Invalid credentials.: Invalid API key.", "INVALID_AUTH", None)


# ---- check ---------------------------------------------------------------------------------


def test_check_lists_projects_with_the_token(fake):
    found = check(fake.url)
    req = fake.last_request
    assert req.path == "/v1/projects" and req.headers["authorization"] == "Token dg-test"
    assert found["reachable"] is True and found["key_accepted"] is True
    assert check(fake.url, key="bad-key")["key_accepted"] is False
    assert check("http://127.0.0.1:9")["reachable"] is False
