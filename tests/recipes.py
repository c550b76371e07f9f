"""README's gateway recipes as the tests use them: the TOML blocks under a **Name.** paragraph of
"OpenAI-compatible gateways and servers", in order, so a recipe is tested as written."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

README = Path(__file__).resolve().parents[1] / "README.md"


def recipes(name: str) -> list[dict[str, Any]]:
    """The `[providers.X]` tables of the TOML blocks in the README's **{name}.** recipe."""
    section = README.read_text().split("### OpenAI-compatible gateways and servers", 1)[1].split("\n### ", 1)[0]
    part = section.split(f"**{name}.**", 1)[1]
    part = re.split(r"\n\*\*[A-Z][^*]*\.\*\*", part, maxsplit=1)[0]
    out = []
    for block in re.findall(r"```toml\n(.*?)```", part, flags=re.S):
        (table,) = tomllib.loads(block)["providers"].values()
        out.append(table)
    return out


def as_toml(name: str, table: dict[str, Any]) -> str:
    """One provider section back as TOML (strings, lists of strings, inline tables of strings)."""
    def value(v: Any) -> str:
        if isinstance(v, dict):
            return "{ " + ", ".join(f'"{k}" = "{x}"' for k, x in v.items()) + " }"
        if isinstance(v, list):
            return "[" + ", ".join(f'"{x}"' for x in v) + "]"
        return f'"{v}"' if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else str(v)
    return f"[providers.{name}]\n" + "".join(f"{k} = {value(v)}\n" for k, v in table.items())
