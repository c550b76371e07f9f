"""`aigw config`: where files are, what is in effect and why, and editing both config and keys."""

from __future__ import annotations

import sys
from typing import Any

import typer

from aigw.cli.output import STATE

app = typer.Typer(help="Show and edit settings (config.toml) and provider keys (keys.toml).", no_args_is_help=True)
keys_app = typer.Typer(help="Provider keys, kept in keys.toml (mode 0600). Never passed as arguments.",
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")
# `keys set` takes whatever follows the provider name, only to refuse it without echoing it.
_SWALLOW = {"allow_extra_args": True, "ignore_unknown_options": True}


@app.command("path")
def path_cmd() -> None:
    """Print the config file, the keys file and the cache directory, one per line."""
    from aigw import settings
    from aigw.cli.output import print_lines, stdout_is_tty

    try:
        cache = settings.load().settings.cache_dir or settings.default_cache_dir()
    except Exception:  # a broken config must not hide where the files are
        cache = settings.default_cache_dir()
    paths = [str(settings.config_path()), str(settings.keys_path()), str(cache)]
    if stdout_is_tty():
        paths = [f"{label}\t{p}" for label, p in zip(("config", "keys", "cache"), paths)]
    print_lines(paths)


@app.command("show")
def show_cmd(as_json: bool = typer.Option(False, "--json", help="One JSON object: key -> {value, source}.")) -> None:
    """Every effective setting with where it came from; secrets masked."""
    from aigw.cli.output import print_json, print_lines, stdout_is_tty
    from aigw.services.config_view import effective

    rows, loaded = effective()
    for warning in loaded.warnings:
        STATE.warn(warning)
    if as_json:
        print_json({key: {"value": value, "source": source} for key, value, source in rows})
    elif stdout_is_tty():
        from rich.console import Console
        from rich.table import Table

        table = Table("key", "value", "source", box=None)
        for key, value, source in rows:
            table.add_row(key, _text(value), source)
        Console().print(table)
    else:
        print_lines([f"{key}\t{_text(value)}\t{source}" for key, value, source in rows])


def _text(value: Any) -> str:
    import json

    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@app.command("get")
def get_cmd(key: str = typer.Argument(..., help="Dotted key, e.g. defaults.image_model")) -> None:
    """Print one effective setting, secrets masked: the value alone (a list or free-form table as
    JSON); for a section such as `routing`, one `key<TAB>value` line per setting; nothing for a
    setting with no value."""
    from aigw.cli.output import print_lines
    from aigw.services.config_view import get

    found = get(key)
    if isinstance(found, list):
        print_lines([f"{k}\t{_text(v)}" for k, v, _ in found])
    elif found is not None:
        print_lines([_text(found)])


@app.command("set")
def set_cmd(key: str = typer.Argument(..., help="Dotted key, e.g. routing.retries"),
            value: str = typer.Argument(..., help='A TOML value (3, true, "x", ["a", "b"]) or plain text')) -> None:
    """Set a key in config.toml, keeping its comments; refused if the result is invalid. Never a key."""
    from aigw import settings
    from aigw.errors import AigwError
    from aigw.services.config_view import stored_as
    from aigw.settings.edit import set_value

    path = settings.config_path()
    stored = set_value(path, key, value)
    try:
        name, shown, origin = stored_as(key)
    except AigwError:  # another problem the file already had: echo what was written
        import tomlkit

        STATE.info(f"{key} = {tomlkit.item(stored).as_string()} in {path}")
        return
    STATE.info(f"{name} = {_text(shown)} in {path}")
    if not origin.startswith("config file"):
        STATE.warn(f"{name} comes from {origin}, which takes precedence over {path}")


@app.command("unset")
def unset_cmd(key: str = typer.Argument(..., help="Dotted key")) -> None:
    """Remove a key from config.toml (its default or another source takes over)."""
    from aigw import settings
    from aigw.errors import UsageError
    from aigw.services.config_view import not_set_hint
    from aigw.settings.edit import unset_value

    path = settings.config_path()
    if not unset_value(path, key):
        raise UsageError(f"{key} is not set in {path}", hint=not_set_hint(key))
    STATE.info(f"removed {key} from {path}")


@keys_app.command("set", context_settings=_SWALLOW)
def keys_set(ctx: typer.Context, provider: str = typer.Argument(..., help="Provider name, e.g. openai")) -> None:
    """Store a provider key: read from stdin when piped, else from a hidden prompt."""
    from aigw import settings
    from aigw.errors import UsageError
    from aigw.settings import keys

    name = keys.check_name(provider)
    if ctx.args:
        raise UsageError("a key is never taken as an argument, where shell history would keep it",
                         hint=f"run 'aigw config keys set {name}' and paste it at the hidden prompt, "
                              f"or pipe it in: printf %s \"$KEY\" | aigw config keys set {name}")
    keys.require_known(name, settings.config_path())
    key = _read_secret(f"{name} key (input hidden): ")
    if not key:
        raise UsageError("no key given", hint=f"paste it at the prompt of 'aigw config keys set {name}', "
                                              f"or pipe it in: printf %s \"$KEY\" | aigw config keys set {name}")
    path = settings.keys_path()
    keys.store(path, name, key)
    STATE.info(f"saved the {name} key in {path}")
    overriding = keys.overriding_variables(name)
    for var in overriding:
        STATE.warn(f"{var} is set and takes precedence over the stored key; unset {var} to use the stored one")
    if not overriding:
        _close_circuit(name)


def _close_circuit(provider: str) -> None:
    """A new key is a new start: failures counted against the old one (a 401 opens the circuit at
    once) no longer keep the provider out of routing until the cooldown ends."""
    from aigw import settings
    from aigw.errors import AigwError
    from aigw.store import open_store

    try:
        cache_dir = settings.load().settings.cache_dir or settings.default_cache_dir()
        if not (cache_dir / "aigw.db").exists():
            return
        log = open_store(cache_dir)
        try:
            circuit = log.state.forget(provider)
        finally:
            log.close()
    except AigwError as exc:  # the key is saved; the circuit closes at its cooldown or at 'aigw models --check'
        STATE.warn(f"{provider}: its circuit could not be closed ({exc.message})")
        return
    if circuit is not None and circuit.open_until is not None:
        STATE.info(f"{provider}: circuit closed; the new key is tried at the next run")


def _read_secret(prompt: str) -> str:
    if sys.stdin is not None and not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    import getpass

    return getpass.getpass(prompt).strip()


@keys_app.command("list")
def keys_list() -> None:
    """Providers with a stored key, masked: `provider<TAB>masked key` lines."""
    from aigw import settings
    from aigw.cli.output import print_lines
    from aigw.settings.files import read_keys
    from aigw.settings.keys import overriding_variables
    from aigw.settings.masking import mask

    stored = read_keys(settings.keys_path())
    print_lines([f"{name}\t{mask(key)}" for name, key in sorted(stored.items())])
    for name in sorted(stored):
        for var in overriding_variables(name):
            STATE.info(f"{name}: {var} is set and takes precedence over the stored key")


@keys_app.command("unset")
def keys_unset(provider: str = typer.Argument(..., help="Provider name")) -> None:
    """Remove a provider's stored key."""
    from aigw import settings
    from aigw.errors import UsageError
    from aigw.settings import keys

    name = keys.check_name(provider)
    path = settings.keys_path()
    if not keys.remove(path, name):
        raise UsageError(f"no stored key for {name} in {path}", hint="'aigw config keys list' shows the stored keys")
    STATE.info(f"removed the {name} key from {path}")
