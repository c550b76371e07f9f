"""`aigw config show/get`: the effective settings as flat (key, value, source) rows, secrets masked."""

from __future__ import annotations

from typing import Any

from aigw.errors import UsageError
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
    An unknown name is a usage error suggesting close ones."""
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
    from aigw.providers.registry import BUILTIN

    names = sorted(set(BUILTIN) | set(loaded.settings.providers))
    parts = key.split(".")
    free = any(p in FREE_FORM for p in parts[:-1])
    if key in known_keys(names) or key == "providers" or (free and parts[0] in ("routing", "providers")):
        return None
    raise UsageError(f"unknown setting {key}", hint=f"{did_you_mean(key, names)}'aigw config show' lists them all")


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
