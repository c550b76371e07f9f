"""`aigw config`: where files are, what is in effect and why, and editing both config and keys."""

from __future__ import annotations

import sys

import typer

from aigw.cli.output import STATE

app = typer.Typer(help="Show and edit settings (config.toml) and provider keys (keys.toml).", no_args_is_help=True)
keys_app = typer.Typer(help="Provider keys, kept in keys.toml (mode 0600). Never passed as arguments.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@app.command("path")
def path_cmd() -> None:
    """Print the config file, the keys file and the cache directory."""
    from aigw import settings

    cfg = settings.config_path()
    try:
        cache = settings.load().settings.cache_dir or settings.default_cache_dir()
    except Exception:  # a broken config must not hide where the files are
        cache = settings.default_cache_dir()
    print(f"config\t{cfg}")
    print(f"keys\t{settings.keys_path()}")
    print(f"cache\t{cache}")


def _flat_effective() -> tuple[list[tuple[str, object, str]], object]:
    from aigw.services.config_view import effective

    return effective()


@app.command("show")
def show_cmd(as_json: bool = typer.Option(False, "--json", help="One JSON object: key -> {value, source}.")) -> None:
    """Every effective setting with where it came from; secrets masked."""
    rows, _ = _flat_effective()
    if as_json:
        from aigw.cli.output import print_json

        print_json({key: {"value": value, "source": source} for key, value, source in rows})
        return
    from aigw.cli.output import stdout_is_tty

    if stdout_is_tty():
        from rich.console import Console
        from rich.table import Table

        table = Table("key", "value", "source", box=None)
        for key, value, source in rows:
            table.add_row(key, _text(value), source)
        Console().print(table)
    else:
        for key, value, source in rows:
            print(f"{key}\t{_text(value)}\t{source}")


def _text(value: object) -> str:
    import json

    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else json.dumps(value)


@app.command("get")
def get_cmd(key: str = typer.Argument(..., help="Dotted key, e.g. defaults.image_model")) -> None:
    """Print one effective setting (secrets masked)."""
    from aigw.errors import UsageError

    rows, _ = _flat_effective()
    values = {k: v for k, v, _ in rows}
    if key in values:
        print(_text(values[key]))
        return
    nested = {k: v for k, v in values.items() if k.startswith(key + ".")}
    if nested:
        for k, v in nested.items():
            print(f"{k}\t{_text(v)}")
        return
    import difflib

    close = difflib.get_close_matches(key, list(values), n=3)
    raise UsageError(f"unknown setting {key}", hint=f"did you mean {', '.join(close)}?" if close else "see 'aigw config show'")


def _validate(candidate: object) -> None:
    from aigw.settings.loader import load

    load(candidate)  # type: ignore[arg-type]


@app.command("set")
def set_cmd(key: str = typer.Argument(..., help="Dotted key"), value: str = typer.Argument(..., help="Value (TOML literal or text)")) -> None:
    """Set a key in config.toml, keeping its comments; refused if the result is invalid."""
    from aigw import settings
    from aigw.settings.files import set_config_value

    path = settings.config_path()
    stored = set_config_value(path, key, value, validate=_validate)
    STATE.info(f"{key} = {stored!r} in {path}")


@app.command("unset")
def unset_cmd(key: str = typer.Argument(..., help="Dotted key")) -> None:
    """Remove a key from config.toml (its default or another source takes over)."""
    from aigw import settings
    from aigw.errors import UsageError
    from aigw.settings.files import unset_config_value

    path = settings.config_path()
    if not unset_config_value(path, key, validate=_validate):
        raise UsageError(f"{key} is not set in {path}")
    STATE.info(f"removed {key} from {path}")


@keys_app.command("set")
def keys_set(provider: str = typer.Argument(..., help="Provider name, e.g. openai")) -> None:
    """Store a provider key: read from stdin when piped, else from a hidden prompt."""
    from aigw import settings
    from aigw.errors import UsageError
    from aigw.settings.files import read_keys, write_keys

    name = provider.lower()
    _require_known_provider(name)
    if sys.stdin is not None and not sys.stdin.isatty():
        key = sys.stdin.readline().strip()
    else:
        import getpass

        key = getpass.getpass(f"{name} key (input hidden): ").strip()
    if not key:
        raise UsageError("no key given", hint=f"paste it at the prompt, or: printf %s \"$KEY\" | aigw config keys set {name}")
    path = settings.keys_path()
    keys = read_keys(path)
    keys[name] = key
    write_keys(path, keys)
    STATE.info(f"saved the {name} key in {path}")


def _require_known_provider(name: str) -> None:
    from aigw.errors import UsageError
    from aigw.providers.registry import BUILTIN

    if name in BUILTIN:
        return
    try:
        from aigw import settings

        if name in settings.load().settings.providers:
            return
    except Exception:  # an invalid config should not stop a key from being stored for a known name
        pass
    raise UsageError(f"unknown provider {name}",
                     hint=f"built-in: {', '.join(sorted(BUILTIN))}; or add [providers.{name}] with type = \"openai\" first")


@keys_app.command("list")
def keys_list() -> None:
    """Providers with a stored key, masked."""
    from aigw import settings
    from aigw.settings.files import mask, read_keys

    for name, key in sorted(read_keys(settings.keys_path()).items()):
        print(f"{name}\t{mask(key)}")


@keys_app.command("unset")
def keys_unset(provider: str = typer.Argument(..., help="Provider name")) -> None:
    """Remove a provider's stored key."""
    from aigw import settings
    from aigw.errors import UsageError
    from aigw.settings.files import read_keys, write_keys

    path = settings.keys_path()
    keys = read_keys(path)
    if provider.lower() not in keys:
        raise UsageError(f"no stored key for {provider}", hint="see 'aigw config keys list'")
    del keys[provider.lower()]
    write_keys(path, keys)
    STATE.info(f"removed the {provider.lower()} key from {path}")
