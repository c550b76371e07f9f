"""A key given to aigw appears nowhere but keys.toml: not on stdout or stderr, not in the run log,
not in any file under the cache directory."""

from __future__ import annotations

import json

from tests.fakes._server import Fault

KEY = "sk-test-RECOGNISABLE-5f3e9a0c7d21b64e"


def test_the_key_appears_nowhere_but_keys_toml(cli, monkeypatch, speech_wav, cache_dir, config_file, tmp_path):
    from tests.fakes.openai import FakeOpenAI

    with FakeOpenAI(api_key=KEY) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        assert cli("config", "keys", "set", "openai", input=KEY + "\n").code == 0
        outputs = [
            cli("generate", "a red apple", "-m", "gpt-image-2"),
            cli("generate", "a cat", "-m", "dall-e-3", "--json"),
            cli("-v", "generate", "a cat", "-m", "gpt-image-2", "--size", "1x1"),
            cli("transcribe", str(speech_wav), "-m", "whisper-1", "--json"),
            cli("transcribe", str(speech_wav), "-m", "whisper-1", "--dry-run", "--json"),
            cli("models", "--available", "--json"),
            cli("models", "--check", "--json"),
            cli("config", "show"),
            cli("config", "show", "--json"),
            cli("config", "get", "providers.openai.api_key"),
            cli("config", "keys", "list"),
            cli("config", "path"),
        ]
        fake.inject(Fault.http(500), times=None)
        outputs.append(cli("-v", "generate", "x", "-m", "gpt-image-2"))
        assert len(fake.requests) > 3 and all(r.headers.get("authorization") == f"Bearer {KEY}"
                                              for r in fake.requests if r.path.endswith(("generations", "transcriptions")))
    for r in outputs:
        assert KEY not in r.stdout and KEY not in r.stderr
    assert any(r.code == 0 and r.stdout for r in outputs)
    show = json.loads(outputs[8].stdout)
    assert show["providers.openai.api_key"]["source"].startswith("keys file")
    leaked = [p for p in cache_dir.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]
    assert leaked == []
    holders = [p for p in config_file.parent.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]
    assert holders == [config_file.parent / "keys.toml"]
