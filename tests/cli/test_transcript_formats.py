"""Every format from every transcribing provider, through the real CLI against the loopback fakes.

Each provider is set up as a user would (its key and base URL in the environment, Azure's and
RunPod's mappings), asked for each format, and the output is checked by what reads it: `json`,
the independent `srt` and `webvtt-py` parsers, Whisper's TSV layout.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
import srt
import webvtt

from tests.fakes.azure import FakeAzureOpenAI
from tests.fakes.deepgram import FakeDeepgram
from tests.fakes.fal import FakeFal
from tests.fakes.groq import FakeGroq
from tests.fakes.openai import FakeOpenAI
from tests.fakes.replicate import FakeReplicate
from tests.fakes.runpod import FakeRunPod
from tests.fakes.together import FakeTogether

FORMATS = ("text", "json", "verbose_json", "srt", "vtt", "tsv")
SENTENCES = "Welcome to the gateway. Every result is kept on disk."


def _env(mp: pytest.MonkeyPatch, **values: str) -> None:
    for key, value in values.items():
        mp.setenv(key, value)


def _openai(stack: ExitStack, mp: pytest.MonkeyPatch, config: Any) -> tuple[Any, list[str]]:
    server = stack.enter_context(FakeOpenAI())
    _env(mp, OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="test")
    return server, ["-m", "whisper-1"]


def _azure(stack: ExitStack, mp: pytest.MonkeyPatch, config: Any) -> tuple[Any, list[str]]:
    server = stack.enter_context(FakeAzureOpenAI())
    _env(mp, AZURE_OPENAI_API_KEY="az-key", AZURE_OPENAI_ENDPOINT=server.url)
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[providers.azure]\nmodels = { "whisper-1" = "my-whisper" }\n')
    return server, ["-m", "whisper-1", "-p", "azure"]


def _groq(stack: ExitStack, mp: pytest.MonkeyPatch, config: Any) -> tuple[Any, list[str]]:
    server = stack.enter_context(FakeGroq())
    _env(mp, GROQ_API_KEY="gsk-test", AIGW_PROVIDERS__GROQ__BASE_URL=server.url)
    return server, ["-m", "whisper-large-v3", "-p", "groq"]


def _together(stack: ExitStack, mp: pytest.MonkeyPatch, config: Any) -> tuple[Any, list[str]]:
    server = stack.enter_context(FakeTogether())
    _env(mp, TOGETHER_API_KEY="tg-test", AIGW_PROVIDERS__TOGETHER__BASE_URL=server.url)
    return server, ["-m", "whisper-large-v3", "-p", "together"]


def _deepgram(stack: ExitStack, mp: pytest.MonkeyPatch, config: Any) -> tuple[Any, list[str]]:
    server = stack.enter_context(FakeDeepgram(api_key="dg-test", transcript=SENTENCES))
    _env(mp, DEEPGRAM_API_KEY="dg-test", AIGW_PROVIDERS__DEEPGRAM__BASE_URL=server.url)
    return server, ["-m", "nova-3"]


def _fal(stack: ExitStack, mp: pytest.MonkeyPatch, config: Any) -> tuple[Any, list[str]]:
    mp.delenv("FAL_REST_HOST", raising=False)
    server = stack.enter_context(FakeFal())
    _env(mp, FAL_KEY="test-key", AIGW_PROVIDERS__FAL__BASE_URL=server.base_url)
    return server, ["-m", "whisper-large-v3", "-p", "fal"]


def _replicate(stack: ExitStack, mp: pytest.MonkeyPatch, config: Any) -> tuple[Any, list[str]]:
    server = stack.enter_context(FakeReplicate())
    _env(mp, REPLICATE_API_TOKEN="r8_test", AIGW_PROVIDERS__REPLICATE__BASE_URL=server.url,
         REPLICATE_POLL_INTERVAL="0.05")
    return server, ["-m", "whisper-large-v3", "-p", "replicate"]


def _runpod(stack: ExitStack, mp: pytest.MonkeyPatch, config: Any) -> tuple[Any, list[str]]:
    server = stack.enter_context(FakeRunPod(max_hold=0.05))
    server.add_endpoint("ep123", "faster-whisper")
    _env(mp, RUNPOD_API_KEY="test-key", AIGW_PROVIDERS__RUNPOD__BASE_URL=server.base_url,
         AIGW_PROVIDERS__RUNPOD__MODELS='{"whisper-large-v3": "ep123"}')
    return server, ["-m", "whisper-large-v3", "-p", "runpod"]


def _local(stack: ExitStack, mp: pytest.MonkeyPatch, config: Any) -> tuple[Any, list[str]]:
    return None, ["-m", "whisper-tiny.en"]


PROVIDERS: dict[str, Callable[[ExitStack, pytest.MonkeyPatch, Any], tuple[Any, list[str]]]] = {
    "openai": _openai, "azure": _azure, "groq": _groq, "together": _together, "deepgram": _deepgram,
    "fal": _fal, "replicate": _replicate, "runpod": _runpod, "local": _local,
}


@pytest.fixture(params=list(PROVIDERS))
def provider(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, config_file: Any) -> Iterator[list[str]]:
    with ExitStack() as stack:
        server, args = PROVIDERS[request.param](stack, monkeypatch, config_file)
        yield args
        if server is not None:
            assert not server.errors, server.errors


def check(fmt: str, out: str) -> None:
    """`out` is a well-formed `fmt` body holding the words, by an independent reader where one exists."""
    assert out.strip(), "empty body"
    if fmt == "text":
        assert "gateway" in out.lower() or "fox" in out.lower()
    elif fmt == "json":
        assert json.loads(out)["text"].strip()
    elif fmt == "verbose_json":
        doc = json.loads(out)
        assert doc["text"].strip() and doc["segments"]
        assert all(s["end"] >= s["start"] >= 0 for s in doc["segments"])
    elif fmt == "srt":
        subs = list(srt.parse(out))
        assert subs and [s.index for s in subs] == list(range(1, len(subs) + 1))
        assert all(s.end >= s.start for s in subs)
    elif fmt == "vtt":
        captions = webvtt.from_buffer(io.StringIO(out)).captions
        assert captions and all(c.end_in_seconds >= c.start_in_seconds for c in captions)
    elif fmt == "tsv":
        head, *rows = out.rstrip("\n").split("\n")
        assert head == "start\tend\ttext" and rows
        for row in rows:
            start, end, text = row.split("\t")
            assert int(end) >= int(start) >= 0 and text.strip()


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_provider_gives_every_format(cli, provider, speech_wav, tmp_path, fmt):
    talk = tmp_path / "talk.wav"
    talk.write_bytes(speech_wav.read_bytes())
    r = cli("transcribe", str(talk), *provider, "-f", fmt)
    assert r.code == 0, r.stderr
    check(fmt, r.stdout)
