"""Routing order is the user's: config order whatever layer a key comes from, --provider order,
and unknown provider names refused. Driven through the CLI in-process against loopback fakes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.openai import FakeOpenAI

HELLO = str(Path(__file__).resolve().parents[2] / "examples" / "hello.wav")


@pytest.fixture
def two(config_file: Path) -> Iterator[tuple[FakeOpenAI, FakeOpenAI]]:
    """`openai` (the built-in, at one fake) listed before `backup` (an OpenAI-compatible provider at
    another); neither section holds a key."""
    with FakeOpenAI() as openai, FakeOpenAI() as backup:
        config_file.parent.mkdir(parents=True, exist_ok=True)
        config_file.write_text(
            f'[providers.openai]\nbase_url = "{openai.base_url}"\n\n'
            f'[providers.backup]\ntype = "openai"\nbase_url = "{backup.base_url}"\nmodels = ["gpt-image-2"]\n')
        yield openai, backup


KEYS = {"OPENAI_API_KEY": "k-openai", "AIGW_PROVIDERS__BACKUP__API_KEY": "k-backup"}


def test_an_aigw_variable_key_does_not_move_its_provider_to_the_front(cli, two):
    openai, backup = two
    r = cli("generate", "x", "-m", "gpt-image-2", "--json", env=KEYS)
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["provider"] == "openai"
    assert openai.count("/v1/images/generations") == 1 and backup.count() == 0
    dry = cli("generate", "x", "-m", "gpt-image-2", "--dry-run", "--json", env=KEYS)
    assert [row["provider"] for row in json.loads(dry.stdout)["candidates"]] == ["openai", "backup"]
    assert all(row["configured"] for row in json.loads(dry.stdout)["candidates"])


def test_repeated_provider_flags_restrict_and_order(cli, two):
    openai, backup = two
    r = cli("generate", "x", "-m", "gpt-image-2", "-p", "backup", "-p", "openai", "--json", env=KEYS)
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["provider"] == "backup"
    assert backup.count("/v1/images/generations") == 1 and openai.count() == 0


def test_providers_without_a_section_follow_in_the_documented_order(cli, config_file):
    """groq and together configured by their own variables only, after the config's `gw`."""
    with FakeOpenAI(auth="none") as gw, FakeOpenAI() as groq, FakeOpenAI() as together:
        config_file.parent.mkdir(parents=True, exist_ok=True)
        config_file.write_text(f'[providers.gw]\ntype = "openai"\nbase_url = "{gw.base_url}"\nauth = "none"\n'
                               'models = ["whisper-large-v3"]\n')
        env = {"TOGETHER_API_KEY": "t", "TOGETHER_BASE_URL": together.base_url,
               "GROQ_API_KEY": "g", "GROQ_BASE_URL": groq.url}
        r = cli("transcribe", HELLO, "-m", "whisper-large-v3", "--dry-run", "--json", env=env)
        assert r.code == 0, r.stderr
        rows = json.loads(r.stdout)["candidates"]
        assert [row["provider"] for row in rows if row["configured"]] == ["gw", "groq", "together"]


@pytest.mark.parametrize("args", [
    ("generate", "x", "-m", "gpt-image-2", "-p", "nosuch"),
    ("generate", "x", "-p", "nosuch"),
    ("transcribe", HELLO, "-p", "openai", "-p", "nosuch"),
    ("bench", "-m", "gpt-image-2", "--prompt", "x", "-p", "nosuch"),
    ("models", "--provider", "nosuch"),
    ("models", "--check", "--provider", "nosuch"),
])
def test_an_unknown_provider_name_is_exit_2_listing_the_known_ones(cli, two, args):
    r = cli(*args, env=KEYS)
    assert r.code == 2, r.stderr
    assert "unknown provider nosuch" in r.stderr
    assert "known providers: openai, azure, fal" in r.stderr and "backup" in r.stderr
    assert r.stdout == ""
    openai, backup = two
    assert openai.count() == 0 and backup.count() == 0


# ---- 404 model_not_found: this provider lacks the model ----------------------------------------


def _pair_config(config_file: Path, primary: FakeOpenAI, secondary: FakeOpenAI) -> None:
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text("".join(
        f'[providers.{name}]\ntype = "openai"\nbase_url = "{fake.base_url}"\nauth = "none"\nmodels = ["gpt-image-2"]\n'
        for name, fake in (("primary", primary), ("secondary", secondary))))


def test_a_provider_without_the_model_hands_over_to_the_next(cli, config_file):
    with FakeOpenAI(auth="none") as primary, FakeOpenAI(auth="none") as secondary:
        del primary.image_models["gpt-image-2"]  # answers 404 {"error": {"code": "model_not_found"}}
        _pair_config(config_file, primary, secondary)
        r = cli("generate", "x", "-m", "gpt-image-2", "--json")
        assert r.code == 0, r.stderr
        data = json.loads(r.stdout)
        assert data["provider"] == "secondary"
        assert [(a["provider"], a["failure_class"]) for a in data["attempts"]] == [
            ("primary", "model_unavailable"), ("secondary", None)]


def test_no_provider_with_the_model_is_exit_2_naming_them(cli, config_file, cache_dir):
    with FakeOpenAI(auth="none") as primary, FakeOpenAI(auth="none") as secondary:
        del primary.image_models["gpt-image-2"], secondary.image_models["gpt-image-2"]
        _pair_config(config_file, primary, secondary)
        r = cli("generate", "x", "-m", "gpt-image-2")
        assert r.code == 2, r.stderr
        assert "gpt-image-2: not found at primary, secondary" in r.stderr
        assert r.stdout == ""
        assert primary.count("/v1/images/generations") == 1 and secondary.count("/v1/images/generations") == 1


def test_a_400_model_not_found_is_the_same_as_a_404():
    import httpx

    from aigw import errors
    from aigw.providers._http import classify

    body = {"error": {"message": "no such model", "type": "invalid_request_error", "code": "model_not_found"}}
    assert isinstance(classify(httpx.Response(400, json=body), "gw"), errors.ModelUnavailableError)
