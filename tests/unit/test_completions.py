"""completions/ is generated from the app, and completes what the app accepts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aigw.cli.completion_scripts import render_all

ROOT = Path(__file__).resolve().parents[2]


def test_committed_completions_match_the_app():
    for name, text in render_all().items():
        assert (ROOT / "completions" / name).read_text() == text, (
            f"completions/{name} is stale: run python scripts/gen_completions.py")


def complete(line: str) -> list[str]:
    words = line.split(" ")
    script = (f"source {ROOT / 'completions' / 'aigw.bash'}; COMP_WORDS=({' '.join(repr(w) for w in words)}); "
              f"COMP_CWORD={len(words) - 1}; _aigw; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, check=True)
    return [w for w in out.stdout.splitlines() if w]


@pytest.mark.parametrize(("line", "expected"), [
    ("aigw gen", ["generate"]),
    ("aigw config keys ", ["list", "set", "unset", "--help", "-h"]),
    ("aigw generate --mo", ["--model"]),
    ("aigw generate -m gpt-image-2 --no-s", ["--no-substitute"]),
    ("aigw transcribe --time", ["--timestamps", "--timeout"]),
])
def test_bash_completes_commands_and_options(line, expected):
    assert complete(line) == expected


def test_bash_completes_model_ids_from_aigw_models():
    assert "gpt-image-2" in complete("aigw generate -m gpt-image-")
