"""OpenAI-compatible gateways as products with quirks, driven through the CLI (issue 4).

Kong AI Proxy, Cloudflare AI Gateway and a LiteLLM proxy are configured from config alone
(`type = "openai"` with `auth`, `paths`, `headers`, `models`); the fakes in tests/fakes/gateways.py
reproduce what each product does to requests, answers and errors (PROVIDERS.md §11).
"""

from __future__ import annotations

import json
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes._server import Fault
from tests.fakes.gateways import KONG_MAX_BODY_BYTES, FakeCloudflare, FakeKong, FakeLiteLLM
from tests.fakes.openai import FakeOpenAI, ImageModel, error_body, insufficient_quota, rate_limited
from tests.helpers import db_rows

KONG = """
[providers.kong]
type = "openai"
base_url = "{url}"
auth = "{auth}"
paths = {{ images = "/ai/images", transcriptions = "/ai/transcriptions" }}
models = {models}
{extra}
"""


def write(config_file: Path, text: str) -> None:
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(text)


def kong_config(config_file: Path, kong: FakeKong, *, auth: str = "none", models: str = '["dall-e-3", "whisper-1"]',
                extra: str = "") -> None:
    write(config_file, KONG.format(url=kong.url, auth=auth, models=models, extra=extra))


def run_json(cli, *args: str):
    r = cli(*args, "--json")
    return r, (json.loads(r.stdout) if r.stdout.strip() else None)


def attempts(cache_dir: Path) -> list[tuple[str, str | None]]:
    return [(a["provider"], a["failure_class"]) for a in
            db_rows(cache_dir, "SELECT provider, failure_class FROM attempts ORDER BY hop")]


def long_wav(path: Path, seconds: float) -> Path:
    """A silent 16 kHz mono WAV: 32,000 bytes per second."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x00\x00" * int(16000 * seconds))
    return path


@pytest.fixture
def kong() -> Iterator[FakeKong]:
    with FakeKong() as fake:
        yield fake
        assert not fake.errors


# ---- Kong AI Proxy ---------------------------------------------------------------------------


def test_kong_from_config_alone_gets_dall_e_3_unchanged_on_its_image_route(cli, config_file, kong):
    kong_config(config_file, kong)
    r, data = run_json(cli, "generate", "x", "-m", "dall-e-3")
    assert r.code == 0, r.stderr
    assert data["provider"] == "kong" and data["model"] == "dall-e-3" and not data["substituted"]
    sent = kong.requests_to("/ai/images")
    assert len(sent) == 1 and sent[0].json["model"] == "dall-e-3"
    assert "authorization" not in sent[0].headers  # auth = "none": Kong holds the upstream key
    assert kong.count("/images/generations") == 0
    assert Path(data["paths"][0]).is_file() and "retired" not in r.stderr
    # What Kong adds to the answer aigw read: the model it used.
    check = httpx.post(kong.url + "/ai/images", json={"model": "dall-e-3", "prompt": "x", "response_format": "b64_json"})
    assert check.status_code == 200 and check.headers["x-kong-llm-model"] == "openai/dall-e-3"


def test_the_builtin_openai_provider_substitutes_dall_e_3_instead(cli, fake_openai):
    r, data = run_json(cli, "generate", "x", "-m", "dall-e-3")
    assert r.code == 0, r.stderr
    assert data["provider"] == "openai" and data["model"] == "gpt-image-1.5" and data["substituted"] is True
    assert [q.json["model"] for q in fake_openai.requests_to("/images/generations")] == ["gpt-image-1.5"]


def test_with_both_configured_the_gateway_serves_dall_e_3_before_any_substitute(cli, config_file, kong, fake_openai):
    kong_config(config_file, kong)
    r, data = run_json(cli, "generate", "x", "-m", "dall-e-3")
    assert r.code == 0, r.stderr
    assert data["provider"] == "kong" and data["model"] == "dall-e-3"
    assert fake_openai.count() == 0


def test_kong_transcribe_reaches_its_transcriptions_route(cli, config_file, kong, speech_wav):
    kong_config(config_file, kong)
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "--format", "srt")
    assert r.code == 0, r.stderr
    assert r.stdout.startswith("1\n00:00:00,000 --> ") and kong.transcript in r.stdout
    req = kong.requests_to("/ai/transcriptions")[-1]
    assert req.form["model"] == "whisper-1" and req.files["file"].filename == "hello.wav"
    assert kong.count("/audio/transcriptions") == 0


def test_a_models_table_sends_the_upstream_name(cli, config_file):
    with FakeKong(image_model=None) as kong:
        name = "black-forest-labs/FLUX.1-schnell"
        base = kong.image_models["gpt-image-2"]
        kong.image_models[name] = ImageModel(name, "gpt", base.sizes | {"1024x768"}, base.qualities, 10_000,
                                             custom_sizes=True)
        kong_config(config_file, kong, models=f'{{ "flux-schnell" = "{name}" }}')
        r, data = run_json(cli, "generate", "x", "-m", "flux-schnell")
        assert r.code == 0, r.stderr
        assert data["model"] == "flux-schnell" and data["provider"] == "kong"
        assert kong.requests_to("/ai/images")[-1].json["model"] == name


def test_kong_rejects_a_model_its_route_is_not_configured_for(cli, config_file, kong, cache_dir):
    kong_config(config_file, kong, models='["gpt-image-2"]')
    r = cli("generate", "x", "-m", "gpt-image-2")
    assert r.code == 2
    assert "cannot use own model - must be: dall-e-3" in r.stderr and "providers.kong.models" in r.stderr
    assert attempts(cache_dir) == [("kong", "bad_request")]


def test_kong_key_auth_401_with_kongs_own_body_is_an_auth_failure(cli, config_file, cache_dir):
    with FakeKong(key_auth=("team-key",)) as kong:
        kong_config(config_file, kong)
        r = cli("generate", "x", "-m", "dall-e-3")
        assert r.code == 4
        assert "No API key found in request" in r.stderr and "aigw config keys set kong" in r.stderr
        assert attempts(cache_dir) == [("kong", "auth")]
        circuit = db_rows(cache_dir, "SELECT open_until FROM circuits WHERE provider = 'kong'")
        assert circuit and circuit[0]["open_until"] is not None


def test_kong_key_auth_accepts_the_key_aigw_sends_as_api_key(cli, config_file, monkeypatch):
    with FakeKong(key_auth=("team-key",), key_names=("api-key",)) as kong:
        kong_config(config_file, kong, auth="api-key")
        monkeypatch.setenv("AIGW_PROVIDERS__KONG__API_KEY", "team-key")
        r = cli("generate", "x", "-m", "dall-e-3")
        assert r.code == 0, r.stderr
        assert kong.requests_to("/ai/images")[-1].headers["api-key"] == "team-key"


def test_kong_rate_limit_429_is_rate_limited_and_its_retry_after_is_read(cli, config_file, kong, cache_dir):
    kong_config(config_file, kong)
    kong.rate_limit(retry_after=30)
    r = cli("generate", "x", "-m", "dall-e-3", "--deadline", "5")
    assert r.code == 4 and "API rate limit exceeded" in r.stderr
    rows = db_rows(cache_dir, "SELECT failure_class, http_status, retry_after_s FROM attempts")
    assert [(a["failure_class"], a["http_status"], a["retry_after_s"]) for a in rows] == [("rate_limited", 429, 30.0)]
    assert kong.count("/ai/images") == 1  # 30 s does not fit a 5 s deadline: not waited for
    # The 429 is Kong's, not OpenAI's: no upstream headers on it.
    headers = _kong_429_headers(kong)
    assert "x-ratelimit-reset-requests" not in headers and "x-request-id" not in headers


def _kong_429_headers(kong: FakeKong) -> dict[str, str]:
    kong.rate_limit(retry_after=30)
    resp = httpx.post(kong.url + "/ai/images", json={"model": "dall-e-3", "prompt": "x"})
    assert resp.status_code == 429 and resp.json()["message"] == "API rate limit exceeded"
    assert resp.headers["ratelimit-remaining"] == "0" and resp.headers["retry-after"] == "30"
    return dict(resp.headers)


def test_kong_rate_limit_with_a_short_retry_after_is_waited_out(cli, config_file, kong):
    kong_config(config_file, kong)
    kong.rate_limit(retry_after=1)
    r, data = run_json(cli, "generate", "x", "-m", "dall-e-3", "--deadline", "10")
    assert r.code == 0, r.stderr
    assert [(a["failure_class"], a["retry_after_s"]) for a in data["attempts"]] == [("rate_limited", 1.0), (None, None)]
    assert data["attempts"][1]["waited_s"] == pytest.approx(1.0)


def test_kong_1_mib_body_limit_is_a_413_exit_2_with_a_hint(cli, config_file, kong, tmp_path, cache_dir):
    kong_config(config_file, kong)
    audio = long_wav(tmp_path / "meeting.wav", 40)  # 1.28 MB: over Kong's default, far under OpenAI's 25 MiB
    assert audio.stat().st_size > KONG_MAX_BODY_BYTES
    r = cli("transcribe", str(audio), "-m", "whisper-1")
    assert r.code == 2
    assert "413" in r.stderr and "Request size limit exceeded" in r.stderr and "max_request_body_size" in r.stderr
    assert attempts(cache_dir) == [("kong", "bad_request")]
    assert kong.requests_to("/ai/transcriptions")[0].too_large


# ---- Cloudflare AI Gateway -----------------------------------------------------------------


@pytest.fixture
def cloudflare(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCloudflare]:
    with FakeCloudflare(api_key="sk-openai") as fake:
        assert fake.base_url.endswith("/v1/acct/gw/openai")
        write(config_file, f'[providers.cf]\ntype = "openai"\nbase_url = "{fake.base_url}"\n'
                           'headers = { "cf-aig-authorization" = "Bearer cf-token" }\nmodels = ["gpt-image-2", "whisper-1"]\n')
        monkeypatch.setenv("AIGW_PROVIDERS__CF__API_KEY", "sk-openai")
        yield fake
        assert not fake.errors


def test_cloudflare_gets_both_the_gateway_token_and_the_openai_key(cli, cloudflare, speech_wav):
    r, data = run_json(cli, "generate", "x", "-m", "gpt-image-2")
    assert r.code == 0, r.stderr
    assert data["provider"] == "cf"
    req = cloudflare.requests_to("/v1/acct/gw/openai/images/generations")[-1]
    assert req.headers["cf-aig-authorization"] == "Bearer cf-token"
    assert req.headers["authorization"] == "Bearer sk-openai"
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1")
    assert r.code == 0 and r.stdout.strip() == cloudflare.transcript
    req = cloudflare.requests_to("/v1/acct/gw/openai/audio/transcriptions")[-1]
    assert req.headers["cf-aig-authorization"] == "Bearer cf-token" and req.headers["authorization"] == "Bearer sk-openai"


def test_cloudflare_without_the_gateway_token_is_an_auth_failure(cli, cloudflare, config_file, cache_dir):
    write(config_file, config_file.read_text().replace('headers = { "cf-aig-authorization" = "Bearer cf-token" }\n', ""))
    r = cli("generate", "x", "-m", "gpt-image-2")
    assert r.code == 4 and "Unauthorized" in r.stderr
    assert attempts(cache_dir) == [("cf", "auth")]


def test_a_cloudflare_side_429_is_rate_limited_and_retried(cli, cloudflare, cache_dir):
    cloudflare.rate_limit()
    r, data = run_json(cli, "generate", "x", "-m", "gpt-image-2")
    assert r.code == 0, r.stderr
    assert [(a["failure_class"], a["retry_after_s"]) for a in data["attempts"]] == [("rate_limited", None), (None, None)]
    row = db_rows(cache_dir, "SELECT error FROM attempts ORDER BY hop")[0]
    assert "Rate limited" in row["error"]
    # Only the second request reached OpenAI's side of the gateway.
    assert len(cloudflare.gateway_answered) == 1


# ---- LiteLLM proxy --------------------------------------------------------------------------


@pytest.fixture
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key="up-key", serve_retired=True) as fake:
        yield fake
        assert not fake.errors


@pytest.fixture
def litellm(upstream: FakeOpenAI, config_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLiteLLM]:
    with FakeLiteLLM(upstream, upstream_key="up-key", upstream_timeout=0.3) as fake:
        write(config_file, f'[providers.litellm]\ntype = "openai"\nbase_url = "{fake.base_url}"\n'
                           'models = ["gpt-image-2", "dall-e-3", "whisper-1"]\n')
        monkeypatch.setenv("AIGW_PROVIDERS__LITELLM__API_KEY", "sk-master")
        yield fake
        assert not fake.errors


@pytest.fixture
def litellm_and_fallback(litellm: FakeLiteLLM, config_file: Path) -> Iterator[tuple[FakeLiteLLM, FakeOpenAI]]:
    with FakeOpenAI(auth="none") as fallback:
        config_file.write_text(config_file.read_text() + f'\n[providers.fallback]\ntype = "openai"\nbase_url = '
                               f'"{fallback.base_url}"\nauth = "none"\nmodels = ["gpt-image-2", "whisper-1"]\n')
        yield litellm, fallback


def direct_transcript(upstream: FakeOpenAI, audio: Path, fmt: str) -> httpx.Response:
    with audio.open("rb") as fh:
        return httpx.post(upstream.base_url + "/audio/transcriptions", headers={"Authorization": "Bearer up-key"},
                          data={"model": "whisper-1", "response_format": fmt}, files={"file": ("hello.wav", fh, "audio/wav")})


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_litellm_wraps_subtitles_in_json_and_aigw_still_prints_the_document(cli, litellm, upstream, speech_wav, fmt):
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "--format", fmt)
    assert r.code == 0, r.stderr
    assert upstream.requests_to("/audio/transcriptions")[0].form["response_format"] == fmt
    # What the proxy answered aigw: the document inside JSON.
    wrapped = httpx.post(litellm.base_url + "/audio/transcriptions", headers={"Authorization": "Bearer sk-master"},
                         data={"model": "whisper-1", "response_format": fmt},
                         files={"file": ("hello.wav", speech_wav.read_bytes(), "audio/wav")})
    assert wrapped.headers["content-type"] == "application/json" and wrapped.json()["usage"] is None
    document = direct_transcript(upstream, speech_wav, fmt)
    assert not document.headers["content-type"].startswith("application/json")
    assert wrapped.json()["text"] == document.text
    # What aigw printed: exactly the document, not the JSON around it.
    assert r.stdout.strip("\n") == document.text.strip("\n")
    assert '"usage"' not in r.stdout


def test_litellm_plain_text_transcript(cli, litellm, upstream, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "--format", "text")
    assert r.code == 0, r.stderr
    assert r.stdout.strip() == upstream.transcript
    # Plain text is read from json (which carries usage), so the text wrapping never comes into play.
    assert upstream.requests_to("/audio/transcriptions")[0].form["response_format"] == "json"


def test_litellm_transcript_json_keeps_plain_text_and_the_document(cli, litellm, speech_wav, upstream):
    r, data = run_json(cli, "transcribe", str(speech_wav), "-m", "whisper-1", "--format", "srt")
    assert r.code == 0, r.stderr
    assert data["text"].strip() == upstream.transcript
    assert data["provider"] == "litellm"


def test_litellm_image_through_the_master_key(cli, litellm, upstream):
    r, data = run_json(cli, "generate", "x", "-m", "gpt-image-2")
    assert r.code == 0, r.stderr
    assert data["provider"] == "litellm" and Path(data["paths"][0]).is_file()
    assert litellm.requests_to("/v1/images/generations")[-1].headers["authorization"] == "Bearer sk-master"
    assert upstream.requests_to("/images/generations")[-1].headers["authorization"] == "Bearer up-key"


def test_litellm_refusal_without_its_code_is_still_content_refused(cli, litellm, upstream, cache_dir):
    r = cli("generate", "something forbidden", "-m", "gpt-image-2")
    assert r.code == 5
    assert attempts(cache_dir) == [("litellm", "content_refused")]
    rows = db_rows(cache_dir, "SELECT error FROM attempts")
    assert "litellm.BadRequestError" in rows[0]["error"]


def test_litellm_dall_e_refusal_is_found_by_its_message(cli, litellm, cache_dir):
    r = cli("generate", "something forbidden", "-m", "dall-e-3")
    assert r.code == 5
    assert attempts(cache_dir) == [("litellm", "content_refused")]


def test_litellm_quota_only_in_the_message_fails_over_and_is_never_retried(cli, litellm_and_fallback, upstream, cache_dir):
    litellm, fallback = litellm_and_fallback
    upstream.inject(insufficient_quota(), route="/images/generations", times=None)
    r, data = run_json(cli, "generate", "x", "-m", "gpt-image-2")
    assert r.code == 0, r.stderr
    assert [(a["provider"], a["failure_class"]) for a in data["attempts"]] == [("litellm", "quota"), ("fallback", None)]
    assert litellm.count("/images/generations") == 1
    assert upstream.count("/images/generations") == 3  # the proxy's own retries, not aigw's


def test_litellm_quota_alone_is_exit_4_with_a_credit_hint(cli, litellm, upstream):
    upstream.inject(insufficient_quota(), route="/images/generations", times=None)
    r = cli("generate", "x", "-m", "gpt-image-2")
    assert r.code == 4 and "add credit" in r.stderr


def test_litellm_rate_limit_loses_retry_after_and_fails_over_at_once(cli, litellm_and_fallback, upstream):
    upstream.inject(rate_limited(retry_after=7), route="/images/generations", times=None)
    r, data = run_json(cli, "generate", "x", "-m", "gpt-image-2")
    assert r.code == 0, r.stderr
    first = data["attempts"][0]
    assert (first["provider"], first["failure_class"], first["http_status"]) == ("litellm", "rate_limited", 429)
    assert first["retry_after_s"] is None  # the upstream's Retry-After: 7 never reaches the client
    assert data["attempts"][1]["provider"] == "fallback" and data["attempts"][1]["waited_s"] == 0


def test_litellm_throttling_body_shape(litellm, upstream):
    upstream.inject(rate_limited(retry_after=7), route="/images/generations", times=None)
    resp = httpx.post(litellm.base_url + "/images/generations", headers={"Authorization": "Bearer sk-master"},
                      json={"model": "gpt-image-2", "prompt": "x"})
    err = resp.json()["error"]
    assert resp.status_code == 429 and err["type"] == "throttling_error" and err["code"] == "429"
    assert err["message"].startswith("litellm.RateLimitError: ")
    assert "retry-after" not in resp.headers and "x-ratelimit-remaining-requests" not in resp.headers


def test_litellm_408_for_a_hanging_upstream_is_retryable(cli, litellm_and_fallback, upstream, cache_dir):
    upstream.inject(Fault(hang=True), route="/images/generations", times=3)
    r, data = run_json(cli, "generate", "x", "-m", "gpt-image-2")
    assert r.code == 0, r.stderr
    first = data["attempts"][0]
    assert (first["failure_class"], first["http_status"]) == ("retryable", 408)
    assert "litellm.Timeout" in first["error"]


def test_litellm_upstream_500_is_retryable(cli, litellm, upstream):
    upstream.inject(Fault.http(500), route="/images/generations", times=3)
    r, data = run_json(cli, "generate", "x", "-m", "gpt-image-2")
    assert r.code == 0, r.stderr  # the last candidate is retried after a backoff
    assert [(a["failure_class"], a["http_status"]) for a in data["attempts"]] == [("retryable", 500), (None, 200)]


def test_litellm_cooldown_429_is_rate_limited(cli, litellm_and_fallback):
    litellm, _ = litellm_and_fallback
    litellm.cooldown(5)
    r, data = run_json(cli, "generate", "x", "-m", "gpt-image-2")
    assert r.code == 0, r.stderr
    assert [(a["provider"], a["failure_class"]) for a in data["attempts"]] == [("litellm", "rate_limited"), ("fallback", None)]


def test_litellm_wrong_key_without_a_database_is_an_auth_failure(cli, litellm_and_fallback, monkeypatch, cache_dir):
    """LiteLLM answers 400 "No connected db." to any key but the master key when it has no database.
    aigw treats it as a wrong key (AuthError: fail over, open that provider's circuit, say which key
    to check), not as a bad request that would stop the run with exit 2: the request itself is fine."""
    monkeypatch.setenv("AIGW_PROVIDERS__LITELLM__API_KEY", "sk-wrong")
    r, data = run_json(cli, "generate", "x", "-m", "gpt-image-2")
    assert r.code == 0, r.stderr
    assert [(a["provider"], a["failure_class"], a["http_status"]) for a in data["attempts"]] == [
        ("litellm", "auth", 400), ("fallback", None, 200)]
    assert "No connected db." in data["attempts"][0]["error"]
    circuit = db_rows(cache_dir, "SELECT open_until FROM circuits WHERE provider = 'litellm'")
    assert circuit and circuit[0]["open_until"] is not None


def test_litellm_wrong_key_alone_says_which_key_to_check(cli, litellm, monkeypatch):
    monkeypatch.setenv("AIGW_PROVIDERS__LITELLM__API_KEY", "sk-wrong")
    r = cli("generate", "x", "-m", "gpt-image-2")
    assert r.code == 4
    assert "No connected db." in r.stderr and "master key" in r.stderr and "aigw config keys set litellm" in r.stderr


def test_litellm_rejects_response_format_for_gpt_image_models_itself(litellm, upstream):
    resp = httpx.post(litellm.base_url + "/images/generations", headers={"Authorization": "Bearer sk-master"},
                      json={"model": "gpt-image-2", "prompt": "x", "response_format": "b64_json"})
    assert resp.status_code == 400 and "UnsupportedParamsError" in resp.json()["error"]["message"]
    assert upstream.count() == 0


# ---- OPENAI_GATEWAY_URL -------------------------------------------------------------------


def test_openai_gateway_url_routes_the_builtin_provider_through_a_gateway(cli, litellm, upstream, monkeypatch,
                                                                          config_file, speech_wav):
    config_file.unlink()  # only the built-in openai provider, configured from the environment
    monkeypatch.delenv("AIGW_PROVIDERS__LITELLM__API_KEY")
    with FakeOpenAI() as direct:
        monkeypatch.setenv("OPENAI_BASE_URL", direct.base_url)
        monkeypatch.setenv("OPENAI_GATEWAY_URL", litellm.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-master")
        r, data = run_json(cli, "generate", "x", "-m", "gpt-image-2")
        assert r.code == 0, r.stderr
        assert data["provider"] == "openai"
        assert litellm.count("/v1/images/generations") == 1 and direct.count() == 0
        r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "--format", "vtt")
        assert r.code == 0 and r.stdout.startswith("WEBVTT")
        assert direct.count() == 0 and upstream.count("/audio/transcriptions") == 1
        rows = json.loads(cli("config", "show", "--json").stdout)
        assert rows["providers.openai.base_url"]["value"] == litellm.base_url
        assert "OPENAI_GATEWAY_URL" in rows["providers.openai.base_url"]["source"]


def test_error_bodies_of_each_gateway_shape():
    """Unit-level check of the shapes the fakes produce, through the one mapping aigw uses."""
    from aigw import errors
    from aigw.providers._http import classify

    cf = httpx.Response(429, json={"success": False, "result": [], "messages": [],
                                   "error": [{"code": 2003, "message": "Rate limited"}]})
    err = classify(cf, "cf")
    assert isinstance(err, errors.RateLimitedError) and err.message == "cf: HTTP 429: Rate limited" and err.code == "2003"
    kong = httpx.Response(429, json={"message": "API rate limit exceeded", "request_id": "r"}, headers={"Retry-After": "3"})
    err = classify(kong, "kong")
    assert isinstance(err, errors.RateLimitedError) and err.retry_after == 3.0
    db = httpx.Response(400, json={"error": {"message": "No connected db.", "type": "no_db_connection", "param": None,
                                             "code": "400"}})
    assert isinstance(classify(db, "litellm"), errors.AuthError)
    refusal = httpx.Response(400, json=error_body("litellm.BadRequestError: OpenAIException - blocked",
                                                  "image_generation_user_error", None, "400"))
    assert isinstance(classify(refusal, "litellm"), errors.ContentRefusedError)


def test_check_reports_a_wrong_litellm_key_as_rejected(cli, litellm, monkeypatch):
    r = cli("models", "--check", "--json")
    row = next(x for x in json.loads(r.stdout) if x["provider"] == "litellm")
    assert r.code == 0 and row["key_accepted"] is True
    monkeypatch.setenv("AIGW_PROVIDERS__LITELLM__API_KEY", "sk-wrong")
    r = cli("models", "--check", "--json")
    row = next(x for x in json.loads(r.stdout) if x["provider"] == "litellm")
    assert r.code == 4 and row["reachable"] is True and row["key_accepted"] is False
