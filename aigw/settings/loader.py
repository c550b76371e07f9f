"""Merge the settings layers and remember where each value came from.

Precedence, highest first:
  AIGW_* environment variables > a provider's standard variable (OPENAI_API_KEY, OPENAI_BASE_URL)
  > keys.toml > config.toml > built-in defaults.
Command-line flags override all of these inside each command.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aigw.errors import ConfigError
from aigw.settings import paths

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class Layer:
    name: str  # shown by `aigw config show` as the value's source
    data: dict[str, Any]
    path: Path | None = None
    text: str | None = None


@dataclass(frozen=True)
class Loaded:
    settings: Any  # Settings; typed loosely to keep this module import-light
    layers: list[Layer]  # lowest precedence first
    config_path: Path
    keys_path: Path
    std_names: dict[str, str]  # dotted key -> the standard variable that set it

    def origin(self, dotted: str) -> str:
        """The layer a dotted key's effective value came from ("default" when none set it)."""
        for layer in reversed(self.layers):
            if _lookup(layer.data, dotted) is not _MISSING:
                if layer.name == "env":
                    return "env " + env_var_for(dotted)
                if layer.name == "standard env":
                    return "env " + self.std_names.get(dotted, "?")
                return layer.name
        return "default"


_MISSING = object()


def env_var_for(dotted: str) -> str:
    return "AIGW_" + dotted.upper().replace(".", "__")


def _lookup(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def read_toml(path: Path) -> tuple[dict[str, Any], str | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path}: invalid TOML: {exc}",
            hint=f"fix the file, or move it aside and use 'aigw config set' ({path})",
        ) from exc


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _keys_layer(path: Path) -> Layer:
    data, text = read_toml(path)
    providers: dict[str, Any] = {}
    for name, value in data.items():
        if isinstance(value, str):
            providers[name.lower()] = {"api_key": value}
        else:
            raise ConfigError(f"{path}: '{name}' must be a string key", hint="aigw config keys set " + name)
    return Layer(f"keys file {path}", {"providers": providers} if providers else {}, path, text)


def _standard_env_layer() -> tuple[Layer, dict[str, str]]:
    """Provider SDKs' own variables (OPENAI_API_KEY...), for the built-in providers only: a gateway
    of type "openai" named 'kong' never picks up OPENAI_API_KEY."""
    from aigw.providers.registry import BUILTIN

    providers: dict[str, Any] = {}
    names: dict[str, str] = {}
    for pname, ptype in BUILTIN.items():
        for fieldname, variables in ptype.env.items():
            for var in variables:
                parts = [os.environ.get(v) for v in var.split(":")]
                if all(parts):
                    providers.setdefault(pname, {})[fieldname] = ":".join(p for p in parts if p)
                    names[f"providers.{pname}.{fieldname}"] = var.replace(":", "+")
                    break
    return Layer("standard env", {"providers": providers} if providers else {}), names


def load(config_file: Path | None = None) -> Loaded:
    from pydantic import ValidationError
    from pydantic_settings import EnvSettingsSource

    from aigw.settings.model import Settings

    cfg_path = config_file or paths.config_path()
    key_path = cfg_path.parent / "keys.toml"
    file_data, file_text = read_toml(cfg_path)
    file_layer = Layer(f"config file {cfg_path}", file_data, cfg_path, file_text)
    keys_layer = _keys_layer(key_path)
    std_layer, std_names = _standard_env_layer()
    env_layer = Layer("env", EnvSettingsSource(Settings)())
    layers = [file_layer, keys_layer, std_layer, env_layer]

    merged: dict[str, Any] = {}
    for layer in layers:
        merged = deep_merge(merged, layer.data)
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise _config_error(exc, layers, std_names) from exc
    return Loaded(settings, layers, cfg_path, key_path, std_names)


def _config_error(exc: Any, layers: list[Layer], std_names: dict[str, str]) -> ConfigError:
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"] if not str(p).startswith("function-")]
    dotted = ".".join(loc)
    # Which layer set the offending key? Walk from the most specific path up.
    for depth in range(len(loc), 0, -1):
        prefix = ".".join(loc[:depth])
        for layer in reversed(layers):
            if _lookup(layer.data, prefix) is _MISSING:
                continue
            what = "unknown setting" if err["type"] == "extra_forbidden" else err["msg"]
            if layer.path is not None:
                line = locate_line(layer.text or "", loc[:depth])
                where = f"{layer.path}:{line}" if line else str(layer.path)
                return ConfigError(
                    f"{where}: {what}: {dotted}",
                    hint=f"edit {layer.path} or run 'aigw config unset {dotted}'",
                )
            var = std_names.get(prefix) or env_var_for(prefix)
            return ConfigError(f"environment variable {var}: {what}: {dotted}", hint=f"unset {var}")
    return ConfigError(f"invalid setting {dotted}: {err['msg']}")


def locate_line(text: str, keys: list[str]) -> int | None:
    """1-based line of a dotted key in TOML text: the key's own line, else its table header."""
    table: list[str] = []
    best: int | None = None
    header = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    assign = re.compile(r"^\s*([A-Za-z0-9_.\-\"' ]+?)\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        m = header.match(line)
        if m:
            table = [p.strip().strip("\"'") for p in m.group(1).split(".")]
            if table == keys[: len(table)] and best is None and len(table) == len(keys):
                best = number
            continue
        m = assign.match(line)
        if not m:
            continue
        full = table + [p.strip().strip("\"'") for p in m.group(1).split(".")]
        if full == keys:
            return number
        if full == keys[: len(full)] and best is None:
            best = number
    return best
