"""The sources of settings, each read into a plain nested dict (a Layer), lowest precedence first:
config.toml, keys.toml, provider SDKs' standard variables, AIGW_* variables.

Reading a source can fail only on syntax (invalid TOML, malformed JSON in a variable), reported
with the file and line or the variable; whether the values make sense is the loader's question.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aigw.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

Kind = Literal["config", "keys", "standard env", "env"]
MISSING: Any = object()
ENV_PREFIX = "AIGW_"
# AIGW_* variables with no "__" that are not settings (AIGW_CONFIG names the file itself).
_TOP_LEVEL = {"cache_dir", "defaults", "routing", "budget", "cache", "providers"}


@dataclass(frozen=True)
class Layer:
    kind: Kind
    data: dict[str, Any]
    path: Path | None = None
    text: str | None = None
    variables: dict[str, str] = field(default_factory=dict)  # dotted key -> variable that set it

    @property
    def label(self) -> str:
        """How `aigw config show` names this source."""
        if self.path is not None:
            return f"{'keys file' if self.kind == 'keys' else 'config file'} {self.path}"
        return "env"

    def variable_for(self, dotted: str) -> str | None:
        """The variable that set `dotted`, a table holding it, or a key inside it."""
        best = None
        for key, var in self.variables.items():
            if dotted == key or dotted.startswith(key + ".") or key.startswith(dotted + "."):
                if best is None or len(key) > len(best[0]):
                    best = (key, var)
        return best[1] if best else None


def lookup(data: Any, dotted: str | list[str]) -> Any:
    node = data
    for part in dotted.split(".") if isinstance(dotted, str) else dotted:
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def parse_toml(path: Path, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = re.search(r"\s*\(at line (\d+), column (\d+)\)", message)
        where = f"{path}:{m.group(1)}:{m.group(2)}" if m else str(path)
        reason = message[: m.start()] if m else message
        raise ConfigError(f"{where}: invalid TOML: {reason}",
                          hint=f"fix the file at that line ({path}); 'aigw config path' lists aigw's files") from exc


def read_toml(path: Path) -> tuple[dict[str, Any], str | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}",
                          hint=f"check the file's permissions and encoding: {path}") from exc
    return parse_toml(path, text), text


def _lower_providers(data: dict[str, Any]) -> dict[str, Any]:
    """Provider names are case-insensitive: [providers.OpenAI] and keys.toml's `openai` are one."""
    providers = data.get("providers")
    if not isinstance(providers, dict):
        return data
    lowered: dict[str, Any] = {}
    for name, value in providers.items():
        key = str(name).lower()
        both_tables = isinstance(value, dict) and isinstance(lowered.get(key), dict)
        lowered[key] = deep_merge(lowered[key], value) if both_tables else value
    return {**data, "providers": lowered}


def config_layer(path: Path, text: str | None = None) -> Layer:
    """config.toml; `text` stands in for the file's contents (a proposed edit, checked before writing)."""
    if text is None:
        data, text = read_toml(path)
    else:
        data = parse_toml(path, text)
    return Layer("config", _lower_providers(data), path, text)


def keys_layer(path: Path) -> Layer:
    """keys.toml: `provider = "key"` lines, mounted as providers.<name>.api_key."""
    data, text = read_toml(path)
    providers: dict[str, Any] = {}
    for name, value in data.items():
        if not isinstance(value, str):
            from aigw.settings.lines import locate_line

            line = locate_line(text or "", [name])
            raise ConfigError(f"{path}{f':{line}' if line else ''}: '{name}' must be a key in quotes",
                              hint=f"run 'aigw config keys set {name.lower()}' to store it again")
        providers[name.lower()] = {"api_key": value}
    return Layer("keys", {"providers": providers} if providers else {}, path, text)


def standard_env_layer() -> Layer:
    """Provider SDKs' own variables (OPENAI_API_KEY...), for the built-in providers only: a gateway
    of type "openai" named 'kong' never picks up OPENAI_API_KEY."""
    from aigw import plugins

    providers: dict[str, Any] = {}
    variables: dict[str, str] = {}
    for pname, ptype in plugins.providers().items():
        for fieldname, names in ptype.env.items():
            for var in names:
                values = [os.environ.get(v) for v in var.split(":")]
                if all(values):
                    providers.setdefault(pname, {})[fieldname] = ":".join(v for v in values if v)
                    variables[f"providers.{pname}.{fieldname}"] = var.replace(":", "+")
                    break
    return Layer("standard env", {"providers": providers} if providers else {}, variables=variables)


def env_layer(environ: dict[str, str] | None = None) -> Layer:
    """AIGW_* variables, nested with "__": AIGW_PROVIDERS__OPENAI__BASE_URL -> providers.openai.base_url.

    Any variable with "__" is a setting, so a misspelt one is an error rather than silently ignored;
    one without is a setting only when it names one (AIGW_CACHE_DIR), so AIGW_CONFIG is left alone.
    A value starting with [ or { is JSON (lists and tables); anything else is text for pydantic to coerce.
    """
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    variables: dict[str, str] = {}
    names = sorted((n for n in env if n.upper().startswith(ENV_PREFIX)), key=lambda n: (n.count("__"), n))
    for var in names:
        raw = env[var]
        parts = var[len(ENV_PREFIX):].lower().split("__")
        if raw == "" or (len(parts) == 1 and parts[0] not in _TOP_LEVEL):
            continue
        if not all(parts):
            raise ConfigError(f"environment variable {var}: empty name between '__'",
                              hint=f"unset {var}; nested settings look like AIGW_ROUTING__RETRIES")
        node = data
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = _env_value(var, raw)
        variables[".".join(parts)] = var
    return Layer("env", _lower_providers(data), variables=variables)


def _env_value(var: str, raw: str) -> Any:
    if not raw.lstrip().startswith(("[", "{")):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        try:  # the TOML inline form `aigw config set` hints print: {"a" = "b"}
            return tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            pass
        raise ConfigError(f"environment variable {var}: invalid JSON: {exc.msg} at character {exc.pos + 1}",
                          hint=f"fix or unset {var}; lists and tables are JSON, e.g. {var}='[\"a\", \"b\"]'") from exc
