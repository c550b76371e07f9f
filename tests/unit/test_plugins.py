"""The provider registry: descriptions from the `aigw.providers` entry-point group, built-ins included."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from aigw import plugins
from aigw.providers.registry import BUILTIN, DESCRIPTIONS

ROOT = Path(__file__).parents[2]


@pytest.fixture
def fresh():
    plugins.providers.cache_clear()
    yield
    plugins.providers.cache_clear()


def fake_entry_points(*eps: metadata.EntryPoint):
    return lambda group: [ep for ep in eps if ep.group == group]


def ep(name: str, value: str) -> metadata.EntryPoint:
    return metadata.EntryPoint(name, value, plugins.GROUP)


def test_aigw_registers_its_own_providers_through_the_entry_point_group():
    found = {e.name: e.value for e in metadata.entry_points(group=plugins.GROUP)}
    assert found.get("builtins") == plugins.BUILTIN_HOOK
    assert list(plugins.providers()) == list(BUILTIN)


def test_each_builtin_description_matches_its_class():
    for desc in DESCRIPTIONS:
        cls = desc.load_class()
        assert desc.kinds == cls.kinds, desc.name
        assert desc.name == desc.name.lower()


def test_without_metadata_the_builtins_are_registered_directly(fresh, monkeypatch):
    monkeypatch.setattr(metadata, "entry_points", fake_entry_points())
    assert list(plugins.providers()) == list(BUILTIN)


def test_builtins_come_first_then_plugins_by_name_and_a_broken_one_is_named(fresh, monkeypatch, capsys):
    mod = type(sys)("aigw_test_plugin")
    mod.b = plugins.ProviderDescription("zeta", "x:Y")  # type: ignore[attr-defined]
    mod.a = lambda: [plugins.ProviderDescription("alpha", "x:Y"),  # type: ignore[attr-defined]
                     plugins.ProviderDescription("openai", "x:Evil")]
    monkeypatch.setitem(sys.modules, "aigw_test_plugin", mod)
    monkeypatch.setattr(metadata, "entry_points", fake_entry_points(
        ep("zz", "aigw_test_plugin:b"), ep("aa", "aigw_test_plugin:a"), ep("broken", "aigw_no_such_module:x"),
        ep("builtins", plugins.BUILTIN_HOOK)))
    names = list(plugins.providers())
    assert names == [*BUILTIN, "alpha", "zeta"]
    assert plugins.providers()["openai"].factory == "aigw.providers.openai:OpenAIProvider"
    err = capsys.readouterr().err
    assert "provider plugin 'broken' (aigw_no_such_module:x) could not be loaded" in err
    assert "provider plugin 'aa' (aigw_test_plugin:a) registers 'openai', which is already registered" in err


def test_settings_import_no_provider_module():
    assert not subprocess.run(["grep", "-rn", "aigw.providers", str(ROOT / "aigw" / "settings")],
                              capture_output=True, text=True).stdout
    code = ("import sys; from aigw.settings.loader import load; load(); "
            "print(sorted(m for m in sys.modules if m.startswith('aigw.providers')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    # The registry's data module only: no provider's code, no httpx.
    assert out.stdout.strip() == "['aigw.providers', 'aigw.providers.registry']"


def test_a_provider_of_a_declared_type_takes_that_types_fields(tmp_path, monkeypatch):
    from aigw.settings.loader import load

    cfg = tmp_path / "config.toml"
    cfg.write_text('[providers.eu]\ntype = "azure"\napi_version = "2025-04-01-preview"\n'
                   '[providers.local]\ndevice = "cpu"\n')
    settings = load(cfg).settings
    assert settings.provider("eu").option("api_version") == "2025-04-01-preview"
    assert settings.provider("local").option("device") == "cpu"
    assert settings.provider("openai").option("device") is None


def test_the_readme_documents_every_description_field():
    import dataclasses

    section = (ROOT / "README.md").read_text().split("## Writing a provider package", 1)[1].split("\n## ", 1)[0]
    for f in dataclasses.fields(plugins.ProviderDescription):
        assert f"    {f.name}=" in section, f.name
    assert 'builtins = "aigw.providers.registry:builtins"' in section
    assert plugins.BUILTIN_HOOK in (ROOT / "pyproject.toml").read_text()


def test_the_public_provider_api_resolves_every_name_it_lists():
    from aigw.providers import api

    for name in api.__all__:
        assert getattr(api, name) is not None, name
    assert api.ProviderBase is __import__("aigw.providers.base", fromlist=["x"]).ProviderBase
    with pytest.raises(AttributeError):
        api.not_a_name  # noqa: B018


def test_a_description_module_importing_the_api_stays_light():
    """A plugin's description module runs whenever aigw reads settings: the API loads lazily."""
    code = ("import sys; from aigw.providers.api import ProviderDescription; "
            "print(sorted(m for m in ('httpx', 'pydantic', 'aigw.providers.base') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
