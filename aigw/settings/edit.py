"""`aigw config set/unset`: edit config.toml in place, keeping comments, and only when the result is valid.

An edit is refused (exit 2, file untouched) when it adds a problem the file did not already have;
problems already there do not block an edit, so `config unset` can repair a broken file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from aigw.errors import ConfigError, UsageError
from aigw.settings.files import locked
from aigw.settings.masking import SECRET_FIELDS, contains_secret, secret_header, url_has_secret

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def split_key(dotted: str) -> list[str]:
    """A dotted key as TOML reads one, so `routing.fallbacks."flux-1.1-pro"` is three parts."""
    try:
        node: Any = tomllib.loads(f"{dotted} = 0")
    except tomllib.TOMLDecodeError:
        node = None
    parts: list[str] = []
    while isinstance(node, dict) and len(node) == 1:
        (part, node), = node.items()
        parts.append(part)
    if not parts or node != 0:
        raise UsageError(f"{dotted!r} is not a setting name", hint="setting names are dotted, e.g. routing.retries")
    return parts


def parse_value(raw: str) -> Any:
    """A TOML literal when the text is one (true, 3, 2.5, "x", ["a", "b"], { a = 1 }), else the text."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def refuse_secrets(parts: list[str], value: Any) -> None:
    """Keys never come from argv, where shell history and process listings keep them."""
    lowered = [p.lower() for p in parts]
    provider = parts[1].lower() if len(parts) >= 2 and lowered[0] == "providers" else "PROVIDER"
    in_headers = len(lowered) >= 2 and lowered[-2] == "headers" and secret_header(lowered[-1], value)
    header_table = lowered[-1] == "headers" and isinstance(value, dict) and any(
        secret_header(h, v) for h, v in value.items())
    if in_headers or header_table:
        raise UsageError(
            "credential headers are not accepted on the command line, where shell history would keep them",
            hint=f"set them in the environment: AIGW_PROVIDERS__{provider.upper()}__HEADERS='{{\"NAME\": \"...\"}}', "
            f"or edit the config file yourself; the provider's key goes in 'aigw config keys set {provider}'",
        )
    if lowered[-1] == "base_url" and url_has_secret(value):
        raise UsageError(
            "a base URL with a password or a key in it is not accepted on the command line",
            hint=f"set it in the environment (AIGW_PROVIDERS__{provider.upper()}__BASE_URL), or give the URL "
            f"without the credential and store the key with 'aigw config keys set {provider}'",
        )
    if lowered[-1] in SECRET_FIELDS or contains_secret(value):
        raise UsageError(
            "keys are not accepted on the command line, where shell history would keep them",
            hint=f"run 'aigw config keys set {provider}' and paste the key at the hidden prompt, "
            f"or pipe it in: printf %s \"$KEY\" | aigw config keys set {provider}",
        )


def _document(path: Path) -> tuple[Any, str]:
    import tomlkit

    from aigw.settings.layers import read_toml

    _, text = read_toml(path)  # invalid TOML is reported with its line before tomlkit sees it
    return (tomlkit.parse(text) if text is not None else tomlkit.document()), text or ""


def set_value(path: Path, dotted: str, raw: str) -> Any:
    """Set `dotted` to the TOML value `raw` in config.toml; returns the value stored.

    An unquoted value that TOML reads as something else (2024-06-01 is a date, 1.5 a number) is
    kept as text when only text is valid there, so `api_version 2024-06-01` does what it says."""
    parts = split_key(dotted)
    value = parse_value(raw)
    refuse_secrets(parts, value)
    with locked(path):  # read, check and write as one step: concurrent edits all survive
        try:
            return _set(path, parts, value, dotted)
        except UsageError:
            if isinstance(value, str):
                raise
            try:
                return _set(path, parts, raw, dotted)
            except UsageError:
                pass
            raise


def _set(path: Path, parts: list[str], value: Any, dotted: str) -> Any:
    import tomlkit

    doc, before = _document(path)
    node = doc
    for i, part in enumerate(parts[:-1]):
        if part not in node:
            node[part] = tomlkit.table()
        node = node[part]
        if not isinstance(node, dict):
            raise UsageError(f"{'.'.join(parts[: i + 1])} is a value, not a table, in {path}",
                             hint=f"run 'aigw config unset {'.'.join(parts[: i + 1])}' first")
    node[parts[-1]] = value
    _commit(path, before, tomlkit.dumps(doc), dotted)
    return value


def unset_value(path: Path, dotted: str) -> bool:
    """Remove `dotted` from config.toml; False when the file does not set it."""
    import tomlkit

    parts = split_key(dotted)
    if not path.exists():
        return False
    with locked(path):
        doc, before = _document(path)
        chain = [doc]
        for part in parts[:-1]:
            if not isinstance(chain[-1], dict) or part not in chain[-1]:
                return False
            chain.append(chain[-1][part])
        if not isinstance(chain[-1], dict) or parts[-1] not in chain[-1]:
            return False
        del chain[-1][parts[-1]]
        # Tables the removal left empty go too: no `[routing.breaker]` header with nothing under it.
        for depth in range(len(parts) - 1, 0, -1):
            if len(chain[depth]) == 0:
                del chain[depth - 1][parts[depth - 1]]
            else:
                break
        _commit(path, before, tomlkit.dumps(doc), dotted)
        return True


def _commit(path: Path, before: str, after: str, dotted: str) -> None:
    from aigw.settings.files import atomic_write
    from aigw.settings.loader import problems_of

    old = {p.signature for p in problems_of(path, before)}
    new = [p for p in problems_of(path, after) if p.signature not in old]
    if new:
        raise _refusal(new[0], dotted, path)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    atomic_write(path, after, mode=mode)


def _refusal(problem: Any, dotted: str, path: Path) -> UsageError | ConfigError:
    from aigw.settings.advice import did_you_mean

    unchanged = f"{path} was not changed"
    if problem.kind == "unknown setting":
        return ConfigError(f"unknown setting {problem.key}",
                          hint=f"{did_you_mean(problem.key)}'aigw config show' lists the settings; {unchanged}")
    if problem.kind == "provider type":
        name = problem.key.split(".", 1)[1]
        return UsageError(problem.detail, hint=f"run 'aigw config set providers.{name}.type openai' first "
                                               f"for an OpenAI-compatible server; {unchanged}")
    if problem.layer is not None and problem.layer.kind != "config":
        return ConfigError(f"{problem.where()}: {problem.describe()}", hint=problem.error().hint)
    return UsageError(f"refused: {problem.describe()}", hint=f"{unchanged}; see 'aigw config get {dotted}'")
