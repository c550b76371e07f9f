"""Models the user names are models: a gateway's own alias, a config model that extends a catalog
one, a dry run with no key, and `-p PROVIDER` without -m. In-process: these check
what aigw decides, not the process around it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from tests.fakes.groq import FakeGroq
from tests.fakes.openai import FakeOpenAI

HELLO = str(Path(__file__).resolve().parents[2] / "examples" / "hello.wav")


def write(config_file: Path, text: str) -> None:
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(text)


def test_a_gateway_alias_is_a_model_of_the_kind_the_command_asks_for(cli, config_file):
    with FakeOpenAI(auth="none") as gw:
        gw.image_models["img-failover"] = dataclasses.replace(gw.image_models["gpt-image-2"], name="img-failover")
        gw.audio_models["stt-failover"] = dataclasses.replace(gw.audio_models["whisper-1"], name="stt-failover")
        write(config_file, f'[providers.lite]\ntype = "openai"\nbase_url = "{gw.base_url}"\nauth = "none"\n'
                           'models = ["img-failover", "stt-failover"]\n')
        r = cli("generate", "x", "-m", "img-failover", "--json")
        assert r.code == 0, r.stderr
        data = json.loads(r.stdout)
        assert (data["provider"], data["model"]) == ("lite", "img-failover")
        assert data["cost_usd"] is None and data["estimated_cost_usd"] is None  # unpriced, never $0
        assert gw.requests_to("/v1/images/generations")[-1].json["model"] == "img-failover"

        r = cli("transcribe", HELLO, "-m", "stt-failover")
        assert r.code == 0, r.stderr
        assert r.stdout.strip() == gw.transcript
        assert gw.requests_to("/v1/audio/transcriptions")[-1].form["model"] == "stt-failover"

        r = cli("bench", "-m", "stt-failover", "--file", HELLO, "--runs", "1", "--yes", "--json")
        assert r.code == 0, r.stderr
        [row] = json.loads(r.stdout)
        assert (row["provider"], row["model"], row["ok"]) == ("lite", "stt-failover", 1)


def test_a_gateway_alias_is_priced_by_the_config_and_mapped_to_the_upstream_name(cli, config_file):
    write(config_file, '[providers.pk]\ntype = "openai"\nbase_url = "http://127.0.0.1:9/v1"\nauth = "none"\n'
                       'models = { "img-failover" = "pk-images" }\n'
                       'prices = { "img-failover" = { per_image = { "*" = { "*" = 0.05 } } } }\n')
    r = cli("generate", "x", "-m", "img-failover", "--dry-run", "--json")
    assert r.code == 0, r.stderr
    [row] = json.loads(r.stdout)["candidates"]
    assert (row["provider"], row["provider_model"], row["estimated_cost_usd"]) == ("pk", "pk-images", 0.05)


def test_a_model_extending_a_catalog_model_inherits_its_price(cli, config_file, fake_openai):
    write(config_file, '[models."house-gpt"]\nextends = "gpt-image-1.5"\nproviders = { openai = "gpt-image-1.5" }\n')
    house = json.loads(cli("generate", "x", "-m", "house-gpt", "--quality", "low", "--json").stdout)
    parent = json.loads(cli("generate", "x", "-m", "gpt-image-1.5", "--quality", "low", "--json").stdout)
    assert house["model"] == "house-gpt" and house["provider_model"] == "gpt-image-1.5"
    assert house["estimated_cost_usd"] == parent["estimated_cost_usd"] is not None
    assert house["cost_usd"] == parent["cost_usd"] is not None


def test_a_dry_run_needs_no_key_and_marks_each_provider_without_one(cli):
    r = cli("generate", "x", "-m", "flux-schnell", "--dry-run", "--json")
    assert r.code == 0, r.stderr
    rows = json.loads(r.stdout)["candidates"]
    assert [(row["provider"], row["hop"], row["configured"]) for row in rows] == [
        ("fal", None, False), ("replicate", None, False), ("runpod", None, False), ("together", None, False)]
    assert all(row["estimated_cost_usd"] > 0 for row in rows)
    assert rows[0]["key_hint"] == "set FAL_KEY or run 'aigw config keys set fal'"

    text = cli("generate", "x", "--dry-run")
    assert text.code == 0, text.stderr
    assert text.stdout.startswith("-\topenai\tgpt-image-2\t$") and "no key: set OPENAI_API_KEY" in text.stdout

    audio = cli("transcribe", HELLO, "-m", "whisper-1", "--dry-run", "--json")
    assert audio.code == 0, audio.stderr
    [row] = json.loads(audio.stdout)["candidates"]
    assert row["provider"] == "openai" and row["configured"] is False and row["estimated_cost_usd"] > 0
    # Without --dry-run the missing key is still exit 3.
    assert cli("generate", "x", "-m", "flux-schnell").code == 3


def test_a_dry_run_with_one_key_plans_it_and_lists_the_others_after(cli, fake_openai):
    r = cli("generate", "x", "-m", "gpt-image-1.5", "--dry-run", "--json")
    [row] = json.loads(r.stdout)["candidates"]
    assert (row["hop"], row["provider"], row["configured"]) == (1, "openai", True)


def test_provider_without_model_takes_that_providers_default(cli):
    r = cli("generate", "x", "-p", "fal", "--dry-run", "--json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["requested_model"] == "flux-schnell"
    r = cli("generate", "x", "-p", "fal")  # not a dry run: fal's key is what is missing
    assert r.code == 3 and "no key for fal, which serves flux-schnell" in r.stderr and "FAL_KEY" in r.stderr
    r = cli("generate", "x", "-p", "stability", "--dry-run", "--json")
    assert json.loads(r.stdout)["requested_model"] == "stable-image-core"
    with FakeGroq() as groq:
        env = {"GROQ_API_KEY": "gsk-test", "AIGW_PROVIDERS__GROQ__BASE_URL": groq.url}
        r = cli("transcribe", HELLO, "-p", "groq", "--json", env=env)
        assert r.code == 0, r.stderr
        data = json.loads(r.stdout)
        assert (data["provider"], data["model"]) == ("groq", "whisper-large-v3-turbo")
