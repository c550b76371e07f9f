"""Printing help stays light: no HTTP client, no settings, no model runtime is imported for it.

Typer 0.29 itself would import pydantic as soon as it parses a group's own options (it coerces the
unset `--help`/`--show-completion` values through a pydantic TypeAdapter), as a bare Typer app's
`generate --help` does; aigw answers unset options without one (aigw/cli/coercion.py), so its help
loads no pydantic at all.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("httpx", "pydantic", "pydantic_settings", "faster_whisper", "av", "ctranslate2")

PROBE = """
import json, sys, types
HEAVY = %(heavy)r
first_importer = {}

class Spy:
    # Notes which module first asked for each heavy package; finds nothing itself.
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in HEAVY and top not in first_importer:
            frame = sys._getframe(1)
            while frame is not None and frame.f_code.co_filename.startswith("<frozen"):
                frame = frame.f_back
            first_importer[top] = frame.f_globals.get("__name__", "?") if frame else "?"
        return None

sys.meta_path.insert(0, Spy())
from aigw.cli.main import run
try:
    run(%(args)r)
except SystemExit:
    pass

def origin(value):
    name = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
    return name if isinstance(name, str) and name.partition(".")[0] in HEAVY else None

refs = sorted({f"{mod_name}.{attr} -> {origin(value)}"
               for mod_name, module in list(sys.modules.items()) if mod_name.partition(".")[0] == "aigw"
               for attr, value in list(vars(module).items()) if origin(value)})
print("\\nPROBE:" + json.dumps({"loaded": sorted(m for m in HEAVY if m in sys.modules),
                               "first_importer": first_importer, "aigw_refs": refs}))
"""


def probe(args: list[str]) -> dict:
    """Run aigw in a fresh interpreter with `args` and report the heavy packages it loaded."""
    out = subprocess.run([sys.executable, "-c", PROBE % {"heavy": HEAVY, "args": args}],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "PROBE:" in out.stdout, out.stderr
    return json.loads(out.stdout.rsplit("PROBE:", 1)[1])


def test_help_imports_neither_httpx_nor_pydantic():
    found = probe(["--help"])
    assert found["loaded"] == [], found
    assert found["aigw_refs"] == [], found


@pytest.mark.parametrize("args", [["generate", "--help"], ["config", "--help"], ["transcribe", "--help"],
                                  ["models", "--help"], ["bench", "--help"], ["config", "keys", "--help"],
                                  ["logs", "--help"], ["stats", "--help"],
                                  ["--version"]])
def test_subcommand_help_stays_light(args):
    found = probe(args)
    assert found["loaded"] == [], found
    assert found["aigw_refs"] == [], found
