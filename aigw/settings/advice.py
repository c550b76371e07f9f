"""The fix to suggest for a settings problem: a command to run, a line to edit or a variable to unset."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aigw.settings.loader import Problem


def suggest(key: str, provider_names: list[str] | None = None) -> list[str]:
    """Close setting names for a mistyped dotted key."""
    from aigw import plugins
    from aigw.settings.model import known_keys

    parts = key.split(".")
    if len(parts) >= 3 and parts[0] == "providers":  # a field of this provider, not of another one
        candidates = known_keys([parts[1]])
    else:
        candidates = known_keys(sorted(set(plugins.providers()) | set(provider_names or ())))
    return difflib.get_close_matches(key, candidates, n=3, cutoff=0.75)


def did_you_mean(key: str, provider_names: list[str] | None = None) -> str:
    close = suggest(key, provider_names)
    return f"did you mean {' or '.join(close)}? " if close else ""


def fix_for(problem: Problem) -> str:
    layer = problem.layer
    key = problem.key
    if problem.kind == "provider type":
        name = key.split(".", 1)[1]
        from aigw import plugins

        fix = (f"for an OpenAI-compatible server run 'aigw config set providers.{name}.type openai'; "
               f"built-in providers: {', '.join(sorted(plugins.providers()))}")
        if layer is not None and layer.kind == "keys":
            return f"{fix}; or remove the key: 'aigw config keys unset {name}'"
        if layer is not None and layer.variables:
            return f"{fix}; or unset {layer.variable_for(key)}"
        return fix
    if layer is None:
        return "see 'aigw config show'"
    close = suggest(key) if problem.kind == "unknown setting" else []
    if layer.variables:
        mean = f"did you mean {' or '.join(map(_env_name, close))}? " if close else ""
        return f"{mean}unset {layer.variable_for(key)}, or set it to a valid value"
    if layer.kind == "keys":
        provider = key.split(".")[1] if key.startswith("providers.") else key
        return (f"store it again with 'aigw config keys set {provider}', "
                f"or remove it: 'aigw config keys unset {provider}'")
    if problem.kind == "unknown setting":
        mean = f"did you mean {' or '.join(close)}? " if close else ""
        return f"{mean}remove it: 'aigw config unset {key}' (or edit {layer.path})"
    return f"run 'aigw config set {key} VALUE' with a valid value, or edit {layer.path}"


def _env_name(dotted: str) -> str:
    return "AIGW_" + dotted.upper().replace(".", "__")
