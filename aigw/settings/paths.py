"""Where aigw keeps its files. Environment variables win over the platform defaults."""

from __future__ import annotations

import os
from pathlib import Path


def config_path() -> Path:
    explicit = os.environ.get("AIGW_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("aigw", appauthor=False)) / "config.toml"


def keys_path() -> Path:
    """Keys live beside the config file, so one AIGW_CONFIG moves both."""
    return config_path().parent / "keys.toml"


def default_cache_dir() -> Path:
    explicit = os.environ.get("AIGW_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("aigw", appauthor=False))
