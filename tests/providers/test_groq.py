"""GroqProvider against the loopback FakeGroq over real HTTP: the OpenAI-shaped multipart request under
/openai/v1, srt/vtt rendered from verbose_json segments, the 10 s billing minimum, limits and errors."""

from __future__ import annotations

import asyncio
import json
import wave
from pathlib import Path
from typing import Any

import httpx
import pytest
import srt

from aigw import errors
from aigw.providers.groq import UPLOAD_LIMIT_BYTES, GroqProvider, api_root
from aigw.settings.model import ProviderSettings
from aigw.types import AudioUpload, TranscribeCall
from tests.fakes._server import Fault
from tests.fakes.groq import FakeGroq

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hello.wav"


@pytest.fixture
def fake():
    with FakeGroq(api_key="gsk-test") as server:
        yield server
    assert not server.errors, server.errors


def provider(client: httpx.AsyncClient | None, base_url: str, key: str = "gsk-test") -> GroqProvider:
    return GroqProvider("groq", ProviderSettings(api_key=key, base_url=base_url), client)


def upload(path: Path = EXAMPLE, size: int | None = None, duration: float | None = 4.864875) -> AudioUpload:
    return AudioUpload(path=path, filename=path.name, content_type="audio/wav",
                       size_bytes=size if size is not None else path.stat().st_size, duration_s=duration)


def call(model: str = "whisper-large-v3", **kw: Any) -> TranscribeCall:
    return TranscribeCall(provider_model=model, audio=kw.pop("audio", None) or upload(), **kw)


def transcribe(base_url: str, c: TranscribeCall, key: str = "gsk-test") -> Any:
    async def go() -> Any:
        async with httpx.AsyncClient() as client:
            p = provider(client, base_url, key)
            prepared, _ = p.prepare_transcribe(c)
            return await p.transcribe(prepared, timeout=30)
    return asyncio.run(go())


def check(base_url: str, key: str = "gsk-test") -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        async with httpx.AsyncClient() as client:
            return await provider(client, base_url, key).check(timeout=5)
    return asyncio.run(go())


def silence(path: Path, seconds: float) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x00\x00" * int(16000 * seconds))
    return path


# ---- request shape ---------------------------------------------------------------------------


def test_json_goes_to_openai_v1_as_multipart_with_bearer_auth(fake):
    out = transcribe(fake.url, call(format="json", language="en", prompt="fox", temperature=0.2))
    req = fake.last_request
    assert req.path == "/openai/v1/audio/transcriptions" and req.headers["authorization"] == "Bearer gsk-test"
    assert req.files["file"].filename == "hello.wav" and req.files["file"].content_type == "audio/wav"
    assert req.files["file"].size == EXAMPLE.stat().st_size
    assert req.form == {"model": "whisper-large-v3", "response_format": "json", "language": "en", "prompt": "fox",
                        "temperature": "0.2"}
    assert json.loads(out.body)["x_groq"]["id"].startswith("req_") and out.text == fake.transcript
    assert out.format == "json" and out.http_status == 200


def test_a_base_url_with_the_api_prefix_is_used_as_given(fake):
    assert api_root("https://api.groq.com") == "https://api.groq.com/openai/v1"
    assert api_root("https://api.groq.com/openai/v1/") == "https://api.groq.com/openai/v1"
    transcribe(fake.base_url, call(format="json"))
    assert fake.last_request.path == "/openai/v1/audio/transcriptions"


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_subtitles_are_asked_as_verbose_json_and_rendered_from_segments(fake, fmt):
    fake.transcript = "Welcome to the gateway. Every result is kept on disk."
    out = transcribe(fake.url, call(format=fmt))
    req = fake.last_request
    assert req.form["response_format"] == "verbose_json"
    assert req.form_list("timestamp_granularities[]") == ["segment"]
    assert out.format == fmt and out.text == fake.transcript
    if fmt == "srt":
        subs = list(srt.parse(out.body))
        assert [s.content for s in subs] == ["Welcome to the gateway.", "Every result is kept on disk."]
        assert subs[0].start.total_seconds() == 0 and subs[1].end.total_seconds() == pytest.approx(4.865, abs=0.01)
    else:
        assert out.body.startswith("WEBVTT") and "Every result is kept on disk." in out.body


def test_verbose_json_passes_through_and_word_timestamps_ask_for_both_granularities(fake):
    out = transcribe(fake.url, call(format="verbose_json", timestamps="word"))
    req = fake.last_request
    assert req.form_list("timestamp_granularities[]") == ["segment", "word"]
    doc = json.loads(out.body)
    assert doc["words"] and doc["segments"] and "x_groq" in doc and out.language == "english"


def test_text_is_plain_text_on_the_wire(fake):
    out = transcribe(fake.url, call(format="text"))
    assert fake.last_request.form["response_format"] == "text"
    assert out.body.strip() == fake.transcript and out.usage is not None


# ---- billing ---------------------------------------------------------------------------------


def test_short_audio_is_billed_the_10_second_minimum(fake):
    out = transcribe(fake.url, call(format="json"))
    assert out.duration_s == pytest.approx(4.864875) and out.usage.seconds == 10.0


def test_longer_audio_is_billed_its_length(fake, tmp_path):
    path = silence(tmp_path / "long.wav", 12.5)
    out = transcribe(fake.url, call(format="verbose_json", audio=upload(path, duration=12.5)))
    assert out.usage.seconds == pytest.approx(12.5)


# ---- mapping and limits ----------------------------------------------------------------------


def test_the_25_mb_cap_is_declared_for_long_recordings(fake):
    """A file over it is re-encoded and cut to fit before any request (engine/chunks.py reads
    upload_limit_bytes), so prepare_transcribe itself no longer refuses it."""
    from aigw.providers.groq import GroqProvider

    assert GroqProvider.upload_limit_bytes == UPLOAD_LIMIT_BYTES == 26_214_400


def test_turbo_does_not_translate(fake):
    with pytest.raises(errors.UsageError) as info:
        provider(None, fake.url).prepare_transcribe(call("whisper-large-v3-turbo", translate=True))
    assert "whisper-large-v3" in info.value.hint


def test_translation_goes_to_the_translations_route_without_language(fake):
    c, notes = provider(None, fake.url).prepare_transcribe(call(translate=True, language="de", format="srt"))
    assert c.language is None and any("into English" in n for n in notes)
    out = transcribe(fake.url, c)
    req = fake.last_request
    assert req.path == "/openai/v1/audio/translations" and "language" not in req.form
    assert "-->" in out.body


def test_timestamps_outside_verbose_json_are_dropped_with_a_warning():
    c, notes = provider(None, "http://127.0.0.1:9").prepare_transcribe(call(format="json", timestamps="word"))
    assert c.timestamps is None and any("verbose_json" in n for n in notes)


# ---- errors ----------------------------------------------------------------------------------


def test_a_bad_key_is_an_auth_error_naming_the_variable(fake):
    with pytest.raises(errors.AuthError) as info:
        transcribe(fake.url, call(format="json"), key="bad-key")
    assert info.value.status == 401 and "GROQ_API_KEY" in info.value.hint


def test_429_carries_retry_after(fake):
    fake.inject(Fault(status=429), route="/audio/transcriptions")
    with pytest.raises(errors.RateLimitedError) as info:
        transcribe(fake.url, call(format="json"))
    assert info.value.retry_after == 2.0


def test_503_is_retryable(fake):
    fake.inject(Fault(status=503), route="/audio/transcriptions")
    with pytest.raises(errors.RetryableError) as info:
        transcribe(fake.url, call(format="json"))
    assert info.value.status == 503 and not isinstance(info.value, errors.RateLimitedError)


def test_413_from_the_server_is_a_bad_request():
    with FakeGroq(max_body_bytes=10_000) as small:
        with pytest.raises(errors.BadRequestError) as info:
            transcribe(small.url, call(format="json"))
    assert info.value.status == 413


def test_the_fake_refuses_srt_like_groq_so_the_provider_must_render_it(fake):
    with httpx.Client() as client:
        resp = client.post(fake.url + "/openai/v1/audio/transcriptions", headers={"Authorization": "Bearer gsk-test"},
                           data={"model": "whisper-large-v3", "response_format": "srt"},
                           files={"file": ("hello.wav", EXAMPLE.read_bytes(), "audio/wav")})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "response_format"
    out = transcribe(fake.url, call(format="srt"))
    assert list(srt.parse(out.body))


# ---- check -----------------------------------------------------------------------------------


def test_check_lists_models(fake):
    found = check(fake.url)
    assert found["reachable"] is True and found["key_accepted"] is True
    assert fake.last_request.path == "/openai/v1/models" and "GET /openai/v1/models" in found["detail"]


def test_check_with_a_bad_key_and_with_nothing_listening(fake):
    assert check(fake.url, key="bad-key")["key_accepted"] is False
    assert check("http://127.0.0.1:9")["reachable"] is False
