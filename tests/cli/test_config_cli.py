"""`aigw config`: where the files are, what is in effect and why, editing config.toml and keys.toml.

Black-box: every test runs the CLI (in-process, or the real entry point via `cli.subprocess`) and
looks only at the exit code, stdout, stderr and the files on disk.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

KEY = "sk-test-5f3a9c1e7b2d4a6f8e0c"  # long enough to be masked, unique enough to grep for
KEYS_FILE_KEY = "sk-keysfile-0a1b2c3d4e5f6a7b"


def keys_file(config_file: Path) -> Path:
    return config_file.parent / "keys.toml"


def write_config(config_file: Path, text: str) -> None:
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(text)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def show(cli, *args: str, env: dict[str, str] | None = None) -> dict[str, dict]:
    r = cli("config", "show", "--json", *args, env=env)
    assert r.code == 0, r.stderr
    return json.loads(r.stdout)


def store_key(cli, provider: str, key: str = KEYS_FILE_KEY) -> None:
    r = cli("config", "keys", "set", provider, input=key + "\n")
    assert r.code == 0, r.stderr


def assert_no_secret(r, secret: str = KEY) -> None:
    assert secret not in r.stdout and secret not in r.stderr


# ---- config path ---------------------------------------------------------------------------


def test_config_path_prints_three_lines_config_keys_and_cache(cli, config_file, cache_dir):
    r = cli("config", "path")
    assert r.code == 0, r.stderr
    assert r.stdout.splitlines() == [str(config_file), str(keys_file(config_file)), str(cache_dir)]
    assert r.stderr == ""


def test_config_path_through_the_real_entry_point(cli, config_file):
    r = cli.subprocess("config", "path")
    assert r.code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 3 and lines[0] == str(config_file)


def test_config_path_still_works_when_the_config_is_broken(cli, config_file):
    write_config(config_file, "[routing\n")
    r = cli("config", "path")
    assert r.code == 0
    assert r.stdout.splitlines()[0] == str(config_file)


def test_config_path_defaults_to_the_platform_config_dir(cli, monkeypatch, tmp_path):
    if os.name != "posix" or os.uname().sysname == "Darwin":
        pytest.skip("XDG_CONFIG_HOME is how Linux and the BSDs place the user config dir")
    monkeypatch.delenv("AIGW_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    r = cli("config", "path")
    assert r.code == 0, r.stderr
    assert r.stdout.splitlines()[:2] == [str(tmp_path / "xdg" / "aigw" / "config.toml"),
                                         str(tmp_path / "xdg" / "aigw" / "keys.toml")]


def test_config_path_shows_a_cache_dir_set_in_the_config_file(cli, config_file, monkeypatch, tmp_path):
    monkeypatch.delenv("AIGW_CACHE_DIR")
    write_config(config_file, f'cache_dir = "{tmp_path / "elsewhere"}"\n')
    r = cli("config", "path")
    assert r.stdout.splitlines()[2] == str(tmp_path / "elsewhere")


# ---- config show ---------------------------------------------------------------------------


def test_show_lists_defaults_with_their_source(cli):
    rows = show(cli)
    assert rows["routing.retries"] == {"value": 2, "source": "default"}
    assert rows["routing.strategy"]["value"] == "priority"
    assert rows["defaults.transcript_format"]["source"] == "default"


def test_show_plain_is_one_tab_separated_line_per_setting(cli, config_file):
    write_config(config_file, "[routing]\nretries = 4\n")
    r = cli("config", "show")
    assert r.code == 0, r.stderr
    lines = {line.split("\t")[0]: line.split("\t") for line in r.stdout.splitlines()}
    assert lines["routing.retries"] == ["routing.retries", "4", f"config file {config_file}"]


def test_show_names_the_config_file_as_source(cli, config_file):
    write_config(config_file, '[defaults]\nimage_model = "dall-e-3"\n')
    rows = show(cli)
    assert rows["defaults.image_model"]["value"] == "dall-e-3"
    assert str(config_file) in rows["defaults.image_model"]["source"]


def test_env_overrides_config_file_and_show_names_the_variable(cli, config_file, monkeypatch):
    write_config(config_file, "[routing]\nretries = 4\n")
    monkeypatch.setenv("AIGW_ROUTING__RETRIES", "7")
    rows = show(cli)
    assert rows["routing.retries"]["value"] == 7
    assert "AIGW_ROUTING__RETRIES" in rows["routing.retries"]["source"]
    assert cli("config", "get", "routing.retries").stdout == "7\n"


def test_env_sets_a_nested_provider_field(cli, monkeypatch):
    monkeypatch.setenv("AIGW_PROVIDERS__OPENAI__BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("AIGW_PROVIDERS__OPENAI__TIMEOUT", "12.5")
    monkeypatch.setenv("AIGW_PROVIDERS__OPENAI__ENABLED", "false")
    rows = show(cli)
    assert rows["providers.openai.base_url"] == {"value": "http://127.0.0.1:9/v1",
                                                 "source": "env AIGW_PROVIDERS__OPENAI__BASE_URL"}
    assert rows["providers.openai.timeout"]["value"] == 12.5
    assert rows["providers.openai.enabled"]["value"] is False


def test_show_json_masks_secrets(cli, config_file, monkeypatch):
    write_config(config_file, f'''
[providers.kong]
type = "openai"
base_url = "https://gw.example/v1"
api_key = "{KEY}"
headers = {{ Authorization = "Bearer {KEY}x", "X-Team" = "vision" }}
''')
    store_key(cli, "openai")
    monkeypatch.setenv("GROQ_API_KEY", KEY + "groq")
    r = cli("config", "show", "--json")
    assert r.code == 0, r.stderr
    for secret in (KEY, KEYS_FILE_KEY):
        assert secret not in r.stdout and secret not in r.stderr
    rows = json.loads(r.stdout)
    assert rows["providers.kong.api_key"]["value"] not in (None, "")
    assert rows["providers.openai.api_key"]["source"] == f"keys file {keys_file(config_file)}"
    assert rows["providers.groq.api_key"]["source"] == "env GROQ_API_KEY"
    assert rows["providers.kong.headers"]["value"]["X-Team"] == "vision"


def test_show_plain_masks_secrets_too(cli, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    r = cli("config", "show")
    assert r.code == 0, r.stderr
    assert_no_secret(r)
    assert "providers.openai.api_key" in r.stdout and "env OPENAI_API_KEY" in r.stdout


def test_show_masks_credentials_in_a_url(cli, monkeypatch):
    monkeypatch.setenv("AIGW_PROVIDERS__OPENAI__BASE_URL", f"https://user:{KEY}@gw.example/v1")
    r = cli("config", "show", "--json")
    assert_no_secret(r)
    assert json.loads(r.stdout)["providers.openai.base_url"]["value"].endswith("@gw.example/v1")


# ---- precedence ----------------------------------------------------------------------------


def test_precedence_of_a_key_aigw_env_then_standard_env_then_keys_file_then_config(cli, config_file, monkeypatch):
    write_config(config_file, '[providers.openai]\napi_key = "from-config-file-0000"\n')
    assert show(cli)["providers.openai.api_key"]["source"] == f"config file {config_file}"
    store_key(cli, "openai")
    assert show(cli)["providers.openai.api_key"]["source"] == f"keys file {keys_file(config_file)}"
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    assert show(cli)["providers.openai.api_key"]["source"] == "env OPENAI_API_KEY"
    monkeypatch.setenv("AIGW_PROVIDERS__OPENAI__API_KEY", KEY + "aigw")
    assert show(cli)["providers.openai.api_key"]["source"] == "env AIGW_PROVIDERS__OPENAI__API_KEY"


def test_precedence_of_a_base_url(cli, config_file, monkeypatch):
    write_config(config_file, '[providers.openai]\nbase_url = "http://config.example/v1"\n')
    monkeypatch.setenv("OPENAI_BASE_URL", "http://standard.example/v1")
    assert show(cli)["providers.openai.base_url"]["value"] == "http://standard.example/v1"
    monkeypatch.setenv("AIGW_PROVIDERS__OPENAI__BASE_URL", "http://aigw.example/v1")
    row = show(cli)["providers.openai.base_url"]
    assert row == {"value": "http://aigw.example/v1", "source": "env AIGW_PROVIDERS__OPENAI__BASE_URL"}


def test_aigw_variable_supplies_the_key_of_a_configured_gateway(cli, config_file, monkeypatch):
    write_config(config_file, '[providers.kong]\ntype = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n')
    monkeypatch.setenv("AIGW_PROVIDERS__KONG__API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_KEY", "not-for-kong-000000000")
    rows = show(cli)
    assert rows["providers.kong.api_key"]["source"] == "env AIGW_PROVIDERS__KONG__API_KEY"
    assert rows["providers.openai.api_key"]["source"] == "env OPENAI_API_KEY"


# ---- configuration errors (exit 3) -----------------------------------------------------------


def test_unknown_setting_exits_3_naming_file_line_and_key(cli, config_file):
    write_config(config_file, "# my settings\n[routing]\nretries = 3\nretires = 4\n")
    r = cli("config", "show")
    assert r.code == 3
    assert r.stdout == ""
    assert f"{config_file}:4" in r.stderr and "routing.retires" in r.stderr
    assert "aigw config unset routing.retires" in r.stderr  # the exact fix
    assert "routing.retries" in r.stderr  # and what was probably meant


def test_unknown_setting_in_a_provider_table_names_its_line(cli, config_file):
    write_config(config_file, '[providers.openai]\nbase_url = "http://x"\nbase_ulr = "http://y"\n')
    r = cli("config", "show")
    assert r.code == 3
    assert f"{config_file}:3" in r.stderr and "providers.openai.base_ulr" in r.stderr


def test_invalid_value_in_the_file_names_file_line_and_key(cli, config_file):
    write_config(config_file, '[routing]\nstrategy = "cheapest"\nretries = "many"\n')
    r = cli("config", "show")
    assert r.code == 3
    assert f"{config_file}:3" in r.stderr and "routing.retries" in r.stderr


def test_invalid_toml_exits_3_naming_file_and_line(cli, config_file):
    write_config(config_file, '[routing]\nretries = 3\n[defaults\nimage_model = "x"\n')
    r = cli("config", "show")
    assert r.code == 3
    assert f"{config_file}:3" in r.stderr and "TOML" in r.stderr


def test_a_broken_config_stops_other_commands_with_exit_3(cli, config_file):
    write_config(config_file, "[routing]\nfoo = 1\n")
    r = cli("models")
    assert r.code == 3
    assert f"{config_file}:2" in r.stderr and "routing.foo" in r.stderr


def test_unknown_provider_without_type_exits_3(cli, config_file):
    write_config(config_file, '[routing]\nretries = 1\n\n[providers.kong]\nbase_url = "http://127.0.0.1:9/v1"\n')
    r = cli("config", "show")
    assert r.code == 3
    assert f"{config_file}:4" in r.stderr and "kong" in r.stderr
    assert "aigw config set providers.kong.type openai" in r.stderr


@pytest.mark.parametrize(("models", "expected"), [
    ('["dall-e-3", "whisper-1"]', ["dall-e-3", "whisper-1"]),
    ('{ "dall-e-3" = "azure/dalle3" }', {"dall-e-3": "azure/dalle3"}),
])
def test_an_openai_compatible_gateway_with_auth_paths_models_and_headers_is_valid(cli, config_file, models,
                                                                                   expected):
    write_config(config_file, f'''
[providers.kong]
type = "openai"
base_url = "https://kong.example/ai"
auth = "api-key"
paths = {{ images = "/img/generate", transcriptions = "/stt" }}
models = {models}
headers = {{ "X-Team" = "vision" }}
timeout = 30
enabled = true
''')
    rows = show(cli)
    assert rows["providers.kong.type"]["value"] == "openai"
    assert rows["providers.kong.auth"]["value"] == "api-key"
    assert rows["providers.kong.paths"]["value"] == {"images": "/img/generate", "transcriptions": "/stt"}
    assert rows["providers.kong.models"]["value"] == expected
    assert rows["providers.kong.headers"]["value"] == {"X-Team": "vision"}


def test_unknown_env_setting_exits_3_naming_the_variable(cli, monkeypatch):
    monkeypatch.setenv("AIGW_ROUTING__FOO", "1")
    r = cli("config", "show")
    assert r.code == 3
    assert "AIGW_ROUTING__FOO" in r.stderr
    assert "unset AIGW_ROUTING__FOO" in r.stderr


def test_a_misspelt_env_section_is_not_silently_ignored(cli, monkeypatch):
    monkeypatch.setenv("AIGW_ROUTNG__RETRIES", "1")
    r = cli("config", "show")
    assert r.code == 3 and "AIGW_ROUTNG__RETRIES" in r.stderr


def test_invalid_env_value_exits_3_naming_the_variable(cli, monkeypatch):
    monkeypatch.setenv("AIGW_ROUTING__RETRIES", "lots")
    r = cli("config", "show")
    assert r.code == 3 and "AIGW_ROUTING__RETRIES" in r.stderr


def test_malformed_json_in_an_env_variable_exits_3_naming_it(cli, config_file, monkeypatch):
    write_config(config_file, '[providers.kong]\ntype = "openai"\n')
    monkeypatch.setenv("AIGW_PROVIDERS__KONG__MODELS", '["dall-e-3"')
    r = cli("config", "show")
    assert r.code == 3 and "AIGW_PROVIDERS__KONG__MODELS" in r.stderr


def test_an_env_key_for_an_unknown_provider_exits_3_naming_the_variable(cli, monkeypatch):
    monkeypatch.setenv("AIGW_PROVIDERS__NOPE__API_KEY", KEY)
    r = cli("config", "show")
    assert r.code == 3
    assert "AIGW_PROVIDERS__NOPE__API_KEY" in r.stderr
    assert_no_secret(r)


def test_invalid_keys_file_exits_3_naming_it(cli, config_file):
    write_config(keys_file(config_file), "openai = \n")
    r = cli("config", "show")
    assert r.code == 3 and f"{keys_file(config_file)}:1" in r.stderr


# ---- config get ----------------------------------------------------------------------------


def test_get_prints_the_effective_value_alone(cli, config_file):
    write_config(config_file, '[defaults]\nimage_model = "dall-e-3"\n')
    r = cli("config", "get", "defaults.image_model")
    assert (r.code, r.stdout) == (0, "dall-e-3\n")


def test_get_prints_a_default(cli):
    assert cli("config", "get", "routing.strategy").stdout == "priority\n"


def test_get_masks_a_key(cli):
    store_key(cli, "openai")
    r = cli("config", "get", "providers.openai.api_key")
    assert r.code == 0, r.stderr
    assert r.stdout.strip() and KEYS_FILE_KEY not in r.stdout


def test_get_a_section_prints_its_settings(cli):
    r = cli("config", "get", "routing.breaker")
    assert r.code == 0, r.stderr
    assert r.stdout.splitlines() == ["routing.breaker.cooldown\t60.0", "routing.breaker.failures\t5"]


def test_get_a_known_but_unset_provider_field_prints_nothing(cli):
    r = cli("config", "get", "providers.openai.base_url")
    assert (r.code, r.stdout) == (0, "")


def test_config_get_unknown_key_suggests_close_ones(cli):
    r = cli("config", "get", "routing.retrys")
    assert r.code == 3
    assert r.stdout == ""
    assert "routing.retrys" in r.stderr and "routing.retries" in r.stderr


# ---- config set ----------------------------------------------------------------------------


def test_set_creates_the_config_file_and_its_directory(cli, config_file):
    assert not config_file.parent.exists()
    r = cli("config", "set", "defaults.image_model", "dall-e-3")
    assert r.code == 0, r.stderr
    assert r.stdout == ""
    assert config_file.read_text() == '[defaults]\nimage_model = "dall-e-3"\n'
    assert cli("config", "get", "defaults.image_model").stdout == "dall-e-3\n"


@pytest.mark.parametrize(("key", "raw", "expected"), [
    ("routing.substitute_retired", "false", False),
    ("routing.retries", "3", 3),
    ("routing.deadline", "2.5", 2.5),
    ("defaults.image_model", '"x"', "x"),
    ("defaults.image_model", "gpt-image-1", "gpt-image-1"),
    ("routing.fallbacks.dall-e-3", '["a","b"]', ["a", "b"]),
])
def test_set_parses_the_value_as_toml(cli, key, raw, expected):
    r = cli("config", "set", key, raw)
    assert r.code == 0, r.stderr
    rows = show(cli)
    if key.startswith("routing.fallbacks."):
        assert rows["routing.fallbacks"]["value"] == {"dall-e-3": expected}
    else:
        assert rows[key]["value"] == expected


def test_set_preserves_comments(cli, config_file):
    write_config(config_file, "# my aigw settings\n[routing]\n# be patient\nretries = 2  # was 5\n\n"
                              "[defaults] # what I use most\nimage_model = \"dall-e-3\"\n")
    r = cli("config", "set", "routing.retries", "4")
    assert r.code == 0, r.stderr
    text = config_file.read_text()
    for comment in ("# my aigw settings", "# be patient", "# was 5", "# what I use most"):
        assert comment in text
    assert "retries = 4" in text and 'image_model = "dall-e-3"' in text


def test_set_adds_a_new_table_to_an_existing_file(cli, config_file):
    write_config(config_file, "# keep me\n[routing]\nretries = 2\n")
    assert cli("config", "set", "budget.daily_usd", "5").code == 0
    text = config_file.read_text()
    assert text.startswith("# keep me\n[routing]\nretries = 2\n") and "[budget]\ndaily_usd = 5" in text


def test_set_refuses_an_api_key_on_the_command_line(cli, config_file):
    r = cli("config", "set", "providers.openai.api_key", KEY)
    assert r.code == 2
    assert_no_secret(r)
    assert "aigw config keys set openai" in r.stderr
    assert not config_file.exists()


@pytest.mark.parametrize(("key", "raw"), [
    ("providers.openai", f'{{ api_key = "{KEY}" }}'),
    ("providers", f'{{ openai = {{ api_key = "{KEY}" }} }}'),
    ("providers.openai.API_KEY", KEY),
])
def test_set_refuses_an_api_key_hidden_in_a_table_or_in_capitals(cli, config_file, key, raw):
    r = cli("config", "set", key, raw)
    assert r.code == 2
    assert_no_secret(r)
    assert not config_file.exists()


def test_invalid_value_is_refused_and_file_untouched(cli, config_file):
    original = "# mine\n[routing]\nretries = 2\n"
    write_config(config_file, original)
    r = cli("config", "set", "routing.retries", "many")
    assert r.code == 2
    assert "routing.retries" in r.stderr
    assert config_file.read_text() == original
    assert sorted(p.name for p in config_file.parent.iterdir()) == ["config.toml"]  # no candidate left


@pytest.mark.parametrize(("key", "raw"), [
    ("routing.strategy", "fastest-please"),
    ("providers.openai.timeout", "0"),
    ("providers.kong.base_url", "http://127.0.0.1:9/v1"),  # a new provider with no type
    ("defaults", "3"),  # a section is not a value
])
def test_other_invalid_values_are_refused_without_creating_the_file(cli, config_file, key, raw):
    r = cli("config", "set", key, raw)
    assert r.code == 2, r.stderr
    assert not config_file.exists()
    assert ".candidate" not in r.stderr


def test_set_unknown_key_is_refused_with_suggestions(cli, config_file):
    r = cli("config", "set", "routing.retrys", "3")
    assert r.code == 3
    assert "routing.retrys" in r.stderr and "routing.retries" in r.stderr
    assert not config_file.exists()


def test_set_a_gateway_type_then_its_fields(cli, config_file):
    assert cli("config", "set", "providers.kong.type", "openai").code == 0
    assert cli("config", "set", "providers.kong.base_url", "https://kong.example/ai").code == 0
    assert cli("config", "set", "providers.kong.models", '["dall-e-3"]').code == 0
    rows = show(cli)
    assert rows["providers.kong.models"]["value"] == ["dall-e-3"]


def test_set_on_invalid_toml_exits_3_and_leaves_the_file(cli, config_file):
    write_config(config_file, "[routing\n")
    r = cli("config", "set", "routing.retries", "3")
    assert r.code == 3
    assert f"{config_file}:1" in r.stderr
    assert config_file.read_text() == "[routing\n"


def test_set_works_on_a_file_with_an_unrelated_problem_left_as_it_was(cli, config_file):
    write_config(config_file, "[routing]\nfoo = 1\n")
    r = cli("config", "set", "routing.retries", "3")
    assert r.code == 0, r.stderr
    assert "retries = 3" in config_file.read_text()


def test_set_with_a_missing_value_is_bad_usage(cli):
    assert cli("config", "set", "routing.retries").code == 2


# ---- config unset --------------------------------------------------------------------------


def test_unset_removes_the_key_and_keeps_comments(cli, config_file):
    write_config(config_file, "# mine\n[routing]\nretries = 4  # tuned\nstrategy = \"cheapest\"\n")
    r = cli("config", "unset", "routing.retries")
    assert r.code == 0, r.stderr
    text = config_file.read_text()
    assert "retries" not in text and "# mine" in text and 'strategy = "cheapest"' in text
    assert show(cli)["routing.retries"] == {"value": 2, "source": "default"}


def test_unset_a_missing_key_is_exit_2(cli, config_file):
    write_config(config_file, "[routing]\nretries = 4\n")
    r = cli("config", "unset", "routing.strategy")
    assert r.code == 2 and "routing.strategy" in r.stderr


def test_unset_without_a_config_file_is_exit_2_and_creates_nothing(cli, config_file):
    r = cli("config", "unset", "routing.strategy")
    assert r.code == 2
    assert not config_file.exists()


def test_unset_a_key_that_comes_from_the_environment_names_the_variable(cli, config_file, monkeypatch):
    monkeypatch.setenv("AIGW_ROUTING__RETRIES", "5")
    r = cli("config", "unset", "routing.retries")
    assert r.code == 2 and "AIGW_ROUTING__RETRIES" in r.stderr


def test_unset_fixes_a_file_with_an_unknown_setting(cli, config_file):
    write_config(config_file, "[routing]\nretries = 4\nfoo = 1\nbar = 2\n")
    assert cli("config", "unset", "routing.foo").code == 0
    assert cli("config", "unset", "routing.bar").code == 0
    assert show(cli)["routing.retries"]["value"] == 4


def test_unset_that_would_break_the_config_is_refused(cli, config_file):
    original = '[providers.kong]\ntype = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
    write_config(config_file, original)
    r = cli("config", "unset", "providers.kong.type")
    assert r.code == 2 and "kong" in r.stderr
    assert config_file.read_text() == original


# ---- config keys ---------------------------------------------------------------------------


def test_keys_set_reads_stdin(cli, config_file):
    r = cli("config", "keys", "set", "openai", input=KEY + "\n")
    assert r.code == 0, r.stderr
    assert_no_secret(r)
    assert r.stdout == ""
    assert KEY in keys_file(config_file).read_text()
    assert show(cli)["providers.openai.api_key"]["source"] == f"keys file {keys_file(config_file)}"


def test_keys_set_through_the_real_entry_point(cli, config_file):
    r = cli.subprocess("config", "keys", "set", "groq", input=KEY.encode())
    assert r.code == 0, r.stderr
    assert_no_secret(r)
    assert KEY in keys_file(config_file).read_text()


def test_keys_file_is_0600_in_a_0700_directory_after_every_write(cli, config_file):
    store_key(cli, "openai")
    assert mode(keys_file(config_file)) == 0o600 and mode(config_file.parent) == 0o700
    keys_file(config_file).chmod(0o644)
    config_file.parent.chmod(0o755)
    store_key(cli, "groq")
    assert mode(keys_file(config_file)) == 0o600 and mode(config_file.parent) == 0o700
    keys_file(config_file).chmod(0o666)
    config_file.parent.chmod(0o777)
    assert cli("config", "keys", "unset", "groq").code == 0
    assert mode(keys_file(config_file)) == 0o600 and mode(config_file.parent) == 0o700


def test_keys_set_replaces_a_key_and_keeps_the_others(cli, config_file):
    store_key(cli, "openai", "sk-old-000000000000000000")
    store_key(cli, "groq", "gsk-000000000000000000000")
    store_key(cli, "openai", KEY)
    text = keys_file(config_file).read_text()
    assert KEY in text and "sk-old" not in text and "gsk-0000" in text


def test_keys_set_for_an_unknown_provider_is_exit_2_with_a_hint(cli, config_file):
    r = cli("config", "keys", "set", "kong", input=KEY + "\n")
    assert r.code == 2
    assert "kong" in r.stderr and "aigw config set providers.kong.type openai" in r.stderr
    assert_no_secret(r)
    assert not keys_file(config_file).exists()


def test_keys_set_for_a_configured_gateway(cli, config_file):
    write_config(config_file, '[providers.kong]\ntype = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n')
    store_key(cli, "kong", KEY)
    assert show(cli)["providers.kong.api_key"]["source"] == f"keys file {keys_file(config_file)}"


def test_keys_set_is_case_insensitive_on_the_provider_name(cli):
    store_key(cli, "OpenAI")
    assert "providers.openai.api_key" in show(cli)


def test_keys_set_with_empty_input_is_exit_2(cli, config_file):
    r = cli("config", "keys", "set", "openai", input="\n")
    assert r.code == 2
    assert "aigw config keys set openai" in r.stderr
    assert not keys_file(config_file).exists()


@pytest.mark.parametrize("extra", [[KEY], ["--key", KEY], [f"--key={KEY}"], [f"--api-key={KEY}"]])
def test_keys_set_never_takes_the_key_as_an_argument(cli, config_file, extra):
    r = cli("config", "keys", "set", "openai", *extra, input=KEY + "\n")
    assert r.code == 2
    assert_no_secret(r)
    assert not keys_file(config_file).exists()


def test_keys_set_warns_when_a_variable_takes_precedence(cli, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-00000000000000000000")
    r = cli("config", "keys", "set", "openai", input=KEY + "\n")
    assert r.code == 0
    assert "OPENAI_API_KEY" in r.stderr
    assert "sk-env-00000000000000000000" not in r.stderr


def test_keys_list_is_masked(cli):
    store_key(cli, "openai", KEY)
    store_key(cli, "groq", KEY + "g")
    r = cli("config", "keys", "list")
    assert r.code == 0, r.stderr
    assert_no_secret(r)
    lines = r.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["groq", "openai"]
    assert all(line.split("\t")[1] for line in lines)


def test_keys_list_with_no_keys_prints_nothing(cli):
    r = cli("config", "keys", "list")
    assert (r.code, r.stdout) == (0, "")


def test_keys_unset_removes_the_key(cli, config_file):
    store_key(cli, "openai", KEY)
    store_key(cli, "groq")
    r = cli("config", "keys", "unset", "openai")
    assert r.code == 0, r.stderr
    assert KEY not in keys_file(config_file).read_text()
    assert cli("config", "keys", "list").stdout.splitlines()[0].startswith("groq\t")
    assert "providers.openai.api_key" not in show(cli)


def test_keys_unset_of_a_provider_without_a_key_is_exit_2(cli):
    r = cli("config", "keys", "unset", "openai")
    assert r.code == 2 and "aigw config keys list" in r.stderr


def test_the_key_never_appears_in_the_output_of_any_config_command(cli, config_file, monkeypatch):
    outputs = [cli("config", "keys", "set", "openai", input=KEY + "\n")]
    for args in (("path",), ("show",), ("show", "--json"), ("get", "providers.openai.api_key"),
                 ("get", "providers.openai"), ("get", "providers"), ("keys", "list"),
                 ("set", "providers.openai.api_key", KEY), ("unset", "providers.openai.api_key")):
        outputs.append(cli("config", *args))
    monkeypatch.setenv("AIGW_PROVIDERS__OPENAI__API_KEY", KEY)
    outputs += [cli("config", "show"), cli("config", "get", "providers.openai.api_key")]
    outputs.append(cli("config", "keys", "unset", "openai"))
    for r in outputs:
        assert_no_secret(r)


def test_unset_of_a_stored_key_points_at_keys_unset(cli):
    store_key(cli, "openai")
    r = cli("config", "unset", "providers.openai.api_key")
    assert r.code == 2 and "aigw config keys unset openai" in r.stderr


# ---- usage ---------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [("config", "nope"), ("config", "get"), ("config", "keys", "set"),
                                  ("config", "show", "--yaml")])
def test_bad_usage_is_exit_2(cli, args):
    r = cli(*args)
    assert r.code == 2
    assert r.stdout == ""
