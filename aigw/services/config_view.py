"""`aigw config show/get`: the effective settings as flat (key, value, source) rows, secrets masked."""

from __future__ import annotations

from typing import Any

from aigw.errors import ConfigError
from aigw.settings.masking import masked

Row = tuple[str, Any, str]
_WHOLE = (".headers", ".paths", ".models", ".fallbacks")  # free-form tables shown as one value


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value and not prefix.endswith(_WHOLE):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = value


def effective() -> tuple[list[Row], Any]:
    from aigw import settings

    loaded = settings.load()
    data = loaded.settings.model_dump(mode="python")
    for name, provider in loaded.settings.providers.items():
        if provider.api_key is not None:
            data["providers"][name]["api_key"] = provider.api_key.get_secret_value()
    if data.get("cache_dir") is None:
        data["cache_dir"] = settings.default_cache_dir()
    flat: dict[str, Any] = {}
    _flatten("", data, flat)
    rows = []
    for key in sorted(flat):
        value = flat[key]
        if key.startswith("providers.") and value is None:
            continue  # unset provider fields are noise
        value = str(value) if key == "cache_dir" else value
        rows.append((key, masked(key, value), loaded.origin(key)))
    return rows, loaded


def get(key: str) -> Any | list[Row]:
    """One setting's value; the rows under a table; None for a known setting with no value.
    An unknown name is a configuration error (exit 3, as README says) suggesting close ones."""
    from aigw.settings.advice import did_you_mean
    from aigw.settings.model import FREE_FORM, known_keys

    rows, loaded = effective()
    values = {k: v for k, v, _ in rows}
    if key in values:
        return values[key]
    nested = [row for row in rows if row[0].startswith(key + ".")]
    if nested:
        return nested
    for row_key, value, _ in rows:
        if key.startswith(row_key + ".") and isinstance(value, dict):
            inner = value.get(key[len(row_key) + 1:])
            if inner is not None:
                return inner
    from aigw import plugins

    names = sorted(set(plugins.providers()) | set(loaded.settings.providers))
    types = {n: p.type for n, p in loaded.settings.providers.items() if p.type}
    parts = key.split(".")
    free = any(p in FREE_FORM for p in parts[:-1])
    if key in known_keys(names, types) or key == "providers" or (free and parts[0] in ("routing", "providers")):
        return None
    raise ConfigError(f"unknown setting {key}", hint=f"{did_you_mean(key, names)}'aigw config show' lists them all")


def not_set_hint(key: str) -> str:
    """Where a setting that config.toml does not hold comes from, and how to change that."""
    try:
        from aigw import settings

        origin = settings.load().origin(key)
    except Exception:  # a broken config must not hide the first message
        return "see 'aigw config show'"
    if origin.startswith("env "):
        return f"it comes from the environment: unset {origin[4:]}"
    if origin.startswith("keys file") and key.startswith("providers.") and key.endswith(".api_key"):
        return f"it is a stored key: run 'aigw config keys unset {key.split('.')[1]}'"
    if origin == "default":
        return "nothing to remove: it has its default value ('aigw config show' lists every setting)"
    return f"it comes from the {origin}; 'aigw config show' says where each value comes from"


def stored_as(key: str) -> tuple[str, Any, str]:
    """(the key as aigw names it, its effective value as shown, where it comes from) after `config
    set`: what was stored, after validation (`30` for a float setting reads back as 30.0)."""
    from aigw.settings.edit import split_key

    parts = split_key(key)
    if len(parts) >= 2 and parts[0] == "providers":
        parts[1] = parts[1].lower()
    name = ".".join(parts)
    from aigw.settings.layers import lookup

    rows, loaded = effective()
    origin = loaded.origin(name)
    if not origin.startswith("config file"):  # another source wins: show what the file now holds
        return name, masked(name, lookup(loaded.layers[0].data, name)), origin
    for row_key, value, _ in rows:
        if row_key == name:
            return name, value, origin
    return name, get(name), origin
