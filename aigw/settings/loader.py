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
from aigw.settings.masking import SECRET_FIELDS, looks_like_secret, masked


@dataclass(frozen=True)
class Loaded:
    settings: Any  # Settings; typed loosely to keep this module import-light
    layers: list[Layer]  # lowest precedence first
    config_path: Path
    keys_path: Path
    warnings: tuple[str, ...] = ()  # shown once per command, e.g. a stored key nothing uses

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
    layers = [config_layer(cfg_path, config_text), keys_layer(paths.keys_path(cfg_path)),
              standard_env_layer(), env_layer()]
    return _without_orphan_keys(layers)[0]


def _without_orphan_keys(layers: list[Layer]) -> tuple[list[Layer], list[str]]:
    """A key in keys.toml for a provider that is neither built in nor configured elsewhere (a gateway
    removed from config.toml, a provider aigw no longer has) is ignored with a warning, so one stale
    line does not make every command exit 3."""
    from aigw import plugins

    registered = plugins.providers()
    keys = next((layer for layer in layers if layer.kind == "keys"), None)
    stored = keys.data.get("providers", {}) if keys is not None else {}
    others = [layer for layer in layers if layer.kind != "keys"]
    orphans = sorted(name for name in stored if name not in registered
                     and all(lookup(layer.data, ["providers", name]) is MISSING for layer in others))
    if keys is None or not orphans:
        return layers, []
    kept = {name: table for name, table in stored.items() if name not in orphans}
    cleaned = Layer("keys", {"providers": kept} if kept else {}, keys.path, keys.text, keys.variables)
    warnings = [f"{keys.path} holds a key for '{name}', which is not a provider (not built in, not in "
                f"{others[0].path}); it is ignored. Remove it with 'aigw config keys unset {name}'"
                for name in orphans]
    return [cleaned if layer is keys else layer for layer in layers], warnings


def validate(layers: list[Layer]) -> tuple[Any, list[Problem]]:
    """The Settings the layers make, or None and everything wrong with them."""
    from pydantic import ValidationError

    from aigw.settings.model import Settings, provider_model, provider_type_problem

    merged: dict[str, Any] = {}
    for layer in layers:
        merged = deep_merge(merged, layer.data)
    if isinstance(merged.get("providers"), dict):
        merged["providers"] = _routing_order(merged["providers"], layers)
    problems: list[Problem] = []
    invalid: list[Problem] = []
    typed = merged
    providers = merged.get("providers")
    if isinstance(providers, dict):
        # Each [providers.NAME] against its own description: the common fields plus its type's own.
        checked: dict[str, Any] = {}
        for name, table in providers.items():
            detail = provider_type_problem(name, table)
            if detail:
                problems.append(Problem(f"providers.{name}", "provider type", detail, _first_layer(layers, name)))
            try:
                checked[name] = provider_model(str(name).lower(), table).model_validate(table)
            except ValidationError as exc:
                invalid += _from_pydantic(exc, layers, merged, prefix=["providers", str(name)])
        typed = {**merged, "providers": checked}
    try:
        settings = Settings.model_validate(typed)
    except ValidationError as exc:
        problems[:0] = invalid + _from_pydantic(exc, layers, merged)
        return None, problems
    problems[:0] = invalid
    return (None if problems else settings), problems


def _routing_order(providers: dict[str, Any], layers: list[Layer]) -> dict[str, Any]:
    """[providers.*] in the order `priority` routing uses: the config file's sections in file
    order, then providers with no section (a key from keys.toml or the environment) in the order
    of the built-in table (openai, azure, fal, ...), then any other name alphabetically. Where a
    key came from never moves a provider."""
    from aigw import plugins

    in_file: list[str] = []
    for layer in layers:
        if layer.kind == "config" and isinstance(layer.data.get("providers"), dict):
            in_file += [n for n in layer.data["providers"] if n not in in_file]
    builtin = list(plugins.providers())

    def rank(name: str) -> tuple[int, int, str]:
        if name in in_file:
            return 0, in_file.index(name), ""
        if name in builtin:
            return 1, builtin.index(name), ""
        return 2, 0, name

    return {name: providers[name] for name in sorted(providers, key=rank)}


def problems_of(config_file: Path, config_text: str | None = None) -> list[Problem]:
    return validate(gather(config_file, config_text=config_text))[1]


def load(config_file: Path | None = None) -> Loaded:
    cfg_path = config_file or paths.config_path()
    layers, warnings = _without_orphan_keys([config_layer(cfg_path), keys_layer(paths.keys_path(cfg_path)),
                                             standard_env_layer(), env_layer()])
    settings, problems = validate(layers)
    if problems:
        raise problems[0].error()
    register_secrets(settings)
    return Loaded(settings, layers, cfg_path, paths.keys_path(cfg_path), tuple(warnings))


def register_secrets(settings: Any) -> None:
    """Every key and credential header a provider may send is redacted from messages (aigw.redact)."""
    from aigw import redact

    for provider in settings.providers.values():
        if provider.api_key is not None:
            redact.register(provider.api_key.get_secret_value())
        for name, value in (provider.headers or {}).items():
            redact.register_header(name, value)
        redact.register_url(provider.base_url)


def _first_layer(layers: list[Layer], provider: str) -> Layer | None:
    """A provider's type belongs in config.toml, so point there when the table is there at all."""
    return next((layer for layer in layers if lookup(layer.data, ["providers", provider]) is not MISSING), None)


def _from_pydantic(exc: Any, layers: list[Layer], merged: dict[str, Any],
                   prefix: list[str] | None = None) -> list[Problem]:
    out: dict[str, Problem] = {}
    for err in exc.errors():
        # Union members and validators add loc parts that are not keys; keep the part that exists.
        loc = [*(prefix or []), *(str(p) for p in err["loc"])]
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
    if looks_like_secret(value):
        return ""
    text = repr(masked(".".join(loc), value))
    return f" (got {text})" if len(text) <= 60 else ""
