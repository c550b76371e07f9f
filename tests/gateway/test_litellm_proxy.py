"""aigw through a real LiteLLM proxy (litellm[proxy]) on loopback, in front of a FakeOpenAI.

What tests/fakes/gateways.py's FakeLiteLLM imitates, checked against the product itself:
the proxy's own auth (master key), model groups, JSON-wrapped subtitles, rewritten error bodies.
Run: python -m pytest -m gateway tests/gateway -q
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.fakes.openai import insufficient_quota, rate_limited
from tests.helpers import db_rows

from .conftest import UPSTREAM_KEY

pytestmark = pytest.mark.gateway


def run_json(cli, *args: str):
    r = cli(*args, "--json")
    return r, (json.loads(r.stdout) if r.stdout.strip() else None)


def test_generate_through_the_proxy(cli, litellm):
    r, data = run_json(cli, "generate", "a red apple", "-m", "gpt-image-2")
    assert r.code == 0, r.stderr + litellm.log_tail()
    assert data["provider"] == "litellm" and data["model"] == "gpt-image-2"
    with Image.open(data["paths"][0]) as img:
        assert img.format == "PNG"
    sent = litellm.upstream.requests_to("/images/generations")
    assert len(sent) == 1 and sent[0].json["model"] == "gpt-image-2" and sent[0].json["prompt"] == "a red apple"
    assert sent[0].headers["authorization"] == f"Bearer {UPSTREAM_KEY}"  # the proxy's key, not aigw's


def test_a_gateway_model_group_gets_dall_e_3_unchanged(cli, litellm):
    r, data = run_json(cli, "generate", "x", "-m", "dall-e-3")
    assert r.code == 0, r.stderr + litellm.log_tail()
    assert data["model"] == "dall-e-3" and not data["substituted"]
    assert litellm.upstream.requests_to("/images/generations")[-1].json["model"] == "dall-e-3"


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_transcribe_prints_the_subtitles_the_proxy_wrapped_in_json(cli, litellm, speech_wav: Path, fmt):
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "--format", fmt)
    assert r.code == 0, r.stderr + litellm.log_tail()
    with speech_wav.open("rb") as fh:
        direct = httpx.post(litellm.upstream.base_url + "/audio/transcriptions",
                            headers={"Authorization": f"Bearer {UPSTREAM_KEY}"},
                            data={"model": "whisper-1", "response_format": fmt},
                            files={"file": ("hello.wav", fh, "audio/wav")})
    assert direct.status_code == 200 and "json" not in direct.headers["content-type"]
    assert r.stdout.strip("\n") == direct.text.strip("\n")
    assert litellm.upstream.requests_to("/audio/transcriptions")[0].form["response_format"] == fmt
    # The quirk itself: the proxy answers subtitles as JSON.
    with speech_wav.open("rb") as fh:
        wrapped = httpx.post(litellm.base_url + "/audio/transcriptions", headers={"Authorization": "Bearer sk-master"},
                             data={"model": "whisper-1", "response_format": fmt},
                             files={"file": ("hello.wav", fh, "audio/wav")}, timeout=60)
    assert wrapped.headers["content-type"].startswith("application/json")
    assert wrapped.json()["text"] == direct.text


def test_a_refusal_is_exit_5(cli, litellm, cache_dir):
    r = cli("generate", "something forbidden", "-m", "gpt-image-2")
    assert r.code == 5, r.stderr + litellm.log_tail()
    rows = db_rows(cache_dir, "SELECT failure_class, http_status, error FROM attempts")
    assert [(a["failure_class"], a["http_status"]) for a in rows] == [("content_refused", 400)]
    assert "litellm." in rows[0]["error"]


def test_a_429_is_rate_limited_without_retry_after(cli, litellm, cache_dir):
    litellm.upstream.inject(rate_limited(retry_after_ms=10), route="/images/generations", times=None)
    r = cli("generate", "x", "-m", "gpt-image-2")
    assert r.code == 4, r.stderr + litellm.log_tail()
    rows = db_rows(cache_dir, "SELECT failure_class, http_status, retry_after_s, error FROM attempts")
    assert [(a["failure_class"], a["http_status"], a["retry_after_s"]) for a in rows] == [("rate_limited", 429, None)]
    assert "litellm.RateLimitError" in rows[0]["error"]
    assert litellm.upstream.count("/images/generations") >= 1


def test_insufficient_quota_in_the_message_only_is_quota(cli, litellm, cache_dir):
    litellm.upstream.inject(insufficient_quota(), route="/images/generations", times=None)
    r = cli("generate", "x", "-m", "gpt-image-2")
    assert r.code == 4, r.stderr + litellm.log_tail()
    rows = db_rows(cache_dir, "SELECT failure_class, http_status FROM attempts")
    assert [(a["failure_class"], a["http_status"]) for a in rows] == [("quota", 429)]
    assert "add credit" in r.stderr


def test_a_wrong_key_without_a_database_is_an_auth_failure(cli, litellm, monkeypatch, cache_dir):
    monkeypatch.setenv("AIGW_PROVIDERS__LITELLM__API_KEY", "sk-wrong")
    r = cli("generate", "x", "-m", "gpt-image-2")
    assert r.code == 4, r.stderr + litellm.log_tail()
    assert "No connected db." in r.stderr and "master key" in r.stderr
    rows = db_rows(cache_dir, "SELECT failure_class, http_status FROM attempts")
    assert [(a["failure_class"], a["http_status"]) for a in rows] == [("auth", 400)]
    assert litellm.upstream.count() == 0


def test_check_lists_models_with_the_master_key_and_rejects_a_wrong_one(cli, litellm, monkeypatch):
    r = cli("models", "--check", "--json")
    row = next(x for x in json.loads(r.stdout) if x["provider"] == "litellm")
    assert r.code == 0 and row["reachable"] and row["key_accepted"] is True, r.stdout + r.stderr
    monkeypatch.setenv("AIGW_PROVIDERS__LITELLM__API_KEY", "sk-wrong")
    r = cli("models", "--check", "--json")
    row = next(x for x in json.loads(r.stdout) if x["provider"] == "litellm")
    assert r.code == 4 and row["key_accepted"] is False
    assert litellm.upstream.count() == 0  # a listing, never a paid request
