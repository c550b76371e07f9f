"""Settings: layers, precedence, validation messages, masking and safe file writes (no CLI)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from aigw.errors import ConfigError, UsageError
from aigw.settings import load
from aigw.settings.edit import parse_value, set_value, split_key, unset_value
from aigw.settings.files import atomic_write, read_keys, write_keys
from aigw.settings.layers import env_layer, lookup
from aigw.settings.lines import locate_line
from aigw.settings.masking import mask, mask_url, masked

KEY = "sk-unit-1a2b3c4d5e6f7a8b9c0d"


@pytest.fixture
def write(config_file: Path):
    def _write(text: str, name: str = "config.toml") -> Path:
        path = config_file.parent / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    return _write


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---- layers and precedence -------------------------------------------------------------------


def test_no_files_and_no_variables_give_the_defaults(config_file):
    loaded = load()
    assert loaded.config_path == config_file and loaded.keys_path == config_file.parent / "keys.toml"
    assert loaded.settings.routing.retries == 2 and loaded.settings.providers == {}
    assert loaded.origin("routing.retries") == "default"


def test_config_file_values_and_their_origin(write, config_file):
    write('[routing]\nstrategy = "cheapest"\n[providers.openai]\ntimeout = 30\n')
    loaded = load()
    assert loaded.settings.routing.strategy == "cheapest"
    assert loaded.settings.providers["openai"].timeout == 30
    assert loaded.origin("routing.strategy") == f"config file {config_file}"


def test_precedence_aigw_env_over_standard_env_over_keys_file_over_config(write, monkeypatch):
    write('[providers.openai]\napi_key = "from-config"\n')
    assert load().settings.providers["openai"].api_key.get_secret_value() == "from-config"
    write('openai = "from-keys"\n', "keys.toml")
    assert load().settings.providers["openai"].api_key.get_secret_value() == "from-keys"
    monkeypatch.setenv("OPENAI_API_KEY", "from-standard")
    assert load().settings.providers["openai"].api_key.get_secret_value() == "from-standard"
    monkeypatch.setenv("AIGW_PROVIDERS__OPENAI__API_KEY", "from-aigw")
    loaded = load()
    assert loaded.settings.providers["openai"].api_key.get_secret_value() == "from-aigw"
    assert loaded.origin("providers.openai.api_key") == "env AIGW_PROVIDERS__OPENAI__API_KEY"


def test_fal_key_from_its_two_variables(monkeypatch):
    monkeypatch.setenv("FAL_KEY_ID", "id")
    monkeypatch.setenv("FAL_KEY_SECRET", "secret")
    loaded = load()
    assert loaded.settings.providers["fal"].api_key.get_secret_value() == "id:secret"
    assert loaded.origin("providers.fal.api_key") == "env FAL_KEY_ID+FAL_KEY_SECRET"


def test_standard_variables_do_not_reach_a_gateway_of_the_same_protocol(write, monkeypatch):
    write('[providers.kong]\ntype = "openai"\n')
    monkeypatch.setenv("OPENAI_API_KEY", "for-openai-only")
    assert load().settings.providers["kong"].api_key is None


def test_provider_names_are_case_insensitive_across_layers(write):
    write('[providers.OpenAI]\nbase_url = "http://127.0.0.1:9/v1"\n')
    write('OPENAI = "k"\n', "keys.toml")
    p = load().settings.providers["openai"]
    assert p.base_url == "http://127.0.0.1:9/v1" and p.api_key.get_secret_value() == "k"


def test_env_values_are_coerced_and_json_for_lists_and_tables(write, monkeypatch):
    write('[providers.kong]\ntype = "openai"\n')
    monkeypatch.setenv("AIGW_ROUTING__RETRIES", "5")
    monkeypatch.setenv("AIGW_ROUTING__SUBSTITUTE_RETIRED", "false")
    monkeypatch.setenv("AIGW_PROVIDERS__KONG__MODELS", '["dall-e-3", "whisper-1"]')
    monkeypatch.setenv("AIGW_PROVIDERS__KONG__HEADERS", '{"X-Team": "vision"}')
    s = load().settings
    assert s.routing.retries == 5 and s.routing.substitute_retired is False
    assert s.providers["kong"].models == ["dall-e-3", "whisper-1"]
    assert s.providers["kong"].headers == {"X-Team": "vision"}


def test_a_whole_section_as_json_then_a_nested_variable_over_it(monkeypatch):
    monkeypatch.setenv("AIGW_ROUTING", '{"retries": 4, "strategy": "cheapest"}')
    monkeypatch.setenv("AIGW_ROUTING__STRATEGY", "fastest")
    loaded = load()
    assert (loaded.settings.routing.retries, loaded.settings.routing.strategy) == (4, "fastest")
    assert loaded.origin("routing.retries") == "env AIGW_ROUTING"
    assert loaded.origin("routing.strategy") == "env AIGW_ROUTING__STRATEGY"


def test_aigw_config_itself_and_empty_variables_are_not_settings():
    layer = env_layer({"AIGW_CONFIG": "/x/config.toml", "AIGW_ROUTING__RETRIES": "", "AIGW_CACHE_DIR": "/c"})
    assert layer.data == {"cache_dir": "/c"}


def test_cache_dir_expands_the_home_directory(write, monkeypatch, tmp_path):
    monkeypatch.delenv("AIGW_CACHE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "someone"))
    write('cache_dir = "~/aigw-cache"\n')
    assert load().settings.cache_dir == tmp_path / "someone" / "aigw-cache"


def test_openai_compatible_gateway_settings_are_valid(write):
    write('''
[providers.kong]
type = "openai"
base_url = "https://kong.example/ai"
auth = "bearer"
paths = { images = "/img", transcriptions = "/stt" }
models = { "dall-e-3" = "azure-dalle3" }
headers = { "X-Team" = "vision" }
priority = 1
rpm = 60
''')
    kong = load().settings.providers["kong"]
    assert kong.models == {"dall-e-3": "azure-dalle3"} and kong.paths["images"] == "/img" and kong.rpm == 60


# ---- problems and their messages -------------------------------------------------------------


def error_of() -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load()
    return info.value


def test_unknown_setting_names_file_line_key_and_the_fix(write, config_file):
    write("[routing]\nretries = 1\n\nretires = 2\n")
    err = error_of()
    assert err.exit_code == 3
    assert err.message == f"{config_file}:4: unknown setting routing.retires"
    assert "aigw config unset routing.retires" in err.hint and "routing.retries" in err.hint


def test_unknown_top_level_setting(write, config_file):
    write('image_model = "x"\n')
    assert error_of().message == f"{config_file}:1: unknown setting image_model"


def test_unknown_setting_as_a_dotted_key(write, config_file):
    write("routing.retries = 1\nrouting.breaker.failurs = 2\n")
    assert error_of().message.startswith(f"{config_file}:2: unknown setting routing.breaker.failurs")


def test_invalid_value_names_line_key_and_the_bad_value(write, config_file):
    write('[routing]\nstrategy = "fast"\n')
    err = error_of()
    assert err.message.startswith(f"{config_file}:2: invalid value for routing.strategy")
    assert "'fast'" in err.message and "cheapest" in err.message


def test_an_invalid_key_value_is_never_echoed(write):
    write('[providers.openai]\napi_key = 12345678901234567890\n')
    assert "12345678901234567890" not in error_of().message


def test_models_must_be_a_list_or_a_table(write, config_file):
    write('[providers.kong]\ntype = "openai"\nmodels = "dall-e-3"\n')
    err = error_of()
    assert err.message.startswith(f"{config_file}:3: invalid value for providers.kong.models")


def test_invalid_toml_names_file_line_and_column(write, config_file):
    write('[routing]\nretries = 1\nstrategy = \n')
    err = error_of()
    assert err.message.startswith(f"{config_file}:3:") and "invalid TOML" in err.message


def test_unknown_provider_without_type_points_at_its_table(write, config_file):
    write('[routing]\nretries = 1\n[providers.kong]\nbase_url = "http://x"\n')
    err = error_of()
    assert err.message.startswith(f"{config_file}:3:") and "kong" in err.message
    assert "aigw config set providers.kong.type openai" in err.hint


def test_unknown_provider_type(write, config_file):
    write('[providers.kong]\ntype = "soap"\n')
    assert "soap" in error_of().message


def test_a_stored_key_for_an_unknown_provider_is_ignored_with_a_warning_pointing_at_keys_unset(write, config_file):
    write('kong = "k"\n', "keys.toml")
    loaded = load()
    assert "kong" not in loaded.settings.providers
    [warning] = loaded.warnings
    assert warning.startswith(f"{config_file.parent / 'keys.toml'} holds a key for 'kong'")
    assert "aigw config keys unset kong" in warning


def test_unknown_env_setting_names_the_variable_and_suggests_the_right_one(monkeypatch):
    monkeypatch.setenv("AIGW_PROVIDERS__OPENAI__BASE_ULR", "http://x")
    err = error_of()
    assert err.message == "environment variable AIGW_PROVIDERS__OPENAI__BASE_ULR: unknown setting " \
                          "providers.openai.base_ulr"
    assert "AIGW_PROVIDERS__OPENAI__BASE_URL" in err.hint and "unset AIGW_PROVIDERS__OPENAI__BASE_ULR" in err.hint


def test_misspelt_env_section_is_an_error(monkeypatch):
    monkeypatch.setenv("AIGW_BUDGETS__DAILY_USD", "3")
    assert "AIGW_BUDGETS__DAILY_USD" in error_of().message


def test_invalid_json_in_a_variable(monkeypatch):
    monkeypatch.setenv("AIGW_ROUTING__FALLBACKS", "{dall-e-3: [x]}")
    err = error_of()
    assert err.message.startswith("environment variable AIGW_ROUTING__FALLBACKS: invalid JSON")


def test_a_keys_file_entry_that_is_not_a_string(write, config_file):
    write('openai = 3\n', "keys.toml")
    assert error_of().message.startswith(f"{config_file.parent / 'keys.toml'}:1:")


@pytest.mark.parametrize(("text", "keys", "line"), [
    ("[routing]\nretries = 1\n", ["routing", "retries"], 2),
    ("[routing]\nretries = 1\n", ["routing", "strategy"], 1),  # not there: its table
    ("routing.retries = 1\n", ["routing", "retries"], 1),
    ('[providers."my-gw"]\ntype = "openai"\n', ["providers", "my-gw", "type"], 2),
    ("[providers.kong] # mine\nx = 1\n", ["providers", "kong"], 1),
    ("[routing.breaker]\nfailures = 1\n", ["routing", "breaker", "failures"], 2),
    ("[a]\nx = 1\n[b]\nx = 2\n", ["b", "x"], 4),
    ("x = 1\n", ["y"], None),
])
def test_locate_line(text, keys, line):
    assert locate_line(text, keys) == line


# ---- masking ---------------------------------------------------------------------------------


def test_mask_shows_a_little_of_a_long_secret_and_nothing_of_a_short_one():
    assert mask(KEY) == "sk-…9c0d"
    assert mask("short-secret-1234") == "****"


def test_masked_settings():
    assert masked("providers.openai.api_key", KEY) == mask(KEY)
    headers = masked("providers.kong.headers", {"Authorization": "Bearer " + KEY, "X-Api-Key": KEY, "X-Team": "v"})
    assert KEY not in str(headers) and headers["X-Team"] == "v"
    assert masked("routing.retries", 3) == 3


def test_mask_url_hides_userinfo_and_secret_query_parameters():
    url = mask_url(f"https://user:{KEY}@gw.example/v1?api-key={KEY}&region=eu")
    assert KEY not in url and url.startswith("https://****@gw.example/v1?") and "region=eu" in url


# ---- editing config.toml ---------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "value"), [
    ("true", True), ("3", 3), ("2.5", 2.5), ('"x"', "x"), ('["a","b"]', ["a", "b"]),
    ("{ a = 1 }", {"a": 1}), ("gpt-image-1", "gpt-image-1"), ("http://127.0.0.1:9/v1", "http://127.0.0.1:9/v1"),
    ("", ""),
])
def test_parse_value_reads_toml_literals_else_text(raw, value):
    assert parse_value(raw) == value


@pytest.mark.parametrize(("dotted", "parts"), [
    ("routing.retries", ["routing", "retries"]),
    ('routing.fallbacks."flux-1.1-pro"', ["routing", "fallbacks", "flux-1.1-pro"]),
    ("routing.fallbacks.dall-e-3", ["routing", "fallbacks", "dall-e-3"]),
])
def test_split_key(dotted, parts):
    assert split_key(dotted) == parts


@pytest.mark.parametrize("bad", ["", "a..b", "a = 1\nb", "routing.retries = 3"])
def test_split_key_refuses_what_is_not_a_key(bad):
    with pytest.raises(UsageError):
        split_key(bad)


def test_set_value_creates_file_and_directory(config_file):
    set_value(config_file, "routing.retries", "4")
    assert config_file.read_text() == "[routing]\nretries = 4\n"
    assert load().settings.routing.retries == 4


def test_set_value_keeps_comments_and_the_file_mode(write, config_file):
    write("# top\n[routing]  # section\nretries = 1  # inline\n")
    config_file.chmod(0o600)
    set_value(config_file, "routing.retries", "3")
    assert config_file.read_text() == "# top\n[routing]  # section\nretries = 3  # inline\n"
    assert mode(config_file) == 0o600


def test_set_value_with_a_quoted_model_name(config_file):
    set_value(config_file, 'routing.fallbacks."flux-1.1-pro"', '["flux-dev"]')
    assert load().settings.routing.fallbacks == {"flux-1.1-pro": ["flux-dev"]}


def test_set_value_refuses_to_write_through_a_value(write, config_file):
    write('[routing]\nstrategy = "cheapest"\n')
    with pytest.raises(UsageError):
        set_value(config_file, "routing.strategy.x", "1")


@pytest.mark.parametrize(("dotted", "raw"), [
    ("providers.openai.api_key", KEY),
    ("providers.kong.headers.Authorization", f"Bearer {KEY}"),
    ("providers.kong.headers", f'{{ "X-Api-Key" = "{KEY}" }}'),
    ("providers.kong", f'{{ type = "openai", api_key = "{KEY}" }}'),
])
def test_set_value_refuses_secrets(config_file, dotted, raw):
    with pytest.raises(UsageError) as info:
        set_value(config_file, dotted, raw)
    assert KEY not in info.value.message + (info.value.hint or "")
    assert "aigw config keys set" in (info.value.hint or "")
    assert not config_file.exists()


def test_set_value_refuses_a_new_problem_and_leaves_the_file(write, config_file):
    write("[routing]\nretries = 1\n")
    with pytest.raises(UsageError) as info:
        set_value(config_file, "routing.retries", "-1")
    assert "routing.retries" in info.value.message and info.value.exit_code == 2
    assert config_file.read_text() == "[routing]\nretries = 1\n"
    assert [p.name for p in config_file.parent.iterdir()] == ["config.toml"]


def test_unset_value(write, config_file):
    write("# keep\n[routing]\nretries = 1\nstrategy = \"cheapest\"\n")
    assert unset_value(config_file, "routing.retries") is True
    assert config_file.read_text() == "# keep\n[routing]\nstrategy = \"cheapest\"\n"
    assert unset_value(config_file, "routing.retries") is False
    assert unset_value(config_file, "budget.daily_usd") is False


def test_unset_value_without_a_file_creates_nothing(config_file):
    assert unset_value(config_file, "routing.retries") is False
    assert not config_file.parent.exists()


# ---- files -----------------------------------------------------------------------------------


def test_write_keys_is_0600_in_a_0700_directory_and_tightens_loose_modes(tmp_path):
    path = tmp_path / "cfg" / "keys.toml"
    write_keys(path, {"openai": KEY})
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    path.chmod(0o644)
    path.parent.chmod(0o755)
    write_keys(path, {"openai": KEY, "groq": "g"})
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert read_keys(path) == {"groq": "g", "openai": KEY}


def test_read_keys_of_a_missing_file_is_empty_and_of_a_broken_one_a_config_error(tmp_path):
    assert read_keys(tmp_path / "keys.toml") == {}
    (tmp_path / "keys.toml").write_text("openai = \n")
    with pytest.raises(ConfigError) as info:
        read_keys(tmp_path / "keys.toml")
    assert f"{tmp_path / 'keys.toml'}:1" in info.value.message


def test_atomic_write_leaves_no_temporary_file(tmp_path):
    atomic_write(tmp_path / "a" / "f.toml", "x = 1\n")
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["f.toml"]


@pytest.mark.parametrize(("dotted", "raw", "expected"), [
    ("providers.azure.api_version", "2024-06-01", "2024-06-01"),  # TOML would read a date
    ("defaults.image_model", "1.5", "1.5"),
])
def test_set_value_keeps_unquoted_text_where_only_text_is_valid(config_file, dotted, raw, expected):
    set_value(config_file, dotted, raw)
    assert lookup(load().settings.model_dump(), dotted) == expected


def test_set_value_keeps_a_number_where_a_number_is_valid(config_file):
    assert set_value(config_file, "budget.daily_usd", "2.5") == 2.5
    assert "daily_usd = 2.5\n" in config_file.read_text()


def test_the_keys_directory_made_by_a_concurrent_aigw_at_the_same_instant_is_no_error(tmp_path, monkeypatch):
    """Nine `aigw config keys set` at once: another process may create the directory between this
    one's look and its mkdir; that directory is aigw's own, so it is narrowed, not an error."""
    import stat
    from pathlib import Path

    from aigw.settings.files import secure_dir

    target = tmp_path / "config"
    real_mkdir = Path.mkdir

    def another_process_won(self: Path, *args, **kwargs):
        real_mkdir(self, 0o755)
        raise FileExistsError(17, "File exists", str(self))

    monkeypatch.setattr(Path, "mkdir", another_process_won)
    secure_dir(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
