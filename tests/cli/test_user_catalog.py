"""Users add models and override prices in config; a provider's own id is priced only if told."""

from __future__ import annotations

import json


def write(config_file, text):
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(text)


def plan(cli, *args):
    r = cli("generate", "x", *args, "--dry-run", "--json")
    assert r.code == 0, r.stderr
    return json.loads(r.stdout)["candidates"]


def test_a_config_price_overrides_the_catalog(cli, fake_openai, config_file):
    write(config_file, '[providers.openai.prices]\n"gpt-image-2" = { per_image = { "*" = { "*" = 0.5 } } }\n')
    [cand] = plan(cli, "-m", "gpt-image-2", "-n", "2")
    assert cand["estimated_cost_usd"] == 1.0 and cand["price_as_of"]


def test_a_provider_own_id_is_unpriced_unless_config_prices_it(cli, fake_openai, config_file):
    assert plan(cli, "-m", "openai/gpt-image-9")[0]["estimated_cost_usd"] is None
    write(config_file, '[providers.openai.prices]\n"gpt-image-9" = { per_image = { "*" = { "*" = 0.07 } } }\n')
    assert plan(cli, "-m", "openai/gpt-image-9")[0]["estimated_cost_usd"] == 0.07


def test_a_provider_own_id_that_the_catalog_maps_gets_the_catalog_price(cli, fake_openai):
    [cand] = plan(cli, "-m", "openai/gpt-image-1.5", "--quality", "low", "--size", "1024x1024")
    assert cand["estimated_cost_usd"] == 0.009


def test_a_model_added_in_config_is_served_and_priced(cli, fake_openai, config_file):
    write(config_file, '[models."house-style"]\nkind = "image"\nsizes = ["1024x1024"]\nformats = ["png"]\n'
                       'limits = { n_max = 2 }\n'
                       '[models."house-style".providers.openai]\nmodel = "gpt-image-1-mini"\n'
                       'price = { per_image = { "*" = { "*" = 0.01 } } }\n')
    r = cli("generate", "x", "-m", "house-style", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["model"] == "house-style" and data["estimated_cost_usd"] == 0.01
    assert fake_openai.requests_to("/images/generations")[-1].json["model"] == "gpt-image-1-mini"
    assert "house-style" in cli("models", "--available").stdout.splitlines()


def test_a_model_added_in_config_can_extend_a_catalog_model(cli, fake_openai, config_file):
    write(config_file, '[models."my-gpt"]\nextends = "gpt-image-1.5"\nproviders = { openai = "gpt-image-1.5" }\n')
    [cand] = plan(cli, "-m", "my-gpt", "--size", "1536x1024")
    [parent] = plan(cli, "-m", "gpt-image-1.5", "--size", "1536x1024")
    # The README's contract: an extending model inherits the parent's price at that provider.
    assert cand["provider_model"] == "gpt-image-1.5"
    assert cand["estimated_cost_usd"] == parent["estimated_cost_usd"] is not None


def test_a_bad_model_entry_is_exit_3_naming_the_field(cli, fake_openai, config_file):
    write(config_file, '[models."broken"]\nkind = "video"\nproviders = { openai = "x" }\n')
    r = cli("generate", "x", "-m", "broken")
    assert r.code == 3 and "kind" in r.stderr
