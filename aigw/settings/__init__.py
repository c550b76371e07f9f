"""Settings: config.toml, keys.toml and environment variables, validated by pydantic-settings.

Import-light on purpose: the heavy modules load inside `load()`.
"""

from aigw.settings.paths import config_path, default_cache_dir, keys_path

__all__ = ["config_path", "default_cache_dir", "keys_path", "load"]


def load(config_file=None):  # type: ignore[no-untyped-def]
    from aigw.settings.loader import load as _load

    return _load(config_file)
