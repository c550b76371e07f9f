"""Provider keys in keys.toml: which names may hold one, and what would override a stored key."""

from __future__ import annotations

import os
import re
from pathlib import Path

from aigw.errors import UsageError
from aigw.settings.files import locked, read_keys, write_keys

_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def check_name(provider: str) -> str:
    """The lowercased provider name. Something that is not a name (a pasted key, say) is refused
    without being repeated, so it never reaches a terminal log."""
    name = provider.lower()
    if not _NAME.fullmatch(name) or (len(name) >= 20 and any(c.isdigit() for c in name)):
        raise UsageError("that is not a provider name (a key is never passed as an argument)",
                         hint="run 'aigw config keys set PROVIDER' and paste the key at the hidden prompt, "
                              "or pipe it in: printf %s \"$KEY\" | aigw config keys set PROVIDER")
    return name


def configured_names(config_path: Path) -> set[str]:
    """Provider tables in config.toml and AIGW_PROVIDERS__* variables; empty if config.toml is unreadable."""
    from aigw.errors import ConfigError
    from aigw.settings.layers import config_layer, env_layer

    names: set[str] = set()
    for read in (lambda: config_layer(config_path), env_layer):
        try:
            providers = read().data.get("providers", {})
        except ConfigError:
            continue
        if isinstance(providers, dict):
            names |= {str(n) for n, table in providers.items() if isinstance(table, dict) and "type" in table}
    return names


def require_known(name: str, config_path: Path) -> None:
    from aigw import plugins

    if name in plugins.providers() or name in configured_names(config_path):
        return
    raise UsageError(f"unknown provider {name}",
                     hint=f"built-in providers: {', '.join(sorted(plugins.providers()))}. For an OpenAI-compatible server "
                          f"run 'aigw config set providers.{name}.type openai' first, then "
                          f"'aigw config keys set {name}'")


def overriding_variables(name: str) -> list[str]:
    """Variables set now that take precedence over keys.toml for this provider's key."""
    from aigw import plugins

    found = [v for v in os.environ if v.upper() == f"AIGW_PROVIDERS__{name.upper()}__API_KEY" and os.environ[v]]
    spec = plugins.get(name)
    for var in spec.env.get("api_key", ()) if spec else ():
        if all(os.environ.get(v) for v in var.split(":")):
            found.append(var.replace(":", "+"))
    return found


def store(path: Path, name: str, key: str) -> None:
    """Add or replace one key; the file is re-read under a lock, so concurrent `keys set` keep every key."""
    with locked(path, private=True):
        keys = read_keys(path)
        keys[name] = key
        write_keys(path, keys)


def remove(path: Path, name: str) -> bool:
    with locked(path, private=True):
        keys = read_keys(path)
        if name not in keys:
            return False
        del keys[name]
        write_keys(path, keys)
        return True
