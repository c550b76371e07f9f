"""Tests of FakeReplicate itself: the wire behaviour the Replicate adapter's tests rely on."""

from __future__ import annotations

import base64
import io
import time
import wave
from typing import Iterator

import httpx
import pytest
from PIL import Image

from tests.fakes._server import Fault
from tests.fakes.replicate import FLUX, SDXL_VERSION, WHISPER_VERSION, FakeReplicate

AUTH = {"Authorization": "Bearer r8_test"}


@pytest.fixture
def fake() -> Iterator[FakeReplicate]:
    with FakeReplicate() as server:
        yield server
    assert not server.errors, server.errors


@pytest.fixture
def client(fake: FakeReplicate) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.url, headers=AUTH, timeout=5) as c:
        yield c


def flux(client: httpx.Client, prefer: str | None = None, **values: object) -> httpx.Response:
    headers = {"Prefer": prefer} if prefer else {}
    return client.post(f"/v1/models/{FLUX}/predictions", json={"input": {"prompt": "a fox", **values}}, headers=headers)


def test_create_without_prefer_starts_and_polls_through_to_succeeded(fake, client):
    fake.polls_to_finish = 2
    created = flux(client)
    assert created.status_code == 201 and created.json()["status"] == "starting"
    assert "preference-applied" not in created.headers and created.headers["ratelimit-remaining"]
    get = created.json()["urls"]["get"]
    assert client.get(get).json()["status"] == "processing"
    done = client.get(get).json()
    assert done["status"] == "succeeded" and done["metrics"]["predict_time"] == 1.25
    image = httpx.get(done["output"][0])  # the delivery CDN takes no token
    with Image.open(io.BytesIO(image.content)) as img:
        assert (img.format, img.size) == ("WEBP", (1024, 1024))


def test_prefer_wait_is_applied_and_can_run_out_as_starting(fake, client):
    assert flux(client, "wait=5").headers["preference-applied"] == "wait=5"
    fake.wait_outcome, fake.hold = "starting", 0.2
    t0 = time.monotonic()
    held = flux(client, "wait=1")
    assert held.json()["status"] == "starting" and 0.15 < time.monotonic() - t0 < 1.0
    fake.wait_outcome = "processing"
    quirk = flux(client, "wait").json()
    assert quirk["status"] == "processing" and quirk["output"]


def test_community_models_need_the_version_route(fake, client):
    r = client.post("/v1/models/stability-ai/sdxl/predictions", json={"input": {"prompt": "x"}})
    assert r.status_code == 404 and r.json() == {"detail": "The requested resource could not be found.", "status": 404}
    ok = client.post("/v1/predictions", json={"version": SDXL_VERSION, "input": {"prompt": "x", "width": 512, "height": 512}},
                     headers={"Prefer": "wait"})
    assert ok.status_code == 201 and ok.json()["status"] == "succeeded"
    bad = client.post("/v1/predictions", json={"version": "f" * 64, "input": {}})
    assert bad.status_code == 422 and bad.json()["title"] == "Invalid version or not permitted"
    assert bad.headers["content-type"] == "application/problem+json"


def test_input_validation_lists_invalid_fields(client):
    r = flux(client, num_outputs=5, colour="red")
    assert r.status_code == 422 and r.json()["title"] == "Input validation failed"
    assert {f["field"] for f in r.json()["invalid_fields"]} == {"input.num_outputs", "input.colour"}


def test_bad_token_and_throttling_use_replicate_bodies(fake):
    r = httpx.get(fake.url + "/v1/account", headers={"Authorization": "Bearer bad-token"})
    assert r.status_code == 401 and r.json()["title"] == "Unauthenticated"
    fake.inject(Fault.http(429, retry_after="4"))
    r = httpx.get(fake.url + "/v1/account", headers=AUTH)
    assert r.status_code == 429 and r.headers["retry-after"] == "4"
    assert r.json() == {"detail": "Request was throttled. Your rate limit resets in ~30s.", "status": 429}


def test_cancel_stops_a_running_prediction_and_leaves_a_finished_one(fake, client):
    fake.never_finish = True
    running = flux(client).json()
    cancelled = client.post(running["urls"]["cancel"])
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "canceled"
    fake.never_finish = False
    done = flux(client, "wait").json()
    assert client.post(done["urls"]["cancel"]).json()["status"] == "succeeded"
    assert fake.cancelled == [running["id"], done["id"]]


def test_expiry_removes_outputs(fake, client):
    done = flux(client, "wait").json()
    fake.expire()
    again = client.get(done["urls"]["get"]).json()
    assert again["output"] is None and again["data_removed"] is True
    assert httpx.get(done["output"][0]).status_code == 404


def test_files_upload_and_whisper_reads_them(fake, client):
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 8000 * 3)
    up = client.post("/v1/files", files={"content": ("a.wav", buf.getvalue(), "audio/wav")})
    assert up.status_code == 201 and up.json()["size"] == len(buf.getvalue())
    url = up.json()["urls"]["get"]
    assert client.get(url).json()["name"] == "a.wav"
    pred = client.post("/v1/predictions", headers={"Prefer": "wait"}, json={
        "version": WHISPER_VERSION, "input": {"audio": url, "transcription": "vtt"}}).json()
    out = pred["output"]
    assert out["detected_language"] == "english" and out["segments"][-1]["end"] == 3.0
    assert out["transcription"].startswith("00:00.000 --> 00:01.500\n")  # cog-whisper's VTT has no header
    data_url = "data:audio/wav;base64," + base64.b64encode(buf.getvalue()).decode()
    srt = client.post("/v1/predictions", headers={"Prefer": "wait"}, json={
        "version": f"openai/whisper:{WHISPER_VERSION}", "input": {"audio": data_url, "transcription": "srt"}}).json()
    assert srt["output"]["transcription"].startswith("1\n00:00:00,000 --> 00:00:01,500\n")


def test_model_failures_carry_the_models_own_messages(fake, client):
    nsfw = flux(client, "wait", prompt="nsfw").json()
    assert nsfw["status"] == "failed" and "NSFW content" in nsfw["error"]
    odd = client.post("/v1/predictions", headers={"Prefer": "wait"}, json={
        "version": SDXL_VERSION, "input": {"prompt": "x", "width": 1001, "height": 1000}}).json()
    assert odd["status"] == "failed" and "divisible by 8" in odd["error"]
    fake.fail_next("CUDA out of memory")
    assert flux(client, "wait").json()["error"] == "CUDA out of memory"
