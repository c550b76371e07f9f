"""Writing config.toml and keys.toml: atomic, comment-preserving, and private where secrets live."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from aigw.errors import ConfigError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SECRET_FIELDS = {"api_key"}


def atomic_write(path: Path, text: str, *, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)  # the umask may have narrowed or the file existed with other bits
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def parse_value(raw: str) -> Any:
    """`aigw config set` values are TOML literals when they parse as one, else plain strings."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _load_doc(path: Path) -> Any:
    import tomlkit

    try:
        return tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
    except Exception as exc:  # tomlkit raises its own ParseError with line and column
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc


def set_config_value(path: Path, dotted: str, raw: str, *, validate: Any) -> Any:
    """Set a dotted key; `validate(candidate_path)` must raise on an invalid result."""
    import tomlkit

    parts = dotted.split(".")
    if parts[-1] in SECRET_FIELDS:
        provider = parts[1] if len(parts) > 2 and parts[0] == "providers" else "PROVIDER"
        raise UsageError(
            "keys are not set on the command line, where shell history would keep them",
            hint=f"run 'aigw config keys set {provider}' and paste the key at the prompt",
        )
    value = parse_value(raw)
    doc = _load_doc(path)
    node = doc
    for part in parts[:-1]:
        if part not in node:
            node[part] = tomlkit.table()
        node = node[part]
        if not isinstance(node, dict):
            raise ConfigError(f"{'.'.join(parts[:-1])} is not a table in {path}")
    node[parts[-1]] = value
    _write_validated(path, tomlkit.dumps(doc), validate)
    return value


def unset_config_value(path: Path, dotted: str, *, validate: Any) -> bool:
    import tomlkit

    doc = _load_doc(path)
    parts = dotted.split(".")
    node = doc
    for part in parts[:-1]:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    if not isinstance(node, dict) or parts[-1] not in node:
        return False
    del node[parts[-1]]
    _write_validated(path, tomlkit.dumps(doc), validate)
    return True


def _write_validated(path: Path, text: str, validate: Any) -> None:
    candidate = path.with_name(f".{path.name}.candidate")
    atomic_write(candidate, text)
    try:
        validate(candidate)
        os.replace(candidate, path)
    finally:
        candidate.unlink(missing_ok=True)


# ---- keys.toml -----------------------------------------------------------------------------


def _secure_dir(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(directory, 0o700)


def read_keys(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if isinstance(v, str)}


def write_keys(path: Path, keys: dict[str, str]) -> None:
    import tomlkit

    _secure_dir(path.parent)
    doc = tomlkit.document()
    doc.add(tomlkit.comment("aigw provider keys; written by 'aigw config keys set', mode 0600"))
    for name in sorted(keys):
        doc[name] = keys[name]
    atomic_write(path, tomlkit.dumps(doc), mode=0o600)


def mask(secret: str) -> str:
    if len(secret) <= 8:
        return "*" * len(secret)
    return f"{secret[:3]}…{secret[-4:]}"
