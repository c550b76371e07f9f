"""`aigw --help` stays light: no HTTP client, no pydantic, no models loaded to print help."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("httpx", "pydantic", "pydantic_settings", "faster_whisper", "av", "ctranslate2")


def imported_by(args: list[str]) -> set[str]:
    probe = ("import sys\nfrom aigw.cli.main import run\ntry:\n    run(%r)\nexcept SystemExit:\n    pass\n"
             "print('MODULES:' + ' '.join(sorted(m for m in %r if m in sys.modules)))") % (args, HEAVY)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.rsplit("MODULES:", 1)[1].split())


def test_help_imports_neither_httpx_nor_pydantic():
    assert imported_by(["--help"]) == set()


@pytest.mark.parametrize("args", [["generate", "--help"], ["transcribe", "--help"], ["config", "--help"],
                                  ["models", "--help"], ["bench", "--help"], ["--version"]])
def test_subcommand_help_loads_no_http_client_or_model_runtime(args):
    # Typer 0.29 itself imports pydantic to parse a command's parameters, so only ours are checked here.
    assert imported_by(args) - {"pydantic"} == set()
