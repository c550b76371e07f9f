"""aigw through Portkey's real open-source gateway (npm @portkey-ai/gateway 1.15.2) on loopback, in
front of FakeOpenAI servers, configured as README's self-hosted Portkey recipe says.

Install: bash tests/gateway/install.sh. Run: python -m pytest -m gateway tests/gateway -q
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import srt
from PIL import Image

from tests.fakes.openai import insufficient_quota, rate_limited, server_error
from tests.helpers import db_rows
from tests.recipes import as_toml, recipes

from .conftest import SECOND_KEY, UPSTREAM_KEY, Portkey

pytestmark = pytest.mark.gateway


def run_json(cli, *args: str):
    r = cli(*args, "--json")
    return r, (json.loads(r.stdout) if r.stdout.strip() else None)


def direct(gw: Portkey, speech_wav: Path, fmt: str) -> httpx.Response:
    """What the upstream itself answers, without the gateway."""
    with speech_wav.open("rb") as fh:
        return httpx.post(gw.upstream.base_url + "/audio/transcriptions", headers={"Authorization": f"Bearer {UPSTREAM_KEY}"},
                          data={"model": "whisper-1", "response_format": fmt}, files={"file": ("hello.wav", fh, "audio/wav")})


def test_generate_through_the_gateway(cli, portkey):
    r, data = run_json(cli, "generate", "a red apple", "-m", "gpt-image-2")
    assert r.code == 0, r.stderr + portkey.log_tail()
    assert data["provider"] == "portkey" and data["model"] == "gpt-image-2"
    with Image.open(data["paths"][0]) as img:
        assert img.format == "PNG"
    sent = portkey.upstream.requests_to("/images/generations")
    assert len(sent) == 1 and sent[0].json["prompt"] == "a red apple"
    assert sent[0].headers["authorization"] == f"Bearer {UPSTREAM_KEY}"  # aigw's bearer, passed on
    assert not any(k.startswith("x-portkey-") for k in sent[0].headers)
    assert portkey.second.count() == 0


def test_dall_e_3_urls_come_back_through_the_gateway(cli, portkey):
    r, data = run_json(cli, "generate", "x", "-m", "dall-e-3")
    assert r.code == 0, r.stderr + portkey.log_tail()
    assert data["model"] == "dall-e-3" and not data["substituted"]
    with Image.open(data["paths"][0]) as img:
        assert img.format == "PNG"


@pytest.mark.parametrize("fmt", ["srt", "vtt", "text"])
def test_transcribe_prints_what_the_gateway_wrapped_in_html_message(cli, portkey, speech_wav: Path, fmt):
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "--format", fmt)
    assert r.code == 0, r.stderr + portkey.log_tail()
    plain = direct(portkey, speech_wav, fmt)
    assert plain.status_code == 200 and plain.headers["content-type"].startswith("text/plain")
    assert r.stdout.strip("\n") == plain.text.strip("\n")
    if fmt == "srt":
        cues = list(srt.parse(r.stdout))
        assert len(cues) == 1 and cues[0].content == portkey.upstream.transcript
    if fmt == "vtt":
        assert r.stdout.startswith("WEBVTT") and " --> " in r.stdout
    # Plain text is asked for as json (it carries the usage); subtitles as themselves.
    assert portkey.upstream.requests_to("/audio/transcriptions")[0].form["response_format"] == (
        "json" if fmt == "text" else fmt)
    # The quirk itself, as the gateway answers it to any client.
    with speech_wav.open("rb") as fh:
        wrapped = httpx.post(portkey.base_url + "/audio/transcriptions",
                             headers={**portkey.headers(portkey.upstream), "Authorization": f"Bearer {UPSTREAM_KEY}"},
                             data={"model": "whisper-1", "response_format": fmt},
                             files={"file": ("hello.wav", fh, "audio/wav")}, timeout=60)
    assert wrapped.headers["content-type"].startswith("application/json")
    assert wrapped.json() == {"html-message": plain.text}


@pytest.mark.parametrize("fmt", ["json", "verbose_json"])
def test_json_transcripts_pass_through_unchanged(cli, portkey, speech_wav: Path, fmt):
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "--format", fmt)
    assert r.code == 0, r.stderr + portkey.log_tail()
    out, upstream = json.loads(r.stdout), direct(portkey, speech_wav, fmt).json()
    assert out["text"] == upstream["text"] == portkey.upstream.transcript
    if fmt == "verbose_json":
        assert out["segments"] == upstream["segments"] and out["duration"] == pytest.approx(upstream["duration"])


def test_a_refusal_is_exit_5(cli, portkey, cache_dir):
    r = cli("generate", "something forbidden", "-m", "gpt-image-2")
    assert r.code == 5, r.stderr + portkey.log_tail()
    rows = db_rows(cache_dir, "SELECT provider, failure_class, http_status FROM attempts")
    assert [(a["provider"], a["failure_class"], a["http_status"]) for a in rows] == [("portkey", "content_refused", 400)]
    assert portkey.second.count() == 0  # a refusal is not failed over


def test_insufficient_quota_is_quota_and_fails_over(cli, portkey, cache_dir):
    portkey.upstream.inject(insufficient_quota(), route="/images/generations", times=None)
    r, data = run_json(cli, "generate", "x", "-m", "gpt-image-2")
    assert r.code == 0 and data["provider"] == "backup", r.stderr + portkey.log_tail()
    rows = db_rows(cache_dir, "SELECT provider, failure_class, http_status FROM attempts ORDER BY started_at, hop")
    assert [(a["provider"], a["failure_class"], a["http_status"]) for a in rows] == [
        ("portkey", "quota", 429), ("backup", None, 200)]


@pytest.mark.parametrize(("fault", "waited"), [
    (rate_limited(retry_after=2), 2.0),
    (rate_limited(retry_after_ms=1500), 1.5),
])
def test_a_429_s_retry_after_comes_through_the_gateway(cli, portkey, cache_dir, fault, waited):
    portkey.upstream.inject(fault, route="/images/generations", times=None)
    r = cli("generate", "x", "-m", "gpt-image-2", "-p", "portkey", "--deadline", "1")
    assert r.code == 4, r.stderr + portkey.log_tail()
    rows = db_rows(cache_dir, "SELECT failure_class, http_status, retry_after_s FROM attempts")
    assert [(a["failure_class"], a["http_status"], a["retry_after_s"]) for a in rows] == [("rate_limited", 429, waited)]
    assert portkey.upstream.count("/images/generations") == 1  # the gateway did not retry it itself


def test_a_failing_upstream_fails_over_to_the_second_provider(cli, portkey, cache_dir, speech_wav: Path):
    portkey.upstream.inject(server_error(502), times=None)
    r, data = run_json(cli, "generate", "x", "-m", "gpt-image-2")
    assert r.code == 0 and data["provider"] == "backup", r.stderr + portkey.log_tail()
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "--format", "srt")
    assert r.code == 0 and " --> " in r.stdout, r.stderr + portkey.log_tail()
    rows = db_rows(cache_dir, "SELECT provider, failure_class, http_status FROM attempts ORDER BY started_at, hop")
    assert [(a["provider"], a["failure_class"], a["http_status"]) for a in rows] == [
        ("portkey", "retryable", 502), ("backup", None, 200)] * 2
    second = portkey.second.requests_to("/images/generations")[0]
    assert second.headers["authorization"] == f"Bearer {SECOND_KEY}"


@pytest.mark.parametrize("which", [1, 2], ids=["hosted-provider-and-bearer", "self-hosted"])
def test_the_readme_recipe_works_through_the_gateway(cli, portkey, config_file, monkeypatch, speech_wav: Path, which):
    """README's block as written, but for the gateway's address (api.portkey.ai, localhost:8787) and the
    custom host that puts the fake where api.openai.com would be."""
    table = recipes("Portkey")[which]
    table.update(base_url=portkey.base_url,
                 headers={**table["headers"], "x-portkey-custom-host": portkey.upstream.base_url})
    config_file.write_text("[routing]\nretries = 0\n\n" + as_toml("portkey", table))
    monkeypatch.delenv("AIGW_PROVIDERS__BACKUP__API_KEY")  # only the recipe's provider here
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "--format", "srt")
    assert r.code == 0 and r.stdout.startswith("1\n00:00:00,000 --> "), r.stderr + portkey.log_tail()
    r, data = run_json(cli, "generate", "x", "-m", "gpt-image-2")
    assert r.code == 0 and data["provider"] == "portkey", r.stderr + portkey.log_tail()
    sent = portkey.upstream.requests_to("/images/generations")[0].headers
    assert sent["authorization"] == f"Bearer {UPSTREAM_KEY}" and "x-portkey-api-key" not in sent
