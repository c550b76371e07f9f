"""No option is dropped silently: each is sent, mapped with a warning, or warned about and not sent,
at every provider; README's table says which, and agrees with the providers' declarations."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from aigw.providers._options import BY_MODEL, IMAGE_FLAGS, NOT_SENT, provider_columns, readme_tables
from tests.fakes.azure import FakeAzureOpenAI
from tests.fakes.openai import FakeOpenAI

README = Path(__file__).resolve().parents[2] / "README.md"
DIFFUSION_ARGS = ("--seed", "7", "--negative-prompt", "blurry", "--steps", "3", "--guidance", "2")
NOT_SENT_FLAGS = ("--seed", "--negative-prompt", "--steps", "--guidance")


def _not_sent_warnings(stderr: str) -> dict[str, int]:
    return {flag: len(re.findall(rf"does not take {re.escape(flag)}; not sent", stderr)) for flag in NOT_SENT_FLAGS}


@pytest.fixture
def gateway(config_file):
    """An OpenAI-compatible server configured as a user would: `type = "openai"`, no key."""
    with FakeOpenAI(serve_retired=True, auth="none") as server:
        config_file.parent.mkdir(parents=True, exist_ok=True)
        config_file.write_text(f'[providers.mygw]\ntype = "openai"\nbase_url = "{server.base_url}"\nauth = "none"\n'
                               'models = ["gpt-image-2", "gpt-image-1.5", "dall-e-3"]\n')
        yield server


# ---- the README table is the providers' declarations --------------------------------------------


def test_readme_option_tables_equal_the_providers_declarations():
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- options-table:start -->\n(.*?)\n<!-- options-table:end -->", text, re.S)
    assert found, "README has no option table between the options-table markers"
    assert found.group(1).strip() == readme_tables()


def test_every_image_provider_declares_every_option():
    columns = provider_columns("image")
    assert {"`openai`", "`azure`", "`fal`", "`replicate`", "`runpod`", "`together`", "`stability`"} <= set(columns)
    for declared in columns.values():
        assert set(declared) == set(IMAGE_FLAGS)


# ---- OpenAI-compatible gateway, OpenAI itself, Azure: real requests to loopback fakes ------------


def test_gateway_gets_what_it_takes_and_one_warning_for_each_option_it_does_not(cli, gateway):
    r = cli("generate", "a cat", "-m", "gpt-image-2", *DIFFUSION_ARGS, "-a", "16:9", "--json")
    assert r.code == 0, r.stderr
    body = gateway.requests_to("/images/generations")[-1].json
    assert body == {"model": "gpt-image-2", "prompt": "a cat", "n": 1, "size": "1536x864"}
    assert _not_sent_warnings(r.stderr) == dict.fromkeys(NOT_SENT_FLAGS, 1)
    data = json.loads(r.stdout)
    assert data["size"] == body["size"]  # the size sent, exactly 16:9 within gpt-image-2's size rule
    assert len(data["warnings"]) == 4 and "16:9" not in r.stderr


def test_openai_gets_the_nearest_listed_size_for_a_ratio_with_a_warning(cli, fake_openai):
    r = cli("generate", "a cat", "-m", "gpt-image-1.5", "-a", "16:9", "--seed", "7", "--json")
    assert r.code == 0, r.stderr
    body = fake_openai.requests_to("/images/generations")[-1].json
    assert body["size"] == "1536x1024" and "seed" not in body
    assert json.loads(r.stdout)["size"] == "1536x1024"
    assert r.stderr.count("--aspect-ratio 16:9 sent as the nearest size, 1536x1024") == 1
    assert _not_sent_warnings(r.stderr)["--seed"] == 1


def test_an_exact_listed_ratio_is_sent_as_that_size_without_a_warning(cli, fake_openai):
    r = cli("generate", "a cat", "-m", "gpt-image-1.5", "-a", "2:3", "--json")
    assert r.code == 0, r.stderr
    assert fake_openai.requests_to("/images/generations")[-1].json["size"] == "1024x1536"
    assert json.loads(r.stdout)["warnings"] == []


def test_size_wins_over_a_ratio_and_the_ratio_is_warned_about(cli, fake_openai):
    r = cli("generate", "a cat", "-m", "gpt-image-2", "--size", "1024x1024", "-a", "16:9", "--json")
    assert r.code == 0, r.stderr
    assert fake_openai.requests_to("/images/generations")[-1].json["size"] == "1024x1024"
    assert r.stderr.count("--aspect-ratio 16:9 not sent") == 1


def test_dall_e_3_at_a_gateway_gets_its_style_and_no_seed(cli, gateway):
    r = cli("generate", "a cat", "-m", "dall-e-3", "--style", "vivid", "--seed", "3", "-a", "16:9", "--json")
    assert r.code == 0, r.stderr
    body = gateway.requests_to("/images/generations")[-1].json
    assert body["style"] == "vivid" and body["size"] == "1792x1024" and "seed" not in body
    assert _not_sent_warnings(r.stderr)["--seed"] == 1


def test_a_model_style_is_not_sent_to_a_gpt_image_model_and_says_so(cli, gateway):
    # PROVIDER/MODEL skips the catalog's checks, so the provider's own mapping is what stands.
    r = cli("generate", "a cat", "-m", "mygw/gpt-image-2", "--style", "vivid")
    assert r.code == 0, r.stderr
    assert "style" not in gateway.requests_to("/images/generations")[-1].json
    assert r.stderr.count("does not take --style; not sent") == 1


def test_azure_warns_for_each_option_it_does_not_send(cli, config_file, monkeypatch):
    with FakeAzureOpenAI() as azure:
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", "az-key")
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", azure.url)
        config_file.parent.mkdir(parents=True, exist_ok=True)
        config_file.write_text('[providers.azure]\nmodels = { "gpt-image-1.5" = "img15" }\n'
                               'api_version = "2025-04-01-preview"\n')
        r = cli("generate", "a cat", "-m", "gpt-image-1.5", "-p", "azure", *DIFFUSION_ARGS, "-a", "9:16", "--json")
        assert r.code == 0, r.stderr
        body = azure.requests_to("/images/generations")[-1].json
    assert body["size"] == "1024x1536" and not {"seed", "negative_prompt", "steps", "guidance"} & set(body)
    assert _not_sent_warnings(r.stderr) == dict.fromkeys(NOT_SENT_FLAGS, 1)
    assert json.loads(r.stdout)["size"] == "1024x1536"


# ---- every image provider behaves as it declares (the plan is what is sent) ---------------------

KEYS = {"OPENAI_API_KEY": "k", "FAL_KEY": "k", "REPLICATE_API_TOKEN": "k", "RUNPOD_API_KEY": "k",
        "TOGETHER_API_KEY": "k", "STABILITY_API_KEY": "k"}
SERVED = [("openai", "gpt-image-2"), ("openai", "gpt-image-1-mini"), ("fal", "flux-schnell"), ("fal", "flux-dev"),
          ("fal", "sdxl"), ("replicate", "flux-schnell"), ("replicate", "sdxl"), ("runpod", "flux-schnell"),
          ("runpod", "flux-dev"), ("together", "flux-schnell"), ("stability", "stable-image-core"),
          ("stability", "sd3.5-large-turbo"), ("stability", "stable-image-ultra"), ("stability", "sd3.5-large")]


def _planned_warnings(cli, monkeypatch, provider: str, model: str) -> str:
    for var, value in KEYS.items():
        monkeypatch.setenv(var, value)
    r = cli("generate", "a cat", "-m", model, "-p", provider, *DIFFUSION_ARGS, "--dry-run", "--json")
    assert r.code == 0, r.stderr
    return "\n".join(json.loads(r.stdout)["candidates"][0]["warnings"])


@pytest.mark.parametrize(("provider", "model"), SERVED)
def test_each_provider_warns_exactly_for_what_it_declares_not_sent(cli, monkeypatch, provider, model):
    warnings = _planned_warnings(cli, monkeypatch, provider, model)
    declared = provider_columns("image")[f"`{provider}`"]
    for flag, count in _not_sent_warnings(warnings).items():
        support = declared[next(f for f, fl in IMAGE_FLAGS.items() if fl == flag)]
        if support == NOT_SENT:
            assert count == 1, (flag, warnings)
        elif support != BY_MODEL:
            assert count == 0, (flag, warnings)


# ---- transcription: sent, or warned about and not sent, or refused before any request -----------


def test_the_diarizing_model_gets_no_prompt_and_says_so(cli, fake_openai, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "gpt-4o-transcribe-diarize", "--prompt", "aigw", "-l", "en")
    assert r.code == 0, r.stderr
    form = fake_openai.requests_to("/audio/transcriptions")[-1].form
    assert "prompt" not in form and form["language"] == "en"
    assert r.stderr.count("gpt-4o-transcribe-diarize does not take --prompt; not sent") == 1


def test_a_prompt_reaches_gpt_4o_transcribe(cli, fake_openai, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "gpt-4o-transcribe", "--prompt", "aigw", "--temperature", "0.2")
    assert r.code == 0, r.stderr
    form = fake_openai.requests_to("/audio/transcriptions")[-1].form
    assert form["prompt"] == "aigw" and form["temperature"] == "0.2" and "not sent" not in r.stderr


@pytest.mark.parametrize("model", ["gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-transcribe"])
def test_translation_by_a_gpt_transcription_model_is_refused_before_sending(cli, fake_openai, speech_wav, model):
    r = cli("transcribe", str(speech_wav), "-m", model, "--translate")
    assert r.code == 2, r.stderr
    assert "does not translate" in r.stderr and "whisper-1" in r.stderr
    assert fake_openai.count() == 0


@pytest.mark.parametrize("model", ["gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-transcribe"])
@pytest.mark.parametrize("fmt", ["srt", "vtt", "verbose_json", "tsv"])
def test_subtitles_from_a_model_without_timestamps_are_refused_naming_one_with_them(cli, fake_openai, speech_wav,
                                                                                    model, fmt):
    r = cli("transcribe", str(speech_wav), "-m", model, "-f", fmt)
    assert r.code == 2, r.stderr
    assert f"{model} returns no timestamps, so it cannot give {fmt}" in r.stderr and "whisper-1" in r.stderr
    assert fake_openai.count() == 0


@pytest.mark.parametrize("model", ["gpt-4o-transcribe", "gpt-transcribe", "gpt-4o-transcribe-diarize"])
def test_text_from_a_json_only_model_is_asked_as_json(cli, fake_openai, speech_wav, model):
    r = cli("transcribe", str(speech_wav), "-m", model, "-f", "text")
    assert r.code == 0, r.stderr
    assert fake_openai.requests_to("/audio/transcriptions")[-1].form["response_format"] == "json"
    assert r.stdout.strip()


def test_word_timestamps_outside_verbose_json_are_warned_about_not_sent(cli, fake_openai, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "--timestamps", "word", "-f", "json")
    assert r.code == 0, r.stderr
    assert not fake_openai.requests_to("/audio/transcriptions")[-1].form_list("timestamp_granularities[]")
    assert r.stderr.count("timestamps come only with --format verbose_json; not sent") == 1


def test_an_english_only_local_model_warns_that_it_neither_translates_nor_takes_another_language(cli):
    r = cli("transcribe", str(Path(__file__).resolve().parents[2] / "examples" / "hello.wav"), "-m", "whisper-tiny.en",
            "-l", "de", "--translate", "--dry-run", "--json")
    assert r.code == 0, r.stderr
    warnings = "\n".join(json.loads(r.stdout)["candidates"][0]["warnings"])
    assert warnings.count("(English only) does not take --language; not sent") == 1
    assert warnings.count("(English only) does not take --translate; not sent") == 1


def test_a_ratio_asked_of_a_retired_model_becomes_its_successors_size(cli, fake_openai):
    r = cli("generate", "a cat", "-m", "dall-e-3", "-a", "16:9", "--json")
    assert r.code == 0, r.stderr
    body = fake_openai.requests_to("/images/generations")[-1].json
    assert body["model"] == "gpt-image-1.5" and body["size"] == "1536x1024"
    assert json.loads(r.stdout)["size"] == "1536x1024"
    assert r.stderr.count("--aspect-ratio 16:9 sent as the nearest size, 1536x1024") == 1
    assert "decides the shape" not in r.stderr


def _openai_audio_formats() -> list[tuple[str, str]]:
    from aigw.catalog import load

    return [(m.id, fmt) for m in load().models.values()
            if m.kind == "audio" and "openai" in m.providers for fmt in m.formats]


@pytest.mark.parametrize(("model", "fmt"), _openai_audio_formats())
def test_every_format_the_catalog_gives_an_openai_model_is_one_openai_accepts(cli, fake_openai, speech_wav, model, fmt):
    # The fake rejects (400) a response_format the model does not take (PROVIDERS.md §2.5 matrix).
    r = cli("transcribe", str(speech_wav), "-m", model, "-f", fmt, "-p", "openai")
    assert r.code == 0, r.stderr
    sent = fake_openai.requests_to("/audio/transcriptions")[-1].form["response_format"]
    if "diarize" in model and fmt not in ("json", "text"):  # its only answer with timestamps
        assert sent == "diarized_json"
    else:
        assert sent == ("json" if fmt == "text" else fmt)  # text comes from JSON, which carries the usage


def test_an_option_declared_by_model_is_sent_to_some_models_and_warned_about_at_others(cli, monkeypatch):
    counts: dict[tuple[str, str], set[int]] = {}
    for provider, model in SERVED:
        for flag, count in _not_sent_warnings(_planned_warnings(cli, monkeypatch, provider, model)).items():
            counts.setdefault((provider, flag), set()).add(count)
    for (provider, flag), seen in counts.items():
        field = next(f for f, fl in IMAGE_FLAGS.items() if fl == flag)
        if provider_columns("image")[f"`{provider}`"][field] == BY_MODEL:
            assert seen == {0, 1}, (provider, flag, seen)


def test_a_plain_dry_run_says_what_would_not_be_sent(cli, fake_openai):
    r = cli("generate", "a cat", "-m", "gpt-image-2", "--seed", "7", "--dry-run")
    assert r.code == 0, r.stderr
    assert r.stderr.count("warning: openai: gpt-image-2 does not take --seed; not sent") == 1
    assert "does not take" not in r.stdout and fake_openai.count() == 0


def test_a_ratio_for_a_model_reached_by_its_own_id_becomes_its_familys_nearest_size(cli, gateway):
    r = cli("generate", "a cat", "-m", "mygw/gpt-image-1.5", "-a", "16:9", "--json")
    assert r.code == 0, r.stderr
    assert gateway.requests_to("/images/generations")[-1].json["size"] == "1536x1024"
    assert json.loads(r.stdout)["size"] == "1536x1024"
    assert r.stderr.count("--aspect-ratio 16:9 sent as the nearest size, 1536x1024") == 1
