"""Which input a batch was made from: the same content, kind and defaults (the command line's
options) give the same fingerprint, so re-running a command finds its batch, and a changed line or
flag makes a new one."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def fingerprint(kind: str, content: bytes, defaults: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([kind, _canonical(defaults)], sort_keys=True, default=str).encode())
    digest.update(b"\0")
    digest.update(content)
    return digest.hexdigest()


def _canonical(defaults: dict[str, Any]) -> dict[str, Any]:
    """Unset options do not count: `--seed` absent and a default of None are the same input."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in defaults.items() if v not in (None, (), [], False)}
