"""Merge the settings layers, validate the result, and remember where each value came from.

Precedence, highest first:
  AIGW_* environment variables > a provider's standard variable (OPENAI_API_KEY, OPENAI_BASE_URL)
  > keys.toml > config.toml > built-in defaults.
Command-line flags override all of these inside each command.

Every problem is reported where the user can fix it: the file and line, or the variable.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aigw.errors import ConfigError
from aigw.settings import paths
from aigw.settings.layers import MISSING, Layer, config_layer, deep_merge, env_layer, keys_layer, lookup, \
    standard_env_layer
from aigw.settings.masking import SECRET_FIELDS


@dataclass(frozen=True)
class Loaded:
    settings: Any  # Settings; typed loosely to keep this module import-light
    layers: list[Layer]  # lowest precedence first
    config_path: Path
    keys_path: Path

    def origin(self, dotted: str) -> str:
        """Where a dotted key's effective value came from: a file, "env VARIABLE", or "default"."""
        for layer in reversed(self.layers):
            if lookup(layer.data, dotted) is not MISSING:
                return f"env {layer.variable_for(dotted)}" if layer.variables else layer.label
        return "default"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the merged settings, and the layer that put it there."""

    key: str  # dotted
    kind: str  # "unknown setting" | "invalid value" | "provider type"
    detail: str
    layer: Layer | None

    @property
    def signature(self) -> tuple[str, str, str]:
        return self.key, self.kind, self.detail

    def describe(self) -> str:
        if self.kind == "unknown setting":
            return f"unknown setting {self.key}"
        if self.kind == "provider type":
            return self.detail
        return f"invalid value for {self.key}: {self.detail}"

    def error(self) -> ConfigError:
        from aigw.settings.advice import fix_for

        return ConfigError(f"{self.where()}: {self.describe()}", hint=fix_for(self))

    def where(self) -> str:
        layer = self.layer
        if layer is None:
            return "settings"
        if layer.variables:
            return f"environment variable {layer.variable_for(self.key) or '?'}"
        from aigw.settings.lines import locate_line

        parts = self.key.split(".")
        if layer.kind == "keys" and len(parts) >= 2:
            parts = parts[1:2]  # keys.toml holds providers.NAME.api_key as `NAME = "..."`
        line = locate_line(layer.text or "", parts)
        return f"{layer.path}:{line}" if line else str(layer.path)


def gather(config_file: Path | None = None, *, config_text: str | None = None) -> list[Layer]:
    """Read every source; raises ConfigError only for syntax (TOML, JSON in a variable)."""
    cfg_path = config_file or paths.config_path()
    return [config_layer(cfg_path, config_text), keys_layer(cfg_path.parent / "keys.toml"),
            standard_env_layer(), env_layer()]


def validate(layers: list[Layer]) -> tuple[Any, list[Problem]]:
    """The Settings the layers make, or None and everything wrong with them."""
    from pydantic import ValidationError

    from aigw.settings.model import Settings, provider_type_problem

    merged: dict[str, Any] = {}
    for layer in layers:
        merged = deep_merge(merged, layer.data)
    problems: list[Problem] = []
    providers = merged.get("providers")
    if isinstance(providers, dict):
        for name, table in providers.items():
            detail = provider_type_problem(name, table)
            if detail:
                problems.append(Problem(f"providers.{name}", "provider type", detail, _first_layer(layers, name)))
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        problems[:0] = _from_pydantic(exc, layers, merged)
        return None, problems
    return (None if problems else settings), problems


def problems_of(config_file: Path, config_text: str | None = None) -> list[Problem]:
    return validate(gather(config_file, config_text=config_text))[1]


def load(config_file: Path | None = None) -> Loaded:
    cfg_path = config_file or paths.config_path()
    layers = gather(cfg_path)
    settings, problems = validate(layers)
    if problems:
        raise problems[0].error()
    register_secrets(settings)
    return Loaded(settings, layers, cfg_path, cfg_path.parent / "keys.toml")


def register_secrets(settings: Any) -> None:
    """Every key and credential header a provider may send is redacted from messages (aigw.redact)."""
    from aigw import redact

    for provider in settings.providers.values():
        if provider.api_key is not None:
            redact.register(provider.api_key.get_secret_value())
        for name, value in (provider.headers or {}).items():
            redact.register_header(name, value)


def _first_layer(layers: list[Layer], provider: str) -> Layer | None:
    """A provider's type belongs in config.toml, so point there when the table is there at all."""
    return next((layer for layer in layers if lookup(layer.data, ["providers", provider]) is not MISSING), None)


def _from_pydantic(exc: Any, layers: list[Layer], merged: dict[str, Any]) -> list[Problem]:
    out: dict[str, Problem] = {}
    for err in exc.errors():
        # Union members and validators add loc parts that are not keys; keep the part that exists.
        loc = [str(p) for p in err["loc"]]
        while loc and lookup(merged, loc) is MISSING:
            loc.pop()
        key = ".".join(loc) or "settings"
        if key in out:
            continue
        kind = "unknown setting" if err["type"] == "extra_forbidden" else "invalid value"
        detail = err["msg"] + _got(loc, err.get("input"))
        layer = next((lay for lay in reversed(layers) if lookup(lay.data, loc) is not MISSING), None)
        out[key] = Problem(key, kind, detail, layer)
    return list(out.values())


def _got(loc: list[str], value: Any) -> str:
    if any(p in SECRET_FIELDS or p == "headers" for p in loc) or isinstance(value, (dict, list)):
        return ""
    text = repr(value)
    return f" (got {text})" if len(text) <= 60 else ""
