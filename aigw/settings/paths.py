"""Where aigw keeps its files. Environment variables win over the platform defaults.

keys.toml lives beside config.toml when that directory is aigw's own, and otherwise in an
`aigw-keys/` directory inside it that aigw creates (0700), so aigw never narrows the mode of a
directory it does not own (`AIGW_CONFIG=/shared/config.toml` must not lock others out of /shared).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

KEYS_DIR = "aigw-keys"
# What aigw itself puts in a config directory; a directory holding anything else is not aigw's own.
_AIGW_FILES = ("config.toml", "keys.toml", KEYS_DIR)


def config_path() -> Path:
    explicit = os.environ.get("AIGW_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("aigw", appauthor=False)) / "config.toml"


def owns(directory: Path) -> bool:
    """True when `directory` is aigw's to make private: missing (aigw will create it 0700), or owned
    by this user, not a shared sticky directory (like /tmp), and named `aigw`/`aigw-keys` or holding
    nothing but aigw's own files."""
    try:
        st = directory.stat()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    getuid = getattr(os, "getuid", None)
    if getuid is not None and st.st_uid != getuid():
        return False
    if st.st_mode & stat.S_ISVTX:
        return False
    if directory.name in ("aigw", KEYS_DIR):
        return True
    try:
        return all(_is_aigw_file(child.name) for child in directory.iterdir())
    except OSError:
        return False


def _is_aigw_file(name: str) -> bool:
    bare = name.lstrip(".")
    return bare in _AIGW_FILES or any(bare.startswith(f) and bare.endswith((".tmp", ".lock")) for f in _AIGW_FILES)


def keys_path(config: Path | None = None) -> Path:
    """Keys live beside the config file when its directory is aigw's own (one AIGW_CONFIG moves
    both), else in `<config dir>/aigw-keys/keys.toml`. Where keys already are, they stay."""
    directory = (config or config_path()).parent
    own_dir = directory / KEYS_DIR / "keys.toml"
    beside = directory / "keys.toml"
    if own_dir.exists():
        return own_dir
    if beside.exists() or owns(directory):
        return beside
    return own_dir


def default_cache_dir() -> Path:
    explicit = os.environ.get("AIGW_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("aigw", appauthor=False))
