"""Text, SRT and WebVTT transcripts through OpenAI-compatible servers, however a gateway packs them:
plain text (OpenAI), LiteLLM's {"text": ...}, Portkey's {"html-message": ...} (shapes seen from the real
products in tests/gateway), another field name; and what cannot be read names the provider."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from aigw import errors
from aigw.providers.openai import OpenAIProvider
from aigw.settings.model import ProviderSettings
from aigw.types import AudioUpload, ProviderTranscript, TranscribeCall

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hello.wav"
SRT = "1\n00:00:00,000 --> 00:00:04,865\nWelcome to the gateway.\n\n"
VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:04.865\nWelcome to the gateway.\n\n"
TEXT = "Welcome to the gateway.\n"
BODIES = {"srt": SRT, "vtt": VTT, "text": TEXT}


def transcribe(fmt: str, answer: httpx.Response) -> ProviderTranscript:
    def handler(request: httpx.Request) -> httpx.Response:
        assert b'name="response_format"\r\n\r\n' + fmt.encode() in request.read()
        return answer

    async def go() -> ProviderTranscript:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            p = OpenAIProvider("gw", ProviderSettings(api_key="k", base_url="http://gw.test/v1"), client)
            audio = AudioUpload(path=EXAMPLE, filename="hello.wav", content_type="audio/wav",
                                size_bytes=EXAMPLE.stat().st_size, duration_s=4.864875)
            return await p.transcribe(TranscribeCall(provider_model="whisper-1", audio=audio, format=fmt), timeout=5)
    return asyncio.run(go())


def as_json(payload: Any) -> httpx.Response:
    return httpx.Response(200, json=payload)


@pytest.mark.parametrize("fmt", ["text", "srt", "vtt"])
@pytest.mark.parametrize("answer", [
    pytest.param(lambda body: httpx.Response(200, text=body, headers={"content-type": "text/plain"}), id="plain"),
    pytest.param(lambda body: as_json({"text": body}), id="litellm"),
    pytest.param(lambda body: as_json({"html-message": body}), id="portkey"),
    pytest.param(lambda body: as_json({"result": body, "cached": False, "latency_ms": 12}), id="other-gateway"),
    pytest.param(lambda body: httpx.Response(200, text=json.dumps({"html-message": body}),
                                             headers={"content-type": "text/plain"}), id="json-as-text/plain"),
])
def test_the_body_comes_back_in_the_format_asked(fmt, answer):
    out = transcribe(fmt, answer(BODIES[fmt]))
    assert out.body == BODIES[fmt] and out.format == fmt
    assert out.text == "Welcome to the gateway."
    assert out.usage is not None and out.usage.seconds == pytest.approx(4.864875)


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_subtitles_are_the_one_string_that_looks_like_them(fmt):
    out = transcribe(fmt, as_json({"id": "req_1", "result": BODIES[fmt], "model": "whisper-1", "text": "Welcome."}))
    assert out.body == BODIES[fmt] and out.text == "Welcome to the gateway."


def test_a_wrapper_s_duration_language_and_usage_are_kept():
    out = transcribe("srt", as_json({"text": SRT, "language": "english", "duration": 4.5,
                                     "usage": {"type": "duration", "seconds": 5}}))
    assert (out.body, out.language, out.duration_s, out.usage.seconds if out.usage else None) == (SRT, "english", 4.5, 5)


@pytest.mark.parametrize(("fmt", "payload"), [
    # An ordinary JSON transcript is no SRT or VTT: the server ignored the format asked for.
    ("srt", {"text": "Welcome to the gateway.", "usage": {"type": "duration", "seconds": 5}}),
    ("vtt", {"text": "Welcome to the gateway.", "segments": []}),
    ("vtt", {"html-message": SRT}),  # SRT is not what was asked
    ("srt", {"html-message": VTT}),  # nor the other way round
    ("srt", {"a": SRT, "b": SRT.replace("gateway", "proxy")}),  # two different bodies: which one?
    ("text", {"html-message": TEXT, "provider": "openai"}),  # no `text` field and more than one
    ("srt", {"data": {"srt": SRT}}),
])
def test_what_cannot_be_told_apart_is_a_retryable_error_naming_the_provider_and_the_answer(fmt, payload):
    answer = as_json(payload)
    with pytest.raises(errors.RetryableError) as exc:
        transcribe(fmt, answer)
    assert str(exc.value).startswith(f"gw: asked for {fmt}, got a JSON object with ")
    assert str(exc.value).endswith(": " + repr(answer.text))  # what came back, whole when short
    assert exc.value.provider == "gw" and exc.value.status == 200


def test_a_long_answer_is_shortened_in_the_message():
    answer = as_json({"text": "word " * 2000})
    with pytest.raises(errors.RetryableError) as exc:
        transcribe("srt", answer)
    assert len(str(exc.value)) < 400 and str(exc.value).endswith(f"… ({len(answer.text):,} characters)")


@pytest.mark.parametrize("raw", ["[1, 2]", '{"text": "1\\n00:00'])
def test_json_that_is_no_object_is_named(raw):
    with pytest.raises(errors.RetryableError) as exc:
        transcribe("vtt", httpx.Response(200, text=raw, headers={"content-type": "application/json"}))
    assert str(exc.value) == f"gw: asked for vtt, got a JSON answer that is no JSON object: {raw!r}"


@pytest.mark.parametrize("fmt", ["text", "srt", "vtt"])
def test_an_empty_wrapped_body_is_an_empty_result(fmt):
    with pytest.raises(errors.EmptyResultError, match="gw: empty transcript"):
        transcribe(fmt, as_json({"html-message": "\n"}))


def test_plain_text_that_happens_to_start_with_a_brace_is_still_text():
    out = transcribe("text", httpx.Response(200, text="{laughs} welcome", headers={"content-type": "text/plain"}))
    assert out.body == out.text == "{laughs} welcome"
