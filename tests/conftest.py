"""Every test runs isolated from the machine: config, keys and cache under tmp_path, provider
variables cleared, no network beyond 127.0.0.1."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import CLI

PROVIDER_VARS = (
    "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_GATEWAY_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID",
    "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_AD_TOKEN", "OPENAI_API_VERSION",
    "FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET", "REPLICATE_API_TOKEN", "REPLICATE_BASE_URL",
    "RUNPOD_API_KEY", "RUNPOD_ENDPOINT_BASE_URL", "GROQ_API_KEY", "GROQ_BASE_URL", "TOGETHER_API_KEY",
    "TOGETHER_BASE_URL", "STABILITY_API_KEY", "DEEPGRAM_API_KEY", "NO_COLOR", "REPLICATE_POLL_INTERVAL",
    "FAL_RUN_HOST", "FAL_QUEUE_RUN_HOST", "FAL_REST_HOST",
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in list(os.environ):
        if var.startswith("AIGW_") or var in PROVIDER_VARS:
            monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("AIGW_CONFIG", str(home / "config" / "config.toml"))
    monkeypatch.setenv("AIGW_CACHE_DIR", str(home / "cache"))
    # faster-whisper must never reach the hub from a test.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # Keys registered for redaction by an earlier in-process test are not this test's keys.
    from aigw import redact

    redact.forget()
    return home


class _RememberingModel:
    """A loaded faster-whisper model that runs once per distinct input: the same audio bytes with
    the same decoding options give back the segments (and info) it produced the first time.
    Decoding starts greedy at temperature 0, deterministic for the same input, so a test sees what
    a fresh run gives; the saving is the second or two of CPU each repeat costs (hello.wav once per
    output format, per test). The first run of each input is the real model's."""

    remembering = True  # off for a test that times the model (bench): see `real_local_runs`

    def __init__(self, model: Any) -> None:
        self.model = model
        self.answers: dict[tuple[str, str], tuple[list[Any], Any]] = {}

    def transcribe(self, audio: str, **options: Any) -> tuple[Any, Any]:
        if not self.remembering:
            return self.model.transcribe(audio, **options)
        key = (hashlib.sha256(Path(audio).read_bytes()).hexdigest(), repr(sorted(options.items())))
        if key not in self.answers:
            pieces, info = self.model.transcribe(audio, **options)
            self.answers[key] = (list(pieces), info)  # a generator: read it whole, once
        pieces, info = self.answers[key]
        return list(pieces), info


@pytest.fixture(scope="session", autouse=True)
def remembering_local_model() -> Iterator[None]:
    """aigw keeps one model loaded per process (providers.local.loaded_model); in-process tests
    share that process, so they share the model and what it heard."""
    from aigw.providers import local

    loaded = local.loaded_model
    remembered: dict[tuple[Any, ...], _RememberingModel] = {}

    def loaded_model(path: str, device: str, compute_type: str, threads: int) -> _RememberingModel:
        key = (path, device, compute_type, threads)
        if key not in remembered:
            remembered[key] = _RememberingModel(loaded(path, device, compute_type, threads))
        return remembered[key]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(local, "loaded_model", loaded_model)
        yield


@pytest.fixture
def real_local_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every local transcription runs the model: for tests that time it (`aigw bench`)."""
    monkeypatch.setattr(_RememberingModel, "remembering", False)


@pytest.fixture
def cli() -> CLI:
    return CLI()


@pytest.fixture
def cache_dir(isolated: Path) -> Path:
    return isolated / "cache"


@pytest.fixture
def config_file(isolated: Path) -> Path:
    return isolated / "config" / "config.toml"


@pytest.fixture
def speech_wav() -> Path:
    return EXAMPLES / "hello.wav"


@pytest.fixture
def fake_openai(monkeypatch: pytest.MonkeyPatch):
    """A running fake OpenAI server, with OPENAI_BASE_URL and OPENAI_API_KEY pointing at it."""
    from tests.fakes.openai import FakeOpenAI

    with FakeOpenAI() as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        yield fake


@pytest.fixture
def groq(monkeypatch: pytest.MonkeyPatch):
    """A running fake Groq server, the only configured provider besides those a test adds."""
    from tests.fakes.groq import FakeGroq

    with FakeGroq() as server:
        monkeypatch.setenv("GROQ_API_KEY", "gsk-test")
        monkeypatch.setenv("AIGW_PROVIDERS__GROQ__BASE_URL", server.url)
        yield server
    assert not server.errors, server.errors


@pytest.fixture
def together(monkeypatch: pytest.MonkeyPatch):
    """A running fake Together server."""
    from tests.fakes.together import FakeTogether

    with FakeTogether() as server:
        monkeypatch.setenv("TOGETHER_API_KEY", "tg-test")
        monkeypatch.setenv("AIGW_PROVIDERS__TOGETHER__BASE_URL", server.url)
        yield server
    assert not server.errors, server.errors
