"""The effective settings as flat (key, value, source) rows, secrets masked."""

from __future__ import annotations

from typing import Any

from aigw.settings.files import mask


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value and not prefix.endswith((".headers", ".paths", ".models", "fallbacks")):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = value


def _masked(key: str, value: Any) -> Any:
    if value is None:
        return None
    if key.endswith(".api_key"):
        return mask(str(value))
    if key.endswith(".headers") and isinstance(value, dict):
        return {h: (mask(v) if any(s in h.lower() for s in ("auth", "key", "token")) else v) for h, v in value.items()}
    return value


def effective() -> tuple[list[tuple[str, Any, str]], Any]:
    from aigw import settings

    loaded = settings.load()
    data = loaded.settings.model_dump(mode="python")
    for name, provider in loaded.settings.providers.items():
        if provider.api_key is not None:
            data["providers"][name]["api_key"] = provider.api_key.get_secret_value()
    if data.get("cache_dir") is None:
        data["cache_dir"] = str(settings.default_cache_dir())
    flat: dict[str, Any] = {}
    _flatten("", data, flat)
    rows = []
    for key in sorted(flat):
        value = flat[key]
        if key.startswith("providers.") and value is None:
            continue  # unset provider fields are noise
        value = str(value) if key == "cache_dir" else value
        rows.append((key, _masked(key, value), loaded.origin(key)))
    return rows, loaded
