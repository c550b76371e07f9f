"""Settings: config.toml, keys.toml and environment variables, validated by pydantic.

    paths     where the files are          layers    reading each source into a dict
    model     the shape (pydantic)         loader    merge, validate, origin of each value
    advice    the fix for each problem     lines     the line of a key in a TOML file
    edit      config set/unset             keys      keys.toml entries
    files     atomic and private writes    masking   secrets as they may be shown

Import-light on purpose: the heavy modules load inside `load()`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from aigw.settings.paths import config_path, default_cache_dir, keys_path

if TYPE_CHECKING:
    from aigw.settings.loader import Loaded

__all__ = ["config_path", "default_cache_dir", "keys_path", "load"]


def load(config_file: Path | None = None) -> Loaded:
    from aigw.settings.loader import load as _load

    return _load(config_file)
