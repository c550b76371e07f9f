"""Small frictions: a stale key, a base URL with the version in it, a local model path that is not
there, binary on a terminal, bench in a pipe."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

import pytest

from tests.fakes._server import Fault


# ---- a key for a provider that no longer exists ---------------------------------------------


def test_a_stored_key_for_a_removed_provider_is_a_warning_not_exit_3(cli, config_file):
    config_file.parent.mkdir(parents=True)
    config_file.parent.chmod(0o700)
    (config_file.parent / "keys.toml").write_text('oldgw = "sk-0123456789abcdefghij"\n')
    for args in (("models",), ("config", "show"), ("config", "get", "routing.retries")):
        r = cli(*args)
        assert r.code == 0, r.stderr
    assert "oldgw" in cli("models").stderr and "aigw config keys unset oldgw" in cli("models").stderr
    assert "sk-0123456789abcdefghij" not in cli("config", "show").stdout
    assert cli("config", "keys", "unset", "oldgw").code == 0
    assert "oldgw" not in cli("models").stderr


# ---- a base URL with the version the provider's paths carry ------------------------------------


def test_replicate_base_url_with_v1_works(cli, monkeypatch):
    from tests.fakes.replicate import FakeReplicate

    with FakeReplicate() as fake:
        monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_test")
        monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.05")
        r = cli("generate", "a cat", "-m", "flux-schnell", "-p", "replicate",
                env={"AIGW_PROVIDERS__REPLICATE__BASE_URL": fake.url + "/v1"})
        assert r.code == 0, r.stderr
        assert r.stdout.strip().endswith((".webp", ".png", ".jpg", ".jpeg"))


def test_deepgram_base_url_with_v1_works(cli, monkeypatch, speech_wav):
    from tests.fakes.deepgram import FakeDeepgram

    with FakeDeepgram(api_key="dg-test", transcript="Welcome to the gateway.") as fake:
        monkeypatch.setenv("DEEPGRAM_API_KEY", "dg-test")
        monkeypatch.setenv("AIGW_PROVIDERS__DEEPGRAM__BASE_URL", fake.url + "/v1/")
        r = cli("transcribe", str(speech_wav), "-m", "nova-3")
        assert (r.code, r.stdout) == (0, "Welcome to the gateway.\n"), r.stderr


def test_a_gateway_route_repeating_the_base_url_version_is_joined_once(cli, config_file):
    from tests.fakes.openai import FakeOpenAI

    with FakeOpenAI() as fake:
        config_file.parent.mkdir(parents=True)
        config_file.write_text(f'[providers.gw]\ntype = "openai"\nbase_url = "{fake.base_url}"\n'
                               'paths = { images = "/v1/images/generations" }\nmodels = ["gpt-image-2"]\n')
        assert fake.base_url.endswith("/v1")
        r = cli("generate", "a cat", "-m", "gpt-image-2", "-p", "gw", env={"AIGW_PROVIDERS__GW__API_KEY": "test"})
        assert r.code == 0, r.stderr
        assert fake.count("/images/generations") == 1


# ---- a local model path that is not there -------------------------------------------------------


def test_a_missing_local_model_path_is_named(cli, speech_wav, tmp_path):
    missing = tmp_path / "models" / "faster-whisper-large-v3"
    r = cli("transcribe", str(speech_wav), "-m", f"local/{missing}")
    assert r.code == 3 and r.stdout == ""
    assert str(missing) in r.stderr and "does not exist" in r.stderr
    assert "providers.local.models" not in r.stderr  # the hint is about the directory, not a mapping


def test_a_mapped_local_model_path_that_is_not_there_is_named(cli, speech_wav, tmp_path):
    missing = tmp_path / "nope"
    r = cli("transcribe", str(speech_wav), "-m", "whisper-large-v3",
            env={"AIGW_PROVIDERS__LOCAL__MODELS": json.dumps({"whisper-large-v3": str(missing)})})
    assert r.code == 3 and str(missing) in r.stderr


# ---- -o - on a terminal -------------------------------------------------------------------------


def _on_a_terminal(*args: str) -> tuple[int, bytes, str]:
    """Run aigw with stdout on a pseudo-terminal; (exit code, what reached the terminal, stderr)."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "aigw", *args], stdout=follower, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL)
        os.close(follower)
        _, err = proc.communicate(timeout=120)
        seen = b""
        try:
            while chunk := os.read(leader, 65536):
                seen += chunk
        except OSError:
            pass
        return proc.returncode, seen, err.decode()
    finally:
        os.close(leader)


@pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals")
def test_image_bytes_to_a_terminal_are_refused_before_any_request(cli, fake_openai):
    code, seen, err = _on_a_terminal("generate", "a cat", "-m", "gpt-image-2", "-o", "-")
    assert code == 2 and seen == b""
    assert "terminal" in err and "-o - >" in err
    assert fake_openai.count() == 0
    piped = cli("generate", "a cat", "-m", "gpt-image-2", "-o", "-")
    assert piped.code == 0 and piped.stdout_bytes.startswith(b"\x89PNG")


@pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals")
def test_a_transcript_to_a_terminal_with_dash_o_is_fine(cli, fake_openai, speech_wav):
    code, seen, err = _on_a_terminal("transcribe", str(speech_wav), "-m", "whisper-1", "-o", "-")
    assert code == 0, err
    assert seen.strip()


# ---- bench in a pipe ----------------------------------------------------------------------------


def test_bench_in_a_pipe_has_a_header_one_unit_and_never_none(cli, fake_openai):
    fake_openai.inject(Fault.http(500), times=None)
    r = cli("bench", "-m", "gpt-image-1-mini", "--prompt", "x", "--runs", "1", "--yes")
    assert r.code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split("\t") == ["provider", "ok", "p50_ms", "p95_ms", "cost_usd"]
    assert lines[1].split("\t")[:2] == ["openai", "0/1"]
    assert "None" not in r.stdout


def test_bench_in_a_pipe_prints_milliseconds(cli, speech_wav, real_local_runs):
    r = cli("bench", "-m", "whisper-tiny.en", "--file", str(speech_wav), "--runs", "1")
    assert r.code == 0, r.stderr
    header, row = r.stdout.splitlines()
    provider, ok, p50, p95, cost = row.split("\t")
    assert (provider, ok, cost) == ("local", "1/1", "0")
    assert p50.isdigit() and p95.isdigit() and int(p50) > 10


# ---- a key or header value that cannot go in an HTTP header ------------------------------------


def test_a_non_ascii_key_is_a_config_error_before_any_request(cli, fake_openai, monkeypatch, config_file):
    key = "sk-abc\u2019"  # pasted with a curly quote
    monkeypatch.setenv("OPENAI_API_KEY", key)
    r = cli("generate", "x", "-m", "gpt-image-2")
    assert r.code == 3, r.stderr
    assert "openai" in r.stderr and "OPENAI_API_KEY" in r.stderr and "aigw config keys set openai" in r.stderr
    assert key not in r.stderr and key not in r.stdout and "malformed" not in r.stderr
    assert fake_openai.requests == []
    # No circuit was touched: with a good key the next run goes through.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert cli("generate", "x", "-m", "gpt-image-2").code == 0
    row = next(m for m in json.loads(cli("models", "--json").stdout) if m["id"] == "gpt-image-2")
    assert row["providers"][0]["circuit"] != "open"


def test_a_non_ascii_key_in_the_keys_file_names_the_keys_file(cli, fake_openai, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    assert cli("config", "keys", "set", "openai", input="sk-caf\u00e9\n").code == 0
    r = cli("generate", "x", "-m", "gpt-image-2")
    assert r.code == 3 and "keys file" in r.stderr and "sk-caf" not in r.stderr
    assert fake_openai.requests == []


def test_a_non_ascii_header_value_from_config_is_a_config_error(cli, fake_openai, config_file):
    config_file.parent.mkdir(parents=True)
    config_file.write_text('[providers.openai]\nheaders = { "x-gw-key" = "caf\u00e9" }\n', encoding="utf-8")
    r = cli("generate", "x", "-m", "gpt-image-2")
    assert r.code == 3 and "providers.openai.headers" in r.stderr and "x-gw-key" in r.stderr, r.stderr
    assert fake_openai.requests == []


# ---- a base URL with a query string ---------------------------------------------------------------


def test_a_base_url_query_is_kept_and_the_path_joined_before_it(cli, fake_openai, monkeypatch, speech_wav):
    # A gateway that wants ?api-version=... or ?key=... on every request.
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url + "?api-version=2025-01-01&gw=a%2Fb")
    assert cli("generate", "x", "-m", "gpt-image-2").code == 0
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1").code == 0
    assert cli("models", "--check").code == 0
    sent = [r for r in fake_openai.requests if r.path.endswith(("/images/generations", "/audio/transcriptions", "/models"))]
    assert {r.path.rsplit("/", 2)[-1] for r in sent} >= {"generations", "transcriptions", "models"}
    for r in sent:
        assert r.path.startswith("/v1/") and "?" not in r.path, r.target
        assert r.query == {"api-version": "2025-01-01", "gw": "a/b"}, r.target


def test_a_base_url_query_is_merged_with_the_providers_own_query(cli, monkeypatch):
    from tests.fakes.fal import FakeFal
    from tests.fakes.replicate import FakeReplicate

    monkeypatch.delenv("FAL_REST_HOST", raising=False)
    with FakeFal() as fake:  # fal polls its status URL with ?logs=0: both queries reach it
        monkeypatch.setenv("FAL_KEY", "test-key")
        r = cli("generate", "x", "-m", "flux-schnell", "-p", "fal",
                env={"AIGW_PROVIDERS__FAL__BASE_URL": fake.base_url + "?gw=1"})
        assert r.code == 0, r.stderr
        api = [q for q in fake.requests if not q.path.startswith("/files/")]  # image URLs are the reply's own
        assert all(q.query.get("gw") == "1" for q in api), [q.target for q in api]
        polls = [q for q in fake.requests if q.path.endswith("/status")]
        assert polls and all(q.query == {"gw": "1", "logs": "0"} for q in polls), [q.target for q in polls]
    with FakeReplicate() as fake:
        monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_test")
        monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.05")
        r = cli("generate", "a cat", "-m", "flux-schnell", "-p", "replicate",
                env={"AIGW_PROVIDERS__REPLICATE__BASE_URL": fake.url + "?gw=1"})
        assert r.code == 0, r.stderr
        api = [q for q in fake.requests if q.path.startswith("/v1/")]
        assert api and all(q.query.get("gw") == "1" for q in api), [q.target for q in api]
