"""README's hosted Portkey recipes, as written but for the base URL, against a fake of the hosted
gateway that checks the headers each form needs and wraps text answers the way Portkey's gateway does
(`{"html-message": ...}`, tests/gateway/conftest.py). The self-hosted recipe runs through the real
gateway in tests/gateway/test_portkey_gateway.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fakes._server import RecordedRequest, Response
from tests.fakes.openai import FakeOpenAI
from tests.recipes import as_toml, recipes

OPENAI_KEY = "sk-openai"


class HostedPortkey(FakeOpenAI):
    """The hosted gateway: wants its own key and a provider (a virtual key, or a provider header with the
    provider key as the bearer); passes OpenAI's answer on, text ones wrapped in JSON."""

    def __init__(self) -> None:
        super().__init__(auth="none")

    def route(self, req: RecordedRequest) -> Response:
        h = req.headers
        if h.get("x-portkey-api-key") != "PORTKEY_API_KEY":
            return Response.json({"status": "failure", "message": "Invalid API Key"}, 401)
        if h.get("x-portkey-virtual-key") != "VIRTUAL_KEY" and not (
                h.get("x-portkey-provider") == "openai" and h.get("authorization") == f"Bearer {OPENAI_KEY}"):
            return Response.json({"status": "failure", "message": "Either x-portkey-config or x-portkey-provider header is required"}, 400)
        resp = super().route(req)
        if resp.status == 200 and resp.headers.get("content-type", "").startswith("text/plain"):
            return Response.json({"html-message": resp.body.decode()}, 200)
        return resp


@pytest.fixture
def hosted(config_file: Path):
    def configure(table: dict[str, Any], url: str) -> None:
        config_file.parent.mkdir(parents=True, exist_ok=True)
        config_file.write_text("[routing]\nretries = 0\n\n" + as_toml("portkey", {**table, "base_url": url}))
    with HostedPortkey() as fake:
        yield fake, configure


def test_the_readme_gives_the_hosted_and_the_self_hosted_forms():
    hosted_vk, hosted_bearer, self_hosted = recipes("Portkey")
    assert hosted_vk["base_url"] == hosted_bearer["base_url"] == "https://api.portkey.ai/v1"
    assert hosted_vk["auth"] == "none" and "auth" not in hosted_bearer and "auth" not in self_hosted
    assert self_hosted["headers"] == {"x-portkey-provider": "openai"}


@pytest.mark.parametrize(("which", "key"), [(0, None), (1, OPENAI_KEY)], ids=["virtual-key", "provider-and-bearer"])
def test_a_hosted_recipe_as_written_transcribes_srt_and_generates(cli, hosted, monkeypatch, speech_wav, which, key):
    fake, configure = hosted
    configure(recipes("Portkey")[which], fake.base_url)
    if key:
        monkeypatch.setenv("AIGW_PROVIDERS__PORTKEY__API_KEY", key)
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "--format", "srt")
    assert r.code == 0 and " --> " in r.stdout, r.stderr
    assert r.stdout.startswith("1\n00:00:00,000 --> ")
    r = cli("generate", "x", "-m", "gpt-image-2", "--json")
    assert r.code == 0 and json.loads(r.stdout)["provider"] == "portkey", r.stderr
    sent = fake.requests_to("/images/generations")[0].headers
    assert ("authorization" in sent) == (key is not None)


def test_a_hosted_recipe_without_its_provider_key_is_refused(cli, hosted):
    fake, configure = hosted
    configure(recipes("Portkey")[1], fake.base_url)  # no `aigw config keys set portkey`
    r = cli("generate", "x", "-m", "gpt-image-2")
    assert r.code == 3 and fake.count() == 0  # no key: nothing sent
