"""Providers as plugins: the description of a provider and the registry of every one installed.

A provider package describes each provider once, with a `ProviderDescription`, and registers it in
the `aigw.providers` entry-point group. aigw's own providers are registered there too, by the
`builtins` entry point in aigw's pyproject.toml, exactly as a third-party package would:

    [project.entry-points."aigw.providers"]
    itsprov = "itsprov_aigw:description"

An entry point names a ProviderDescription, a list of them, or a function returning either. This
module is neutral ground: settings and the router read descriptions from here without importing
any provider module, and a provider's code is imported only when it is built (`load_class`).

Kept import-light (no httpx, no pydantic): `aigw --help` never reads the registry, and reading it
costs one scan of the installed distributions' metadata, once per process.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

GROUP = "aigw.providers"
# What aigw's own pyproject.toml registers; imported directly when aigw's metadata is absent or
# predates the entry point (a source checkout on PYTHONPATH, an install not yet refreshed).
BUILTIN_HOOK = "aigw.providers.registry:builtins"


@dataclass(frozen=True)
class ProviderDescription:
    """Everything aigw needs to know about a provider without importing it."""

    name: str  # the name in [providers.NAME], keys.toml and -p; lowercase
    factory: str  # "package.module:Class", imported only when the provider is built
    kinds: frozenset[str] = frozenset()  # "image", "audio"
    # settings field -> environment variables the provider's own SDK reads, first wins;
    # "A:B" means both variables joined with ":" (fal's FAL_KEY_ID + FAL_KEY_SECRET)
    env: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # This provider's own settings, beside the common ones (api_key, base_url, timeout, models, ...):
    # field name -> its type (str, int, float, bool, list[str], dict[str, str], a Literal[...]).
    # Each is optional (None when unset); [providers.NAME] is validated against common + these.
    settings: Mapping[str, Any] = field(default_factory=dict)
    needs_key: bool = True
    auth_hint: str = ""  # how the key is sent / where it comes from, for messages
    signup_hint: str = ""  # where to get a key
    # A TOML file in the schema of aigw/catalog/offers/*.toml ([[model]] and [[offer]] tables),
    # merged into the catalog when it loads and validated the same way: `-m itsmodel` works.
    catalog: str | None = None

    def __post_init__(self) -> None:
        # The names keys.toml and `aigw config keys` accept (aigw.settings.keys.check_name).
        if not re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", self.name):
            raise ValueError(f"provider name {self.name!r}: lowercase letters, digits, - and _, at most 32")
        if ":" not in self.factory:
            raise ValueError(f"provider {self.name}: factory {self.factory!r} is not 'module:Class'")

    def load_class(self) -> Any:
        module, _, cls = self.factory.partition(":")
        return getattr(importlib.import_module(module), cls)


def _descriptions(obj: Any) -> list[ProviderDescription]:
    if callable(obj) and not isinstance(obj, ProviderDescription):
        obj = obj()
    items = [obj] if isinstance(obj, ProviderDescription) else list(obj)
    for item in items:
        if not isinstance(item, ProviderDescription):
            raise TypeError(f"{item!r} is not an aigw.plugins.ProviderDescription")
    return items


def _warn(message: str) -> None:
    print(f"aigw: warning: {message}", file=sys.stderr)


def _hook(value: str) -> Any:
    module, _, attr = value.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


@lru_cache(maxsize=1)
def providers() -> dict[str, ProviderDescription]:
    """Every registered provider by name: aigw's built-ins in their table's order (the order
    `priority` routing falls back to), then third-party ones by entry-point name. A plugin that
    fails to load, or takes a name already registered, is left out with a warning naming it."""
    from importlib.metadata import entry_points

    found: list[tuple[str, str, Callable[[], Any]]] = []  # (label, value, load)
    builtin: tuple[str, str, Callable[[], Any]] = ("builtins", BUILTIN_HOOK, lambda: _hook(BUILTIN_HOOK))
    for ep in entry_points(group=GROUP):
        if ep.value.replace(" ", "") == BUILTIN_HOOK:
            builtin = (ep.name, ep.value, ep.load)
        else:
            found.append((ep.name, ep.value, ep.load))
    out: dict[str, ProviderDescription] = {}
    # aigw's own hook first, through its entry point, or imported directly when aigw's metadata does
    # not declare it (see BUILTIN_HOOK); then the others in a stable order.
    sources = [builtin, *sorted(found, key=lambda item: item[0])]
    for label, value, load in sources:
        try:
            described = _descriptions(load())
        except Exception as exc:  # a broken plugin must not take the others down
            _warn(f"provider plugin '{label}' ({value}) could not be loaded and is ignored: "
                  f"{type(exc).__name__}: {exc}")
            continue
        for desc in described:
            if desc.name in out:
                _warn(f"provider plugin '{label}' ({value}) registers '{desc.name}', which is already "
                      f"registered by {out[desc.name].factory}; it is ignored")
                continue
            out[desc.name] = desc
    return out


# A configured provider may name one of these as its `type` to reuse a built-in wire protocol.
PROTOCOL_TYPES = frozenset({"openai"})


def type_of(name: str, declared: str | None) -> str:
    return declared or name


def get(name: str) -> ProviderDescription | None:
    return providers().get(name)


def builtin_names() -> list[str]:
    """The providers aigw itself ships, in the table's order."""
    return [d.name for d in _descriptions(_hook(BUILTIN_HOOK))]
