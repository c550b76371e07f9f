"""Tests of the OpenAI fake itself (and, through it, of the shared loopback base)."""

from __future__ import annotations

import base64
import io
import functools
import json
import ssl
import threading
import time
import wave
from typing import Any, Iterator

import httpx
import pytest
from PIL import Image

from tests.fakes._server import Fault, parse_multipart
from tests.fakes.openai import FakeOpenAI, insufficient_quota, rate_limited

KEY = "sk-test-0123456789"
# Building an SSL context costs ~25 ms per httpx client; share one so the file stays fast.
_SSL = ssl.create_default_context()
get = functools.partial(httpx.get, verify=_SSL)
post = functools.partial(httpx.post, verify=_SSL)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server
    assert not server.errors, server.errors  # a crash inside the fake must fail the test


@pytest.fixture
def client(fake: FakeOpenAI) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.base_url, headers={"Authorization": f"Bearer {KEY}"}, timeout=5, verify=_SSL) as c:
        yield c


def wav_bytes(seconds: float, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(seconds * rate))
    return buf.getvalue()


def transcribe(client: httpx.Client, audio: bytes | None = None, filename: str = "clip.wav", **fields: Any) -> httpx.Response:
    data = {"model": "whisper-1", **fields}
    files = {"file": (filename, audio if audio is not None else wav_bytes(2.0), "audio/wav")}
    return client.post("/audio/transcriptions", data=data, files=files)


def decode_image(b64: str) -> Image.Image:
    img = Image.open(io.BytesIO(base64.b64decode(b64)))
    img.load()  # forces full decode (CRC + zlib stream), not just the header
    return img


# --------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "size", "quality", "tokens"),
    [
        ("gpt-image-2", "1024x1024", "medium", 1056),
        ("gpt-image-1.5", "1024x1536", "low", 408),
        ("gpt-image-2", "1280x720", "high", round(4160 * 1280 * 720 / 1024**2)),
        ("gpt-image-1-mini", "auto", "auto", 1056),  # auto size -> 1024x1024, auto quality -> medium
    ],
)
def test_gpt_image_returns_real_png_and_usage(
    client: httpx.Client, model: str, size: str, quality: str, tokens: int
) -> None:
    r = client.post("/images/generations", json={"model": model, "prompt": "a red fox", "size": size, "quality": quality, "n": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert {"created", "data", "usage", "size", "quality", "output_format", "background"} <= body.keys()
    assert len(body["data"]) == 2 and all(set(d) == {"b64_json"} for d in body["data"])
    img = decode_image(body["data"][0]["b64_json"])
    expected = "1024x1024" if size == "auto" else size
    assert img.format == "PNG" and f"{img.width}x{img.height}" == expected == body["size"]
    assert body["quality"] == ("medium" if quality == "auto" else quality)
    assert body["usage"]["output_tokens"] == 2 * tokens
    assert body["usage"]["total_tokens"] == body["usage"]["input_tokens"] + body["usage"]["output_tokens"]


@pytest.mark.parametrize(("fmt", "pil"), [("jpeg", "JPEG"), ("webp", "WEBP")])
def test_gpt_image_output_formats(client: httpx.Client, fmt: str, pil: str) -> None:
    r = client.post("/images/generations", json={"model": "gpt-image-1.5", "prompt": "x", "output_format": fmt, "output_compression": 80})
    assert r.status_code == 200, r.text
    img = decode_image(r.json()["data"][0]["b64_json"])
    assert img.format == pil and img.size == (1024, 1024)


def test_transparent_background_png_has_alpha(client: httpx.Client) -> None:
    r = client.post("/images/generations", json={"model": "gpt-image-2", "prompt": "x", "background": "transparent"})
    assert r.json()["background"] == "transparent"
    assert decode_image(r.json()["data"][0]["b64_json"]).mode == "RGBA"


def test_retired_model_gets_model_not_found(client: httpx.Client) -> None:
    r = client.post("/images/generations", json={"model": "dall-e-3", "prompt": "x"})
    assert r.status_code == 404
    assert r.json() == {
        "error": {
            "message": "The model `dall-e-3` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
        }
    }


def test_dalle_url_flow_with_serve_retired(fake: FakeOpenAI, client: httpx.Client) -> None:
    fake.serve_retired = True
    r = client.post("/images/generations", json={"model": "dall-e-3", "prompt": "a cat", "size": "1792x1024", "quality": "hd"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"created", "data"}  # no usage/size/quality for dall-e
    item = body["data"][0]
    assert item["revised_prompt"] and "b64_json" not in item
    got = get(item["url"])  # no auth: a signed blob URL
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(got.content)).size == (1792, 1024)
    fake.expire_files()
    assert get(item["url"]).status_code == 403


def test_dalle2_b64_json(fake: FakeOpenAI, client: httpx.Client) -> None:
    fake.serve_retired = True
    r = client.post("/images/generations", json={"model": "dall-e-2", "prompt": "x", "size": "256x256", "response_format": "b64_json", "n": 3})
    data = r.json()["data"]
    assert len(data) == 3 and "revised_prompt" not in data[0]
    assert decode_image(data[0]["b64_json"]).size == (256, 256)


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        ({"model": "gpt-image-1.5", "prompt": "x", "size": "1792x1024"}, "size"),
        ({"model": "gpt-image-1.5", "prompt": "x", "quality": "hd"}, "quality"),
        ({"model": "gpt-image-1.5", "prompt": "x", "quality": "xhigh"}, "quality"),
        ({"model": "gpt-image-1.5", "prompt": "x", "response_format": "url"}, "response_format"),
        ({"model": "gpt-image-1.5", "prompt": "x", "style": "vivid"}, "style"),
        ({"model": "gpt-image-1.5", "prompt": "x", "output_format": "bmp"}, "output_format"),
        ({"model": "gpt-image-1.5", "prompt": "x", "n": 11}, "n"),
        ({"model": "gpt-image-1.5", "prompt": "x", "n": "2"}, "n"),
        ({"model": "gpt-image-1.5", "prompt": "x", "seed": 3}, "seed"),
        ({"model": "gpt-image-1.5", "prompt": "x", "output_compression": 50}, "output_compression"),
        ({"model": "gpt-image-1.5", "prompt": "x", "background": "transparent", "output_format": "jpeg"}, "background"),
        ({"model": "gpt-image-1.5"}, "prompt"),
        ({"model": "gpt-image-1.5", "prompt": "x" * 32_001}, "prompt"),
        ({"model": "gpt-image-2", "prompt": "x", "size": "1000x1000"}, "size"),  # not /16
        ({"model": "gpt-image-2", "prompt": "x", "size": "2048x512"}, "size"),  # 4:1
        ({"model": "gpt-image-2", "prompt": "x", "size": "3840x2176"}, "size"),  # > 3840x2160
        ({"model": "dall-e-3", "prompt": "x", "n": 2}, "n"),
        ({"model": "dall-e-3", "prompt": "x" * 4001}, "prompt"),
        ({"model": "dall-e-2", "prompt": "x", "style": "vivid"}, "style"),
        ({"model": "dall-e-2", "prompt": "x", "size": "1024x1792"}, "size"),
        ({"model": "dall-e-3", "prompt": "x", "output_format": "png"}, "output_format"),
    ],
)
def test_invalid_image_params_name_the_field(fake: FakeOpenAI, client: httpx.Client, payload: dict[str, Any], param: str) -> None:
    fake.serve_retired = True
    r = client.post("/images/generations", json=payload)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error" and err["param"] == param and err["message"]


def test_gpt_image_2_custom_size_and_25_quality(client: httpx.Client) -> None:
    r = client.post("/images/generations", json={"model": "gpt-image-2.5-flare", "prompt": "x", "size": "2160x3840", "quality": "xhigh"})
    assert r.status_code == 200, r.text
    assert decode_image(r.json()["data"][0]["b64_json"]).size == (2160, 3840)


def test_content_policy(fake: FakeOpenAI, client: httpx.Client) -> None:
    r = client.post("/images/generations", json={"model": "gpt-image-2", "prompt": "something Forbidden"})
    assert r.status_code == 400
    err = r.json()["error"]
    assert (err["type"], err["code"]) == ("image_generation_user_error", "moderation_blocked")
    assert err["moderation_details"]["moderation_stage"] == "input"
    assert r.headers["x-request-id"] in err["message"]
    fake.serve_retired = True
    r = client.post("/images/generations", json={"model": "dall-e-3", "prompt": "forbidden"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "content_policy_violation"


def test_image_streaming_sse(client: httpx.Client) -> None:
    r = client.post("/images/generations", json={"model": "gpt-image-2", "prompt": "x", "stream": True, "partial_images": 2})
    assert r.headers["content-type"].startswith("text/event-stream")
    events = [line[7:] for line in r.text.splitlines() if line.startswith("event: ")]
    assert events == ["image_generation.partial_image"] * 2 + ["image_generation.completed"]


# --------------------------------------------------------------------------------------------
# Auth, headers, models, routing
# --------------------------------------------------------------------------------------------


def test_auth_and_common_headers(fake: FakeOpenAI, client: httpx.Client) -> None:
    missing = get(fake.base_url + "/models")
    bad = get(fake.base_url + "/models", headers={"Authorization": "Bearer bad-key"})
    for r in (missing, bad):
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    ok = client.get("/models")
    assert ok.status_code == 200
    ids = {m["id"] for m in ok.json()["data"]}
    assert {"gpt-image-2", "whisper-1", "gpt-transcribe"} <= ids and not ids & {"dall-e-3", "gpt-image-1"}
    for r in (missing, ok):
        assert r.headers["x-request-id"].startswith("req_")
        for h in ("openai-processing-ms", "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"):
            assert h in r.headers
    assert client.get("/models/whisper-1").json()["id"] == "whisper-1"
    assert client.get("/models/dall-e-2").status_code == 404


def test_unknown_route_is_openai_404(client: httpx.Client) -> None:
    r = client.post("/images/variations", json={})
    assert r.status_code == 404
    assert r.json()["error"]["message"] == "Invalid URL (POST /v1/images/variations)"


def test_gateway_style_prefix_routes_and_api_key_auth() -> None:
    with FakeOpenAI(prefix="/ai", images_path="/images", transcriptions_path="/transcriptions", auth="api-key", extra_headers={"X-Kong-LLM-Model": "openai/gpt-image-1.5"}) as gw:
        assert gw.base_url.endswith("/ai")
        r = post(gw.base_url + "/images", json={"model": "gpt-image-1.5", "prompt": "x"}, headers={"api-key": "k"})
        assert r.status_code == 200 and r.headers["x-kong-llm-model"] == "openai/gpt-image-1.5"
        assert post(gw.base_url + "/images", json={"model": "gpt-image-1.5", "prompt": "x"}).status_code == 401
        r = post(gw.base_url + "/transcriptions", data={"model": "whisper-1"}, files={"file": ("a.wav", wav_bytes(1), "audio/wav")}, headers={"api-key": "k"})
        assert r.json()["text"]
    with FakeOpenAI(prefix="", auth="none") as bare:
        assert get(bare.url + "/models").status_code == 200


# --------------------------------------------------------------------------------------------
# Audio
# --------------------------------------------------------------------------------------------


def test_transcription_json_duration_usage_from_wav(client: httpx.Client) -> None:
    r = transcribe(client, wav_bytes(2.5))
    assert r.status_code == 200, r.text
    assert r.json() == {"text": "The quick brown fox jumps over the lazy dog.", "usage": {"type": "duration", "seconds": 3}}


def test_transcription_token_usage_for_gpt4o(fake: FakeOpenAI, client: httpx.Client) -> None:
    fake.transcript = "Hallo Welt."
    body = transcribe(client, model="gpt-4o-mini-transcribe", language="de").json()
    assert body["text"] == "Hallo Welt."
    usage = body["usage"]
    assert usage["type"] == "tokens"
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["input_token_details"]["audio_tokens"] > 0


@pytest.mark.parametrize("fmt", ["text", "srt", "vtt", "verbose_json"])
def test_gpt4o_transcribe_is_json_only(client: httpx.Client, fmt: str) -> None:
    r = transcribe(client, model="gpt-4o-transcribe", response_format=fmt)
    assert r.status_code == 400 and r.json()["error"]["param"] == "response_format"


def test_transcription_plain_text_formats(client: httpx.Client) -> None:
    text = transcribe(client, response_format="text")
    assert text.headers["content-type"].startswith("text/plain")
    assert text.text == "The quick brown fox jumps over the lazy dog.\n"
    srt = transcribe(client, response_format="srt")
    assert srt.headers["content-type"].startswith("text/plain")
    assert srt.text == "1\n00:00:00,000 --> 00:00:02,000\nThe quick brown fox jumps over the lazy dog.\n\n"
    vtt = transcribe(client, response_format="vtt")
    assert vtt.text == "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nThe quick brown fox jumps over the lazy dog.\n\n"


def test_srt_multiple_cues(fake: FakeOpenAI, client: httpx.Client) -> None:
    fake.transcript = "One two. Six ten."  # equal lengths -> equal time shares
    srt = transcribe(client, wav_bytes(4.0), response_format="srt").text
    assert srt.split("\n\n")[1].startswith("2\n00:00:02,000 --> 00:00:04,000\nSix ten.")


def test_verbose_json_segments_and_words(client: httpx.Client) -> None:
    plain = transcribe(client, response_format="verbose_json").json()
    assert (plain["task"], plain["language"], plain["duration"]) == ("transcribe", "english", 2.0)
    assert "words" not in plain
    seg = plain["segments"][0]
    assert set(seg) == {"id", "seek", "start", "end", "text", "tokens", "temperature", "avg_logprob", "compression_ratio", "no_speech_prob"}
    r = client.post(
        "/audio/transcriptions",
        data={"model": "whisper-1", "response_format": "verbose_json", "timestamp_granularities[]": ["word", "segment"]},
        files={"file": ("a.wav", wav_bytes(2.0), "audio/wav")},
    )
    body = r.json()
    assert [w["word"] for w in body["words"]][:3] == ["The", "quick", "brown"] and body["segments"]
    words_only = client.post(
        "/audio/transcriptions",
        data={"model": "whisper-1", "response_format": "verbose_json", "timestamp_granularities[]": "word"},
        files={"file": ("a.wav", wav_bytes(2.0), "audio/wav")},
    ).json()
    assert "words" in words_only and "segments" not in words_only


def test_audio_validation_errors(client: httpx.Client) -> None:
    assert transcribe(client, model="nope").status_code == 404
    assert transcribe(client, filename="clip.txt").json()["error"]["param"] == "file"
    assert transcribe(client, b"").json()["error"]["code"] == "audio_too_short"
    assert transcribe(client, temperature="1.5").json()["error"]["param"] == "temperature"
    assert transcribe(client, language="english").json()["error"]["param"] == "language"
    assert transcribe(client, response_format="json", **{"timestamp_granularities[]": "word"}).json()["error"]["param"] == "timestamp_granularities"
    r = client.post("/audio/transcriptions", data={"model": "whisper-1"})
    assert r.status_code == 400
    r = client.post("/audio/transcriptions", files={"file": ("a.wav", wav_bytes(1), "audio/wav")})
    assert r.json()["error"]["param"] == "model"


def test_body_cap_413(fake: FakeOpenAI, client: httpx.Client) -> None:
    fake.max_body_bytes = 10_000
    r = transcribe(client, wav_bytes(1.0))  # 16 KB of samples
    assert r.status_code == 413
    n = fake.last_request.body_size
    assert n > 10_000 and fake.last_request.too_large
    assert r.json()["error"]["message"] == f"Maximum content size limit (10000) exceeded ({n} bytes read)"
    assert transcribe(client, wav_bytes(0.2)).status_code == 200  # connection still usable


def test_chunked_multipart_upload_is_parsed_and_logged(fake: FakeOpenAI, client: httpx.Client) -> None:
    audio = wav_bytes(3.0)
    boundary = "fakeboundary1234"
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"long.wav\"\r\n"
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def stream() -> Iterator[bytes]:  # a generator body makes httpx use Transfer-Encoding: chunked
        yield head
        for i in range(0, len(audio), 7_000):
            yield audio[i : i + 7_000]
        yield tail

    r = client.post("/audio/transcriptions", content=stream(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 200, r.text
    assert r.json()["usage"] == {"type": "duration", "seconds": 3}
    req = fake.last_request
    assert req.chunked and "content-length" not in req.headers
    assert req.form == {"model": "whisper-1"}
    f = req.files["file"]
    assert (f.filename, f.content_type, f.size, f.data) == ("long.wav", "audio/wav", len(audio), audio)
    assert req.body_size == len(head) + len(audio) + len(tail)


def test_multipart_parser_is_linear_on_large_bodies() -> None:
    blob = bytes(range(256)) * (20 * 1024 * 1024 // 256)  # 20 MiB with every byte value
    body = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.mp3\"\r\n\r\n" + blob + b"\r\n--b--\r\n"
    t0 = time.perf_counter()
    fields, files = parse_multipart(body, "multipart/form-data; boundary=b")
    assert time.perf_counter() - t0 < 1.0
    assert fields == [] and files[0].data == blob


def test_request_log_records_fields(fake: FakeOpenAI, client: httpx.Client) -> None:
    client.post("/images/generations?trace=1", json={"model": "gpt-image-2", "prompt": "log me"}, headers={"OpenAI-Project": "proj_1"})
    transcribe(client, language="en")
    img_req, audio_req = fake.requests
    assert (img_req.method, img_req.path, img_req.query) == ("POST", "/v1/images/generations", {"trace": "1"})
    assert img_req.headers["openai-project"] == "proj_1" and img_req.headers["authorization"] == f"Bearer {KEY}"
    assert img_req.json == {"model": "gpt-image-2", "prompt": "log me"} and img_req.status == 200
    assert img_req.body_size == len(img_req.body) > 0
    assert audio_req.form["language"] == "en" and audio_req.files["file"].filename == "clip.wav"
    assert fake.count("/images/generations") == 1 and fake.count() == 2
    assert fake.counts == {"/v1/images/generations": 1, "/v1/audio/transcriptions": 1}


# --------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------

IMG = {"model": "gpt-image-2", "prompt": "x"}


def test_fault_status_with_retry_headers_then_recovers(fake: FakeOpenAI, client: httpx.Client) -> None:
    fake.inject(rate_limited(retry_after=2, retry_after_ms=150, reset_requests="2s"), route="/images/generations")
    fake.inject(Fault(status=503, headers={"x-should-retry": "true"}), route="/images/generations")
    r = client.post("/images/generations", json=IMG)
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limit_exceeded"
    assert (r.headers["retry-after"], r.headers["retry-after-ms"], r.headers["x-ratelimit-reset-requests"]) == ("2", "150", "2s")
    assert r.headers["x-ratelimit-remaining-requests"] == "0"
    assert transcribe(client).status_code == 200  # other route unaffected by route-scoped faults
    r = client.post("/images/generations", json=IMG)
    assert r.status_code == 503 and r.json()["error"]["type"] == "server_error" and r.headers["x-should-retry"] == "true"
    assert client.post("/images/generations", json=IMG).status_code == 200
    assert fake.count("/images/generations") == 3 and fake.pending_faults() == 0


def test_fault_custom_body_times_and_any_route(fake: FakeOpenAI, client: httpx.Client) -> None:
    fake.inject(insufficient_quota(), times=2)
    assert client.get("/models").json()["error"]["code"] == "insufficient_quota"
    assert transcribe(client).status_code == 429
    assert client.get("/models").status_code == 200
    fake.inject(Fault(status=502, body="<html>Bad gateway</html>", content_type="text/html"), times=None)
    for _ in range(3):
        r = client.get("/models")
        assert r.status_code == 502 and r.headers["content-type"] == "text/html" and "x-request-id" in r.headers
    fake.clear_faults()
    assert client.get("/models").status_code == 200


def test_fault_delay(fake: FakeOpenAI, client: httpx.Client) -> None:
    fake.inject(Fault(delay=0.15))
    t0 = time.monotonic()
    r = client.post("/images/generations", json=IMG)
    assert r.status_code == 200 and time.monotonic() - t0 >= 0.15
    assert fake.last_request.fault == Fault(delay=0.15)


def test_fault_reset_is_a_transport_error(fake: FakeOpenAI, client: httpx.Client) -> None:
    fake.inject(Fault(reset=True))
    with pytest.raises(httpx.TransportError):
        client.post("/images/generations", json=IMG)
    assert client.post("/images/generations", json=IMG).status_code == 200  # pool recovers


def test_fault_empty(fake: FakeOpenAI, client: httpx.Client) -> None:
    fake.inject(Fault(empty=True), route="/images/generations")
    fake.inject(Fault(empty=True), route="/audio/transcriptions", times=2)
    r = client.post("/images/generations", json=IMG)
    assert r.status_code == 200 and r.json()["data"] == []
    assert transcribe(client).json()["text"] == ""
    assert transcribe(client, response_format="text").text == ""


def test_fault_malformed(fake: FakeOpenAI, client: httpx.Client) -> None:
    fake.inject(Fault(malformed=True))
    r = client.post("/images/generations", json=IMG)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        r.json()


def test_fault_hang_times_out_and_stop_is_prompt() -> None:
    server = FakeOpenAI().start()
    server.inject(Fault(hang=True), times=2)
    headers = {"Authorization": f"Bearer {KEY}"}
    with pytest.raises(httpx.ReadTimeout):
        post(server.base_url + "/images/generations", json=IMG, headers=headers, timeout=0.2)
    # A second request is still hanging in a background thread when we stop the server.
    outcome: list[BaseException | httpx.Response] = []

    def call() -> None:
        try:
            outcome.append(post(server.base_url + "/images/generations", json=IMG, headers=headers, timeout=5))
        except BaseException as exc:  # noqa: BLE001 - record whatever the client saw
            outcome.append(exc)

    t = threading.Thread(target=call)
    t.start()
    assert server.wait_for_requests(2, timeout=2)
    t0 = time.monotonic()
    server.stop()
    assert time.monotonic() - t0 < 1.0
    t.join(timeout=2)
    assert len(outcome) == 1 and isinstance(outcome[0], httpx.TransportError)
    assert server.requests[-1].status is None  # never answered


def test_fault_validation() -> None:
    with pytest.raises(ValueError):
        Fault(status=500, hang=True)
    with pytest.raises(ValueError):
        Fault()
    assert Fault.http(429, retry_after="3").headers == {"retry-after": "3"}
